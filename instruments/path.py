"""The RF path from the source to the junction (cables + bias tee) as a calibration object.

One ``BiasTeePath`` serves everything that needs the path: the physics (the virtual
device's true path), the config check (power at the device), the station and its twins,
the run file (``snapshot``, the whole calibration) and the analysis (``from_snapshot``).

The loss is either a two-number model (loss_db_0 + loss_db_per_ghz * f/GHz) or a measured
S21 table from a Touchstone .s2p file (read with scikit-rf), plus optionally a standing-wave
ripple ``ripple_db * sin(2 pi f / ripple_period_hz + ripple_phase_rad)`` (mismatch between
source, bias tee, probe and pads; what a real path has and a two-number model lacks).
Gives the RF current amplitude at the device for a source power and a device resistance
(physics.md, forward model step 3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


def i_rf_a(rf_power_dbm, loss_db, resistance_ohm, z0_ohm=50.0):
    """Peak RF current (A) into ``resistance_ohm`` at the end of a ``z0_ohm`` line whose
    source delivers ``rf_power_dbm`` through ``loss_db`` of attenuation (positive dB):
    I_RF = 2 sqrt(2 P z0) 10^(-loss/20) / (z0 + R). The one place this formula lives."""
    p_w = 1e-3 * 10.0 ** (np.asarray(rf_power_dbm, dtype=float) / 10.0)
    att = 10.0 ** (-np.asarray(loss_db, dtype=float) / 20.0)
    return 2.0 * np.sqrt(2.0 * p_w * z0_ohm) * att / (z0_ohm + np.asarray(resistance_ohm, dtype=float))


@dataclass(frozen=True)
class BiasTeePath:
    """Attenuation (dB, positive) from the source to the device vs frequency."""

    loss_db_0: float = 2.0
    loss_db_per_ghz: float = 0.5
    z0_ohm: float = 50.0
    table_freq_hz: tuple[float, ...] | None = field(default=None, repr=False)
    table_loss_db: tuple[float, ...] | None = field(default=None, repr=False)
    source: str = "model"
    ripple_db: float = 0.0
    ripple_period_hz: float = 0.3e9
    ripple_phase_rad: float = 0.0

    def __post_init__(self):
        if (self.table_freq_hz is None) != (self.table_loss_db is None):
            raise ValueError("path: the S21 table needs both frequencies and losses")
        if self.table_freq_hz is not None:
            f = np.asarray(self.table_freq_hz, dtype=float)
            loss = np.asarray(self.table_loss_db, dtype=float)
            if f.ndim != 1 or f.shape != loss.shape or f.size < 2:
                raise ValueError("path: the S21 table needs two equal-length 1-D columns (>= 2 points)")
            if not (np.all(np.isfinite(f)) and np.all(np.isfinite(loss)) and np.all(np.diff(f) > 0)):
                raise ValueError("path: the S21 table's frequencies must be finite and strictly increasing")
            object.__setattr__(self, "table_freq_hz", tuple(f.tolist()))
            object.__setattr__(self, "table_loss_db", tuple(loss.tolist()))
        if not self.ripple_period_hz > 0:
            raise ValueError("path: ripple_period_hz must be positive")

    @classmethod
    def from_touchstone(cls, path: str | Path, z0_ohm: float = 50.0) -> "BiasTeePath":
        """Read S21 of a 2-port Touchstone file; loss = -20 log10 |S21|."""
        import skrf

        p = Path(path)
        if not p.is_file():
            raise ValueError(f"path.touchstone: no such file {p}")
        try:
            net = skrf.Network(str(p))
        except Exception as e:
            raise ValueError(f"path.touchstone: cannot read {p}: {e}") from None
        if net.nports != 2:
            raise ValueError(f"path.touchstone: {p} has {net.nports} ports, need 2")
        s21 = np.abs(net.s[:, 1, 0])
        loss = -20.0 * np.log10(np.maximum(s21, 1e-12))
        return cls(
            z0_ohm=z0_ohm,
            table_freq_hz=tuple(net.f.tolist()),
            table_loss_db=tuple(loss.tolist()),
            source=str(p),
        )

    @classmethod
    def from_config(cls, mapping: dict) -> "BiasTeePath":
        """From a station file's checked ``path:`` mapping (a touchstone file or the two numbers)."""
        if "touchstone" in mapping:
            return cls.from_touchstone(mapping["touchstone"], z0_ohm=mapping.get("z0_ohm", 50.0))
        return cls(
            float(mapping.get("loss_db_0", 2.0)), float(mapping.get("loss_db_per_ghz", 0.5)), float(mapping.get("z0_ohm", 50.0))
        )

    @classmethod
    def from_snapshot(cls, snap: dict) -> "BiasTeePath | None":
        """The calibration a run file recorded (``snapshot``); None when it holds none."""
        if "table_freq_hz" in snap and "table_loss_db" in snap:
            return cls(
                z0_ohm=float(snap.get("z0_ohm", 50.0)),
                table_freq_hz=tuple(np.ravel(snap["table_freq_hz"]).tolist()),
                table_loss_db=tuple(np.ravel(snap["table_loss_db"]).tolist()),
                source=str(snap.get("source", "table")),
            )
        if "loss_db_0" in snap and "loss_db_per_ghz" in snap:
            kw = {k: float(snap[k]) for k in ("ripple_db", "ripple_period_hz", "ripple_phase_rad") if k in snap}
            return cls(float(snap["loss_db_0"]), float(snap["loss_db_per_ghz"]), float(snap.get("z0_ohm", 50.0)),
                       source=str(snap.get("source", "model")), **kw)
        return None

    def loss_db(self, frequency_hz):
        """Attenuation in dB (positive) at ``frequency_hz``."""
        f = np.asarray(frequency_hz, dtype=float)
        if self.table_freq_hz is not None:
            lo, hi = self.table_freq_hz[0], self.table_freq_hz[-1]
            if np.any((f < lo) | (f > hi)):
                raise ValueError(f"frequency_hz: outside the S21 table ({lo:g} to {hi:g} Hz)")
            loss = np.interp(f, self.table_freq_hz, self.table_loss_db)
        else:
            loss = self.loss_db_0 + self.loss_db_per_ghz * f / 1e9
        if self.ripple_db:
            loss = loss + self.ripple_db * np.sin(2 * math.pi * f / self.ripple_period_hz + self.ripple_phase_rad)
        return loss

    def i_rf(self, frequency_hz, rf_power_dbm, resistance_ohm):
        """Peak RF current (A) into a device of ``resistance_ohm`` for source power ``rf_power_dbm``."""
        return i_rf_a(rf_power_dbm, self.loss_db(frequency_hz), resistance_ohm, self.z0_ohm)

    def relative_irf2(self, frequency_hz):
        """I_RF^2(f) relative to a lossless path, 10^(-loss/10): the shape the path gives a spectrum."""
        return 10.0 ** (-np.asarray(self.loss_db(frequency_hz), dtype=float) / 10.0)

    def power_at_device_dbm(self, frequency_hz, rf_power_dbm):
        """Power arriving at the device end of the path (dBm)."""
        return np.asarray(rf_power_dbm, dtype=float) - self.loss_db(frequency_hz)

    def snapshot(self) -> dict:
        """The whole calibration (what the run file keeps and ``from_snapshot`` reads back)."""
        out = {"source": self.source, "z0_ohm": self.z0_ohm}
        if self.table_freq_hz is None:
            out.update(loss_db_0=self.loss_db_0, loss_db_per_ghz=self.loss_db_per_ghz)
        else:
            out.update(table_points=len(self.table_freq_hz), table_freq_hz=self.table_freq_hz, table_loss_db=self.table_loss_db)
        if self.ripple_db:
            out.update(ripple_db=self.ripple_db, ripple_period_hz=self.ripple_period_hz, ripple_phase_rad=self.ripple_phase_rad)
        return out
