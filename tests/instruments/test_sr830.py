"""SR830: the exact protocol, then the driver on its pyvisa-sim twin."""

import numpy as np
import pytest
from pymeasure.test import expected_protocol
from stfmr_lab.instruments.base import InstrumentReplyError
from stfmr_lab.instruments.sr830 import SR830

from stfmr_lab.physics import LOCKIN_RMS_FACTOR

MODEL = "sr830"


# ---------------------------------------------------------------- protocol
def test_settings_protocol():
    with expected_protocol(
        SR830,
        [
            (b"OFLT7", None),
            (b"OFLT?", b"7"),
            (b"OFSL3", None),
            (b"OFSL?", b"3"),
            (b"SENS17", None),
            (b"SENS?", b"17"),
            (b"SENS26", None),
            (b"SENS0", None),
        ],
    ) as inst:
        inst.set_time_constant_s(30e-3)
        assert inst.get_time_constant_s() == 30e-3
        inst.set_slope_db_oct(24)
        assert inst.get_slope_db_oct() == 24
        inst.set_sensitivity_v(1e-3)
        assert inst.get_sensitivity_v() == 1e-3
        inst.set_sensitivity_v(1.0)  # SR830: index 26 = 1 V (the SR860's order is reversed)
        inst.set_sensitivity_v(2e-9)


def test_reference_protocol():
    with expected_protocol(
        SR830,
        [
            (b"OUTX 1", None),  # replies over GPIB, before the first query (manual: OUTX)
            (b"FMOD 0", None),
            (b"RSLP 1", None),  # external reference: TTL rising edge (manual: RSLP)
            (b"FMOD 1", None),
            (b"FREQ2.50000e+02", None),
        ],
    ) as inst:
        inst.before_first_query()
        inst.connect()  # nothing more: the SR830's first words are its only opening step
        inst.configure_reference("external")
        inst.configure_reference("internal", 250.0)


def test_read_xy_overload_errors_protocol():
    with expected_protocol(
        SR830,
        [
            (b"SNAP? 1,2", b"1.234000e-04,-5.600000e-06"),
            (b"LIAS?", b"0"),
            (b"LIAS?", b"8"),  # reference unlock only: not an overload
            (b"LIAS?", b"1"),  # input overload
            (b"LIAS?", b"4"),  # output overload
            (b"*ESR?", b"0"),
            (b"ERRS?", b"0"),
            (b"*ESR?", b"32"),  # command error: an illegal command
            (b"ERRS?", b"2"),
        ],
    ) as inst:
        assert inst.read_xy() == (1.234e-4, -5.6e-6)
        assert inst.overloaded() is False
        assert inst.overloaded() is False
        assert inst.overloaded() is True
        assert inst.overloaded() is True
        assert inst.check_errors() == []
        assert inst.check_errors() == ["*ESR? = 32: command error", "ERRS? = 2 (error status bits set)"]


def test_snapshot_and_identify_protocol():
    with expected_protocol(
        SR830,
        [
            (b"*IDN?", b"Stanford_Research_Systems,SR830,s/n12345,ver1.07"),
            (b"SENS?", b"17"),
            (b"OFLT?", b"7"),
            (b"OFSL?", b"3"),
            (b"FMOD?", b"0"),
            (b"FREQ?", b"250.000"),
        ],
    ) as inst:
        assert inst.identify().startswith("Stanford_Research_Systems,SR830")
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
        (lambda i: i.read_xy(), b"SNAP? 1,2", b"1.0e-4"),  # one value of two
        (lambda i: i.read_xy(), b"SNAP? 1,2", b"1.0e-4,OVLD"),
        (lambda i: i.xy_reader()(), b"SNAP? 1,2", b"1.0e-4"),  # the sweep's bound reader: as strict
        (lambda i: i.xy_reader()(), b"SNAP? 1,2", b"nan?,1"),
        (lambda i: i.overload_reader()(), b"LIAS?", b"busy"),
        (lambda i: i.get_sensitivity_v(), b"SENS?", b""),
        (lambda i: i.get_time_constant_s(), b"OFLT?", b"x"),
        (lambda i: i.overloaded(), b"LIAS?", b"busy"),
        (lambda i: i.check_errors(), b"*ESR?", b"?"),
    ],
)
def test_garbage_reply_raises(call, query, reply):
    with expected_protocol(SR830, [(query, reply)]) as inst:
        with pytest.raises(InstrumentReplyError):
            call(inst)


def test_bad_reference_source_raises_before_sending():
    with expected_protocol(SR830, []) as inst:
        with pytest.raises(ValueError):
            inst.configure_reference("sideways")


