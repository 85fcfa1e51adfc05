"""pymeasure's own API on our subclasses: inherited controls and methods behave as upstream.

Our strict parsing covers the controls we declare; what a subclass inherits from pymeasure
(text replies, ``shutdown()``) must keep working for users who script the instruments with
pymeasure's names. pymeasure's own protocol tests run against our classes in
``tests/instruments/upstream``; these add what those do not cover.
"""

import numpy as np
import pytest
from pymeasure.test import expected_protocol
from stfmr_lab.instruments.agilent_e8257d import AgilentE8257D
from stfmr_lab.instruments.base import InstrumentReplyError
from stfmr_lab.instruments.keithley2400 import Keithley2400

INIT_2400 = (":FORMAT:ELEMENTS VOLTAGE, CURRENT, RESISTANCE, TIME, STATUS", None)


def test_keithley2400_inherited_shutdown_ramps_and_turns_off():
    """pymeasure's shutdown: reads the text reply CURR, ramps in 30 steps, aborts, output off."""
    steps = [(f":SOURCE:CURRENT {c:g}", None) for c in np.linspace(1e-4, 0.0, 30)]
    with expected_protocol(
        Keithley2400,
        [INIT_2400, (":SOURCE:FUNCTION?", "CURR"), (":SOURCE:CURRENT?", "1.0e-4"), *steps, (":ABOR", None), ("OUTPUT 0", None)],
    ) as inst:
        inst.shutdown()
        assert inst.isShutdown is True


@pytest.mark.parametrize(
    "name, query, reply, expected",
    [
        ("trigger_source", ":TRIGGER:SOURCE?", "IMM", "immediate"),
        ("front_terminals_enabled", ":ROUTE:TERMINALS?", "FRON", True),
        ("next_error", "SYST:ERR?", '-113,"Undefined header"', [-113, '"Undefined header"']),
    ],
)
def test_keithley2400_inherited_text_replies(name, query, reply, expected):
    with expected_protocol(Keithley2400, [INIT_2400, (query, reply)]) as inst:
        assert getattr(inst, name) == expected


def test_our_own_controls_stay_strict_on_the_same_class():
    """The same instrument: our control still refuses a text reply pymeasure would pass on."""
    with expected_protocol(Keithley2400, [INIT_2400, (":SOUR:CURR:LEV?", "CURR")]) as inst:
        with pytest.raises(InstrumentReplyError, match="is not a number"):
            inst.get_current_a()
    with expected_protocol(Keithley2400, [INIT_2400, (":SOUR:CURR:LEV?", "1e-6,2e-6")]) as inst:
        with pytest.raises(InstrumentReplyError, match="2 values, expected 1"):
            inst.get_current_a()


def test_agilent_inherited_shutdown_and_controls():
    with expected_protocol(
        AgilentE8257D,
        [
            (":SOUR:PULM:SOUR?", "INT"),
            (":OUTPUT:MOD OFF;", None),
            (":lfo:stat off;", None),
            (":OUTPUT OFF;", None),
        ],
    ) as inst:
        assert _upstream_pulse_source(inst) == "internal"
        inst.shutdown()


def _upstream_pulse_source(inst):
    """pymeasure's ``pulse_source`` (ours shadows the name): read through the upstream class."""
    from pymeasure.instruments.agilent.agilent8257D import Agilent8257D

    return Agilent8257D.pulse_source.fget(inst)
