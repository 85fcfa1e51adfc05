"""Headless runs: ``stfmr_lab.run(config) -> path`` and what ``stfmr-lab run`` prints.

The whole config is validated (ranges against the station's limits, sweep sizes, the
output path) before anything is opened; the expected bench time is printed; the run then
streams to the HDF5 file with a progress line; Ctrl-C (or SIGTERM) stops it cleanly:
safe shutdown, status "aborted", exit status 130.
"""

from __future__ import annotations

import math
import signal
import sys
import threading
import time
from pathlib import Path

from stfmr_lab.config import (
    FieldSweep,
    FreqSweep,
    IVSweep,
    RunConfig,
    SweepTally,
    load_run_config,
    sweep_key,
    validate_run_config,
)
from stfmr_lab.errors import error_line
from stfmr_lab.station import uses_buffer
from stfmr_lab.storage import check_writable, free_name
from stfmr_lab.stream import Subscriber


class RunAborted(Exception):
    """The run was stopped by the operator; the file is complete up to that point."""

    def __init__(self, path: Path, safe_state: str):
        super().__init__(f"run aborted; data kept in {path}; safe state: {safe_state}")
        self.path = path
        self.safe_state = safe_state


class RunFailed(Exception):
    """The run stopped on an error; the file holds every point before it."""

    def __init__(self, path: Path | None, reason: str, safe_state: str):
        where = f"; data kept in {path}" if path else ""
        super().__init__(f"{reason}{where}; safe state: {safe_state}")
        self.path = path
        self.reason = reason
        self.safe_state = safe_state


class SafeStateUnverified(RunFailed):
    """The run ended (``outcome``: complete, aborted or failed) but its exit path could not
    verify bias 0 and RF off: someone must check the bench (exit status 3 at the CLI).

    ``unverified``: the parts not verified ("bias", "rf"); ``advice``: what to check.
    """

    def __init__(self, path: Path | None, outcome: str, safe_state: str, unverified, error: str = ""):
        from stfmr_lab.safety import bench_advice

        self.outcome = outcome
        self.unverified = set(unverified)
        self.advice = bench_advice(self.unverified)
        what = " and ".join(k for k in ("bias", "rf") if k in self.unverified) or "bias and rf"
        cause = f" after {error}" if error else ""
        reason = f"{what} not verified at the end of the run ({outcome}{cause}): {self.advice}"
        super().__init__(path, reason, safe_state)


#: instrument time per point of a spectrum: three GPIB transactions of about 5 ms (set, X/Y, overload)
SPECTRUM_POINT_IO_S = 0.015
#: ... of a swept point read through the lock-in's buffer (procedures/buffered.py): the set and
#: a trigger, and a chunk's four queries shared by its 20 points
BUFFERED_POINT_IO_S = 0.011
#: instrument time per I-V point: the source's set and readback and one :READ? (1 PLC at 50 Hz, 20 ms)
IV_POINT_IO_S = 0.045
#: a voltage bias is taken as this device resistance to estimate its current ramp (a typical MTJ)
ASSUMED_DEVICE_RESISTANCE_OHM = 4000.0
#: finding a voltage bias (closed loop on the readback, a few iterations) and setting a current one
VOLTAGE_BIAS_SEARCH_S = 0.2
CURRENT_BIAS_SET_S = 0.05


