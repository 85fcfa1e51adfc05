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

from stfmr_lab.config import FieldSweep, FreqSweep, IVSweep, RunConfig, load_run_config, validate_run_config
from stfmr_lab.errors import error_line
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


#: instrument time per point of a spectrum: three GPIB transactions of about 5 ms (set, X/Y, overload)
SPECTRUM_POINT_IO_S = 0.015
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
        if isinstance(item, FreqSweep):
            t += item.points * per_point + max(settle, 10 * tau)
        else:
            step = abs(item.fields_oe[-1] - item.fields_oe[0]) / max(item.points - 1, 1)
            t += item.points * (per_point + step / mag["ramp_rate_oe_per_s"] + mag["settle_s"])
    return t


def fmt_duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = max(0, int(round(seconds)))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}"


class ProgressLine(Subscriber):
    """A one-line progress bar on stderr: points, spectra, remaining bench time."""

    def __init__(self, rc: RunConfig, stream=None, min_interval_s: float = 0.25):
        self.out = stream if stream is not None else sys.stderr  # looked up now, not at import
        self.total = rc.plan.points
        self.spectra_total = len(rc.plan.spectra)
        self.done = 0
        self.spectra_done = 0
        self.min_interval_s = min_interval_s
        self._last = 0.0
        self._clock = None
        self._t_start = 0.0
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self._iv_rows: dict = {}
        self._decile = 0

    def start(self, info):
        self._clock = info["station"].clock
        self._t_start = self._clock.now()
        self._draw(force=True)

    def row(self, table, row):
        if table in ("data", "dvdi"):
            self.done += 1
            if table == "dvdi":
                self._iv_rows[row["sweep"]] = self._iv_rows.get(row["sweep"], 0) + 1
            if self.tty:
                self._draw()

    def sweep_done(self, item):
        if isinstance(item, (FreqSweep, FieldSweep)):
            self.spectra_done += 1
        if isinstance(item, IVSweep):  # I-V branches stop early at the voltage limit
            self.total -= item.points - self._iv_rows.get(item.index, 0)
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
        self.out.write(f"{status}: {self.done} points, {self.spectra_done} spectra\n")

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
        clock = "virtual" if getattr(self._clock, "virtual", False) else "real"
        line = (
            f"[{bar}] {self.done}/{self.total} points, {self.spectra_done}/{self.spectra_total} spectra, "
            f"bench time {fmt_duration(elapsed)} ({clock}), left {fmt_duration(left)}"
        )
        self.out.write(("\r\033[K" + line) if self.tty else line + "\n")
        self.out.flush()


def prepare(config, *, sim: bool, out: str | Path | None = None) -> tuple[RunConfig, Path]:
    """Validate a config (path, mapping or RunConfig) and the output path; nothing is opened."""
    if isinstance(config, RunConfig):
        rc = config
    elif isinstance(config, (str, Path)):
        rc = load_run_config(config, sim=sim)
    else:
        rc = validate_run_config(config, sim=sim)
    if out is None:
        out = Path(rc.data["output"]["directory"]) / f"{rc.name}.h5"
    out = check_writable(Path(out))
    return rc, out


def run(
    config,
    *,
    sim: bool = True,
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

    ``config``: a YAML path, a mapping or a ``RunConfig``. ``sim``: use the simulated bench.
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
        if yaml_equal(done.attrs.get("config", ""), rc.text) is not True:
            raise ConfigError(f"resume {resume}: the file was measured with a different config")
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
        proc.stream.subscribe(ProgressLine(rc))

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


def yaml_equal(a: str, b: str):
    import yaml

    try:
        return yaml.safe_load(a) == yaml.safe_load(b)
    except yaml.YAMLError:
        return None


