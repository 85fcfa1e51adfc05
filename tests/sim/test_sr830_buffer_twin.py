"""The SR830 twin's data buffer, through real pyvisa-sim sessions: on each trigger it stores
the filter's output at that virtual moment, as SNAP? would read it; fixed rates sample the
filter on their own clock; out-of-range reads are refused as the SR830 refuses them."""

import numpy as np
import pytest
from pyvisa.errors import VisaIOError

from stfmr_lab.lockin_filter import step_response
from stfmr_lab.physics import LOCKIN_RMS_FACTOR


@pytest.fixture
def make_sr830(make_station, station_config):
    def make(timeout_ms=3000, **simulation):
        station_config["instruments"]["lockin"].update(model="sr830", timeout_ms=timeout_ms)
        st = make_station(config=station_config, **simulation)
        li, src, dc = st["lockin"], st["source"], st["dc"]
        li.configure_reference("external")
        li.set_time_constant_s(0.03)
        li.set_slope_db_oct(24)
        li.set_sensitivity_v(1e-3)
        src.set_power_dbm(-10.0)
        src.configure_chop(250.0, "internal")
        src.set_frequency_hz(8.0e9)
        src.set_rf_enabled(True)
        dc.configure_current_source(0.8)
        dc.set_current_a(0.0)
        dc.set_output_enabled(True)
        st.field.prepare()
        st.field.set_field(1000.0)
        st.clock.sleep(1.0)
        return st

    return make


FREQS = np.linspace(8.2e9, 9.0e9, 9)


def _walk(st, read):
    """Step the source, wait 40 ms, take a reading with ``read()``; X, Y per step."""
    out = []
    for f in FREQS:
        st["source"].set_frequency_hz(f)
        st.clock.sleep(0.04)
        out.append(read())
    return out


def test_each_trigger_stores_what_snap_would_read_at_that_moment(make_sr830):
    """Same seed, noise on, the same messages at the same virtual times: TRIG stores exactly
    the X and Y that SNAP? 1,2 answers (through the filter, mid-transient)."""
    snap_st = make_sr830(noise=True, seed=11)
    snapped = _walk(snap_st, snap_st["lockin"].read_xy)
    st = make_sr830(noise=True, seed=11)
    li = st["lockin"]
    li.configure_buffer()
    li.reset_buffer()
    li.start_buffer()
    _walk(st, li.trigger)
    assert li.buffer_count() == len(FREQS)
    x, y = li.read_buffer_xy(0, len(FREQS))
    assert np.array_equal(x, [p[0] for p in snapped]) and np.array_equal(y, [p[1] for p in snapped])
    # mid-transient: a dwell of 1.3 time constants is far from settled
    settled = st.bench.model.vmix(FREQS, st.bench.field_oe(), 0.0, -10.0) * LOCKIN_RMS_FACTOR
    assert np.max(np.abs(x - settled)) > 0.1 * np.max(np.abs(settled))


def test_trigger_needs_trigger_mode_and_storage_on(make_sr830):
    st = make_sr830()
    li = st["lockin"]
    li.configure_buffer(rate_hz=None)
    li.reset_buffer()
    li.trigger()  # storage not started: ignored
    assert li.buffer_count() == 0
    li.start_buffer()
    li.trigger()
    li.pause_buffer()
    li.trigger()  # paused: ignored
    assert li.buffer_count() == 1
    li.start_buffer()
    st.bench.query_latency_s = 0.0
    li.trigger()
    li.trigger()  # the same instant: faster than 512 Hz, ignored
    assert li.buffer_count() == 1  # stored on the next 512 Hz tick, not yet counted
    st.clock.sleep(1 / 512)
    assert li.buffer_count() == 2
    assert li.read_buffer_xy(1, 1)[0].size == 1
    li.reset_buffer()
    assert li.buffer_count() == 0
    assert li.values("DDEF? 1") == [0, 0] and li.values("DDEF? 2") == [0, 0]
    assert li.check_errors() == []


