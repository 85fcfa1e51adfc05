"""Forward model of spin-transfer-driven FMR in a magnetic tunnel junction.

Implements the model of the product's physics specification (macrospin free layer,
bias-dependent conductance, in-plane and perpendicular torkances, rectified mixing
voltage). Everything is vectorised numpy: every method broadcasts its array arguments.

Units: frequency Hz, field Oe, current A, voltage V, resistance Ohm, power dBm, angles in
radians unless the name says ``_deg``. Magnetics are CGS inside the LLG formulas
(Ms*Vol in emu, torque in erg); torkances are returned in J/V.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from stfmr_lab.instruments.path import BiasTeePath

HBAR_2E_J_PER_A = 3.2911e-16  # hbar / 2e
TORKANCE_UNIT_J_PER_V = HBAR_2E_J_PER_A / 1000.0  # (hbar/2e) per kOhm, in J/V
ERG_PER_J = 1e7
LOCKIN_RMS_FACTOR = math.sqrt(2.0) / math.pi  # X of a square-chopped DC signal / Vmix

#: Equivalent noise bandwidth factor (times 1/tau) for 6/12/18/24 dB/oct filters.
ENBW_FACTOR = {6: 1 / 4, 12: 1 / 8, 18: 3 / 32, 24: 5 / 64}
#: Settling to 99 % in time constants for 6/12/18/24 dB/oct filters.
SETTLE_TAUS = {6: 5.0, 12: 7.0, 18: 9.0, 24: 10.0}


@dataclass(frozen=True)
class DeviceModel:
    """The virtual CoFeB/MgO/CoFeB junction and its bench path.

    Parameters are named as in the physics specification; see ``PARAMETERS`` for each
    one's meaning and allowed range. ``s21_freq_hz``/``s21_loss_db`` optionally replace
    the two-number path-loss model by a measured table (loss in dB, positive = attenuation).
    """

    r_p_ohm: float = 3190.0
    tmr0: float = 1.54
    v_half_tmr_v: float = 0.613
    gp_quad_per_v2: float = 0.0
    polarization: float = 0.66
    a1_perp: float = 0.084
    alpha: float = 0.0095
    ms_vol_emu: float = 1.06e-14
    meff_4pi_oe: float = 11000.0
    hk_oe: float = 200.0
    h_pin_oe: float = 4000.0
    hc_oe: float = 40.0
    gamma: float = 1.76e7
    # bench keys
    z0_ohm: float = 50.0
    loss_db_0: float = 2.0
    loss_db_per_ghz: float = 0.5
    noise_nv_rthz: float = 10.0
    s21_freq_hz: tuple[float, ...] | None = field(default=None, repr=False)
    s21_loss_db: tuple[float, ...] | None = field(default=None, repr=False)

    def __post_init__(self):
        check_parameters_and_path(self, PARAMETERS)
        if self.h_pin_oe <= self.hk_oe:
            raise ValueError("h_pin_oe: must exceed hk_oe (the fixed layer tilts only above Hk)")

    # ------------------------------------------------------------------ constructors
    @classmethod
    def preset(cls, name: str = "paper", **overrides) -> "DeviceModel":
        """Return a named preset ("paper": the seed measurement's junction), with overrides."""
        if name not in PRESETS:
            raise ValueError(f"preset: unknown preset {name!r} (known: {', '.join(PRESETS)})")
        params = dict(PRESETS[name])
        params.update(overrides)
        return cls(**params)

    def replace(self, **changes) -> "DeviceModel":
        """Return a copy with some parameters changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def params(self) -> dict:
        """All parameters as a plain dict (S21 tables omitted when not set)."""
        return model_params(self)

    # ------------------------------------------------------------------ conductance
    @property
    def g_p0(self) -> float:
        """Zero-bias parallel conductance (S)."""
        return 1.0 / self.r_p_ohm

    @property
    def g_ap0(self) -> float:
        """Zero-bias antiparallel conductance (S)."""
        return self.g_p0 / (1.0 + self.tmr0)

    def g_p(self, voltage_v):
        """Parallel differential conductance G_P(V) in S."""
        v = np.asarray(voltage_v, dtype=float)
        return self.g_p0 * (1.0 + self.gp_quad_per_v2 * v**2)

    def g_ap(self, voltage_v):
        """Antiparallel differential conductance G_AP(V) in S."""
        v = np.asarray(voltage_v, dtype=float)
        return self.g_ap0 * (1.0 + (v / self.v_half_tmr_v) ** 2)

    def tmr(self, voltage_v):
        """TMR(V) = G_P(V)/G_AP(V) - 1 (differential)."""
        return self.g_p(voltage_v) / self.g_ap(voltage_v) - 1.0

    def _coeffs(self, theta):
        """G(theta, V) = a + b V^2: return (a, b) for angle theta (rad)."""
        c = np.cos(theta)
        bp = self.g_p0 * self.gp_quad_per_v2
        bap = self.g_ap0 / self.v_half_tmr_v**2
        a = 0.5 * (self.g_p0 + self.g_ap0) + 0.5 * (self.g_p0 - self.g_ap0) * c
        b = 0.5 * (bp + bap) + 0.5 * (bp - bap) * c
        return a, b

    def conductance(self, theta, voltage_v):
        """Differential conductance G(theta, V) = dI/dV in S."""
        a, b = self._coeffs(np.asarray(theta, dtype=float))
        v = np.asarray(voltage_v, dtype=float)
        return a + b * v**2

    def current(self, theta, voltage_v):
        """DC current I(V) = integral_0^V G dV' in A at angle theta (rad)."""
        a, b = self._coeffs(np.asarray(theta, dtype=float))
        v = np.asarray(voltage_v, dtype=float)
        return a * v + b * v**3 / 3.0

    def voltage(self, theta, bias_current_a):
        """DC voltage V(theta, I) in V: the inverse of ``current`` (monotonic branch)."""
        theta = np.asarray(theta, dtype=float)
        i = np.asarray(bias_current_a, dtype=float)
        a, b = self._coeffs(theta)
        a, b, i = np.broadcast_arrays(a, b, i)
        if np.all(b > 0):
            # Closed form of the one real root of (b/3) V^3 + a V - I = 0 (a, b > 0):
            # V = -2 sqrt(p/3) sinh(asinh(3q/(2p) sqrt(3/p)) / 3), p = 3a/b, q = -3I/b.
            p = 3.0 * a / b
            q = -3.0 * i / b
            r = np.sqrt(p / 3.0)
            v = -2.0 * r * np.sinh(np.arcsinh(1.5 * q / (p * r)) / 3.0)
            polish = 2
        else:
            v = i / a
            polish = 60
        # Newton on I(V) - I (a polish after the closed form; the whole solve otherwise).
        for _ in range(polish):
            g = a + b * v**2
            if np.any(g <= 0):
                raise ValueError("bias_current_a: beyond the range where the junction's I(V) is monotonic")
            step = (a * v + b * v**3 / 3.0 - i) / g
            v = v - step
            if np.all(np.abs(step) <= 4e-16 * np.maximum(np.abs(v), 1e-300)):
                break
        if np.any(a + b * v**2 <= 0):
            raise ValueError("bias_current_a: beyond the range where the junction's I(V) is monotonic")
        return v

    def differential_resistance(self, theta, bias_current_a):
        """R_d = dV/dI in Ohm at angle theta (rad) and bias current I (A)."""
        v = self.voltage(theta, bias_current_a)
        return 1.0 / self.conductance(theta, v)

    def d2v_di2(self, theta, bias_current_a):
        """d2V/dI2 = dR_d/dI at fixed theta, in Ohm/A."""
        theta = np.asarray(theta, dtype=float)
        v = self.voltage(theta, bias_current_a)
        a, b = self._coeffs(theta)
        g = a + b * v**2
        return -(2.0 * b * v) / g**3

    def d2v_dtheta_di(self, theta, bias_current_a):
        """d2V/(dtheta dI) = dR_d/dtheta at fixed I, in Ohm/rad."""
        theta = np.asarray(theta, dtype=float)
        v = self.voltage(theta, bias_current_a)
        a, b = self._coeffs(theta)
        return self._d2v_dtheta_di_at(theta, v, a, b)

    def _d2v_dtheta_di_at(self, theta, v, a, b):
        g = a + b * v**2
        s = np.sin(theta)
        dgp = self.g_p0 - self.g_ap0  # G_P - G_AP = dgp + dgq V^2
        dgq = self.g_p0 * self.gp_quad_per_v2 - self.g_ap0 / self.v_half_tmr_v**2
        dg_dtheta_fixed_v = -0.5 * s * (dgp + dgq * v**2)
        di_dtheta_fixed_v = -0.5 * s * (dgp * v + dgq * v**3 / 3.0)
        dv_dtheta = -di_dtheta_fixed_v / g
        return -(dg_dtheta_fixed_v + 2.0 * b * v * dv_dtheta) / g**2

    # ------------------------------------------------------------------ geometry
    def theta(self, field_oe):
        """Angle (rad) between free and fixed layer for a hard-axis field: cos = min(|H|/H_pin, 1)."""
        h = np.abs(np.asarray(field_oe, dtype=float))
        return np.arccos(np.minimum(h / self.h_pin_oe, 1.0))

    def easy_axis_state(self, field_oe, previous_state):
        """Free-layer state along the easy axis after field H: +1 parallel, -1 antiparallel.

        Square hysteresis: switches to AP when H < -Hc and back to P when H > +Hc.
        """
        h = np.asarray(field_oe, dtype=float)
        prev = np.asarray(previous_state)
        return np.where(h < -self.hc_oe, -1, np.where(h > self.hc_oe, 1, prev))

    @staticmethod
    def easy_axis_theta(state):
        """theta (rad) for an easy-axis state: 0 for +1 (P), pi for -1 (AP)."""
        return np.where(np.asarray(state) < 0, np.pi, 0.0)

    def _require_resonance(self, field_oe):
        h = np.abs(np.asarray(field_oe, dtype=float))
        if np.any(h <= self.hk_oe):
            raise ValueError(f"field_oe: |H| must exceed hk_oe = {self.hk_oe:g} Oe for a resonance")
        return h

    # ------------------------------------------------------------------ RF path
    @property
    def path(self) -> BiasTeePath:
        """The bench's true RF path (bench keys loss_db_0, loss_db_per_ghz, z0_ohm, S21 table)."""
        return self._path

    def path_loss_db(self, frequency_hz):
        """Attenuation (dB, positive) from the source to the device at frequency f."""
        return self._path.loss_db(frequency_hz)

    def i_rf(self, frequency_hz, rf_power_dbm, resistance_ohm):
        """Peak RF current amplitude (A) at a device of resistance R for source power P."""
        return self._path.i_rf(frequency_hz, rf_power_dbm, resistance_ohm)

    # ------------------------------------------------------------------ torques
    def _eta(self) -> float:
        p = self.polarization
        return 2.0 * p / (1.0 + p * p)

    def torkances_at(self, theta, voltage_v):
        """(dtau_par/dV, dtau_perp/dV) in J/V at angle theta (rad) and voltage V."""
        s = np.sin(np.asarray(theta, dtype=float))
        v = np.asarray(voltage_v, dtype=float)
        par = s * (HBAR_2E_J_PER_A / 2.0) * self._eta() * self.g_p(v)
        perp = s * 2.0 * self.a1_perp * TORKANCE_UNIT_J_PER_V * v
        return par, perp

    def tau_par(self, theta, voltage_v):
        """In-plane torque tau_par(V) in J: the integral of dtau_par/dV from 0 to V."""
        s = np.sin(np.asarray(theta, dtype=float))
        v = np.asarray(voltage_v, dtype=float)
        return s * (HBAR_2E_J_PER_A / 2.0) * self._eta() * self.g_p0 * (v + self.gp_quad_per_v2 * v**3 / 3.0)

    def torkances(self, field_oe, bias_current_a):
        """(dtau_par/dV, dtau_perp/dV) in J/V at hard-axis field H (Oe) and bias current I (A)."""
        theta = self.theta(field_oe)
        v = self.voltage(theta, bias_current_a)
        return self.torkances_at(theta, v)

    # ------------------------------------------------------------------ resonance
    def kittel(self, field_oe):
        """(omega_m in rad/s, Omega_perp) of the main mode for a hard-axis field (|H| > Hk)."""
        hp = self._require_resonance(field_oe) - self.hk_oe
        omega_m = self.gamma * np.sqrt(hp * (hp + self.meff_4pi_oe))
        omega_perp = self.gamma * (hp + self.meff_4pi_oe) / omega_m
        return omega_m, omega_perp

    def _sigma(self, theta, voltage_v, omega_m, omega_perp):
        # cot(theta) tau_par = cos(theta) (tau_par / sin(theta)): finite at theta = 0 too
        tau_over_sin_erg = self.tau_par(np.pi / 2, voltage_v) * ERG_PER_J
        sigma = 0.5 * self.alpha * omega_m * (omega_perp + 1.0 / omega_perp) - np.cos(
            theta
        ) * self.gamma * tau_over_sin_erg / (2.0 * self.ms_vol_emu)
        if np.any(sigma <= 0):
            raise ValueError("bias_current_a: spin torque exceeds the damping (linewidth <= 0): past the critical current")
        return sigma

    def resonance(self, field_oe, bias_current_a):
        """(f0 in Hz, HWHM in Hz) of the main mode at hard-axis field H and bias current I."""
        omega_m, omega_perp = self.kittel(field_oe)
        theta = self.theta(field_oe)
        v = self.voltage(theta, bias_current_a)
        sigma = self._sigma(theta, v, omega_m, omega_perp)
        return omega_m / (2 * np.pi), sigma / (2 * np.pi)

    def alpha_eff(self, field_oe, bias_current_a):
        """Effective damping 2 sigma / (omega_m (Omega_perp + 1/Omega_perp)) at H, I."""
        omega_m, omega_perp = self.kittel(field_oe)
        theta = self.theta(field_oe)
        v = self.voltage(theta, bias_current_a)
        sigma = self._sigma(theta, v, omega_m, omega_perp)
        return 2.0 * sigma / (omega_m * (omega_perp + 1.0 / omega_perp))

    # ------------------------------------------------------------------ mixing voltage
    def background(self, frequency_hz, theta, bias_current_a, rf_power_dbm, path: BiasTeePath | None = None):
        """Non-resonant rectification (1/4) d2V/dI2 I_RF^2 in V at angle theta (rad)."""
        r_d = self.differential_resistance(theta, bias_current_a)
        irf = (path or self._path).i_rf(frequency_hz, rf_power_dbm, r_d)
        return 0.25 * self.d2v_di2(theta, bias_current_a) * irf**2

    def vmix(self, frequency_hz, field_oe, bias_current_a, rf_power_dbm):
        """Noise-free mixing voltage Vmix (V) for a hard-axis field (|H| > Hk); broadcasts."""
        return self.spectrum(field_oe, bias_current_a)(frequency_hz, rf_power_dbm)

    def spectrum(self, field_oe, bias_current_a, path: BiasTeePath | None = None) -> "Spectrum":
        """Everything of Vmix that does not depend on frequency and power, at H and I.

        Returns a callable ``(frequency_hz, rf_power_dbm) -> Vmix``; evaluating many
        frequencies at one field and bias costs only the Lorentzians and the path loss.
        ``path``: the RF path to drive through (default: the model's own, ``self.path``).
        """
        omega_m, omega_perp = self.kittel(field_oe)
        theta = self.theta(field_oe)
        i = np.asarray(bias_current_a, dtype=float)
        v = self.voltage(theta, i)
        a, b = self._coeffs(theta)
        g = a + b * v**2
        r_d = 1.0 / g
        sigma = self._sigma(theta, v, omega_m, omega_perp)
        d2v_di2 = -(2.0 * b * v) / g**3
        d2v_dth = self._d2v_dtheta_di_at(theta, v, a, b)
        par, perp = self.torkances_at(theta, v)
        amp = 0.5 * d2v_dth * self.gamma / (2.0 * self.ms_vol_emu * sigma)
        return Spectrum(
            path or self._path,
            omega_m=omega_m,
            sigma=sigma,
            r_d=r_d,
            background=0.25 * d2v_di2,
            sym=amp * par * r_d * ERG_PER_J,
            asym=-amp * omega_perp * perp * r_d * ERG_PER_J,
        )

    def lockin_noise_v(self, time_constant_s, slope_db_oct):
        """RMS noise (V) of a lock-in output: e_n sqrt(ENBW) for the filter set."""
        if slope_db_oct not in ENBW_FACTOR:
            raise ValueError(f"slope_db_oct: must be one of {sorted(ENBW_FACTOR)}")
        enbw = ENBW_FACTOR[slope_db_oct] / float(time_constant_s)
        return self.noise_nv_rthz * 1e-9 * math.sqrt(enbw)


def check_parameters_and_path(model, parameters: dict) -> None:
    """A device model's ``__post_init__`` (``DeviceModel``, ``BilayerModel``): every parameter
    of ``parameters`` (name -> (lo, hi, lo_open, hi_open, doc)) a finite number in its range
    (ValueError naming it), stored as float; then the bench's true RF path, one
    ``BiasTeePath`` from the bench keys (its own checks of the S21 table), as ``model._path``."""
    for name, (lo, hi, lo_open, hi_open, _) in parameters.items():
        value = getattr(model, name)
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
            raise ValueError(f"{name}: expected a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"{name}: must be finite, got {value!r}")
        if (value < lo or (lo_open and value == lo)) or (value > hi or (hi_open and value == hi)):
            lb = "(" if lo_open else "["
            rb = ")" if hi_open else "]"
            raise ValueError(f"{name}: {value:g} outside the allowed range {lb}{lo:g}, {hi:g}{rb}")
        object.__setattr__(model, name, value)
    try:
        path = BiasTeePath(
            model.loss_db_0, model.loss_db_per_ghz, model.z0_ohm, model.s21_freq_hz, model.s21_loss_db,
            source="model" if model.s21_freq_hz is None else "table",
        )
    except ValueError as e:
        raise ValueError(f"s21_freq_hz/s21_loss_db: {str(e).removeprefix('path: ')}") from None
    object.__setattr__(model, "s21_freq_hz", path.table_freq_hz)
    object.__setattr__(model, "s21_loss_db", path.table_loss_db)
    object.__setattr__(model, "_path", path)


def model_params(model) -> dict:
    """A device model's parameters as a plain dict (S21 tables omitted when not set)."""
    out = {f.name: getattr(model, f.name) for f in dataclasses.fields(model)}
    if out["s21_freq_hz"] is None:
        del out["s21_freq_hz"], out["s21_loss_db"]
    return out


@dataclass(frozen=True)
class Spectrum:
    """Vmix at one field and bias as a function of frequency and power (``DeviceModel.spectrum``).

    Vmix = (background + sym S + asym A) I_RF^2, with S, A the Lorentzians of the main mode.
    """

    path: BiasTeePath
    omega_m: np.ndarray
    sigma: np.ndarray
    r_d: np.ndarray
    background: np.ndarray  # (1/4) d2V/dI2, V/A^2
    sym: np.ndarray  # V/A^2
    asym: np.ndarray  # V/A^2

    def __call__(self, frequency_hz, rf_power_dbm, f0_shift_hz=0.0):
        """Vmix (V); ``f0_shift_hz`` moves the line down by that much (e.g. bias heating)."""
        f = np.asarray(frequency_hz, dtype=float)
        irf2 = self.path.i_rf(f, rf_power_dbm, self.r_d) ** 2
        x = (2 * np.pi * (f + f0_shift_hz) - self.omega_m) / self.sigma
        s = 1.0 / (1.0 + x * x)
        return (self.background + self.sym * s + self.asym * x * s) * irf2

    def resonant(self, frequency_hz, rf_power_dbm, f0_shift_hz=0.0):
        """The line alone (no background), in V, moved down by ``f0_shift_hz``."""
        return self(frequency_hz, rf_power_dbm, f0_shift_hz) - self.background * self.path.i_rf(
            frequency_hz, rf_power_dbm, self.r_d) ** 2


# name: (low, high, low_open, high_open, meaning)
PARAMETERS: dict[str, tuple[float, float, bool, bool, str]] = {
    "r_p_ohm": (0.0, 1e9, True, False, "zero-bias parallel resistance (Ohm)"),
    "tmr0": (0.0, 100.0, True, False, "zero-bias TMR = G_P0/G_AP0 - 1"),
    "v_half_tmr_v": (0.0, 100.0, True, False, "bias scale of G_AP(V) (V)"),
    "gp_quad_per_v2": (-1.0, 100.0, False, False, "quadratic coefficient of G_P(V) (1/V^2)"),
    "polarization": (0.0, 1.0, False, True, "tunnelling spin polarisation P"),
    "a1_perp": (-100.0, 100.0, False, False, "tau_perp quadratic coefficient ((hbar/2e)/kOhm/V)"),
    "alpha": (0.0, 1.0, True, False, "Gilbert damping"),
    "ms_vol_emu": (0.0, 1e-6, True, False, "free-layer moment Ms*Vol (emu)"),
    "meff_4pi_oe": (0.0, 1e6, True, False, "effective out-of-plane anisotropy 4 pi Meff (Oe)"),
    "hk_oe": (0.0, 1e5, False, False, "in-plane uniaxial anisotropy field (Oe)"),
    "h_pin_oe": (0.0, 1e6, True, False, "fixed-layer tilt scale (Oe)"),
    "hc_oe": (0.0, 1e5, False, False, "free-layer coercive field (Oe)"),
    "gamma": (0.0, 1e9, True, False, "gyromagnetic ratio (rad/s/Oe)"),
    "z0_ohm": (0.0, 1e4, True, False, "line impedance (Ohm)"),
    "loss_db_0": (-10.0, 200.0, False, False, "path loss at 0 Hz (dB)"),
    "loss_db_per_ghz": (-10.0, 100.0, False, False, "path loss slope (dB/GHz)"),
    "noise_nv_rthz": (0.0, 1e6, False, False, "lock-in input noise density (nV/sqrt(Hz))"),
}

PRESETS: dict[str, dict] = {
    "paper": {},  # the dataclass defaults are the seed measurement's values
}
