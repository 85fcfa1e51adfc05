"""A real bench's imperfections for the simulated bench (``simulation: {realism: ...}``).

The clean twin has a constant background, white noise, one line and the paper's sample;
measured spectra have more (the lab's notes on measured spectra from other labs). Each
imperfection has a name, is set in the run config's ``simulation:`` mapping, and takes
its value from the preset named by ``realism`` (``clean``: all off, the default; ``bench``:
typical sizes, see ``PRESETS``) unless given by name. Values are documented in the README.

State that evolves with bench time (drift, 1/f noise, field jitter) lives in ``Imperfections``,
driven by the bench's random generator and virtual clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from stfmr_lab.physics import DeviceModel

#: where the standing wave's pattern starts (rad at 0 Hz): any value; fixed so runs repeat
RIPPLE_PHASE_RAD = 0.7


@dataclass(frozen=True)
class Realism:
    """The imperfections' sizes (0 switches one off). Units in the names."""

    #: standing-wave ripple of the path loss: +-ripple_db dB, period ripple_period_hz
    ripple_db: float = 0.0
    ripple_period_hz: float = 0.35e9
    #: lock-in phase offset: the signal appears rotated by this angle in (X, Y)
    phase_offset_deg: float = 0.0
    #: slow background drift of Vmix: a random walk, rms growth in uV per sqrt(second)
    drift_uv_per_sqrt_s: float = 0.0
    #: 1/f noise at the lock-in output: its rms / the white noise's rms at the time constant used
    flicker_rel: float = 0.0
    #: a second (higher-order) mode: amplitude relative to the main one, and its distance above it
    second_mode_rel: float = 0.0
    second_mode_offset_hz: float = 2.0e9
    #: spikes: probability per lock-in reading, and size (Vmix-equivalent, uV, random sign)
    spike_probability: float = 0.0
    spike_uv: float = 0.0
    #: bias heating: the resonance moves down by this much at |V| = 0.5 V (as V^2)
    heating_hz_at_0p5v: float = 0.0
    #: field jitter (gaussmeter noise and magnet drift): rms Oe, correlation time 5 s
    field_jitter_oe: float = 0.0

    def path(self, model: DeviceModel):
        """The true RF path with the standing-wave ripple (the model's own when there is none)."""
        if not self.ripple_db:
            return model.path
        import dataclasses

        return dataclasses.replace(model.path, ripple_db=self.ripple_db, ripple_period_hz=self.ripple_period_hz,
                                   ripple_phase_rad=RIPPLE_PHASE_RAD)

    def f0_shift_hz(self, voltage_v: float) -> float:
        """How far bias heating lowers the resonance at bias ``voltage_v`` (Hz, >= 0)."""
        return self.heating_hz_at_0p5v * (voltage_v / 0.5) ** 2

    @property
    def active(self) -> list[str]:
        """Names of the imperfections switched on."""
        on = {
            "ripple_db": self.ripple_db, "phase_offset_deg": self.phase_offset_deg,
            "drift_uv_per_sqrt_s": self.drift_uv_per_sqrt_s, "flicker_rel": self.flicker_rel,
            "second_mode_rel": self.second_mode_rel, "spike_probability": self.spike_probability * self.spike_uv,
            "heating_hz_at_0p5v": self.heating_hz_at_0p5v, "field_jitter_oe": self.field_jitter_oe,
        }
        return [k for k, v in on.items() if v]


#: ``realism: clean`` (the default, the demo's) and ``realism: bench`` (typical sizes, inside
#: the ranges measured spectra show: ripple +-0.5-1.5 dB over 0.1-0.7 GHz; phase 5-20 deg;
#: drift 0.1-5 uV over a sweep; 1/f comparable to the white noise; a second mode at 10-30 %
#: 1-3 GHz above; a few spikes a sweep; 10-50 MHz heating at 0.5 V; 0.05-0.5 Oe jitter)
PRESETS: dict[str, Realism] = {
    "clean": Realism(),
    "bench": Realism(
        ripple_db=0.8, ripple_period_hz=0.35e9, phase_offset_deg=12.0, drift_uv_per_sqrt_s=0.3,
        flicker_rel=1.0, second_mode_rel=0.2, second_mode_offset_hz=2.0e9, spike_probability=0.01,
        spike_uv=100.0, heating_hz_at_0p5v=30e6, field_jitter_oe=0.2,
    ),
}

