"""An abort stops the run at the walker's one checkpoint: between points, between sweeps and
between the steps of a field ramp (after the last step's whole dwell), then the exit path
leaves the bias at 0 and the RF off, read back."""

import threading
from itertools import pairwise

import pytest

from stfmr_lab.runner import RunAborted, run
from stfmr_lab.storage import read_run
from stfmr_lab.stream import RunStream, Subscriber
from tests.small_config import small_map


class Watch(Subscriber):
    """Keeps the simulated bench's twins and records the magnet supply's writes (bench time, A);
    ``stop_when(writes, rows)`` decides when to request the stop."""

    def __init__(self, stop: threading.Event, stop_when):
        self.stop_event, self.stop_when = stop, stop_when
        self.writes: list[tuple[float, float]] = []
        self.rows = 0
        self.stopped_at: tuple[int, int] | None = None  # (writes, rows) when the stop was requested

    def start(self, info):
        st = info["station"]
        self.twins, self.clock = st.bench.twins, st.clock
        supply = st["magnet_supply"]
        write = supply.set_current_a

        def recorded(current_a):
            write(current_a)
            self.writes.append((self.clock.now(), current_a))
            self._maybe_stop()

        supply.set_current_a = recorded

    def row(self, table, row):
        if table == "data":
            self.rows += 1
            self._maybe_stop()

    def _maybe_stop(self):
        if self.stopped_at is None and self.stop_when(self.writes, self.rows):
            self.stopped_at = (len(self.writes), self.rows)
            self.stop_event.set()


def _run_until_stopped(tmp_path, stop_when, cfg=None):
    stop = threading.Event()
    watch = Watch(stop, stop_when)
    stream = RunStream()
    stream.subscribe(watch)
    with pytest.raises(RunAborted) as e:
        run(cfg or small_map(), sim=True, out=tmp_path / "a.h5", stream=stream, stop_event=stop)
    d = read_run(e.value.path)
    assert d.attrs["status"] == "aborted"
    assert d.attrs["safe_state"] == "verified"
    # bias 0 and RF off, as the instruments themselves say after the run
    assert not watch.twins["source"].rf_on
    assert not watch.twins["dc"].output_on and watch.twins["dc"].current_set_a == 0.0
    return d, watch


def test_abort_during_a_field_ramp_stops_at_the_next_step_after_its_dwell(tmp_path, station_config):
    mag = station_config["magnet"]
    step_a = mag["max_step_oe"] / mag["oe_per_a"]
    dwell_s = mag["max_step_oe"] / mag["ramp_rate_oe_per_s"]

    # the first sweep (dV/dI at 1000 Oe) ramps the magnet up from 0 A: stop on its third step
    d, w = _run_until_stopped(tmp_path, lambda writes, rows: sum(1 for _, a in writes if a > 0) == 3)
    n_at_stop, _ = w.stopped_at
    up = [a for _, a in w.writes[:n_at_stop]]
    assert up[-3:] == pytest.approx([step_a, 2 * step_a, 3 * step_a])
    # no step up after the stop: the next writes are the exit path's ramp down to 0 A, step by step
    down = [a for _, a in w.writes[n_at_stop:]]
    assert down and max(down) < up[-1] and down[-1] == 0.0
    assert all(b < a for a, b in pairwise([up[-1], *down]))
    assert max(abs(b - a) for a, b in pairwise([up[-1], *down])) <= step_a * (1 + 1e-9)
    # every step, the stopped one too, had its whole dwell before the next write
    times = [t for t, _ in w.writes]
    assert all(b - a >= dwell_s * (1 - 1e-9) for a, b in pairwise(times[n_at_stop - 1:]))
    assert d.attrs["field_state"] == "ramped to zero"
    assert len(d.data["vmix"]) == 0 and len(d.tables.get("dvdi", {}).get("bias_current", [])) == 0  # nothing measured at a field not reached


def test_abort_during_a_sweep_stops_before_the_next_point(tmp_path):
    d, w = _run_until_stopped(tmp_path, lambda writes, rows: rows == 50)
    assert len(d.data["vmix"]) == 50  # the point in flight is kept, none after it
    # no field step after the stop but the exit path's ramp to zero
    n_at_stop, _ = w.stopped_at
    after = [a for _, a in w.writes[n_at_stop:]]
    assert after and after[-1] == 0.0 and all(b < a for a, b in pairwise([w.writes[n_at_stop - 1][1], *after]))
