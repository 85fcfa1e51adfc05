"""Inputs in bench units: "50 uA", "7.4 GHz", "1.2 kOe", "30 ms" (SI prefixes, pyqtgraph's parser).

The procedures' Parameters hold SI values (``bias_current_a`` in A, ``start_hz`` in Hz);
a person at the bench thinks in µA and GHz. ``QuantityInput`` is the form's input for such
a parameter: it shows the value in its display unit ("7.4 GHz"), reads a number with or
without a unit and SI prefix (a bare number is in the display unit: "7.4" is 7.4 GHz), and
refuses anything else visibly (red border, the reason as its ``problem``) instead of
resetting it, so nothing unreadable is ever queued. ``value()`` is in SI units, as
pymeasure's inputs are.
"""

from __future__ import annotations

import math

import pyqtgraph.functions as pgfn
from pymeasure.display.inputs import Input
from qtpy import QtWidgets

#: display unit per SI unit: (display unit, its size in SI units)
PREFIX_SCALE = {"": 1.0, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "m": 1e-3, "u": 1e-6, "\u00b5": 1e-6, "n": 1e-9, "p": 1e-12}
#: what each SI unit measures, for the refusal's text
WHAT = {"Hz": "a frequency", "A": "a current", "V": "a voltage", "Oe": "a field", "s": "a time", "dBm": "a power"}
#: units that take no SI prefix
NO_PREFIX = ("dBm",)


class QuantityError(ValueError):
    """Text that is not a value of the wanted unit (the message says what to write)."""


def display_unit(si_unit: str, display: str) -> float:
    """The size of ``display`` (e.g. "GHz") in ``si_unit`` (e.g. "Hz"): 1e9."""
    prefix = display[: len(display) - len(si_unit)] if display.endswith(si_unit) else None
    if prefix is None or prefix not in PREFIX_SCALE:
        raise ValueError(f"{display!r} is not a multiple of {si_unit!r}")
    return PREFIX_SCALE[prefix]


def parse_quantity(text: str, si_unit: str, display: str | None = None) -> float:
    """The SI value of ``text`` ("50 uA" -> 5e-05 for unit "A"); a bare number is in
    ``display`` (default: the SI unit). Raises ``QuantityError`` for anything else."""
    display = display or si_unit
    s = str(text).strip().replace("\u03bc", "\u00b5")  # Greek mu typed for the micro sign
    example = f"e.g. 7.4 {display}" if si_unit != "A" else f"e.g. 50 {display}"
    what = WHAT.get(si_unit, f"a value in {si_unit}")
    if not s:
        raise QuantityError(f"empty: give {what} ({example})")
    try:
        number, prefix, suffix = pgfn.siParse(s)
        value = float(number)
    except (ValueError, TypeError):
        raise QuantityError(f"{s!r} is not {what} ({example})") from None
    if not prefix and not suffix:
        return value * display_unit(si_unit, display)
    if not suffix and prefix:  # "5 m": pyqtgraph reads a lone letter as a prefix
        suffix, prefix = prefix, ""
    if suffix != si_unit or (prefix and si_unit in NO_PREFIX):
        raise QuantityError(f"{s!r} is not {what} ({example})")
    return value * PREFIX_SCALE[prefix]


def format_quantity(value_si: float, si_unit: str, display: str | None = None) -> str:
    """``value_si`` in ``display``: 7.4e9 Hz -> '7.4 GHz' (6 significant digits)."""
    display = display or si_unit
    if value_si is None or not math.isfinite(value_si):
        return ""
    v = value_si / display_unit(si_unit, display)
    return f"{v:.6g} {display}"


class QuantityInput(Input, QtWidgets.QLineEdit):
    """A pymeasure input for a FloatParameter with units, in bench units (module docstring).

    ``display``: the unit shown (e.g. "GHz" for a parameter in Hz). ``problem`` is '' or
    why the text is refused; ``value()`` raises ``QuantityError`` for refused text.
    """

    def __init__(self, parameter, display: str | None = None, parent=None):
        self.si_unit = parameter.units or ""
        self.display = display or self.si_unit
        display_unit(self.si_unit, self.display)  # a wrong pairing fails here, not at the bench
        super().__init__(parameter=parameter, parent=parent)
        self.setToolTip(f"{parameter.name}: {WHAT.get(self.si_unit, 'a value')}, e.g. "
                        f"{format_quantity(parameter.default, self.si_unit, self.display)}; SI prefixes accepted")

    # pymeasure's Input calls setValue/setSuffix from set_parameter
    def setSuffix(self, value):
        pass

    def setValue(self, value) -> None:
        """Show ``value`` (SI units) in the display unit."""
        self.setText(format_quantity(float(value), self.si_unit, self.display))

    def value(self) -> float:
        """The SI value of the text (``QuantityError`` when it is refused)."""
        v = parse_quantity(self.text(), self.si_unit, self.display)
        p = self._parameter
        lo, hi = getattr(p, "minimum", None), getattr(p, "maximum", None)
        if (lo is not None and v < lo) or (hi is not None and v > hi) or not math.isfinite(v):
            raise QuantityError(
                f"{format_quantity(v, self.si_unit, self.display)} is outside "
                f"{format_quantity(lo, self.si_unit, self.display)} to {format_quantity(hi, self.si_unit, self.display)}"
            )
        return v

    @property
    def problem(self) -> str:
        """'' when the text reads as a value in range, else why not."""
        try:
            self.value()
        except QuantityError as e:
            return str(e)
        return ""


#: the form inputs shown in bench units: parameter name -> display unit
DISPLAY_UNITS = {
    "start_hz": "GHz",
    "stop_hz": "GHz",
    "frequency_hz": "GHz",
    "span_hz": "GHz",
    "chop_frequency_hz": "Hz",
    "bias_current_a": "\u00b5A",
    "current_max_a": "\u00b5A",
    "bias_start_v": "V",
    "bias_stop_v": "V",
    "field_oe": "Oe",
    "start_oe": "Oe",
    "stop_oe": "Oe",
    "time_constant_s": "ms",
    "sensitivity_v": "mV",
    "rf_power_dbm": "dBm",
}


def bench_inputs_widget(base: type) -> type:
    """pymeasure's InputsWidget class ``base`` with QuantityInput for DISPLAY_UNITS' parameters."""

    class BenchInputsWidget(base):
        def _setup_ui(self):
            super()._setup_ui()
            params = self._procedure.parameter_objects()
            for name in self._inputs:
                if name in DISPLAY_UNITS and getattr(params[name], "units", None):
                    old = getattr(self, name)
                    setattr(self, name, QuantityInput(params[name], DISPLAY_UNITS[name], parent=self))
                    old.deleteLater()

    return BenchInputsWidget

