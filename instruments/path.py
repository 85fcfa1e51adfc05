"""The RF path from the source to the junction (cables + bias tee) as a calibration object.

Either a two-number model (loss_db_0 + loss_db_per_ghz * f/GHz) or a measured S21 table
from a Touchstone .s2p file (read with scikit-rf). Gives the RF current amplitude at the
device for a source power and a device resistance (physics.md, forward model step 3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class BiasTeePath:
    """Attenuation (dB, positive) from the source to the device vs frequency."""

    loss_db_0: float = 2.0
    loss_db_per_ghz: float = 0.5
    z0_ohm: float = 50.0
    table_freq_hz: tuple[float, ...] | None = field(default=None, repr=False)
    table_loss_db: tuple[float, ...] | None = field(default=None, repr=False)
    source: str = "model"

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

    def loss_db(self, frequency_hz):
        """Attenuation in dB (positive) at ``frequency_hz``."""
        f = np.asarray(frequency_hz, dtype=float)
        if self.table_freq_hz is not None:
            lo, hi = self.table_freq_hz[0], self.table_freq_hz[-1]
            if np.any((f < lo) | (f > hi)):
                raise ValueError(f"frequency_hz: outside the S21 table ({lo:g} to {hi:g} Hz)")
            return np.interp(f, self.table_freq_hz, self.table_loss_db)
        return self.loss_db_0 + self.loss_db_per_ghz * f / 1e9

    def i_rf(self, frequency_hz, rf_power_dbm, resistance_ohm):
        """Peak RF current (A) into a device of ``resistance_ohm`` for source power ``rf_power_dbm``."""
        p_w = 1e-3 * 10.0 ** (np.asarray(rf_power_dbm, dtype=float) / 10.0)
        att = 10.0 ** (-self.loss_db(frequency_hz) / 20.0)
        return 2.0 * np.sqrt(2.0 * p_w * self.z0_ohm) * att / (self.z0_ohm + np.asarray(resistance_ohm, dtype=float))

    def power_at_device_dbm(self, frequency_hz, rf_power_dbm):
        """Power arriving at the device end of the path (dBm)."""
        return np.asarray(rf_power_dbm, dtype=float) - self.loss_db(frequency_hz)

    def snapshot(self) -> dict:
        out = {"source": self.source, "z0_ohm": self.z0_ohm}
        if self.table_freq_hz is None:
            out.update(loss_db_0=self.loss_db_0, loss_db_per_ghz=self.loss_db_per_ghz)
        else:
            out.update(table_points=len(self.table_freq_hz))
        return out
