"""SR860: the exact protocol (SR860 manual), then the driver on its pyvisa-sim twin."""

import numpy as np
import pytest
from pymeasure.test import expected_protocol
from stfmr_lab.instruments.base import InstrumentReplyError
from stfmr_lab.instruments.sr860 import SR860

from stfmr_lab.physics import LOCKIN_RMS_FACTOR
from stfmr_lab.sim.twins import SR860Twin

MODEL = "sr860"


# ---------------------------------------------------------------- protocol
def test_tables_are_the_manuals():
    assert SR860.SENSITIVITIES_V[0] == 1.0 and SR860.SENSITIVITIES_V[27] == 1e-9  # SCAL: reverse of SENS
    assert len(SR860.SENSITIVITIES_V) == 28 and SR860.SENSITIVITIES_V == sorted(SR860.SENSITIVITIES_V, reverse=True)
    assert SR860.TIME_CONSTANTS_S[0] == 1e-6 and SR860.TIME_CONSTANTS_S[21] == 30e3
    assert SR860.SENSITIVITIES_V == SR860Twin.SENSITIVITIES and SR860.TIME_CONSTANTS_S == SR860Twin.TIME_CONSTANTS


def test_settings_protocol():
    with expected_protocol(
        SR860,
        [
            (b"OFLT 9", None),
            (b"OFLT?", b"9"),
            (b"OFSL 3", None),
            (b"OFSL?", b"3"),
            (b"SCAL 9", None),
            (b"SCAL?", b"9"),
            (b"SCAL 0", None),
            (b"SCAL 27", None),
            (b"SCAL?", b"27"),
        ],
    ) as inst:
        inst.set_time_constant_s(30e-3)
        assert inst.get_time_constant_s() == 30e-3
        inst.set_slope_db_oct(24)
        assert inst.get_slope_db_oct() == 24
        inst.set_sensitivity_v(1e-3)
        assert inst.get_sensitivity_v() == 1e-3
        inst.set_sensitivity_v(1.0)
        inst.set_sensitivity_v(1e-9)
        assert inst.get_sensitivity_v() == 1e-9


def test_reference_protocol():
    with expected_protocol(
        SR860,
        [
            (b"RSRC 1", None),
            (b"RTRG 1", None),
            (b"RSRC 0", None),
            (b"FREQ 2.500000e+02", None),
            (b"RSRC?", b"0"),
            (b"FREQ?", b"2.500000e+02"),
        ],
    ) as inst:
        inst.configure_reference("external")
        inst.configure_reference("internal", 250.0)
        assert inst.reference_source == "internal"
        assert inst.frequency == 250.0


def test_read_xy_overload_errors_protocol():
    with expected_protocol(
        SR860,
        [
            (b"SNAP? 0,1", b"1.234000e-04,-5.600000e-06"),
            (b"CUROVLDSTAT?", b"0"),
            (b"CUROVLDSTAT?", b"8"),  # external reference unlocked only: not an overload
            (b"CUROVLDSTAT?", b"1"),  # CH1 output overload
            (b"CUROVLDSTAT?", b"2"),  # CH2 output overload
            (b"CUROVLDSTAT?", b"16"),  # input range overload
            (b"CUROVLDSTAT?", b"256"),  # data channel 1 overload
            (b"CUROVLDSTAT?", b"8"),
            (b"*ESR?", b"0"),
            (b"ERRS?", b"0"),
            (b"*ESR?", b"48"),
            (b"ERRS?", b"2"),
        ],
    ) as inst:
        assert inst.read_xy() == (1.234e-4, -5.6e-6)
        assert [inst.overloaded() for _ in range(6)] == [False, False, True, True, True, True]
        assert inst.reference_unlocked() is True
        assert inst.check_errors() == []
        assert inst.check_errors() == [
            "*ESR? = 48: execution error",
            "*ESR? = 48: command error",
            "ERRS? = 2 (error status bits set)",
        ]