def test_fixed_rate_samples_the_filter_step_response(make_sr830):
    """SRAT 13 (512 Hz) after a frequency step: the stored X follows the analytic step
    response of the 4-pole filter, sample by sample, on the instrument's own clock."""
    st = make_sr830()
    li, bench = st["lockin"], st.bench
    h = bench.field_oe()
    before, after = (bench.model.vmix(f, h, 0.0, -10.0) * LOCKIN_RMS_FACTOR for f in (8.0e9, 8.6e9))
    bench.query_latency_s = 0.0
    li.configure_buffer(rate_hz=512.0)
    li.reset_buffer()
    li.start_buffer()  # the first sample at this instant
    t0 = st.clock.now()
    st.clock.sleep(0.1)
    st["source"].set_frequency_hz(8.6e9)  # the step, 0.1 s after the first sample
    t_step = st.clock.now()
    st.clock.sleep(0.3)
    n = li.buffer_count()
    assert n == int(0.4 * 512) + 1
    x, _ = li.read_buffer_xy(0, n)
    t = t0 + np.arange(n) / 512
    want = np.where(t < t_step, before, before + (after - before) * step_response(np.clip(t - t_step, 0, None) / 0.03, 4))
    assert np.max(np.abs(x - want)) < 1e-5 * abs(after - before) + 1e-12


@pytest.mark.parametrize("loop", [False, True])
def test_a_full_buffer_stops_in_one_shot_and_wraps_in_loop(make_sr830, loop):
    """40 s at 512 Hz is 20481 samples: one shot keeps the first 16383 and stops, loop the
    last 16383 (from 8 s on); the frequency steps at 5 s, so their oldest points differ."""
    st = make_sr830()
    li, bench = st["lockin"], st.bench
    h = bench.field_oe()
    before, after = (bench.model.vmix(f, h, 0.0, -10.0) * LOCKIN_RMS_FACTOR for f in (8.0e9, 8.6e9))
    bench.query_latency_s = 0.0
    li.configure_buffer(rate_hz=512.0, loop=loop)
    li.reset_buffer()
    li.start_buffer()
    st.clock.sleep(5.0)
    st["source"].set_frequency_hz(8.6e9)
    st.clock.sleep(35.0)
    li.pause_buffer()
    assert li.buffer_count() == 16383
    x0, x1 = li.read_buffer(1, 0, 1)[0], li.read_buffer(1, 16382, 1)[0]
    assert x0 == pytest.approx(after if loop else before, rel=1e-5)
    assert x1 == pytest.approx(after, rel=1e-5)  # one shot: the last point at 32 s; loop: at 40 s


@pytest.mark.parametrize("query", ["TRCA? 1,0,3", "TRCA? 1,2,1", "TRCA? 3,0,1", "TRCA? 1,0,0", "DDEF? 3"])
def test_reads_beyond_the_stored_points_are_refused(make_sr830, query):
    """j + k beyond SPTS? (or a display other than 1, 2): no reply, *ESR? execution error."""
    st = make_sr830(timeout_ms=100)
    li = st["lockin"]
    li.configure_buffer()
    li.reset_buffer()
    li.start_buffer()
    li.trigger()
    st.clock.sleep(0.01)
    li.trigger()
    assert li.buffer_count() == 2
    with pytest.raises(VisaIOError):
        li.ask(query)
    assert li.check_errors() == ["*ESR? = 16: execution error"]
    assert li.read_buffer(1, 0, 2).size == 2  # the buffer itself is untouched


def test_a_bad_display_definition_is_an_execution_error(make_sr830):
    li = make_sr830()["lockin"]
    li.write("DDEF 1,7,0")
    assert li.check_errors() == ["*ESR? = 16: execution error"]
    li.write("DDEF 2,1,0")  # CH2: theta
    assert li.values("DDEF? 2") == [1, 0]
    li.write("SRAT 15")  # beyond Trigger (14)
    assert li.check_errors() != []


def test_garbage_from_the_bus_during_a_buffer_read_raises(make_sr830):
    from stfmr_lab.instruments.base import InstrumentReplyError

    st = make_sr830()
    li = st["lockin"]
    li.configure_buffer()
    li.reset_buffer()
    li.start_buffer()
    li.trigger()
    st.bench.inject("lockin", "garbage")
    with pytest.raises(InstrumentReplyError):
        li.read_buffer(1, 0, 1)
