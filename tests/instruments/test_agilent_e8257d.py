"""Agilent/Keysight E8257D: the exact protocol, then the driver on its pyvisa-sim twin."""

import pytest
from pymeasure.test import expected_protocol
from stfmr_lab.instruments.agilent_e8257d import AgilentE8257D
from stfmr_lab.instruments.base import InstrumentReplyError

from stfmr_lab.physics import LOCKIN_RMS_FACTOR

MODEL = "agilent_e8257d"


# ---------------------------------------------------------------- protocol
def test_settings_protocol():
    with expected_protocol(
        AgilentE8257D,
        [
            (b":FREQ:CW 8600000000.000", None),
            (b":FREQ:CW?", b"+8.60000000000E+09"),
            (b":POW:AMPL -10.00", None),
            (b":POW:AMPL?", b"-1.00000000E+01"),
            (b":OUTP 1", None),
            (b":OUTP?", b"1"),
            (b":OUTP 0", None),
            (b":OUTP?", b"0"),
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


def test_chop_protocol_internal_and_external():
    with expected_protocol(
        AgilentE8257D,
        [
            (b":PULM:SOUR INT", None),
            (b":PULM:SOUR:INT SQU", None),  # PSG SCPI reference; pymeasure pulse_input
            (b":PULM:INT:FREQ 250.0000", None),
            (b":PULM:STAT 1", None),
            (b":OUTP:MOD 1", None),
            (b":PULM:STAT?", b"1"),
            (b":OUTP:MOD?", b"1"),
            (b":PULM:SOUR?", b"INT"),
            (b":PULM:SOUR:INT?", b"SQU"),  # an enabled internal chop: the square wave checked
            (b":PULM:INT:FREQ?", b"+2.50000000E+02"),
            (b":PULM:SOUR EXT", None),
            (b":PULM:STAT 1", None),
            (b":OUTP:MOD 1", None),
            (b":PULM:STAT?", b"0"),
            (b":PULM:SOUR?", b"EXT"),
            (b":PULM:INT:FREQ?", b"+2.50000000E+02"),
        ],
    ) as inst:
        inst.configure_chop(250.0, "internal")
        assert inst.get_chop() == {"enabled": True, "source": "internal", "frequency_hz": 250.0}
        inst.configure_chop(source="external")
        assert inst.get_chop()["enabled"] is False  # pulse state off: no :OUTP:MOD? asked


def test_snapshot_and_identify_protocol():
    with expected_protocol(
        AgilentE8257D,
        [
            (b"*IDN?", b"Agilent Technologies, E8257D, US1234, C.06.28"),
            (b":PULM:STAT?", b"1"),
            (b":OUTP:MOD?", b"1"),
            (b":PULM:SOUR?", b"INT"),
            (b":PULM:SOUR:INT?", b"SQU"),
            (b":PULM:INT:FREQ?", b"+2.50000000E+02"),
            (b":FREQ:CW?", b"+1.00000000000E+09"),
            (b":POW:AMPL?", b"-2.00000000E+01"),
            (b":OUTP?", b"0"),
        ],
    ) as inst:
        assert inst.identify().startswith("Agilent Technologies, E8257D")
        assert inst.snapshot() == {
            "frequency_hz": 1e9,
            "power_dbm": -20.0,
            "rf_enabled": 0,
            "chop_enabled": 1,
            "chop_source": "internal",
            "chop_frequency_hz": 250.0,
        }


@pytest.mark.parametrize("reply, name", [(b"FRUN", "free-run"), (b"TRIG", "triggered"), (b"GATE", "gated")])
def test_an_enabled_internal_chop_that_is_not_the_square_wave_is_reported(reply, name):
    """The chop is the internal pulse generator's square wave (``:PULM:SOUR:INT SQU``): one
    found on in another waveform (FRUN after a preset) is named, not read back as the chop."""
    from stfmr_lab.instruments.base import InstrumentError

    with expected_protocol(
        AgilentE8257D,
        [(b":PULM:STAT?", b"1"), (b":OUTP:MOD?", b"1"), (b":PULM:SOUR?", b"INT"), (b":PULM:SOUR:INT?", reply)],
    ) as inst:
        with pytest.raises(InstrumentError) as e:
            inst.get_chop()
    msg = str(e.value)
    assert f"{name} (:PULM:SOUR:INT? {reply.decode()})" in msg and "square wave (SQU)" in msg and "\n" not in msg


def test_the_waveform_is_asked_only_of_an_enabled_internal_chop():
    """No chop (pulse modulation off, as after a preset) or an external one: the internal
    generator's waveform does not shape the output and is not asked."""
    with expected_protocol(
        AgilentE8257D,
        [
            (b":PULM:STAT?", b"0"), (b":PULM:SOUR?", b"INT"), (b":PULM:INT:FREQ?", b"+1.00000000E+03"),
            (b":PULM:STAT?", b"1"), (b":OUTP:MOD?", b"1"), (b":PULM:SOUR?", b"EXT"), (b":PULM:INT:FREQ?", b"+1.00000000E+03"),
        ],
    ) as inst:
        assert inst.get_chop() == {"enabled": False, "source": "internal", "frequency_hz": 1000.0}
        assert inst.get_chop() == {"enabled": True, "source": "external", "frequency_hz": 1000.0}


def test_the_twin_after_a_preset_is_not_read_back_as_the_chop(bench_station):
    """On the pyvisa-sim twin: pulse modulation switched on by hand (internal, FRUN after a
    preset) is reported; ``configure_chop`` sets the square wave and reads back clean."""
    from stfmr_lab.instruments.base import InstrumentError

    src = bench_station["source"]
    src.pulse_enabled = True
    src.modulation_enabled = True
    with pytest.raises(InstrumentError, match=r"free-run \(:PULM:SOUR:INT\? FRUN\)"):
        src.get_chop()
    assert "error" in bench_station.snapshot()["source"]  # the run file's settings say so
    src.configure_chop(250.0, "internal")
    assert src.get_chop() == {"enabled": True, "source": "internal", "frequency_hz": 250.0}


def test_error_queue_protocol():
    with expected_protocol(
        AgilentE8257D,
        [
            (b":SYST:ERR?", b'-222,"Data out of range"'),
            (b":SYST:ERR?", b'-113,"Undefined header"'),
            (b":SYST:ERR?", b'+0,"No error"'),
            (b":SYST:ERR?", b'+0,"No error"'),
        ],
    ) as inst:
        assert inst.check_errors() == ['-222,"Data out of range"', '-113,"Undefined header"']
        assert inst.check_errors() == []


@pytest.mark.parametrize(
    "call, query, reply",
    [
        (lambda i: i.get_frequency_hz(), b":FREQ:CW?", b"banana"),
        (lambda i: i.get_power_dbm(), b":POW:AMPL?", b""),
        (lambda i: i.get_rf_enabled(), b":OUTP?", b"ON?"),
        (lambda i: i.get_chop(), b":PULM:STAT?", b"garbage"),
    ],
)
def test_garbage_reply_raises(call, query, reply):
    with expected_protocol(AgilentE8257D, [(query, reply)]) as inst:
        with pytest.raises(InstrumentReplyError):
            call(inst)


@pytest.mark.parametrize(
    "call",
    [
        lambda i: i.set_frequency_hz(50e3),
        lambda i: i.set_frequency_hz(21e9),
        lambda i: i.set_power_dbm(26),
        lambda i: i.set_power_dbm(-136),
        lambda i: i.configure_chop(250.0, "sideways"),
    ],
)
def test_out_of_range_raises_before_sending(call):
    with expected_protocol(AgilentE8257D, []) as inst:
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
    assert src.model == MODEL and type(src).__name__ == "AgilentE8257D"
    src.set_frequency_hz(12.345678e9)
    src.set_power_dbm(-17.25)
    src.set_rf_enabled(True)
    src.configure_chop(317.0, "internal")
    assert src.get_frequency_hz() == pytest.approx(12.345678e9)
    assert src.get_power_dbm() == -17.25
    assert src.get_rf_enabled() is True
    assert src.get_chop() == {"enabled": True, "source": "internal", "frequency_hz": 317.0}
    assert (twin.frequency_hz, twin.power_dbm, twin.rf_on) == (pytest.approx(12.345678e9), -17.25, True)
    assert twin.chopped and not twin.chop_external and twin.chop_frequency_hz == 317.0
    src.configure_chop(source="external")
    assert twin.chop_external and src.get_chop()["source"] == "external"
    assert src.check_errors() == []
    snap = src.snapshot()
    assert snap["chop_source"] == "external" and snap["rf_enabled"] == 1


def test_twin_refuses_out_of_range_into_the_error_queue(bench_station):
    src = bench_station["source"]
    src.write(":POW:AMPL 30")  # past the driver: the twin keeps the old value and logs an error
    assert src.get_power_dbm() == -135.0
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
    src.set_power_dbm(-4.0)  # Vmix grows with the power (linear in mW)
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
    src.set_rf_enabled(False)
    assert abs(_x(st)) < 1e-9


def test_injected_error_shows_in_check_errors(bench_station):
    st = bench_station
    st.bench.inject("source", "error")
    errors = st["source"].check_errors()
    assert errors == ['-222,"Data out of range (injected)"']
    assert st["source"].check_errors() == []


# ---------------------------------------------------------------- options and the PSG's pulse headers
@pytest.mark.parametrize(
    "options, freq_hz, power_dbm",
    [
        ("1E1,520,UNU", (100e3, 20e9), (-135.0, 10.0)),  # step attenuator: down to -135 dBm
        ("520,UNU", (100e3, 20e9), (-20.0, 10.0)),  # none: the ALC alone, -20 dBm
        ('"1E1,567,UNW"', (100e3, 70e9), (-110.0, 5.0)),  # above 40 GHz (quoted reply)
        ("521", (10e6, 20e9), (-20.0, 10.0)),
    ],
)
def test_ranges_from_options_as_qcodes_derives_them(options, freq_hz, power_dbm):
    from stfmr_lab.instruments.agilent_e8257d import ranges_from_options

    assert ranges_from_options(options) == (freq_hz, power_dbm)


def test_options_without_a_frequency_option_refused():
    from stfmr_lab.instruments.agilent_e8257d import ranges_from_options
    from stfmr_lab.instruments.base import InstrumentError

    with pytest.raises(InstrumentError, match="no frequency option"):
        ranges_from_options("1E1,UNU")


def test_connect_reads_options_and_the_power_range_follows():
    with expected_protocol(AgilentE8257D, [(b"*OPT?", b"520,UNU"), (b":POW:AMPL 5.00", None)]) as inst:
        inst.connect()
        assert inst.power_range_dbm == (-20.0, 10.0)
        with pytest.raises(ValueError):
            inst.set_power_dbm(-30)  # no step attenuator: refused before anything is sent
        inst.set_power_dbm(5)
    with expected_protocol(AgilentE8257D, [(b"*OPT?", b"1E1,520"), (b":POW:AMPL -100.00", None)]) as inst:
        inst.connect()
        inst.set_power_dbm(-100)
        with pytest.raises(ValueError):
            inst.set_power_dbm(11)


def test_twin_answers_options_and_refuses_the_non_psg_header(bench_station):
    src = bench_station["source"]
    assert src.options == "1E1,520,UNU" and src.power_range_dbm == (-135.0, 10.0)
    assert src.check_errors() == []
    src.write(":PULM:INT:FUNC:SHAP SQU")  # the header this driver used to send: not a PSG command
    assert src.check_errors() == ['-113,"Undefined header"']


def test_internal_chop_on_the_twin_needs_the_square_wave(bench_station):
    src, twin = bench_station["source"], bench_station.bench.twins["source"]
    assert twin.p("chop_waveform") == "FRUN"  # the PSG's preset
    src.configure_chop(250.0, "internal")
    assert twin.p("chop_waveform") == "SQU" and twin.chopped
    src.pulse_waveform = "free-run"
    assert not twin.chopped