def estimate_bench_time_s(rc: RunConfig) -> float:
    """Bench time a real run of ``rc`` would take (settling, ramps, instrument latency)."""
    lc = rc.data["lockin"]
    tau = lc["time_constant_s"]
    settle = lc["settle_time_constants"] * tau
    per_point = settle + SPECTRUM_POINT_IO_S
    mag = rc.station["magnet"]
    lim = rc.station["limits"]
    t, h_now, i_now = 0.0, 0.0, 0.0
    for item in rc.plan.order:
        targets = [item.field_oe] if not isinstance(item, FieldSweep) else [item.fields_oe[0]]
        for h in targets:
            t += abs(h - h_now) / mag["ramp_rate_oe_per_s"] + 2 * mag["settle_s"]
            h_now = h
        if isinstance(item, IVSweep):
            t += item.points * (IV_POINT_IO_S + lim["bias_step_dwell_s"])
            continue
        b = item.bias.value if not item.bias.is_voltage else item.bias.value / ASSUMED_DEVICE_RESISTANCE_OHM
        t += abs(b - i_now) / lim["max_bias_step_a"] * lim["bias_step_dwell_s"] + (
            VOLTAGE_BIAS_SEARCH_S if item.bias.is_voltage else CURRENT_BIAS_SET_S
        )
        i_now = b
        swept = getattr(item, "acquisition", "stepped") == "swept"
        # swept: the first point settles, every other is read one dwell after its step
        # (an adaptive sweep's swept pass reads with SNAP?, point by point)
        io = BUFFERED_POINT_IO_S if swept and not getattr(item, "adaptive", None) and uses_buffer(rc.station) else SPECTRUM_POINT_IO_S
        wait = io + item.dwell_s if swept else per_point
        first_extra = settle - item.dwell_s if swept else 0.0
        if isinstance(item, FreqSweep) and swept and item.adaptive:
            # a swept coarse pass, then settled points: max_points readings in all, at most (the
            # first reading settles as a stepped adaptive sweep's: counted in per_point)
            n_pass = min(int(item.adaptive["coarse_points"]) * (1 + item.up_down), item.points)
            t += n_pass * wait + (item.points - n_pass) * per_point + max(settle, 10 * tau)
        elif isinstance(item, FreqSweep):
            t += item.points * wait + first_extra + max(settle, 10 * tau)
        elif item.adaptive:
            # a stepped adaptive field sweep (a field map's: one design per polarity): each design's
            # window ramped over about twice (its coarse pass, then batches back and forth), and
            # every point after a coarse pass may wait out the lock-in's lag of a jump
            designs = item.designs or ((item.fields_oe, item.adaptive),)
            ramp_oe = sum(2 * (float(c.max()) - float(c.min())) for c, _ in designs)
            coarse = sum(min(int(a["coarse_points"]), int(a["max_points"])) for _, a in designs)
            jump_wait = max(settle, item.adaptive["jump_settle_time_constants"] * tau)
            t += (item.points * (per_point + mag["settle_s"]) + ramp_oe / mag["ramp_rate_oe_per_s"]
                  + (item.points - coarse) * (jump_wait - settle) + len(designs) * max(settle, 10 * tau))
        else:
            step = abs(item.fields_oe[-1] - item.fields_oe[0]) / max(len(item.fields_oe) - 1, 1)  # up/down: twice over
            t += item.points * (wait + step / mag["ramp_rate_oe_per_s"] + mag["settle_s"]) + first_extra
    return t


def fmt_duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = max(0, int(round(seconds)))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}"


