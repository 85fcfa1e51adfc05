"""Rohde & Schwarz SMB100A: the exact protocol, then the driver on its pyvisa-sim twin."""

import pytest
from pymeasure.test import expected_protocol
from stfmr_lab.instruments.base import InstrumentReplyError
from stfmr_lab.instruments.rs_smb100a import RohdeSchwarzSMB100A

from stfmr_lab.physics import LOCKIN_RMS_FACTOR

MODEL = "rs_smb100a"


# ---------------------------------------------------------------- protocol
def test_settings_protocol():
    with expected_protocol(
        RohdeSchwarzSMB100A,
        [
            (b"SOUR:FREQ:CW 8600000000.000", None),
            (b"SOUR:FREQ:CW?", b"8600000000"),
            (b"SOUR:POW:LEV:IMM:AMPL -10.00", None),
            (b"SOUR:POW:LEV:IMM:AMPL?", b"-10"),
            (b"OUTP:STAT 1", None),
            (b"OUTP:STAT?", b"1"),
            (b"OUTP:STAT 0", None),
            (b"OUTP:STAT?", b"0"),
        ],
    ) as inst:
        inst.set_frequency_hz(8.6e9)
        assert inst.get_frequency_hz() == 8.6e9
        inst.set_power_dbm(-10)
        assert inst.get_power_dbm() == -10.0
        inst.set_rf_enabled(True)
        assert inst.get_rf_enabled() is True
        inst.set_rf_enabled(False)
        assert inst.get_rf_enabled() is False


def test_internal_chop_is_a_square_wave_period_and_width():
    # longer period than now: period first, then width (width < period at every step)
    with expected_protocol(
        RohdeSchwarzSMB100A,
        [
            (b"SOUR:PULM:SOUR INT", None),
            (b"SOUR:PULM:MODE SING", None),
            (b"SOUR:PULM:TRIG:MODE AUTO", None),
            (b"SOUR:PULM:PER?", b"1e-05"),
            (b"SOUR:PULM:PER 0.004", None),
            (b"SOUR:PULM:WIDT 0.002", None),
            (b"SOUR:PGEN:OUTP:STAT 1", None),
            (b"SOUR:PULM:STAT 1", None),
            (b"SOUR:MOD:STAT 1", None),  # the modulation master switch (MOD ON/OFF)
            (b"SOUR:PULM:PER?", b"0.004"),
            (b"SOUR:PULM:STAT?", b"1"),
            (b"SOUR:MOD:STAT?", b"1"),
            (b"SOUR:PULM:SOUR?", b"INT"),
        ],
    ) as inst:
        inst.configure_chop(250.0, "internal")
        assert inst.get_chop() == {"enabled": True, "source": "internal", "frequency_hz": 250.0}
    # shorter period than now: width first
    with expected_protocol(
        RohdeSchwarzSMB100A,
        [
            (b"SOUR:PULM:SOUR INT", None),
            (b"SOUR:PULM:MODE SING", None),
            (b"SOUR:PULM:TRIG:MODE AUTO", None),
            (b"SOUR:PULM:PER?", b"0.004"),
            (b"SOUR:PULM:WIDT 0.0005", None),
            (b"SOUR:PULM:PER 0.001", None),
            (b"SOUR:PGEN:OUTP:STAT 1", None),
            (b"SOUR:PULM:STAT 1", None),
            (b"SOUR:MOD:STAT 1", None),
        ],
    ) as inst:
        inst.configure_chop(1000.0)


def test_external_chop_protocol():
    with expected_protocol(
        RohdeSchwarzSMB100A,
        [
            (b"SOUR:PULM:SOUR EXT", None),
            (b"SOUR:PULM:POL NORM", None),
            (b"SOUR:PULM:STAT 1", None),
            (b"SOUR:MOD:STAT 1", None),
            (b"SOUR:PULM:PER?", b"0.004"),
            (b"SOUR:PULM:STAT?", b"0"),
            (b"SOUR:PULM:SOUR?", b"EXT"),
        ],
    ) as inst:
        inst.configure_chop(source="external")
        assert inst.get_chop() == {"enabled": False, "source": "external", "frequency_hz": 250.0}