def test_snapshot_and_identify_protocol():
    with expected_protocol(
        SR860,
        [
            (b"*IDN?", b"Stanford_Research_Systems,SR860,003008,v1.51"),
            (b"SCAL?", b"9"),
            (b"OFLT?", b"9"),
            (b"OFSL?", b"3"),
            (b"RSRC?", b"1"),
            (b"FREQ?", b"2.500000e+02"),
        ],
    ) as inst:
        assert inst.identify().startswith("Stanford_Research_Systems,SR860")
        assert inst.snapshot() == {
            "sensitivity_v": 1e-3,
            "time_constant_s": 30e-3,
            "slope_db_oct": 24,
            "reference_source": "external",
            "reference_frequency_hz": 250.0,
        }


@pytest.mark.parametrize(
    "call, query, reply",
    [
        (lambda i: i.read_xy(), b"SNAP? 0,1", b"1.0e-4"),  # one value of two
        (lambda i: i.read_xy(), b"SNAP? 0,1", b"1.0e-4,OVLD"),
        (lambda i: i.xy_reader()(), b"SNAP? 0,1", b"1.0e-4"),  # the sweep's bound reader: as strict
        (lambda i: i.xy_reader()(), b"SNAP? 0,1", b"nan?,1"),
        (lambda i: i.overload_reader()(), b"CUROVLDSTAT?", b"busy"),
        (lambda i: i.get_sensitivity_v(), b"SCAL?", b"28"),
        (lambda i: i.get_sensitivity_v(), b"SCAL?", b"-1"),
        (lambda i: i.get_time_constant_s(), b"OFLT?", b"2.5"),
        (lambda i: i.get_slope_db_oct(), b"OFSL?", b"4"),
        (lambda i: i.reference_source, b"RSRC?", b"7"),
        (lambda i: i.overloaded(), b"CUROVLDSTAT?", b"busy"),
        (lambda i: i.check_errors(), b"*ESR?", b""),
    ],
)
def test_garbage_reply_raises(call, query, reply):
    with expected_protocol(SR860, [(query, reply)]) as inst:
        with pytest.raises(InstrumentReplyError):
            call(inst)


@pytest.mark.parametrize(
    "call",
    [
        lambda i: i.set_time_constant_s(0.05),  # between two table entries
        lambda i: i.set_time_constant_s(1e5),
        lambda i: i.set_sensitivity_v(2.0),
        lambda i: i.set_sensitivity_v(3e-3),
        lambda i: i.set_slope_db_oct(30),
        lambda i: i.configure_reference("internal", 600e3),
        lambda i: i.configure_reference("internal", 0.0),
        lambda i: i.configure_reference("sideways"),
    ],
)
def test_out_of_range_raises_before_sending(call):
    with expected_protocol(SR860, []) as inst:
        with pytest.raises(ValueError):
            call(inst)


# ---------------------------------------------------------------- on the twin
@pytest.fixture
def bench_station(make_station, station_config):
    station_config["instruments"]["lockin"]["model"] = MODEL
    return make_station(config=station_config)


def _prepare(st, sensitivity_v=1e-3, tau_s=0.03):
    li, src, dc = st["lockin"], st["source"], st["dc"]
    li.configure_reference("external")
    li.set_time_constant_s(tau_s)
    li.set_slope_db_oct(24)
    li.set_sensitivity_v(sensitivity_v)
    src.set_power_dbm(-10.0)
    src.configure_chop(250.0, "internal")
    src.set_rf_enabled(True)
    dc.configure_current_source(0.8)
    dc.set_current_a(0.0)
    dc.set_output_enabled(True)
    st.field.prepare()
    st.field.set_field(1000.0)


def test_settings_round_trip_on_the_twin(bench_station):
    li, twin = bench_station["lockin"], bench_station.bench.twins["lockin"]
    assert li.model == MODEL and isinstance(li, SR860) and isinstance(twin, SR860Twin)
    for s in li.SENSITIVITIES_V:
        li.set_sensitivity_v(s)
        assert li.get_sensitivity_v() == s and twin.sensitivity_v == s
    for tau in li.TIME_CONSTANTS_S:
        li.set_time_constant_s(tau)
        assert li.get_time_constant_s() == tau and twin.time_constant_s == tau
    for slope in (6, 12, 18, 24):
        li.set_slope_db_oct(slope)
        assert li.get_slope_db_oct() == slope and twin.slope_db_oct == slope
    li.configure_reference("internal", 317.5)
    assert twin.internal_reference and twin.reference_frequency_hz == 317.5
    assert li.frequency == 317.5
    li.configure_reference("external")
    assert not twin.internal_reference and li.reference_trigger == "positive_ttl"
    snap = li.snapshot()
    assert snap["reference_source"] == "external" and snap["slope_db_oct"] == 24
    assert li.check_errors() == []