class ProgressLine(Subscriber):
    """A one-line progress bar on stderr: points, spectra, the present set point, remaining bench time."""

    def __init__(self, rc: RunConfig, stream=None, min_interval_s: float = 0.25, already=None):
        """``already``: what a resumed file holds (procedures.base.ResumeState), counted as done."""
        self.out = stream or sys.stderr  # looked up now: a redirected stderr is honoured
        self.plan = rc.plan
        self.planned = rc.plan.points
        self.total = rc.plan.points
        self.spectra_total = len(rc.plan.spectra)
        self.tally = SweepTally(rc.plan, already)
        self.done = sum(self.tally.recorded.values())
        complete = [item for item in rc.plan.order if sweep_key(item) in self.tally.finished]
        self.spectra_done = sum(not isinstance(item, IVSweep) for item in complete)
        self.total -= sum(self.tally.missing(item) for item in complete)
        self.min_interval_s = min_interval_s
        self._last = 0.0
        self._clock = None
        self._t_start = 0.0
        self.tty = hasattr(self.out, "isatty") and self.out.isatty()
        self._decile = 0
        self._at = ""  # the present set point

    def start(self, info):
        self._clock = info["station"].clock
        self._t_start = self._clock.now()
        self._draw(force=True)

    def row(self, table, row):
        if self.tally.add_row(table, row):
            self.done += 1
            self._at = set_point_text(row, table)
            if self.tty:
                self._draw()

    def sweep_done(self, item):
        if isinstance(item, (FreqSweep, FieldSweep)):
            self.spectra_done += 1
        # I-V branches stop early at the voltage limit, adaptive sweeps when their goal is met
        self.total -= self.tally.finish(item)
        if not self.tty:  # a log: one line per tenth of the run
            decile = int(10 * self.done / max(self.total, 1))
            if decile > self._decile:
                self._decile = decile
                self._draw(force=True)
        else:
            self._draw()

    def message(self, text):
        if self.tty:
            self.out.write("\r\033[K")
        self.out.write(f"  {text}\n")

    def stop(self, status, safe_state):
        if self.tty:
            self._draw(force=True)
            self.out.write("\n")
        line = f"{status}: {self.done} of {self.planned} planned points, {self.spectra_done} of {self.spectra_total} spectra"
        note = self.tally.shortfall(status) if self.done < self.planned else ""
        self.out.write(line + (f" ({note})" if note else "") + "\n")

    def _draw(self, force=False):
        now = time.monotonic()
        if not force and now - self._last < self.min_interval_s:
            return
        if not self.tty and not force:
            return
        self._last = now
        frac = self.done / max(self.total, 1)
        elapsed = self._clock.now() - self._t_start if self._clock else 0.0
        left = elapsed / frac * (1 - frac) if frac > 0 else math.nan
        bar = "#" * int(30 * frac) + "-" * (30 - int(30 * frac))
        clock = " (virtual)" if getattr(self._clock, "virtual", False) else ""
        at = f", at {self._at}" if self._at else ""
        line = (
            f"[{bar}] {self.done}/{self.total} points, {self.spectra_done}/{self.spectra_total} spectra{at}, "
            f"bench time {fmt_duration(elapsed)}{clock}, left {fmt_duration(left)}"
        )
        self.out.write(("\r\033[K" + line) if self.tty else line + "\n")
        self.out.flush()


def set_point_text(row: dict, table: str) -> str:
    """The set point of a recorded row, for the progress line: field, bias, frequency."""
    parts = [f"{row['field_oe']:.0f} Oe", f"{row['bias_current_a'] * 1e6:+.1f} uA ({row['bias_voltage_v']:+.3f} V)"]
    if table == "data":
        parts.append(f"{row['frequency_hz'] / 1e9:.3f} GHz")
    else:
        parts.append("RF off (I-V)")
    return ", ".join(parts)


def prepare(config, *, sim: bool, out: str | Path | None = None, create_folder: bool = True) -> tuple[RunConfig, Path]:
    """Validate a config (path, mapping or RunConfig) and the output path; nothing is opened
    (``create_folder=False``: not even the output folder is created)."""
    if isinstance(config, RunConfig):
        rc = config
    elif isinstance(config, (str, Path)):
        rc = load_run_config(config, sim=sim)
    else:
        rc = validate_run_config(config, sim=sim)
    if out is None:
        out = Path(rc.data["output"]["directory"]) / f"{rc.name}.h5"
    out = check_writable(Path(out), create_folder=create_folder)
    return rc, out


