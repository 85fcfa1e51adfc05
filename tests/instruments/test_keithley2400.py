"""Keithley 2400: the exact protocol, then the driver on its pyvisa-sim twin."""

import pytest
from pymeasure.test import expected_protocol
from stfmr_lab.instruments.base import InstrumentError, InstrumentReplyError
from stfmr_lab.instruments.keithley2400 import Keithley2400

MODEL = "keithley2400"
#: pymeasure's Keithley2400 sets the reply format when it opens (changes nothing at the device)
STARTUP = [(b":FORMAT:ELEMENTS VOLTAGE, CURRENT, RESISTANCE, TIME, STATUS", None)]


# ---------------------------------------------------------------- protocol
def test_settings_protocol():
    with expected_protocol(
        Keithley2400,
        STARTUP
        + [
            (b":SOUR:FUNC CURR", None),
            (b':SENS:FUNC "VOLT"', None),
            (b":SENS:VOLT:PROT 0.8000", None),
            (b":SENS:VOLT:PROT?", b"+8.000000E-01"),
            (b":SOUR:CURR:LEV 1.000000e-04", None),
            (b":SOUR:CURR:LEV?", b"+1.000000E-04"),
            (b":SOUR:CURR:LEV -2.500000e-05", None),
            (b":OUTP 1", None),
            (b":OUTP?", b"1"),
            (b":OUTP 0", None),
        ],
    ) as inst:
        inst.configure_current_source(0.8)
        assert inst.get_compliance_v() == 0.8
        inst.set_current_a(1e-4)
        assert inst.get_current_a() == 1e-4
        inst.set_current_a(-2.5e-5)
        inst.set_output_enabled(True)
        assert inst.get_output_enabled() is True
        inst.set_output_enabled(False)


def test_measure_snapshot_and_identify_protocol():
    with expected_protocol(
        Keithley2400,
        STARTUP
        + [
            (b":READ?", b"+4.018745E-01,+1.000000E-04,+9.910000E+37,+1.234000E+01,+0.000000E+00"),
            (b"*IDN?", b"KEITHLEY INSTRUMENTS INC.,MODEL 2400,1234567,C32"),
            (b":SOUR:FUNC?", b"CURR"),
            (b":SOUR:CURR:LEV?", b"+0.000000E+00"),
            (b":SENS:VOLT:PROT?", b"+8.000000E-01"),
            (b":OUTP?", b"0"),
        ],
    ) as inst:
        assert inst.measure() == (0.4018745, 1e-4)
        assert "MODEL 2400" in inst.identify()
        assert inst.snapshot() == {
            "source_function": "current",
            "current_a": 0.0,
            "compliance_v": 0.8,
            "output_enabled": 0,
        }


def test_error_queue_protocol():
    with expected_protocol(
        Keithley2400,
        STARTUP
        + [
            (b":SYST:ERR?", b'-222,"Data out of range"'),
            (b":SYST:ERR?", b'0,"No error"'),
            (b":SYST:ERR?", b'0,"No error"'),
        ],
    ) as inst:
        assert inst.check_errors() == ['-222,"Data out of range"']
        assert inst.check_errors() == []


@pytest.mark.parametrize(
    "call, query, reply",
    [
        (lambda i: i.get_current_a(), b":SOUR:CURR:LEV?", b"banana"),
        (lambda i: i.get_compliance_v(), b":SENS:VOLT:PROT?", b""),
        (lambda i: i.get_output_enabled(), b":OUTP?", b"ON?"),
        (lambda i: i.measure(), b":READ?", b"+4.0E-01,+1.0E-04"),  # truncated: 2 of 5 values
        (lambda i: i.measure(), b":READ?", b"+4.0E-01,OVERFLOW,1,2,3"),
    ],
)
def test_garbage_reply_raises(call, query, reply):
    with expected_protocol(Keithley2400, STARTUP + [(query, reply)]) as inst:
        with pytest.raises(InstrumentReplyError):
            call(inst)


def test_unreadable_error_queue_raises():
    with expected_protocol(Keithley2400, STARTUP + [(b":SYST:ERR?", b"Hello")]) as inst:
        with pytest.raises(InstrumentError):
            inst.check_errors()


@pytest.mark.parametrize(
    "call",
    [
        lambda i: i.set_current_a(1.1),
        lambda i: i.set_current_a(-1.06),
        lambda i: setattr(i, "compliance_v", 0.1),  # below 0.2 V
    ],
)
def test_out_of_range_raises_before_sending(call):
    with expected_protocol(Keithley2400, STARTUP) as inst:
        with pytest.raises(ValueError):
            call(inst)


def test_bad_compliance_raises_before_sending():
    with expected_protocol(Keithley2400, STARTUP) as inst:
        with pytest.raises(ValueError):
            inst.configure_current_source(500.0)


# ---------------------------------------------------------------- on the twin
@pytest.fixture
def bench_station(make_station, station_config):
    station_config["instruments"]["dc"]["model"] = MODEL
    st = make_station(config=station_config)
    st.field.prepare()
    st.field.set_field(1000.0)
    return st


def test_settings_round_trip_on_the_twin(bench_station):
    dc, twin = bench_station["dc"], bench_station.bench.twins["dc"]
    assert dc.model == MODEL and isinstance(dc, Keithley2400)
    dc.configure_current_source(0.75)
    dc.set_current_a(-3.25e-5)
    dc.set_output_enabled(True)
    assert dc.get_compliance_v() == 0.75
    assert dc.get_current_a() == -3.25e-5
    assert dc.get_output_enabled() is True
    assert (twin.compliance_v, twin.current_set_a, twin.output_on) == (0.75, -3.25e-5, True)
    assert dc.snapshot() == {"source_function": "current", "current_a": -3.25e-5, "compliance_v": 0.75, "output_enabled": 1}
    assert dc.check_errors() == []


def test_voltage_readback_is_the_junction_iv(bench_station):
    st = bench_station
    dc, m = st["dc"], st.bench.model
    dc.configure_current_source(0.8)
    dc.set_output_enabled(True)
    for i in (0.0, 1e-5, 1e-4, -1e-4, 1.8e-4):
        dc.set_current_a(i)
        v, i_meas = dc.measure()
        assert i_meas == pytest.approx(i, abs=1e-12)
        assert v == pytest.approx(m.voltage(st.bench.theta(), i), rel=1e-5, abs=1e-9)
    dc.set_output_enabled(False)
    assert dc.measure() == (0.0, 0.0)


def test_compliance_clamps_the_voltage(bench_station):
    st = bench_station
    dc, m = st["dc"], st.bench.model
    dc.configure_current_source(0.3)
    dc.set_output_enabled(True)
    dc.set_current_a(1.5e-4)
    v, i = dc.measure()
    assert v == pytest.approx(0.3, abs=1e-9)
    assert i == pytest.approx(m.current(st.bench.theta(), 0.3), rel=1e-5)
    assert i < 1.5e-4


def test_injected_error_shows_in_check_errors(bench_station):
    st = bench_station
    st.bench.inject("dc", "error")
    assert st["dc"].check_errors() == ['-222,"Data out of range (injected)"']
    assert st["dc"].check_errors() == []
