"""Keithley 2450 (native SCPI): the exact protocol, then the driver on its pyvisa-sim twin."""

import pytest
from pymeasure.test import expected_protocol
from stfmr_lab.instruments.base import InstrumentReplyError
from stfmr_lab.instruments.keithley2450 import READ_COMMAND, Keithley2450

from stfmr_lab.sim.twins import Keithley2450Twin

MODEL = "keithley2450"


# ---------------------------------------------------------------- protocol
def test_settings_protocol():
    with expected_protocol(
        Keithley2450,
        [
            (b":SOUR:FUNC CURR", None),
            (b':SENS:FUNC "VOLT"', None),
            (b":SOUR:CURR:VLIM 0.8000", None),
            (b":SOUR:CURR:VLIM?", b"8.000000E-01"),
            (b":SOUR:CURR 1.000000e-04", None),
            (b":SOUR:CURR?", b"1.000000E-04"),
            (b":SOUR:CURR -2.500000e-05", None),
            (b":OUTP 1", None),
            (b":OUTP?", b"1"),
            (b":OUTP 0", None),
            (b":OUTP?", b"0"),
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
        assert inst.get_output_enabled() is False


def test_measure_reads_voltage_and_source_current_together():
    assert READ_COMMAND == ':READ? "defbuffer1", READ, SOUR'
    assert Keithley2450Twin.READ == READ_COMMAND.encode()  # the twin answers what is sent
    with expected_protocol(
        Keithley2450,
        [(b':READ? "defbuffer1", READ, SOUR', b"+4.018745E-01,+1.000000E-04")],
    ) as inst:
        assert inst.measure() == (0.4018745, 1e-4)


def test_snapshot_identify_and_shutdown_protocol():
    with expected_protocol(
        Keithley2450,
        [
            (b"*IDN?", b"KEITHLEY INSTRUMENTS,MODEL 2450,04412345,1.7.12b"),
            (b":SOUR:FUNC?", b"CURR"),
            (b":SOUR:CURR?", b"0.000000E+00"),
            (b":SOUR:CURR:VLIM?", b"8.000000E-01"),
            (b":OUTP?", b"0"),
            (b":SOUR:CURR?", b"1.000000E-04"),
        ]
        + [(f":SOUR:CURR {1e-4 * (1 - k / 10):.6e}".encode(), None) for k in range(1, 11)]
        + [(b":OUTP 0", None)],
    ) as inst:
        assert "MODEL 2450" in inst.identify()
        assert inst.snapshot() == {
            "source_function": "current",
            "current_a": 0.0,
            "compliance_v": 0.8,
            "output_enabled": 0,
        }
        inst.shutdown()  # ramps down in 10 steps with our commands, then output off


def test_shutdown_is_the_one_ramp_helper():
    """The driver's ramp-down is ``instruments.ramp``'s: equal steps ending on 0 A, and a
    source already at 0 A gets one write of the target (the helper's rule), not ten."""
    with expected_protocol(
        Keithley2450,
        [(b":SOUR:CURR?", b"0.000000E+00"), (b":SOUR:CURR 0.000000e+00", None), (b":OUTP 0", None)],
    ) as inst:
        inst.shutdown()
    with expected_protocol(
        Keithley2450,
        [(b":SOUR:CURR?", b"-3.000000E-01")]
        + [(f":SOUR:CURR {-0.3 + 0.3 * k / 10:.6e}".encode(), None) for k in range(1, 11)]
        + [(b":OUTP 0", None)],
    ) as inst:
        inst.shutdown()


def test_error_queue_protocol():
    with expected_protocol(
        Keithley2450,
        [
            (b":SYST:ERR?", b'-222,"Parameter data out of range;1;2026/01/02 10:11:12.000"'),
            (b":SYST:ERR?", b'-113,"Undefined header;1;2026/01/02 10:11:13.000"'),
            (b":SYST:ERR?", b'0,"No error;0;0 0"'),
            (b":SYST:ERR?", b'0,"No error;0;0 0"'),
        ],
    ) as inst:
        assert inst.check_errors() == [
            '-222,"Parameter data out of range;1;2026/01/02 10:11:12.000"',
            '-113,"Undefined header;1;2026/01/02 10:11:13.000"',
        ]
        assert inst.check_errors() == []


@pytest.mark.parametrize(
    "call, query, reply",
    [
        (lambda i: i.get_current_a(), b":SOUR:CURR?", b"banana"),
        (lambda i: i.get_compliance_v(), b":SOUR:CURR:VLIM?", b""),
        (lambda i: i.get_output_enabled(), b":OUTP?", b"2"),
        (lambda i: i.source_function, b":SOUR:FUNC?", b"RES"),
        (lambda i: i.measure(), b':READ? "defbuffer1", READ, SOUR', b"+4.0E-01"),  # one value of two
        (lambda i: i.measure(), b':READ? "defbuffer1", READ, SOUR', b"+4.0E-01,+1.0E-04,5"),
        (lambda i: i.check_errors(), b":SYST:ERR?", b"Hello"),
    ],
)
def test_garbage_reply_raises(call, query, reply):
    with expected_protocol(Keithley2450, [(query, reply)]) as inst:
        with pytest.raises(InstrumentReplyError):
            call(inst)


@pytest.mark.parametrize(
    "call",
    [
        lambda i: i.set_current_a(1.1),
        lambda i: i.set_current_a(-1.06),
        lambda i: i.configure_current_source(0.01),
        lambda i: i.configure_current_source(250.0),
    ],
)
def test_out_of_range_raises_before_sending(call):
    with expected_protocol(Keithley2450, []) as inst:
        with pytest.raises(ValueError):
            call(inst)


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
    assert dc.model == MODEL and isinstance(dc, Keithley2450)
    assert isinstance(twin, Keithley2450Twin)
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


def test_shutdown_ramps_to_zero_on_the_twin(bench_station):
    dc, twin = bench_station["dc"], bench_station.bench.twins["dc"]
    dc.configure_current_source(0.8)
    dc.set_current_a(1e-4)
    dc.set_output_enabled(True)
    dc.shutdown()
    assert dc.get_current_a() == 0.0 and dc.get_output_enabled() is False and not twin.output_on
    assert dc.check_errors() == []


def test_injected_error_shows_in_check_errors(bench_station):
    st = bench_station
    st.bench.inject("dc", "error")
    assert st["dc"].check_errors() == ['-222,"Data out of range (injected)"']
    assert st["dc"].check_errors() == []


# ---------------------------------------------------------------- command set (*LANG?)
def test_connect_accepts_the_native_scpi_command_set():
    with expected_protocol(Keithley2450, [(b"*LANG?", b"SCPI")]) as inst:
        inst.connect()


@pytest.mark.parametrize("lang", [b"SCPI2400", b"TSP"])
def test_connect_refuses_other_command_sets_naming_the_front_panel_setting(lang):
    from stfmr_lab.instruments.base import InstrumentError

    with expected_protocol(Keithley2450, [(b"*LANG?", lang)]) as inst:
        with pytest.raises(InstrumentError) as e:
            inst.connect()
    msg = str(e.value)
    assert lang.decode() in msg and "MENU > System > Settings > Command Set > SCPI" in msg and "\n" not in msg


def test_sim_station_with_a_2450_in_tsp_mode_does_not_open(station_config):
    from stfmr_lab.station import open_station

    station_config["instruments"]["dc"]["model"] = MODEL
    with pytest.raises(ConnectionError, match=r"dc \(GPIB0::24::INSTR\).*command set is TSP"):
        open_station(station_config, sim=True, simulation={"front_panel": {"dc": {"command_set": "TSP"}}})