def test_frequency_query_in_external_mode_is_the_chop_rate(bench_station):
    st = bench_station
    _prepare(st)
    assert st["lockin"].frequency == 250.0
    st["source"].configure_chop(317.0, "internal")
    assert st["lockin"].frequency == 317.0


def test_frequency_sweep_reproduces_the_model(bench_station):
    st = bench_station
    _prepare(st)
    freqs = np.linspace(7.8e9, 9.4e9, 33)
    got = []
    for f in freqs:
        st["source"].set_frequency_hz(f)
        st.clock.sleep(1.0)
        got.append(st["lockin"].read_xy()[0] / LOCKIN_RMS_FACTOR)
    want = st.bench.model.vmix(freqs, st.bench.field_oe(), 0.0, -10.0)
    assert np.max(np.abs(np.array(got) - want)) < 2e-3 * np.max(np.abs(want))
    assert not st["lockin"].overloaded()
    assert not st["lockin"].reference_unlocked()


def test_overload(bench_station):
    st = bench_station
    _prepare(st, sensitivity_v=100e-6)
    st["source"].set_frequency_hz(8.6e9)
    st.clock.sleep(1.0)
    x, _ = st["lockin"].read_xy()
    assert x == pytest.approx(1.09 * 100e-6)
    status = st["lockin"].overload_status()
    assert status & 1 and not status & 0b1000  # CH1 output overload, reference locked
    st["lockin"].read_xy()
    assert st["lockin"].overloaded()
    st["lockin"].set_sensitivity_v(1e-3)
    st.clock.sleep(1.0)
    st["lockin"].read_xy()
    assert not st["lockin"].overloaded()


def test_internal_reference_needs_the_same_rate(bench_station):
    st = bench_station
    _prepare(st)
    st["source"].set_frequency_hz(8.6e9)
    want = st.bench.model.vmix(8.6e9, st.bench.field_oe(), 0.0, -10.0)
    st["lockin"].configure_reference("internal", 250.0)
    st.clock.sleep(1.0)
    assert st["lockin"].read_xy()[0] / LOCKIN_RMS_FACTOR == pytest.approx(want, rel=1e-4)
    st["lockin"].configure_reference("internal", 260.0)
    st.clock.sleep(1.0)
    assert abs(st["lockin"].read_xy()[0]) < 1e-9
    assert not st["lockin"].reference_unlocked()  # internal mode has no external lock to lose


def test_external_reference_without_sync_is_unlocked(bench_station):
    st = bench_station
    _prepare(st)
    st["source"].pulse_enabled = False
    st["lockin"].read_xy()
    assert st["lockin"].reference_unlocked()


def test_unknown_command_and_injected_error_show_in_check_errors(bench_station):
    li = bench_station["lockin"]
    li.write("SENS 3")  # an SR830 command: the SR860 does not know it
    assert li.check_errors() == ["*ESR? = 32: command error"]
    assert li.check_errors() == []
    bench_station.bench.inject("lockin", "error")
    assert li.check_errors() == ["*ESR? = 16: execution error"]
    assert li.check_errors() == []


def test_injected_overload(bench_station):
    st = bench_station
    st.bench.inject("lockin", "overload")
    assert st["lockin"].overloaded()
    assert not st["lockin"].overloaded()


def test_bound_readers_send_the_same_commands():
    """The per-point readers a sweep binds once say what ``read_xy``/``overloaded`` say."""
    with expected_protocol(
        SR860, [(b"SNAP? 0,1", b"1.5e-4,-2.0e-6"), (b"SNAP? 0,1", b"1.5e-4,-2.0e-6"), (b"CUROVLDSTAT?", b"0"), (b"CUROVLDSTAT?", b"0")]
    ) as inst:
        assert inst.xy_reader()() == inst.read_xy() == (1.5e-4, -2.0e-6)
        assert inst.overload_reader()() is inst.overloaded() is False


