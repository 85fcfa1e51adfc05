"""Kepco BOP 36-12: the exact protocol, then the driver on its pyvisa-sim twin."""

import pytest
from pymeasure.test import expected_protocol
from stfmr_lab.instruments.base import InstrumentError, InstrumentReplyError
from stfmr_lab.instruments.kepco_bop import KepcoBOP

MODEL = "kepco_bop"


# ---------------------------------------------------------------- protocol
def test_settings_protocol():
    with expected_protocol(
        KepcoBOP,
        [
            (b"FUNC:MODE CURR", None),
            (b"FUNC:MODE?", b"1"),
            (b"CURR 1.50000", None),
            (b"CURR?", b"+1.500000E+00"),
            (b"CURR -11.99999", None),
            (b"OUTP 1", None),
            (b"OUTP?", b"1"),
            (b"OUTP 0", None),
            (b"OUTP?", b"0"),
            (b"FUNC:MODE?", b"0"),
        ],
    ) as inst:
        inst.configure_current_mode()
        assert inst.mode == "current"
        inst.set_current_a(1.5)
        assert inst.get_current_a() == 1.5
        inst.set_current_a(-11.99999)
        inst.set_output_enabled(True)
        assert inst.get_output_enabled() is True
        inst.set_output_enabled(False)
        assert inst.get_output_enabled() is False
        assert inst.mode == "voltage"


def test_snapshot_identify_and_errors_protocol():
    with expected_protocol(
        KepcoBOP,
        [
            (b"*IDN?", b"KEPCO,BOP 36-12,E1234,1.88"),
            (b"FUNC:MODE?", b"1"),
            (b"CURR?", b"+2.000000E+00"),
            (b"OUTP?", b"1"),
            (b"SYST:ERR?", b'-222,"Data out of range"'),
            (b"SYST:ERR?", b'0,"No error"'),
            (b"SYST:ERR?", b'0,"No error"'),
        ],
    ) as inst:
        assert inst.identify().startswith("KEPCO,BOP 36-12")
        assert inst.snapshot() == {"mode": "current", "current_a": 2.0, "output_enabled": 1}
        assert inst.check_errors() == ['-222,"Data out of range"']
        assert inst.check_errors() == []


@pytest.mark.parametrize(
    "call, query, reply",
    [
        (lambda i: i.get_current_a(), b"CURR?", b"banana"),
        (lambda i: i.get_current_a(), b"CURR?", b""),
        (lambda i: i.get_output_enabled(), b"OUTP?", b"ON?"),
        (lambda i: i.mode, b"FUNC:MODE?", b"CURR?"),
    ],
)
def test_garbage_reply_raises(call, query, reply):
    with expected_protocol(KepcoBOP, [(query, reply)]) as inst:
        with pytest.raises(InstrumentReplyError):
            call(inst)


def test_unreadable_error_queue_raises():
    with expected_protocol(KepcoBOP, [(b"SYST:ERR?", b"Hello")]) as inst:
        with pytest.raises(InstrumentError):
            inst.check_errors()


@pytest.mark.parametrize(
    "call",
    [
        lambda i: i.set_current_a(12.01),
        lambda i: i.set_current_a(-13),
        lambda i: setattr(i, "mode", "power"),
        lambda i: setattr(i, "voltage_limit_v", 40),
    ],
)
def test_out_of_range_raises_before_sending(call):
    with expected_protocol(KepcoBOP, []) as inst:
        with pytest.raises(ValueError):
            call(inst)


def test_unknown_mode_code_is_a_reply_error():
    with expected_protocol(KepcoBOP, [(b"FUNC:MODE?", b"2")]) as inst:
        with pytest.raises(InstrumentReplyError):
            _ = inst.mode


# ---------------------------------------------------------------- on the twin
@pytest.fixture
def bench_station(make_station, station_config):
    assert station_config["instruments"]["magnet_supply"]["model"] == MODEL
    return make_station(config=station_config, coil_error=0.02, remanence_oe=4.0)


def test_settings_round_trip_on_the_twin(bench_station):
    sup, twin = bench_station["magnet_supply"], bench_station.bench.twins["magnet_supply"]
    assert sup.model == MODEL and isinstance(sup, KepcoBOP)
    sup.configure_current_mode()
    sup.set_current_a(2.5)
    sup.set_output_enabled(True)
    assert sup.mode == "current" and sup.get_current_a() == 2.5 and sup.get_output_enabled() is True
    assert twin.current_a == 2.5
    assert sup.snapshot() == {"mode": "current", "current_a": 2.5, "output_enabled": 1}
    assert float(sup.ask("MEAS:CURR?")) == 2.5
    sup.set_output_enabled(False)
    assert twin.current_a == 0.0  # the setpoint stays, the output carries nothing
    assert sup.get_current_a() == 2.5
    assert sup.check_errors() == []


def test_current_makes_the_field(bench_station):
    st = bench_station
    sup = st["magnet_supply"]
    sup.configure_current_mode()
    sup.set_output_enabled(True)
    k = st.config["magnet"]["oe_per_a"] * 1.02  # the simulated coil is 2 % off the station's
    for i_a, rem in ((2.0, 4.0), (-3.0, -4.0), (0.1, -4.0)):  # remanence follows the last big excursion
        sup.set_current_a(i_a)
        assert st.bench.field_oe() == pytest.approx(k * i_a + rem)
    sup.configure_current_mode()
    sup.write("FUNC:MODE VOLT")  # voltage mode: no current control, no field from us
    assert st.bench.twins["magnet_supply"].current_a == 0.0


def test_injected_error_shows_in_check_errors(bench_station):
    st = bench_station
    st.bench.inject("magnet_supply", "error")
    assert st["magnet_supply"].check_errors() == ['-222,"Data out of range (injected)"']
    assert st["magnet_supply"].check_errors() == []


def test_identification_through_the_bit_4886_card_is_a_kepco():
    """pymeasure's test reply (a BOP behind its BIT 4886 GPIB card) passes the model check."""
    with expected_protocol(KepcoBOP, [(b"*IDN?", b"KEPCO,BIT 4886 36-12  08-04-2023,H249977,4.04-1.82")]) as inst:
        inst.check_model(inst.identify())