def run(
    config,
    *,
    sim: bool | None = None,
    out: str | Path | None = None,
    resume: str | Path | None = None,
    progress: bool = False,
    say=None,
    stream=None,
    handle_signals: bool = False,
    stop_event: threading.Event | None = None,
    confirm_axis=None,
) -> Path:
    """Run a measurement config headless; return the path of the run file.

    ``config``: a YAML path, a mapping or a ``RunConfig``. ``sim``: required, as ``--sim`` at
    the command line: True for the simulated bench, False for the real one (no default, so
    a script never drives the bench, or fakes it, by accident).
    ``out``: run file path (never overwritten: a taken name gets a suffix).
    ``resume``: continue an interrupted run file from its first missing sweep.
    ``stop_event``: set it (from any thread) to stop the run cleanly (status "aborted").
    ``confirm_axis(axis) -> bool``: asks the operator to turn the magnet (``rotation:
    operator``, e.g. ``stfmr_lab.operator_steps.TerminalOperator``); a config that needs it is
    refused without one, before anything is opened.
    Raises ``ConfigError`` (bad input, nothing opened), ``RunAborted`` or ``RunFailed``.
    """
    from stfmr_lab.procedures import RunConfigProcedure
    from stfmr_lab.procedures.base import Aborted
    from stfmr_lab.storage import read_run

    say = say or (lambda text: None)
    if not isinstance(sim, bool):
        raise TypeError("run(): say sim=True (the simulated bench) or sim=False (the real bench)")
    if resume is not None and out is not None:
        from stfmr_lab.schema import ConfigError

        raise ConfigError(f"--resume continues {resume} in place: leave out --out (a resumed run is never written elsewhere)")
    rc, out = prepare(config, sim=sim, out=out)
    if confirm_axis is None:
        from stfmr_lab.operator_steps import operator_refusal, operator_steps_needed
        from stfmr_lab.schema import ConfigError

        key = operator_steps_needed(rc, sim)
        if key is not None:
            raise ConfigError(operator_refusal(key))
    proc = RunConfigProcedure(say=say)
    proc.run_config = rc
    proc.sim = sim
    proc.confirm_axis = confirm_axis
    if resume is not None:
        from stfmr_lab.procedures.base import ResumeState
        from stfmr_lab.schema import ConfigError

        resume = Path(resume)
        try:
            done = read_run(resume)
        except (OSError, ValueError) as e:
            raise ConfigError(f"resume {resume}: {e}") from None
        if done.attrs.get("status") == "complete":
            raise ConfigError(f"resume {resume}: the run is complete; nothing to resume")
        if done.live:
            raise ConfigError(f"resume {resume}: the run is still running (process {done.attrs.get('writer')})")
        if "simulated" in done.attrs and bool(done.attrs["simulated"]) != sim:
            was = "the simulated bench (resume with --sim)" if done.attrs["simulated"] else "the real bench (resume without --sim)"
            raise ConfigError(f"resume {resume}: the file was measured on {was}")
        if yaml_equal(done.attrs.get("config", ""), rc.text) is not True:
            raise ConfigError(f"resume {resume}: the file was measured with a different config")
        check_same_station(resume, done.attrs, rc.station, say)
        check_same_path_table(resume, done.instruments, rc.station)
        proc.resume_path = resume
        proc.done = ResumeState(done, rc.plan)
        say(f"resuming {resume}: {proc.done.points_present} points already measured ({done.status})")
    else:
        target = free_name(out)
        if target != out:
            say(f"{out} exists: writing {target} instead (files are never overwritten)")
        proc.out = target
    if stream is not None:
        proc.stream = stream
    if progress:
        proc.stream.subscribe(ProgressLine(rc, already=proc.done if resume is not None else None))

    stop = stop_event or threading.Event()
    old_handlers = {}
    if handle_signals and threading.current_thread() is threading.main_thread():

        def on_signal(signum, frame):
            if stop.is_set():
                return
            stop.set()
            say("\nstop requested: finishing the point in flight, then ramping down safely")

        # SIGBREAK: Ctrl-Break in a Windows console (Windows has no SIGTERM sender; TerminateProcess cannot be caught)
        for sig in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGBREAK", None)):
            if sig is not None:
                old_handlers[sig] = signal.signal(sig, on_signal)
    proc.should_stop = stop.is_set
    path = None
    try:
        try:
            proc.startup()
            path = proc.ctx.runfile.path
            say(f"run file: {path}")
            proc.execute()  # an abort returns with outcome "aborted"
        except (Aborted, KeyboardInterrupt):
            proc.outcome = "aborted"
        except BaseException as e:
            proc.outcome = "failed"
            proc.error = e
            if proc.ctx is None:  # nothing opened: nothing to shut down, nothing written
                raise _open_failed(e) from e
            path = proc.ctx.runfile.path  # failed in configuration: the file exists and says why
        finally:
            proc.shutdown()
            if proc.ctx is not None:
                say(f"safe state: {proc.safe_state}")
    finally:
        for sig, h in old_handlers.items():
            signal.signal(sig, h)
    if proc.ctx is not None and not proc.safe_state_verified:
        error = error_line(proc.error) if proc.outcome == "failed" and proc.error is not None else ""
        raise SafeStateUnverified(path, proc.outcome, proc.safe_state, proc.unverified, error) from proc.error
    if proc.outcome == "aborted":
        raise RunAborted(path, proc.safe_state)
    if proc.outcome == "failed":
        e = proc.error
        reason = error_line(e)
        raise RunFailed(path, reason, proc.safe_state or "not reached (nothing was switched on)") from e
    return path


