"""Swept sweeps through the SR830's data buffer (procedures/buffered.py) on the simulated
bench: the same readings as the step-and-read (SNAP?) path, fewer lock-in messages, overload
re-ranging, and what a stop or a crash keeps."""

import threading
from pathlib import Path

import numpy as np
import pytest
import yaml
from stfmr_lab.procedures.buffered import CHUNK_POINTS

from stfmr_lab.runner import RunAborted, RunFailed, run
from stfmr_lab.schema import ConfigError
from stfmr_lab.station import validate_station
from stfmr_lab.storage import read_run
from stfmr_lab.stream import RunStream, Subscriber
from tests.small_config import small_map

STATION = yaml.safe_load((Path(__file__).parents[2] / "examples" / "station.yaml").read_text())
TAU = 0.03


def _cfg(readout, sweep=None, latency=None, sensitivity_v=0.002, timeout_ms=3000, **changes):
    m = sweep or {
        "type": "frequency_sweep", "field_oe": 1000, "bias_a": 0.0, "acquisition": "swept",
        "frequency": {"start_hz": 6.0e9, "stop_hz": 11.0e9, "points": 61},
    }
    station = yaml.safe_load(yaml.safe_dump(STATION))
    station["swept_readout"] = readout
    station["instruments"]["lockin"]["timeout_ms"] = timeout_ms
    cfg = small_map(
        measurements=[m], station=station,
        lockin={"time_constant_s": TAU, "slope_db_oct": 24, "sensitivity_v": sensitivity_v}, **changes,
    )
    if latency is not None:
        cfg["simulation"] = {**cfg["simulation"], "query_latency_s": latency}
    return cfg


class LockinTraffic(Subscriber):
    """Counts the messages the lock-in receives (queries, and commands) during the run."""

    def __init__(self):
        self.queries = self.commands = 0

    def start(self, info):
        bench = info["station"].bench
        resource = bench._resource_of["lockin"]
        before = bench.before_message

        def counted(res, query):
            if res == resource:
                if b"?" in query:
                    self.queries += 1
                else:
                    self.commands += 1
            return before(res, query)

        bench.before_message = counted


def _run(tmp_path, name, cfg, *subscribers, **kw):
    stream = RunStream()
    for s in subscribers:
        stream.subscribe(s)
    return read_run(run(cfg, sim=True, out=tmp_path / f"{name}.h5", stream=stream, **kw)).data


class StoredAtOnce(Subscriber):
    """An idealised SR830 twin: a triggered point readable at the trigger's instant, not from
    the next 512 Hz tick on (``SR830Twin.store_on_tick``)."""

    def start(self, info):
        info["station"].bench.twins["lockin"].store_on_tick = False


COLUMNS = ("frequency", "field", "lockin_x", "lockin_y", "vmix", "time", "set_time", "overload", "sensitivity")


@pytest.mark.parametrize(
    "sweep",
    [
        None,  # frequency sweep, 61 points: three chunks
        {"type": "frequency_sweep", "field_oe": 1000, "bias_a": 0.0, "acquisition": "swept", "up_down": True,
         "frequency": {"start_hz": 7.0e9, "stop_hz": 10.0e9, "points": 25}},
        {"type": "field_sweep", "frequency_hz": 8.0e9, "bias_a": 0.0, "acquisition": "swept", "dwell_s": 0.3,
         "fields_oe": {"start": 900, "stop": 1300, "points": 25}},
    ],
    ids=["frequency", "up_down", "field"],
)
def test_buffer_readings_are_the_snap_readings_of_the_same_seed(tmp_path, sweep):
    """Noise on, same seed, no bus time and a twin that stores a triggered point at once (so
    both paths put every step and reading at the same virtual moment): every column of every
    row is identical, X and Y to the last digit."""
    snap = _run(tmp_path, "snap", _cfg("snap", sweep, latency=0.0))
    buf = _run(tmp_path, "buffer", _cfg("buffer", sweep, latency=0.0), StoredAtOnce())
    assert snap["vmix"].size == buf["vmix"].size > CHUNK_POINTS
    for col in COLUMNS:
        assert np.array_equal(np.asarray(snap[col]), np.asarray(buf[col])), col