@pytest.mark.parametrize(
    "call",
    [
        lambda i: i.set_time_constant_s(0.05),
        lambda i: i.set_sensitivity_v(5.0),
        lambda i: i.set_slope_db_oct(30),
        lambda i: i.configure_reference("internal", 200e3),
    ],
)
def test_unlisted_or_out_of_range_settings_raise_before_sending(call):
    with expected_protocol(SR830, []) as inst:
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
    assert li.model == MODEL and isinstance(li, SR830)
    for s in li.SENSITIVITIES_V:
        li.set_sensitivity_v(s)
        assert li.get_sensitivity_v() == s and twin.sensitivity_v == pytest.approx(s)
    for tau in li.TIME_CONSTANTS_S:
        li.set_time_constant_s(tau)
        assert li.get_time_constant_s() == tau and twin.time_constant_s == pytest.approx(tau)
    for slope in (6, 12, 18, 24):
        li.set_slope_db_oct(slope)
        assert li.get_slope_db_oct() == slope and twin.slope_db_oct == slope
    li.configure_reference("internal", 317.5)
    assert twin.internal_reference and twin.reference_frequency_hz == 317.5
    li.configure_reference("external")
    assert not twin.internal_reference
    snap = li.snapshot()
    assert snap["reference_source"] == "external" and snap["slope_db_oct"] == 24
    assert li.check_errors() == []


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


def test_overload_and_unlock(bench_station):
    st = bench_station
    _prepare(st, sensitivity_v=100e-6)
    st["source"].set_frequency_hz(8.6e9)
    st.clock.sleep(1.0)
    x, _ = st["lockin"].read_xy()
    assert x == pytest.approx(1.09 * 100e-6)  # clipped at the top of the range
    assert st["lockin"].overloaded()
    st["lockin"].set_sensitivity_v(1e-3)
    st.clock.sleep(1.0)
    st["lockin"].read_xy()
    assert not st["lockin"].overloaded()
    # no chop: the output carries nothing
    st["source"].pulse_enabled = False
    st.clock.sleep(1.0)
    assert abs(st["lockin"].read_xy()[0]) < 1e-9


def test_external_reference_without_sync_is_unlocked(bench_station):
    st = bench_station
    _prepare(st)
    st["source"].pulse_enabled = False
    st["lockin"].read_xy()
    assert int(st["lockin"].values("LIAS?", cast=int)[0]) & 0b1000  # bit 3: reference unlock


def test_injected_error_and_overload(bench_station):
    st = bench_station
    st.bench.inject("lockin", "error")
    assert st["lockin"].check_errors() == ["*ESR? = 16: execution error"]
    assert st["lockin"].check_errors() == []
    st.bench.inject("lockin", "overload")
    assert st["lockin"].overloaded()
    assert not st["lockin"].overloaded()


def test_bound_readers_send_the_same_commands():
    """The per-point readers a sweep binds once say what ``read_xy``/``overloaded`` say."""
    with expected_protocol(
        SR830, [(b"SNAP? 1,2", b"1.5e-4,-2.0e-6"), (b"SNAP? 1,2", b"1.5e-4,-2.0e-6"), (b"LIAS?", b"0"), (b"LIAS?", b"0")]
    ) as inst:
        assert inst.xy_reader()() == inst.read_xy() == (1.5e-4, -2.0e-6)
        assert inst.overload_reader()() is inst.overloaded() is False


def test_twin_sets_the_command_error_bit_for_an_unknown_command(bench_station):
    """As the SR830: an illegal command sets *ESR? bit 5 (no reply, no error queue)."""
    li = bench_station["lockin"]
    assert li.check_errors() == []
    li.write("SENS 99X")  # not a command the SR830 knows
    assert li.check_errors() == ["*ESR? = 32: command error"]
    assert li.check_errors() == []  # reading cleared it


def test_sim_station_opens_with_outx_and_external_reference_slope(bench_station):
    twin = bench_station.bench.twins["lockin"]
    assert twin.p("interface") == 1  # OUTX 1 sent when the station opened
    bench_station["lockin"].configure_reference("external")
    assert twin.p("ref_slope") == 1 and bench_station["lockin"].reference_trigger == "ttl_rising"


def test_on_a_serial_line_replies_go_to_rs232(make_station, station_config):
    """OUTX 0 on an ASRL address (the SR830 answers on the interface OUTX names)."""
    station_config["instruments"]["lockin"].update(model=MODEL, address="ASRL3::INSTR")
    st = make_station(config=station_config)
    assert st.bench.twins["lockin"].p("interface") == 0
    assert st["lockin"].identify().startswith("Stanford_Research_Systems,SR830")


def test_outx_is_the_first_message_the_station_sends(monkeypatch, make_station, station_config):
    """The SR830 answers on the interface OUTX names: OUTX 1 goes before any query."""
    from stfmr_lab.sim.bench import SimBench

    sent = []
    original = SimBench.before_message

    def record(self, resource, query):
        if resource == self._resource_of.get("lockin"):
            sent.append(query)
        return original(self, resource, query)

    monkeypatch.setattr(SimBench, "before_message", record)
    station_config["instruments"]["lockin"]["model"] = MODEL
    make_station(config=station_config)
    assert sent[0] == b"OUTX 1" and b"*IDN?" in sent[1:]


