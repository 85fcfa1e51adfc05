"""Kepco BOP bipolar power supply driving the electromagnet, in current mode.

Commands from the Kepco "BOP (M) 100W, 200W, 400W Operator Manual" SCPI programming
section (revision not recorded here): ``FUNC:MODE CURR``, ``CURR``, ``VOLT``, ``OUTP``,
``SYST:ERR?``.

Builds on pymeasure's ``KepcoBOP3612``, whose current setpoint silently truncates out of
range values: ours refuses them (strict range) so that a wrong field is never set.
"""

from __future__ import annotations

from pymeasure.instruments.kepco.kepcobop import KepcoBOP3612
from stfmr_lab.instruments.base import StrictMixin, bool_control, mapped_control, number_control
from stfmr_lab.instruments.roles import MagnetSupply


class KepcoBOP(StrictMixin, KepcoBOP3612, MagnetSupply):
    """Kepco BOP 36-12 (+-12 A) bipolar supply."""

    model = "kepco_bop"
    IDN_MODELS = ("KEPCO",)  # "KEPCO,BOP 36-12,..." or, through its BIT 4886 card, "KEPCO,BIT 4886 36-12,..."
    ERROR_QUERY = "SYST:ERR?"
    current_range_a = (-12.0, 12.0)

    def __init__(self, adapter, name="Kepco BOP 36-12", **kwargs):
        super().__init__(adapter, name=name, **kwargs)

    current_a = number_control(
        "CURR?", "CURR %.5f",
        """Control the output current setpoint in A (float strictly from -12 to 12).""",
        current_range_a,
    )
    mode = mapped_control(
        "FUNC:MODE?", "FUNC:MODE %s", """Control the operating mode (str 'voltage' or 'current'; the query answers 0/1).""",
        {"voltage": "VOLT", "current": "CURR"}, reply_mapping={0: "voltage", 1: "current"}, cast=int,
    )
    output = bool_control("OUTP?", "OUTP %d", """Control whether the output is on (bool).""")
    voltage_limit_v = number_control(
        "VOLT?", "VOLT %.3f",
        """Control the voltage limit in current mode in V (float strictly from 0 to 36).""",
        [0, 36],
    )

    def configure_current_mode(self):
        self.mode = "current"

    def set_current_a(self, current_a):
        self.current_a = current_a

    def get_current_a(self):
        return self.current_a

    def set_output_enabled(self, enabled):
        self.output = bool(enabled)

    def get_output_enabled(self):
        return self.output

    def snapshot(self):
        return {"mode": self.mode, "current_a": self.current_a, "output_enabled": int(self.output)}
