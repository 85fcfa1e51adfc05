"""The station's limits: one object, one set of defaults, one rule for what is out of range.

``Limits`` is built from the station file's ``limits:`` mapping (missing keys take the
defaults below, which are also the station schema's). ``Limits.problems`` says what of a
set of values is beyond the limits, one line each with units; the safety guard raises on
its lines, the run-config check prefixes them with the config key, the GUI forms with the
input's label. Display units (``µA``, ``GHz``) change only how a line reads, never the rule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np

#: a bias exactly at its limit, give or take rounding, is within it (relative)
_BIAS_ROUNDING = 1e-12

#: display units: name -> (unit, size of the unit in the quantity's SI unit)
DISPLAY_UNITS = {"A": ("A", 1.0), "mA": ("mA", 1e-3), "uA": ("\u00b5A", 1e-6), "Hz": ("Hz", 1.0), "GHz": ("GHz", 1e9)}


#: how a line names each quantity (``Limits.problems``'s keywords)
QUANTITY_NAMES = {
    "field_oe": "field",
    "bias_current_a": "bias current",
    "bias_voltage_v": "bias voltage",
    "rf_power_dbm": "rf power",
    "frequency_hz": "frequency",
    "rf_power_at_device_dbm": "rf power at the device",
}


@dataclass(frozen=True)
class Limits:
    """Station limits (station file ``limits:``); units in the names."""

    max_bias_current_a: float = 2.0e-4
    max_bias_voltage_v: float = 0.7
    compliance_v: float = 0.8
    max_bias_step_a: float = 5.0e-6
    bias_step_dwell_s: float = 0.02
    max_rf_power_dbm: float = 0.0
    max_rf_power_at_device_dbm: float = -5.0
    max_field_oe: float = 3000.0
    min_frequency_hz: float = 1e9
    max_frequency_hz: float = 20e9

    @classmethod
    def from_config(cls, limits: Mapping | None) -> "Limits":
        """From a station's ``limits:`` mapping (missing keys: the defaults)."""
        limits = dict(limits or {})
        unknown = set(limits) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"limits: unknown key(s) {', '.join(sorted(unknown))}")
        return cls(**{k: float(v) for k, v in limits.items()})

    def problems(
        self,
        *,
        field_oe=(),
        bias_current_a=(),
        bias_voltage_v=(),
        rf_power_dbm=(),
        frequency_hz=(),
        rf_power_at_device_dbm=(),
        current_unit: str = "A",
        frequency_unit: str = "Hz",
        names: Mapping[str, str] | None = None,
    ) -> list[str]:
        """What of the given values is beyond the limits: one line per quantity ([]: all within).

        Each argument is one value or several (the line names the worst; several frequencies
        are named by their range); ``rf_power_at_device_dbm`` is ``(power_dbm, frequency_hz)``
        pairs. A value that is not finite is always out of range. ``current_unit`` ("A" or
        "uA") and ``frequency_unit`` ("Hz" or "GHz") are the units the lines use; ``names``
        renames a quantity in its line (e.g. ``{"bias_current_a": "bias"}``).
        """
        name = {**QUANTITY_NAMES, **(names or {})}
        i_unit, i_scale = DISPLAY_UNITS[current_unit]
        f_unit, f_scale = DISPLAY_UNITS[frequency_unit]
        out = []

        def worst(values, bound):
            """The largest |value| beyond ``bound`` (a non-finite one first); None: all within."""
            over = [v for v in _floats(values) if not abs(v) <= bound]
            return max(over, key=lambda v: abs(v) if math.isfinite(v) else math.inf) if over else None

        h = worst(field_oe, self.max_field_oe)
        if h is not None:
            out.append(f"{name['field_oe']} {h:g} Oe beyond the station limit \u00b1{self.max_field_oe:g} Oe")
        i = worst(bias_current_a, self.max_bias_current_a * (1 + _BIAS_ROUNDING))
        if i is not None:
            out.append(
                f"{name['bias_current_a']} {i / i_scale:g} {i_unit} beyond the station limit "
                f"\u00b1{self.max_bias_current_a / i_scale:g} {i_unit}"
            )
        v = worst(bias_voltage_v, self.max_bias_voltage_v * (1 + _BIAS_ROUNDING))
        if v is not None:
            out.append(f"{name['bias_voltage_v']} {v:g} V beyond the station limit \u00b1{self.max_bias_voltage_v:g} V")
        p = [x for x in _floats(rf_power_dbm) if not x <= self.max_rf_power_dbm]
        if p:
            p_worst = max(p, key=lambda x: x if math.isfinite(x) else math.inf)
            out.append(f"{name['rf_power_dbm']} {p_worst:g} dBm above the station limit {self.max_rf_power_dbm:g} dBm")
        f = _floats(frequency_hz)
        if any(not self.min_frequency_hz <= x <= self.max_frequency_hz for x in f):
            what = f"{f[0] / f_scale:g}" if len(f) == 1 else f"{min(f) / f_scale:g} to {max(f) / f_scale:g}"
            out.append(
                f"{name['frequency_hz'] if len(f) == 1 else 'frequencies'} {what} {f_unit} outside the station range "
                f"{self.min_frequency_hz / f_scale:g} to {self.max_frequency_hz / f_scale:g} {f_unit}"
            )
        over = [(a, b) for a, b in _pairs(rf_power_at_device_dbm) if not a <= self.max_rf_power_at_device_dbm]
        if over:
            a, b = max(over, key=lambda ab: ab[0] if math.isfinite(ab[0]) else math.inf)
            out.append(
                f"{name['rf_power_at_device_dbm']} {a:.1f} dBm above the station limit "
                f"{self.max_rf_power_at_device_dbm:g} dBm (at {b / 1e9:.3f} GHz)"
            )
        return out

    def hint(self, quantity: str, *, current_unit: str = "A", frequency_unit: str = "Hz") -> str:
        """The limit on a quantity (a ``problems`` keyword) in one short line, e.g. ``|H| ≤ 3000 Oe``."""
        i_unit, i_scale = DISPLAY_UNITS[current_unit]
        f_unit, f_scale = DISPLAY_UNITS[frequency_unit]
        return {
            "field_oe": f"|H| \u2264 {self.max_field_oe:g} Oe",
            "bias_current_a": f"|I| \u2264 {self.max_bias_current_a / i_scale:g} {i_unit}",
            "bias_voltage_v": f"|V| \u2264 {self.max_bias_voltage_v:g} V",
            "rf_power_dbm": f"\u2264 {self.max_rf_power_dbm:g} dBm",
            "frequency_hz": f"{self.min_frequency_hz / f_scale:g} to {self.max_frequency_hz / f_scale:g} {f_unit}",
            "rf_power_at_device_dbm": f"\u2264 {self.max_rf_power_at_device_dbm:g} dBm at the device",
        }[quantity]


#: the defaults of every station (the station schema's defaults are these)
DEFAULT_LIMITS = Limits()


def _floats(values) -> list[float]:
    """One value or several, as a flat list of floats."""
    return np.ravel(np.asarray(values, dtype=float)).tolist()


def _pairs(values) -> list[tuple[float, float]]:
    """``(a, b)`` pairs from one pair or several."""
    a = np.asarray(values, dtype=float)
    return [] if a.size == 0 else [(float(x), float(y)) for x, y in a.reshape(-1, 2)]
