"""Forward model of spin-orbit-torque FMR in a heavy-metal / ferromagnet strip.

The bilayer of the SOT physics specification (Liu, Moriyama, Buhrman and Ralph, PRL 106,
036601 (2011)): a heavy-metal strip (thickness t_hm) under an in-plane ferromagnet (t_fm),
RF current along the strip, in-plane field H at angle phi to the current, swept through
both polarities at fixed frequency; Vmix from the AMR mixing. Vectorised numpy like
``stfmr_lab.physics.DeviceModel``: every method broadcasts its array arguments.

Units: field Oe (resonance fields, linewidths and effective fields all in Oe), frequency
Hz, current A, resistance Ohm, power dBm, Vmix V; magnetisations as mu0*M in tesla
(``mu0_ms_t``, ``mu0_meff_t``); thicknesses nm, width um. The negative field polarity is
the magnetisation reversed (phi -> phi + 180 deg): Vmix(-H) = -Vmix(H) without background.
The RF path (source power -> I_RF) is a ``BiasTeePath`` from the same bench keys as the MTJ's.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from stfmr_lab.instruments.path import BiasTeePath
from stfmr_lab.physics import HBAR_2E_J_PER_A, DeviceModel, check_parameters_and_path, model_params

MU0 = 4e-7 * math.pi  #: vacuum permeability (T m / A)
GAMMA_2PI_HZ_PER_OE_PER_G = 1.3996e6  #: gamma/2pi = g * this (Hz/Oe)
OE_PER_T = 1e4  #: mu0*H in tesla -> H in Oe


def kittel_h0_oe(frequency_hz, meff_4pi_oe, g):
    """The positive root H0 (Oe) of the in-plane Kittel formula f = (gamma/2pi) sqrt(H0 (H0 +
    4piMeff)), gamma/2pi = g * 1.3996 MHz/Oe, at frequency f (Hz). Broadcasts."""
    x = (np.asarray(frequency_hz, dtype=float) / (np.asarray(g, dtype=float) * GAMMA_2PI_HZ_PER_OE_PER_G)) ** 2
    m = np.asarray(meff_4pi_oe, dtype=float)
    return 2.0 * x / (m + np.sqrt(m * m + 4.0 * x))  # = (-m + sqrt(m^2 + 4x)) / 2 without cancellation


def lineshape_factor(mu0_ms_t, t_fm_nm, t_hm_nm):
    """e mu0 Ms t_fm t_hm / hbar (dimensionless): xi_FMR = (V_S/V_A) * this * sqrt(1 + Meff/H0)."""
    return mu0_ms_t * t_fm_nm * 1e-9 * t_hm_nm * 1e-9 / (2.0 * HBAR_2E_J_PER_A)


def dc_damping_factor_t_per_a(mu0_ms_t, t_fm_nm, t_hm_nm, width_um, shunt_hm, phi_deg):
    """K (T/A) of Liu 2011 eq. 3: alpha_eff = alpha + xi K p I_dc / (mu0 H0 + mu0 Meff / 2),
    K = sin(phi) (hbar/2e) shunt_hm / (width t_hm) / (Ms t_fm), p the field polarity."""
    j_per_a = shunt_hm / (width_um * 1e-6 * t_hm_nm * 1e-9)
    return math.sin(math.radians(phi_deg)) * HBAR_2E_J_PER_A * j_per_a / (mu0_ms_t / MU0 * t_fm_nm * 1e-9)


@dataclass(frozen=True)
class BilayerModel:
    """The virtual heavy-metal / ferromagnet strip and its bench path.

    Parameters are named as in the SOT physics specification (see ``PARAMETERS`` for each
    one's meaning and range); the defaults are its Py(4 nm)/Pt(6 nm) strip 10 um wide.
    ``bg_ohm_per_a`` is the heavy metal's non-resonant rectification: a field-independent
    background ``bg_ohm_per_a * I_RF^2`` (V), zero in the specification's check values.
    """

    r0_ohm: float = 150.0
    d_r_amr_ohm: float = 0.3
    mu0_ms_t: float = 0.8
    mu0_meff_t: float = 0.75
    t_fm_nm: float = 4.0
    t_hm_nm: float = 6.0
    width_um: float = 10.0
    xi_dl: float = 0.07
    field_like_ratio: float = 0.0
    alpha: float = 0.012
    dh0_oe: float = 3.0
    g: float = 2.05
    shunt_hm: float = 0.7
    phi_deg: float = 45.0
    bg_ohm_per_a: float = 0.0
    # bench keys (the RF path, as in DeviceModel)
    z0_ohm: float = 50.0
    loss_db_0: float = 2.0
    loss_db_per_ghz: float = 0.5
    noise_nv_rthz: float = 10.0
    s21_freq_hz: tuple[float, ...] | None = field(default=None, repr=False)
    s21_loss_db: tuple[float, ...] | None = field(default=None, repr=False)

    def __post_init__(self):
        check_parameters_and_path(self, PARAMETERS)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def preset(cls, name: str = "py_pt", **overrides) -> "BilayerModel":
        """Return a named preset ("py_pt": the specification's Py/Pt strip), with overrides."""
        if name not in PRESETS:
            raise ValueError(f"preset: unknown preset {name!r} (known: {', '.join(PRESETS)})")
        params = dict(PRESETS[name])
        params.update(overrides)
        return cls(**params)

    def replace(self, **changes) -> "BilayerModel":
        """Return a copy with some parameters changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def params(self) -> dict:
        """All parameters as a plain dict (S21 tables omitted when not set)."""
        return model_params(self)

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

    lockin_noise_v = DeviceModel.lockin_noise_v  # the same lock-in (bench key noise_nv_rthz)

    # ------------------------------------------------------------------ derived constants
    @property
    def gamma_2pi_hz_per_oe(self) -> float:
        """gamma / 2 pi = g * 1.3996 MHz/Oe (Hz/Oe)."""
        return self.g * GAMMA_2PI_HZ_PER_OE_PER_G

    @property
    def meff_4pi_oe(self) -> float:
        """4 pi Meff in Oe."""
        return self.mu0_meff_t * OE_PER_T

    @property
    def phi_rad(self) -> float:
        return math.radians(self.phi_deg)

    @property
    def lineshape_factor(self) -> float:
        """e mu0 Ms t_fm t_hm / hbar (dimensionless): xi_FMR = (V_S/V_A) * this * sqrt(1 + Meff/H0)."""
        return lineshape_factor(self.mu0_ms_t, self.t_fm_nm, self.t_hm_nm)

    def charge_current_density_a_m2(self, current_a):
        """Charge current density in the heavy metal J_c,HM = shunt_hm I / (width t_hm) (A/m^2)."""
        return self.shunt_hm * np.asarray(current_a, dtype=float) / (self.width_um * 1e-6 * self.t_hm_nm * 1e-9)

    # ------------------------------------------------------------------ geometry and AMR
    @staticmethod
    def polarity(field_oe):
        """+1 for H > 0, -1 for H < 0, 0 at H = 0 (magnetisation along the field)."""
        return np.sign(np.asarray(field_oe, dtype=float))

    def resistance_ohm(self, field_oe=1.0):
        """AMR resistance R(phi) = r0 + d_r_amr cos^2 phi (Ohm); the same for both polarities."""
        r = self.r0_ohm + self.d_r_amr_ohm * math.cos(self.phi_rad) ** 2
        return np.full(np.shape(field_oe), r) if np.ndim(field_oe) else r

    def dc_voltage_v(self, field_oe, dc_current_a):
        """DC voltage across the strip (V) read by the source-meter: R(phi) I_dc."""
        return self.resistance_ohm(field_oe) * np.asarray(dc_current_a, dtype=float)

    # ------------------------------------------------------------------ resonance
    def _frequency(self, frequency_hz):
        f = np.asarray(frequency_hz, dtype=float)
        if np.any(~(f > 0)):
            raise ValueError("frequency_hz: must be > 0")
        return f

    def resonance_field_oe(self, frequency_hz, polarity=1):
        """Resonance field (Oe) at frequency f: the positive root H0 of the in-plane Kittel
        formula f = (gamma/2pi) sqrt(H0 (H0 + 4piMeff)), times ``polarity`` (+1 or -1)."""
        h0 = kittel_h0_oe(self._frequency(frequency_hz), self.meff_4pi_oe, self.g)
        return np.asarray(polarity, dtype=float) * h0

    def frequency_hz(self, field_oe):
        """Kittel frequency (Hz) of the uniform mode at field H (Oe), either polarity."""
        h = np.abs(np.asarray(field_oe, dtype=float))
        return self.gamma_2pi_hz_per_oe * np.sqrt(h * (h + self.meff_4pi_oe))

    def df_dh_hz_per_oe(self, h0_oe):
        """df/dH on the Kittel curve (Hz/Oe) at |H0|."""
        h = np.abs(np.asarray(h0_oe, dtype=float))
        m = self.meff_4pi_oe
        return self.gamma_2pi_hz_per_oe * (2.0 * h + m) / (2.0 * np.sqrt(h * (h + m)))

    def alpha_eff(self, frequency_hz, dc_current_a=0.0, polarity=1):
        """Effective damping with a DC current I_dc through the strip (Liu 2011, eq. 3):
        alpha + sin(phi) (hbar/2e) J_s,dc / ((mu0 H0 + mu0 Meff / 2) Ms t_fm), with
        J_s,dc = xi_dl shunt_hm I_dc / (width t_hm) and phi -> phi + 180 deg at -H."""
        p = np.asarray(polarity, dtype=float)
        h0_t = self.resonance_field_oe(frequency_hz) / OE_PER_T
        k = dc_damping_factor_t_per_a(
            self.mu0_ms_t, self.t_fm_nm, self.t_hm_nm, self.width_um, self.shunt_hm, self.phi_deg
        )
        return self.alpha + p * self.xi_dl * k * np.asarray(dc_current_a, dtype=float) / (h0_t + 0.5 * self.mu0_meff_t)

    def linewidth_oe(self, frequency_hz, dc_current_a=0.0, polarity=1):
        """Field linewidth (HWHM, Oe): Delta = dh0 + 2 pi f alpha_eff / gamma."""
        f = self._frequency(frequency_hz)
        delta = self.dh0_oe + f * self.alpha_eff(f, dc_current_a, polarity) / self.gamma_2pi_hz_per_oe
        if np.any(delta <= 0):
            raise ValueError(
                "dc_current_a: the spin torque exceeds the damping (linewidth <= 0): past the critical current"
            )
        return delta

    def effective_fields_oe(self, frequency_hz, i_rf_a):
        """(S, A) in Oe: the damping-like field S = hbar J_s / (2 e Ms t_fm) and the
        Oersted (plus field-like) field A = mu0 J_c,HM t_hm / 2 (1 + field_like_ratio)
        sqrt(1 + Meff / H0), for an RF current amplitude ``i_rf_a`` (A)."""
        h0 = self.resonance_field_oe(frequency_hz)
        j_c = self.charge_current_density_a_m2(i_rf_a)
        s_t = HBAR_2E_J_PER_A * self.xi_dl * j_c * MU0 / (self.mu0_ms_t * self.t_fm_nm * 1e-9)
        a_t = MU0 * j_c * self.t_hm_nm * 1e-9 / 2.0 * (1.0 + self.field_like_ratio)
        a_t = a_t * np.sqrt(1.0 + self.meff_4pi_oe / h0)
        return s_t * OE_PER_T, a_t * OE_PER_T

    # ------------------------------------------------------------------ mixing voltage
    def line(self, frequency_hz, dc_current_a=0.0, rf_power_dbm=None, *, i_rf_a=None, polarity=1, path=None):
        """One line's parameters at f and I_dc: (h0_oe, delta_oe, v_sym_v, v_asym_v).

        In the field sweep Vmix = V_S F_S + V_A F_A around the line's centre H0, with
        F_S = Delta^2/((H-H0)^2+Delta^2) and F_A = Delta (H-H0)/((H-H0)^2+Delta^2).
        ``polarity`` -1 gives the line at -H0 (its own linewidth under DC current): V_S
        changes sign there, V_A keeps it. Give either ``rf_power_dbm`` (source power,
        through the RF path: ``path``, default the model's own) or ``i_rf_a`` (RF current
        amplitude at the device, A).
        """
        f = self._frequency(frequency_hz)
        p = np.where(np.asarray(polarity, dtype=float) < 0, -1.0, 1.0)
        irf = self._i_rf(f, rf_power_dbm, i_rf_a, path)
        h0 = self.resonance_field_oe(f)
        delta = self.linewidth_oe(f, dc_current_a, p)
        s, a = self.effective_fields_oe(f, irf)
        amp = self._prefactor(f, h0, delta, irf)
        return p * h0, delta, p * amp * s, amp * a

    def _i_rf(self, f, rf_power_dbm, i_rf_a, path=None):
        if (rf_power_dbm is None) == (i_rf_a is None):
            raise ValueError("rf_power_dbm / i_rf_a: give exactly one")
        if i_rf_a is not None:
            return np.asarray(i_rf_a, dtype=float)
        return (path or self._path).i_rf(f, rf_power_dbm, self.resistance_ohm())

    def _prefactor(self, f, h0, delta, irf):
        # -(1/4) dR/dphi gamma I_RF cos(phi) / (2 pi Delta df/dH), dR/dphi = -d_r sin(2 phi): +H polarity
        dr_dphi = -self.d_r_amr_ohm * math.sin(2.0 * self.phi_rad)
        return (
            -0.25
            * dr_dphi
            * self.gamma_2pi_hz_per_oe
            * irf
            * math.cos(self.phi_rad)
            / (delta * self.df_dh_hz_per_oe(h0))
        )

    def vmix(self, field_oe, frequency_hz, dc_current_a=0.0, rf_power_dbm=None, *, i_rf_a=None, path=None):
        """Noise-free mixing voltage (V) at field H (Oe, either polarity), frequency f (Hz),
        DC current I_dc (A) and source power (dBm, through ``path``: default the model's own
        RF path) or RF current amplitude ``i_rf_a`` (A). Vmix(-H) = -Vmix(H) plus the
        (field-independent) background; 0 at H = 0. Broadcasts."""
        h = np.asarray(field_oe, dtype=float)
        f = self._frequency(frequency_hz)
        irf = self._i_rf(f, rf_power_dbm, i_rf_a, path)
        p = self.polarity(h)
        h0 = self.resonance_field_oe(f)
        # the linewidth at each point's own polarity (phi + 180 deg at -H); 0 polarity: +H's
        delta = self.linewidth_oe(f, dc_current_a, np.where(p < 0, -1.0, 1.0))
        s, a = self.effective_fields_oe(f, irf)
        u = (np.abs(h) - h0) / delta
        fs = 1.0 / (1.0 + u * u)
        res = self._prefactor(f, h0, delta, irf) * (s * fs + a * u * fs)
        return p * res + self.bg_ohm_per_a * irf**2


# name: (low, high, low_open, high_open, meaning)
PARAMETERS: dict[str, tuple[float, float, bool, bool, str]] = {
    "r0_ohm": (0.0, 1e9, True, False, "strip resistance without AMR (Ohm)"),
    "d_r_amr_ohm": (0.0, 1e6, True, False, "AMR amplitude: R(phi) = r0 + d_r_amr cos^2 phi (Ohm)"),
    "mu0_ms_t": (0.0, 5.0, True, False, "saturation magnetisation mu0 Ms (T)"),
    "mu0_meff_t": (0.0, 5.0, True, False, "effective magnetisation mu0 Meff (T), in-plane film"),
    "t_fm_nm": (0.0, 1e3, True, False, "ferromagnet thickness (nm)"),
    "t_hm_nm": (0.0, 1e3, True, False, "heavy-metal thickness (nm)"),
    "width_um": (0.0, 1e4, True, False, "strip width (um)"),
    "xi_dl": (-10.0, 10.0, False, False, "damping-like efficiency J_s / J_c,HM"),
    "field_like_ratio": (-10.0, 10.0, False, False, "extra field-like torque relative to the Oersted field"),
    "alpha": (0.0, 1.0, True, False, "Gilbert damping"),
    "dh0_oe": (0.0, 1e4, False, False, "inhomogeneous linewidth (HWHM, Oe)"),
    "g": (0.5, 5.0, False, False, "Lande g factor (gamma/2pi = g 1.3996 MHz/Oe)"),
    "shunt_hm": (0.0, 1.0, True, False, "fraction of the current in the heavy metal"),
    "phi_deg": (-180.0, 180.0, False, False, "in-plane angle of the field to the current (deg)"),
    "bg_ohm_per_a": (-1e6, 1e6, False, False, "non-resonant rectification: background = this * I_RF^2 (V/A^2)"),
    "z0_ohm": (0.0, 1e4, True, False, "line impedance (Ohm)"),
    "loss_db_0": (-10.0, 200.0, False, False, "path loss at 0 Hz (dB)"),
    "loss_db_per_ghz": (-10.0, 100.0, False, False, "path loss slope (dB/GHz)"),
    "noise_nv_rthz": (0.0, 1e6, False, False, "lock-in input noise density (nV/sqrt(Hz))"),
}

PRESETS: dict[str, dict] = {
    "py_pt": {},  # the dataclass defaults are the specification's Py(4 nm)/Pt(6 nm) strip
}