def _open_failed(e: BaseException) -> Exception:
    """Opening failed: nothing was switched on, nothing written. ConnectionError -> exit 2."""
    if isinstance(e, ConnectionError):
        return e
    return RunFailed(None, error_line(e), "not reached (nothing was switched on)")


def check_same_station(path: Path, attrs: dict, station: dict, say) -> None:
    """Refuse (ConfigError, one line naming what changed) to resume on a station other than the file's."""
    import yaml

    from stfmr_lab.schema import ConfigError
    from stfmr_lab.station import station_changes, station_digest, validate_station

    stored = attrs.get("station_yaml")
    if not stored:
        say(f"resume {path}: the file does not record its station (written before stfmr-lab stored it): not compared")
        return
    if attrs.get("station_sha256") == station_digest(station):
        return
    try:
        old = validate_station(yaml.safe_load(stored), "station")
    except (ConfigError, yaml.YAMLError):
        old = {}
    changes = station_changes(old, station) if old else ["the stored station file cannot be read"]
    if not changes:
        return
    more = f" (and {len(changes) - 3} more)" if len(changes) > 3 else ""
    raise ConfigError(
        f"resume {path}: the station changed since the run started: {'; '.join(changes[:3])}{more}; "
        f"resume with the station the file records (/entry@station_yaml)"
    )


def check_same_path_table(path: Path, instruments: dict, station: dict) -> None:
    """A station whose RF path is a Touchstone table: refuse a resume when the table's content
    changed (the station file names the table; the run file keeps the table it used)."""
    import numpy as np

    from stfmr_lab.instruments.path import BiasTeePath
    from stfmr_lab.schema import ConfigError

    if "touchstone" not in station["path"]:
        return
    stored = instruments.get("path", {}).get("settings", {})
    if "table_loss_db" not in stored:
        return
    now = BiasTeePath.from_config(station["path"]).snapshot()
    same = all(
        np.shape(np.ravel(now[k])) == np.shape(np.ravel(stored[k])) and np.allclose(np.ravel(now[k]), np.ravel(stored[k]))
        for k in ("table_freq_hz", "table_loss_db")
    )
    if not same:
        raise ConfigError(
            f"resume {path}: the station's path table {station['path']['touchstone']} changed since the run started "
            f"(its S21 is not the one the file used)"
        )


def yaml_equal(a: str, b: str):
    import yaml

    try:
        return yaml.safe_load(a) == yaml.safe_load(b)
    except yaml.YAMLError:
        return None