def test_snapshot_and_identify_protocol():
    with expected_protocol(
        RohdeSchwarzSMB100A,
        [
            (b"*IDN?", b"Rohde&Schwarz,SMB100A,1406.6000k03/101234,3.1.19.15"),
            (b"SOUR:PULM:PER?", b"0.004"),
            (b"SOUR:PULM:STAT?", b"1"),
            (b"SOUR:MOD:STAT?", b"1"),
            (b"SOUR:PULM:SOUR?", b"INT"),
            (b"SOUR:FREQ:CW?", b"1000000000"),
            (b"SOUR:POW:LEV:IMM:AMPL?", b"-20"),
            (b"OUTP:STAT?", b"0"),
            (b"SOUR:PULM:WIDT?", b"0.002"),
        ],
    ) as inst:
        assert inst.identify().startswith("Rohde&Schwarz,SMB100A")
        assert inst.snapshot() == {
            "frequency_hz": 1e9,
            "power_dbm": -20.0,
            "rf_enabled": 0,
            "chop_enabled": 1,
            "chop_source": "internal",
            "chop_frequency_hz": 250.0,
            "chop_width_s": 0.002,
        }


def test_error_queue_protocol():
    with expected_protocol(
        RohdeSchwarzSMB100A,
        [
            (b"SYST:ERR?", b'-222,"Data out of range;SOUR:FREQ:CW 1e12"'),
            (b"SYST:ERR?", b'0,"No error"'),
            (b"SYST:ERR?", b'0,"No error"'),
        ],
    ) as inst:
        assert inst.check_errors() == ['-222,"Data out of range;SOUR:FREQ:CW 1e12"']
        assert inst.check_errors() == []


@pytest.mark.parametrize(
    "call, query, reply",
    [
        (lambda i: i.get_frequency_hz(), b"SOUR:FREQ:CW?", b"banana"),
        (lambda i: i.get_power_dbm(), b"SOUR:POW:LEV:IMM:AMPL?", b""),
        (lambda i: i.get_rf_enabled(), b"OUTP:STAT?", b"2"),
        (lambda i: i.get_chop(), b"SOUR:PULM:PER?", b"0"),
        (lambda i: i.pulse_source, b"SOUR:PULM:SOUR?", b"AM"),
        (lambda i: i.check_errors(), b"SYST:ERR?", b"Hello"),
    ],
)
def test_garbage_reply_raises(call, query, reply):
    with expected_protocol(RohdeSchwarzSMB100A, [(query, reply)]) as inst:
        with pytest.raises(InstrumentReplyError):
            call(inst)


@pytest.mark.parametrize(
    "call",
    [
        lambda i: i.set_frequency_hz(50e3),
        lambda i: i.set_frequency_hz(20.1e9),
        lambda i: i.set_power_dbm(31),
        lambda i: i.set_power_dbm(-146),
        lambda i: i.configure_chop(250.0, "sideways"),
        lambda i: i.configure_chop(0.001, "internal"),  # period > 100 s
        lambda i: i.configure_chop(30e6, "internal"),  # width < 20 ns
    ],
)
def test_out_of_range_raises_before_sending(call):
    with expected_protocol(RohdeSchwarzSMB100A, []) as inst:
        with pytest.raises(ValueError):
            call(inst)


# ---------------------------------------------------------------- on the twin
@pytest.fixture
def bench_station(make_station, station_config):
    station_config["instruments"]["source"]["model"] = MODEL
    return make_station(config=station_config)


def _lockin_ready(st, sensitivity_v=20e-3):
    li, dc = st["lockin"], st["dc"]
    li.configure_reference("external")
    li.set_time_constant_s(0.03)
    li.set_slope_db_oct(24)
    li.set_sensitivity_v(sensitivity_v)
    dc.configure_current_source(0.8)
    dc.set_current_a(0.0)
    dc.set_output_enabled(True)
    st.field.prepare()
    st.field.set_field(1000.0)


def _x(st, settle_s=1.0):
    st.clock.sleep(settle_s)
    return st["lockin"].read_xy()[0] / LOCKIN_RMS_FACTOR