#: allowed range of each imperfection (the config check's)
RANGES: dict[str, tuple[float, float]] = {
    "ripple_db": (0.0, 6.0),
    "ripple_period_hz": (1e7, 1e11),
    "phase_offset_deg": (-180.0, 180.0),
    "drift_uv_per_sqrt_s": (0.0, 1e3),
    "flicker_rel": (0.0, 100.0),
    "second_mode_rel": (0.0, 2.0),
    "second_mode_offset_hz": (-2e10, 2e10),
    "spike_probability": (0.0, 0.5),
    "spike_uv": (0.0, 1e6),
    "heating_hz_at_0p5v": (0.0, 1e10),
    "field_jitter_oe": (0.0, 100.0),
}
NAMES = tuple(f.name for f in fields(Realism))


def realism_from_config(sim: dict) -> Realism:
    """The checked ``simulation:`` mapping's realism: its preset, with the names it sets."""
    import dataclasses

    base = PRESETS[sim.get("realism") or "clean"]
    given = {k: float(sim[k]) for k in NAMES if sim.get(k) is not None}
    return dataclasses.replace(base, **given)


# flicker: equal-variance Ornstein-Uhlenbeck processes with log-spaced correlation times
# sum to a 1/f spectrum between 1/(2 pi max) and 1/(2 pi min)
_FLICKER_TAUS_S = np.geomspace(0.1, 1000.0, 9)
_JITTER_TAU_S = 5.0


class Imperfections:
    """The time-dependent part of a ``Realism`` on one bench (its clock and generator)."""

    def __init__(self, realism: Realism, rng: np.random.Generator):
        self.r = realism
        self.rng = rng
        self._t: dict[str, float] = {}
        self._drift_v = 0.0
        self._flicker = np.zeros(_FLICKER_TAUS_S.size)
        self._jitter_oe = 0.0

    def _dt(self, what: str, now: float) -> float:
        dt = max(now - self._t.get(what, now), 0.0)
        self._t[what] = now
        return dt

    def drift_v(self, now: float) -> float:
        """Background drift of Vmix (V) at bench time ``now`` (a random walk)."""
        if self.r.drift_uv_per_sqrt_s:
            dt = self._dt("drift", now)
            self._drift_v += self.rng.normal(0.0, self.r.drift_uv_per_sqrt_s * 1e-6 * math.sqrt(dt)) if dt else 0.0
        return self._drift_v

    def flicker_v(self, now: float, white_sd_v: float) -> float:
        """1/f noise (V) at the lock-in output, rms ``flicker_rel`` x the white noise."""
        if not self.r.flicker_rel:
            return 0.0
        dt = self._dt("flicker", now)
        sd = self.r.flicker_rel * white_sd_v / math.sqrt(_FLICKER_TAUS_S.size)
        if "flicker0" not in self._t:  # start in the stationary state
            self._t["flicker0"] = now
            self._flicker = self.rng.normal(0.0, 1.0, _FLICKER_TAUS_S.size)
        if dt == 0.0:
            return float(sd * np.sum(self._flicker))
        decay = np.exp(-dt / _FLICKER_TAUS_S)
        self._flicker = self._flicker * decay + np.sqrt(1.0 - decay**2) * self.rng.normal(0.0, 1.0, _FLICKER_TAUS_S.size)
        return float(sd * np.sum(self._flicker))

    def spike_v(self) -> float:
        """A spike (V, Vmix-equivalent) or 0."""
        if self.r.spike_probability and self.rng.random() < self.r.spike_probability:
            return float(self.rng.choice((-1.0, 1.0)) * self.r.spike_uv * 1e-6)
        return 0.0

    def jitter_oe(self, now: float) -> float:
        """Field jitter (Oe) at bench time ``now``: Ornstein-Uhlenbeck, 5 s correlation time."""
        if not self.r.field_jitter_oe:
            return 0.0
        dt = self._dt("jitter", now)
        if dt == 0.0:
            return self._jitter_oe
        decay = math.exp(-dt / _JITTER_TAU_S)
        self._jitter_oe = self._jitter_oe * decay + self.r.field_jitter_oe * math.sqrt(1.0 - decay**2) * self.rng.normal()
        return self._jitter_oe

    def rotate(self, x: float, y: float) -> tuple[float, float]:
        """(X, Y) of a signal seen with the lock-in's phase offset."""
        if not self.r.phase_offset_deg:
            return x, y
        c, s = math.cos(math.radians(self.r.phase_offset_deg)), math.sin(math.radians(self.r.phase_offset_deg))
        return x * c - y * s, x * s + y * c