# ---------------------------------------------------------------- capture (manual rev. 2.01, pp. 136-139)
def _block(values):
    import struct

    data = struct.pack(f"<{len(values)}f", *values)
    n = str(len(data)).encode()
    return b"#" + str(len(n)).encode() + n + data


def test_capture_protocol():
    xy = [1.5e-4, -2.0e-6, 1.25e-4, 3.0e-6] + [0.0] * 252  # 1 kB: 128 samples of X and Y
    with expected_protocol(
        SR860,
        [
            (b"CAPTURECFG 1", None),  # X and Y
            (b"CAPTURELEN 256", None),
            (b"CAPTURERATEMAX?", b"1.250000e+06"),
            (b"CAPTURERATE 3", None),
            (b"CAPTURESTART ONE, SAMP", None),  # one sample per TTL at TRIG IN
            (b"CAPTUREBYTES?", b"16"),
            (b"CAPTURESTOP", None),
            (b"CAPTUREGET? 0, 1", _block(xy)),
        ],
    ) as inst:
        inst.configure_capture("XY", 256)
        assert inst.capture_rate_max_hz() == 1.25e6
        inst.set_capture_rate_exponent(3)
        inst.start_capture("ONE", "SAMP")
        assert inst.capture_bytes() == 16
        inst.stop_capture()
        x, y = inst.read_capture_xy(2)
    assert x == pytest.approx([1.5e-4, 1.25e-4], rel=1e-6) and y == pytest.approx([-2.0e-6, 3.0e-6], rel=1e-6)


def test_capture_reads_in_blocks_of_64_kb():
    n = 64 * 128 + 5  # 64 kB of X/Y samples and 5 more: two CAPTUREGET? queries
    first = [float(k) for k in range(64 * 256)]
    second = [float(64 * 256 + k) for k in range(256)]
    with expected_protocol(SR860, [(b"CAPTUREGET? 0, 64", _block(first)), (b"CAPTUREGET? 64, 1", _block(second))]) as inst:
        x, y = inst.read_capture_xy(n)
    assert x.size == y.size == n and x[-1] == 2 * (n - 1) and y[-1] == 2 * (n - 1) + 1


@pytest.mark.parametrize(
    "reply",
    [
        b"#41023" + b"\x00" * 1023,  # the header says 1023 bytes, not 1024
        b"1024" + b"\x00" * 1024,  # no '#'
        b"#4102" + b"\x00" * 1024,  # too few digits in the count
    ],
)
def test_bad_capture_block_raises(reply):
    with expected_protocol(SR860, [(b"CAPTUREGET? 0, 1", reply)]) as inst:
        with pytest.raises(InstrumentReplyError):
            inst.read_capture(0, 1)


@pytest.mark.parametrize(
    "call",
    [
        lambda i: i.configure_capture("XYZ"),
        lambda i: i.configure_capture("XY", 3),  # odd
        lambda i: i.configure_capture("XY", 8192),
        lambda i: i.set_capture_rate_exponent(21),
        lambda i: i.set_capture_rate_exponent(1.5),
        lambda i: i.start_capture("TWICE", "IMM"),
        lambda i: i.start_capture("ONE", "SOFT"),
        lambda i: i.read_capture(0, 65),  # at most 64 kB a query
        lambda i: i.read_capture(-1, 1),
        lambda i: i.read_capture_xy(0),
    ],
)
def test_capture_requests_out_of_range_raise_before_sending(call):
    with expected_protocol(SR860, []) as inst:
        with pytest.raises(ValueError):
            call(inst)


@pytest.mark.parametrize(
    "call, query, reply",
    [
        (lambda i: i.capture_rate_max_hz(), b"CAPTURERATEMAX?", b"0"),
        (lambda i: i.capture_rate_max_hz(), b"CAPTURERATEMAX?", b"fast"),
        (lambda i: i.capture_bytes(), b"CAPTUREBYTES?", b"-4"),
    ],
)
def test_garbage_capture_reply_raises(call, query, reply):
    with expected_protocol(SR860, [(query, reply)]) as inst:
        with pytest.raises(InstrumentReplyError):
            call(inst)