def test_buffer_path_sends_a_trigger_per_point_and_four_queries_a_chunk(tmp_path):
    """With the bus time on (5 ms a message): the lock-in gets 2 queries a point on the SNAP
    path, 4 a chunk of 20 (+1 a sweep) on the buffer path; the readings agree within noise."""
    counts = {}
    data = {}
    for readout in ("snap", "buffer"):
        traffic = LockinTraffic()
        data[readout] = _run(tmp_path, readout, _cfg(readout), traffic)
        counts[readout] = traffic
    n = data["snap"]["vmix"].size
    chunks = -(-n // CHUNK_POINTS)
    # + the configuration's error check (*ESR?, ERRS?) after each of the 6 buffer set-up commands
    assert counts["buffer"].queries - counts["snap"].queries == 4 * chunks + 1 - 2 * n + 2 * 6
    # per point a TRIG; per sweep REST, STRT; at configuration FAST, TSTR, DDEF x2, SRAT, SEND
    assert counts["buffer"].commands - counts["snap"].commands == n + 2 + 6
    a, b = data["snap"], data["buffer"]
    assert np.array_equal(a["frequency"], b["frequency"])
    assert np.max(np.abs(a["vmix"] - b["vmix"])) < 0.05 * np.max(np.abs(a["vmix"]))
    step_a, step_b = np.median(np.diff(a["set_time"])[1:]), np.median(np.diff(b["set_time"])[1:])
    assert step_b < step_a  # one message less a point on the bus


def test_overload_walks_the_chunk_again_one_sensitivity_up(tmp_path):
    """At 200 uV the resonance overloads: the chunk that saw it is walked again at 500 uV
    (and up), its rows flagged; no recorded reading is clipped; the rows stay in order."""
    d = _run(tmp_path, "ovl", _cfg("buffer", sensitivity_v=200e-6))
    snap = _run(tmp_path, "ovl_snap", _cfg("snap", sensitivity_v=200e-6))
    assert d["vmix"].size == 61 and np.all(np.diff(d["frequency"]) > 0) and np.all(np.diff(d["time"]) > 0)
    sens = np.asarray(d["sensitivity"])
    assert sens[0] == pytest.approx(200e-6) and sens[-1] > 200e-6 and np.all(np.diff(sens) >= 0)
    assert np.all(np.hypot(d["lockin_x"], d["lockin_y"]) <= sens)  # none clipped at 1.09 x full scale
    over = np.asarray(d["overload"])
    chunk = np.arange(over.size) // CHUNK_POINTS
    hit = np.unique(chunk[over == 1])
    assert hit.size >= 1 and np.all(over[np.isin(chunk, hit)] == 1) and np.all(over[~np.isin(chunk, hit)] == 0)
    assert np.all(sens[chunk < hit[0]] == pytest.approx(200e-6)) and np.all(sens[chunk >= hit[0]] > 200e-6)
    assert np.asarray(snap["sensitivity"])[-1] == sens[-1]  # both paths end on the same range


class StopAfterTriggers(Subscriber):
    """Requests the stop (or a lock-in that stops answering) after ``n`` triggers."""

    def __init__(self, n, stop=None, vanish=False):
        self.n, self.stop, self.vanish, self.triggers = n, stop, vanish, 0

    def start(self, info):
        bench = info["station"].bench
        twin = bench.twins["lockin"]
        command = twin.command

        def counted(cmd):
            if cmd == b"TRIG":
                self.triggers += 1
                if self.triggers == self.n:
                    if self.stop is not None:
                        self.stop.set()
                    if self.vanish:
                        bench.inject("lockin", "timeout", at=1, count=10**6)
            return command(cmd)

        twin.command = counted


def test_a_stop_mid_chunk_keeps_every_triggered_point(tmp_path):
    stop = threading.Event()
    with pytest.raises(RunAborted) as e:
        _run(tmp_path, "stop", _cfg("buffer"), StopAfterTriggers(CHUNK_POINTS + 7, stop=stop), stop_event=stop)
    d = read_run(e.value.path)
    assert d.attrs["status"] == "aborted"
    assert d.data["vmix"].size == CHUNK_POINTS + 7  # the 7 of the chunk in flight read before stopping


def test_a_lockin_that_stops_answering_loses_at_most_one_chunk(tmp_path):
    with pytest.raises(RunFailed) as e:
        _run(tmp_path, "crash", _cfg("buffer", timeout_ms=100), StopAfterTriggers(CHUNK_POINTS + 7, vanish=True))
    d = read_run(e.value.path)
    assert d.attrs["status"] == "failed"
    assert d.data["vmix"].size == CHUNK_POINTS  # the first chunk, read and journaled; the second lost
    assert d.attrs["safe_state"] != ""


def test_buffer_readout_needs_a_model_with_a_driven_buffer():
    station = yaml.safe_load(yaml.safe_dump(STATION))
    station["instruments"]["lockin"]["model"] = "sr860"
    assert validate_station({**station, "swept_readout": "auto"})["swept_readout"] == "auto"
    with pytest.raises(ConfigError, match=r"^station\.swept_readout: buffer needs .* \(sr830\), not sr860"):
        validate_station({**station, "swept_readout": "buffer"})
    with pytest.raises(ConfigError, match=r"swept_readout"):
        validate_station({**STATION, "swept_readout": "stream"})


def test_a_lost_trigger_stops_the_run_with_a_clear_error(tmp_path):
    """SPTS? must equal the triggers sent: a trigger the lock-in did not store is an error,
    not a silent shift of every later reading onto the wrong set point."""

    class DropOne(Subscriber):
        def start(self, info):
            twin = info["station"].bench.twins["lockin"]
            command, seen = twin.command, []

            def dropping(cmd):
                if cmd == b"TRIG":
                    seen.append(cmd)
                    if len(seen) == 5:
                        return True  # taken, not stored
                return command(cmd)

            twin.command = dropping

    with pytest.raises(RunFailed, match=r"lock-in buffer holds 19 points where 20 were triggered"):
        _run(tmp_path, "lost", _cfg("buffer"), DropOne())


def test_the_bench_time_estimate_knows_the_readout(tmp_path):
    """The plan's bench time counts a buffered point's bus time (set + trigger + a share of the
    chunk's reads, 11 ms) instead of the SNAP path's (set, SNAP?, LIAS?: 15 ms)."""
    from stfmr_lab.config import validate_run_config
    from stfmr_lab.runner import estimate_bench_time_s

    est, took = {}, {}
    for readout in ("snap", "buffer"):
        cfg = _cfg(readout, sweep={
            "type": "frequency_sweep", "field_oe": 1000, "bias_a": 0.0, "acquisition": "swept",
            "frequency": {"start_hz": 6.0e9, "stop_hz": 11.0e9, "points": 401}})
        est[readout] = estimate_bench_time_s(validate_run_config(cfg, sim=True))
        took[readout] = _run(tmp_path, readout, cfg)["time"].max()
        assert est[readout] == pytest.approx(took[readout], rel=0.1)
    assert est["snap"] - est["buffer"] == pytest.approx(400 * 0.004, rel=0.01)
    assert took["snap"] - took["buffer"] == pytest.approx(est["snap"] - est["buffer"], rel=0.1)


def test_a_chunk_is_read_once_its_last_trigger_is_stored(tmp_path):
    """The SR830 stores a triggered point on its next 512 Hz tick (up to 1.95 ms after TRIG):
    on a fast bus (0.2 ms a message) SPTS? right after a chunk's last TRIG would find it not
    yet stored. It is asked again 2 ticks after that trigger: every point read, no false
    "trigger lost"; on a slower bus (5 ms a message) nothing waits."""
    latency = 0.0002
    d = _run(tmp_path, "fastbus", _cfg("buffer", latency=latency))
    assert d["vmix"].size == 61 and np.all(np.diff(d["frequency"]) > 0)
    step = np.diff(np.asarray(d["time"]))
    # at each chunk's end: SPTS? (short), the rest of 2 ticks, SPTS?, TRCA? x2, LIAS?
    extra = [step[k - 1] - np.median(step) for k in range(CHUNK_POINTS, 61, CHUNK_POINTS)]
    assert extra == pytest.approx([2 / 512 + 4 * latency] * 3, abs=1e-6)
    slow = _run(tmp_path, "slowbus", _cfg("buffer"))
    step = np.diff(np.asarray(slow["time"]))
    extra = [step[k - 1] - np.median(step) for k in range(CHUNK_POINTS, 61, CHUNK_POINTS)]
    assert extra == pytest.approx([4 * 0.005] * 3, abs=1e-6)  # SPTS?, TRCA? x2, LIAS?: no wait


@pytest.mark.parametrize("front_panel", [{"fast_transfer": 2}, {"fast_transfer": 1, "trigger_starts": 1}])
def test_fast_transfer_and_trigger_start_left_on_at_the_lockin_are_switched_off(tmp_path, front_panel):
    """FAST 1/2 left on (pymeasure's SR830.start_buffer sends FAST2) makes the SR830 send X
    and Y of every stored point over the bus unasked: the next reply would start with those
    bytes. The buffer's set-up switches FAST and TSTR off before storing anything."""

    cfg = _cfg("buffer")
    cfg["simulation"] = {**cfg["simulation"], "front_panel": {"lockin": front_panel}}
    seen = {}

    class Settings(Subscriber):
        def start(self, info):
            seen["twin"] = info["station"].bench.twins["lockin"]

    d = _run(tmp_path, "fast", cfg, Settings())
    assert d["vmix"].size == 61
    twin = seen["twin"]
    assert int(twin.p("fast_transfer")) == 0 and int(twin.p("trigger_starts")) == 0