def test_settings_round_trip_on_the_twin(bench_station):
    st = bench_station
    src, twin = st["source"], st.bench.twins["source"]
    assert src.model == MODEL and isinstance(src, RohdeSchwarzSMB100A)
    src.set_frequency_hz(12.345678e9)
    src.set_power_dbm(-17.25)
    src.set_rf_enabled(True)
    src.configure_chop(317.0, "internal")
    assert src.get_frequency_hz() == pytest.approx(12.345678e9)
    assert src.get_power_dbm() == -17.25
    assert src.get_rf_enabled() is True
    chop = src.get_chop()
    assert chop["enabled"] and chop["source"] == "internal"
    assert chop["frequency_hz"] == pytest.approx(317.0, rel=1e-9)
    assert src.pulse_width_s == pytest.approx(src.pulse_period_s / 2, rel=1e-8)
    # the twin speaks physical units: a rate, not a period
    assert (twin.frequency_hz, twin.power_dbm, twin.rf_on) == (pytest.approx(12.345678e9), -17.25, True)
    assert twin.chopped and not twin.chop_external
    assert twin.chop_frequency_hz == pytest.approx(317.0, rel=1e-9)
    assert twin.chop_duty == pytest.approx(0.5)
    assert int(twin.p("mod_output")) == 1  # no such switch on the SMB
    for f in (1000.0, 10.0, 250.0):  # both orders of period/width
        src.configure_chop(f)
        assert src.get_chop()["frequency_hz"] == pytest.approx(f, rel=1e-9)
    src.configure_chop(source="external")
    assert twin.chop_external and src.get_chop()["source"] == "external"
    assert src.check_errors() == []
    snap = src.snapshot()
    assert snap["chop_source"] == "external" and snap["rf_enabled"] == 1


def test_twin_refuses_out_of_range_into_the_error_queue(bench_station):
    src = bench_station["source"]
    src.write("SOUR:POW:LEV:IMM:AMPL 40")  # past the driver: the twin keeps the old value
    assert src.get_power_dbm() == -30.0
    assert src.check_errors() == ['-113,"Undefined header"']


def test_power_frequency_and_chop_reach_the_lockin(bench_station):
    st = bench_station
    _lockin_ready(st)
    src, m, h = st["source"], st.bench.model, st.bench.field_oe()
    src.set_power_dbm(-10.0)
    src.configure_chop(250.0, "internal")
    src.set_rf_enabled(True)
    for f in (7.6e9, 8.4e9, 8.6e9, 9.4e9):
        src.set_frequency_hz(f)
        assert _x(st) == pytest.approx(m.vmix(f, h, 0.0, -10.0), rel=1e-4)
    src.set_power_dbm(-4.0)
    assert _x(st) == pytest.approx(m.vmix(9.4e9, h, 0.0, -4.0), rel=1e-4)
    # the lock-in on its internal reference sees the chop only at the same rate
    st["lockin"].configure_reference("internal", 250.0)
    assert _x(st) == pytest.approx(m.vmix(9.4e9, h, 0.0, -4.0), rel=1e-4)
    src.configure_chop(300.0, "internal")
    assert abs(_x(st)) < 1e-9
    src.configure_chop(source="external")  # driven by the lock-in's TTL: locked again
    assert _x(st) == pytest.approx(m.vmix(9.4e9, h, 0.0, -4.0), rel=1e-4)
    src.pulse_enabled = False  # no chop: nothing at the reference frequency
    assert abs(_x(st)) < 1e-9
    src.configure_chop(250.0, "internal")
    src.write("SOUR:PULM:TRIG:MODE EXT")  # the pulse generator waits for a trigger: no chop
    assert abs(_x(st)) < 1e-9
    src.configure_chop(250.0, "internal")
    assert _x(st) == pytest.approx(m.vmix(9.4e9, h, 0.0, -4.0), rel=1e-4)
    src.set_rf_enabled(False)
    assert abs(_x(st)) < 1e-9


def test_injected_error_shows_in_check_errors(bench_station):
    st = bench_station
    st.bench.inject("source", "error")
    assert st["source"].check_errors() == ['-222,"Data out of range (injected)"']
    assert st["source"].check_errors() == []


def test_chop_is_off_while_the_modulation_master_switch_is_off():
    """Pulse modulation on but MOD OFF: nothing is chopped, and get_chop says so."""
    with expected_protocol(
        RohdeSchwarzSMB100A,
        [
            (b"SOUR:PULM:PER?", b"0.004"),
            (b"SOUR:PULM:STAT?", b"1"),
            (b"SOUR:MOD:STAT?", b"0"),
            (b"SOUR:PULM:SOUR?", b"INT"),
        ],
    ) as inst:
        assert inst.get_chop()["enabled"] is False


def test_sim_chop_needs_the_master_switch(bench_station):
    """The twin starts with MOD OFF (as after someone pressed the key): configure_chop turns it on."""
    st = bench_station
    twin = st.bench.twins["source"]
    assert twin.p("mod_output") == 0 and not twin.chopped
    st["source"].configure_chop(250.0, "internal")
    assert twin.chopped and st["source"].get_chop()["enabled"] is True
    st["source"].modulation_enabled = False
    assert not twin.chopped and st["source"].get_chop()["enabled"] is False
