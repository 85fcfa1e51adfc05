"""Lake Shore 475: the exact protocol, then the driver on its pyvisa-sim twin."""

import pytest
from pymeasure.test import expected_protocol
from stfmr_lab.instruments.base import InstrumentReplyError
from stfmr_lab.instruments.lakeshore455 import LakeShore455
from stfmr_lab.instruments.lakeshore475 import LakeShore475

from stfmr_lab.station import TERMINATIONS

MODEL = "lakeshore475"


# ---------------------------------------------------------------- protocol
@pytest.mark.parametrize(
    "code, reply, oe",
    [
        (b"1", b"+1.0030E+03", 1003.0),  # G
        (b"2", b"+1.0030E-01", 1003.0),  # T
        (b"3", b"-2.5000E+02", -250.0),  # Oe
        (b"4", b"+7.9577E+04", 7.9577e4 * 4e-3 * 3.141592653589793),  # A/m
    ],
)
def test_field_in_every_unit(code, reply, oe):
    with expected_protocol(LakeShore475, [(b"UNIT?", code), (b"RDGFIELD?", reply)]) as inst:
        assert inst.read_field_oe() == pytest.approx(oe)


def test_settings_identify_snapshot_errors_protocol():
    with expected_protocol(
        LakeShore475,
        [
            (b"UNIT 2", None),
            (b"UNIT?", b"2"),
            (b"*IDN?", b"LSCI,MODEL475,4750123,04102006"),
            (b"UNIT?", b"1"),
            (b"*ESR?", b"0"),
            (b"*ESR?", b"36"),
        ],
    ) as inst:
        assert isinstance(inst, LakeShore455)  # same field commands as the 455
        inst.unit = "T"
        assert inst.unit == "T"
        assert inst.identify() == "LSCI,MODEL475,4750123,04102006"
        assert inst.snapshot() == {"unit": "G"}
        assert inst.check_errors() == []
        assert inst.check_errors() == ["*ESR? = 36: query error", "*ESR? = 36: command error"]


@pytest.mark.parametrize(
    "queries, call",
    [
        ([(b"UNIT?", b"1"), (b"RDGFIELD?", b"OL")], lambda i: i.read_field_oe()),
        ([(b"UNIT?", b"1"), (b"RDGFIELD?", b"")], lambda i: i.read_field_oe()),
        ([(b"UNIT?", b"Gauss")], lambda i: i.read_field_oe()),
        ([(b"*ESR?", b"none")], lambda i: i.check_errors()),
    ],
)
def test_garbage_reply_raises(queries, call):
    with expected_protocol(LakeShore475, queries) as inst:
        with pytest.raises(InstrumentReplyError):
            call(inst)


def test_bad_unit_raises_before_sending():
    with expected_protocol(LakeShore475, []) as inst:
        with pytest.raises(ValueError):
            inst.unit = "kG"


def test_terminations_match_the_twin():
    assert TERMINATIONS[MODEL] == ("\n", "\r\n")


# ---------------------------------------------------------------- on the twin
@pytest.fixture
def bench_station(make_station, station_config):
    station_config["instruments"]["gaussmeter"]["model"] = MODEL
    return make_station(config=station_config)


@pytest.mark.parametrize("unit", ["G", "T", "Oe", "A/m"])
def test_reading_is_the_field_at_the_sample(bench_station, unit):
    st = bench_station
    gm, sup = st["gaussmeter"], st["magnet_supply"]
    assert gm.model == MODEL and isinstance(gm, LakeShore475)
    assert gm.identify().startswith("LSCI,MODEL475")
    gm.unit = unit
    assert gm.unit == unit
    sup.configure_current_mode()
    sup.set_output_enabled(True)
    for i_a in (0.0, 1.0, 4.0, -2.0, -7.5):
        sup.set_current_a(i_a)
        h = st.bench.field_oe()
        assert gm.read_field_oe() == pytest.approx(h, rel=1e-4, abs=0.01)
    assert gm.check_errors() == []


def test_unknown_command_and_injected_error_show_in_check_errors(bench_station):
    st = bench_station
    gm = st["gaussmeter"]
    gm.write("UNIT 7")  # out of range at the twin
    assert gm.check_errors() == ["*ESR? = 32: command error"]
    assert gm.unit == "G"
    st.bench.inject("gaussmeter", "error")
    assert gm.check_errors() == ["*ESR? = 16: execution error"]
    assert gm.check_errors() == []


# ---------------------------------------------------------------- reading mode (RDGMODE?)
def test_connect_accepts_dc_mode():
    with expected_protocol(LakeShore475, [(b"RDGMODE?", b"1,2,1,1,1")]) as inst:
        inst.connect()


@pytest.mark.parametrize("reply, mode", [(b"2,2,1,1,1", "RMS"), (b"3,2,1,1,1", "peak")])
def test_connect_refuses_rms_and_peak(reply, mode):
    from stfmr_lab.instruments.base import InstrumentError

    with expected_protocol(LakeShore475, [(b"RDGMODE?", reply)]) as inst:
        with pytest.raises(InstrumentError, match=f"reading mode is {mode}.*select DC"):
            inst.connect()


def test_sim_gaussmeter_in_rms_mode_reads_no_dc_field_and_the_station_refuses_it(station_config):
    from stfmr_lab.station import open_station

    station_config["instruments"]["gaussmeter"]["model"] = MODEL
    with pytest.raises(ConnectionError, match=r"gaussmeter .*reading mode is RMS"):
        open_station(station_config, sim=True, simulation={"front_panel": {"gaussmeter": {"reading_mode": "2,1,1,1,1"}}})