# ---------------------------------------------------------------- data buffer (manual pp. 5-14 to 5-17)
def test_buffer_protocol():
    with expected_protocol(
        SR830,
        [
            (b"FAST 0", None),  # no X, Y sent unasked for each stored point
            (b"TSTR 0", None),  # a trigger does not start the scan
            (b"DDEF 1,0,0", None),  # CH1 shows X, no ratio
            (b"DDEF 2,0,0", None),  # CH2 shows Y
            (b"SRAT 14", None),  # one point per trigger
            (b"SEND 0", None),  # one shot
            (b"FAST 0", None),
            (b"TSTR 0", None),
            (b"DDEF 1,0,0", None),
            (b"DDEF 2,0,0", None),
            (b"SRAT 13", None),  # 512 Hz
            (b"SEND 1", None),  # loop
            (b"REST", None),
            (b"STRT", None),
            (b"TRIG", None),
            (b"TRIG", None),
            (b"PAUS", None),
            (b"SPTS?", b"2"),
            (b"TRCA? 1,0,2", b"+1.234567e-004,-7.654321e-006,"),  # each value followed by a comma
            (b"TRCA? 2,1,1", b"+2.500000e-006,"),
        ],
    ) as inst:
        inst.configure_buffer()
        inst.configure_buffer(rate_hz=512.0, loop=True)
        inst.reset_buffer()
        inst.start_buffer()
        inst.trigger()
        inst.trigger_function()()
        inst.pause_buffer()
        assert inst.buffer_count() == 2
        assert inst.read_buffer(1, 0, 2).tolist() == [1.234567e-4, -7.654321e-6]
        assert inst.read_buffer(2, 1, 1).tolist() == [2.5e-6]


def test_buffer_xy_reads_in_chunks_of_the_query_limit():
    n = SR830.BUFFER_READ_POINTS
    xs = [f"{1e-6 * k:+.6e}" for k in range(n + 3)]
    ys = [f"{-2e-6 * k:+.6e}" for k in range(n + 3)]
    with expected_protocol(
        SR830,
        [
            (f"TRCA? 1,5,{n}".encode(), (",".join(xs[:n]) + ",").encode()),
            (f"TRCA? 2,5,{n}".encode(), (",".join(ys[:n]) + ",").encode()),
            (f"TRCA? 1,{5 + n},3".encode(), (",".join(xs[n:]) + ",").encode()),
            (f"TRCA? 2,{5 + n},3".encode(), (",".join(ys[n:]) + ",").encode()),
        ],
    ) as inst:
        x, y = inst.read_buffer_xy(5, n + 3)
    assert x.size == y.size == n + 3
    assert np.allclose(x, 1e-6 * np.arange(n + 3)) and np.allclose(y, -2e-6 * np.arange(n + 3))


def test_buffer_binary_protocol():
    import struct

    with expected_protocol(
        SR830, [(b"TRCB? 1,0,3", struct.pack("<3f", 1.5e-4, -2.0e-6, 0.0))]
    ) as inst:
        assert inst.read_buffer_binary(1, 0, 3) == pytest.approx([1.5e-4, -2.0e-6, 0.0], rel=1e-6)


@pytest.mark.parametrize(
    "call, query, reply",
    [
        (lambda i: i.buffer_count(), b"SPTS?", b"-1"),
        (lambda i: i.buffer_count(), b"SPTS?", b"16384"),  # more than the buffer holds
        (lambda i: i.buffer_count(), b"SPTS?", b"two"),
        (lambda i: i.read_buffer(1, 0, 3), b"TRCA? 1,0,3", b"+1.0e-4,+2.0e-4,"),  # two of three
        (lambda i: i.read_buffer(1, 0, 1), b"TRCA? 1,0,1", b"OVLD,"),
        (lambda i: i.read_buffer(1, 0, 1), b"TRCA? 1,0,1", b""),
        (lambda i: i.read_buffer_binary(2, 0, 2), b"TRCB? 2,0,2", b"\x00\x00\x80\x3f"),  # 4 bytes of 8
    ],
)
def test_garbage_buffer_reply_raises(call, query, reply):
    with expected_protocol(SR830, [(query, reply)]) as inst:
        with pytest.raises(InstrumentReplyError):
            call(inst)


@pytest.mark.parametrize(
    "call",
    [
        lambda i: i.configure_buffer(rate_hz=500.0),  # not one of the SRAT rates
        lambda i: i.configure_buffer(rate_hz=1024.0),
        lambda i: i.configure_buffer(loop=2),
        lambda i: i.read_buffer(3, 0, 1),  # only displays 1 and 2
        lambda i: i.read_buffer(1, -1, 1),
        lambda i: i.read_buffer(1, 0, 0),
        lambda i: i.read_buffer(1, 0, 1.5),
        lambda i: i.read_buffer(1, 16000, 384),  # beyond the 16383 bins
        lambda i: i.read_buffer(1, 0, SR830.BUFFER_READ_POINTS + 1),
        lambda i: i.read_buffer_binary(0, 0, 1),
        lambda i: i.read_buffer_xy(16383, 1),
    ],
)
def test_buffer_requests_out_of_range_raise_before_sending(call):
    with expected_protocol(SR830, []) as inst:
        with pytest.raises(ValueError):
            call(inst)
