"""Lake Shore 455: the exact protocol, then the driver on its pyvisa-sim twin."""

import pytest
from pymeasure.test import expected_protocol
from stfmr_lab.instruments.base import InstrumentReplyError
from stfmr_lab.instruments.lakeshore455 import LakeShore455

MODEL = "lakeshore455"


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
    with expected_protocol(LakeShore455, [(b"UNIT?", code), (b"RDGFIELD?", reply)]) as inst:
        assert inst.read_field_oe() == pytest.approx(oe)


def test_settings_identify_snapshot_protocol():
    with expected_protocol(
        LakeShore455,
        [
            (b"UNIT 3", None),
            (b"UNIT?", b"3"),
            (b"*IDN?", b"LSCI,MODEL455,1234567,1.1"),
            (b"UNIT?", b"1"),
            (b"*ESR?", b"0"),
            (b"*ESR?", b"1"),  # operation complete: not an error
            (b"*ESR?", b"32"),
        ],
    ) as inst:
        inst.unit = "Oe"
        assert inst.unit == "Oe"
        assert inst.identify() == "LSCI,MODEL455,1234567,1.1"
        assert inst.snapshot() == {"unit": "G"}
        assert inst.check_errors() == []
        assert inst.check_errors() == []
        assert inst.check_errors() == ["*ESR? = 32: command error"]


@pytest.mark.parametrize(
    "queries",
    [
        [(b"UNIT?", b"1"), (b"RDGFIELD?", b"OL")],
        [(b"UNIT?", b"1"), (b"RDGFIELD?", b"")],
        [(b"UNIT?", b"1"), (b"RDGFIELD?", b"+1.0E+03,+2.0E+03")],
        [(b"UNIT?", b"Gauss")],
    ],
)
def test_garbage_reply_raises(queries):
    with expected_protocol(LakeShore455, queries) as inst:
        with pytest.raises(InstrumentReplyError):
            inst.read_field_oe()


def test_garbage_error_status_raises():
    with expected_protocol(LakeShore455, [(b"*ESR?", b"none")]) as inst:
        with pytest.raises(InstrumentReplyError):
            inst.check_errors()


def test_bad_unit_raises_before_sending():
    with expected_protocol(LakeShore455, []) as inst:
        with pytest.raises(ValueError):
            inst.unit = "mT"


# ---------------------------------------------------------------- on the twin
@pytest.fixture
def bench_station(make_station, station_config):
    assert station_config["instruments"]["gaussmeter"]["model"] == MODEL
    return make_station(config=station_config)


def test_reading_is_the_field_at_the_sample(bench_station):
    st = bench_station
    gm, sup = st["gaussmeter"], st["magnet_supply"]
    assert gm.model == MODEL and isinstance(gm, LakeShore455)
    assert gm.identify().startswith("LSCI,MODEL455")
    sup.configure_current_mode()
    sup.set_output_enabled(True)
    for i_a in (0.0, 1.0, 4.0, -2.0, -7.5):
        sup.set_current_a(i_a)
        assert gm.read_field_oe() == pytest.approx(st.bench.field_oe(), abs=0.01)
    gm.unit = "Oe"
    assert gm.unit == "Oe" and gm.read_field_oe() == pytest.approx(st.bench.field_oe(), abs=0.01)


def test_reading_in_tesla_is_the_field_at_the_sample(bench_station):
    st = bench_station
    st["magnet_supply"].configure_current_mode()
    st["magnet_supply"].set_output_enabled(True)
    st["magnet_supply"].set_current_a(4.0)
    st["gaussmeter"].unit = "T"
    assert st["gaussmeter"].read_field_oe() == pytest.approx(st.bench.field_oe(), abs=0.01)


def test_injected_error_shows_in_check_errors(bench_station):
    bench_station.bench.inject("gaussmeter", "error")
    assert bench_station["gaussmeter"].check_errors() != []


# ---------------------------------------------------------------- reading mode (RDGMODE?)
def test_connect_accepts_dc_mode():
    with expected_protocol(LakeShore455, [(b"RDGMODE?", b"1,2,1,1,1")]) as inst:
        inst.connect()


@pytest.mark.parametrize("reply, mode", [(b"2,2,1,1,1", "RMS"), (b"3,2,1,1,1", "peak")])
def test_connect_refuses_rms_and_peak(reply, mode):
    from stfmr_lab.instruments.base import InstrumentError

    with expected_protocol(LakeShore455, [(b"RDGMODE?", reply)]) as inst:
        with pytest.raises(InstrumentError, match=f"reading mode is {mode}.*select DC"):
            inst.connect()


def test_sim_gaussmeter_in_rms_mode_reads_no_dc_field_and_the_station_refuses_it(station_config):
    from stfmr_lab.station import open_station

    station_config["instruments"]["gaussmeter"]["model"] = MODEL
    with pytest.raises(ConnectionError, match=r"gaussmeter .*reading mode is RMS"):
        open_station(station_config, sim=True, simulation={"front_panel": {"gaussmeter": {"reading_mode": "2,1,1,1,1"}}})
