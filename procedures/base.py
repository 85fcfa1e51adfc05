"""The one walker every procedure uses: how a plan is measured, safely.

A procedure is a pymeasure ``Procedure`` (so the GUI's ManagedWindow can queue it) whose
``execute`` walks a ``Plan`` (stfmr_lab.config): ramps field and bias to each set point
through the ``Guard`` (limits, ramps), waits the lock-in's settling on the station's clock
(virtual on the simulated bench), reads X and Y together, re-ranges on overload, and emits
one row per point on the run's stream (the run file subscribes). ``shutdown`` - on every
exit path - turns the RF off, ramps the bias to zero, reads both back and records the
outcome in the run file.
"""

from __future__ import annotations

import logging
import math
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pymeasure.experiment import Procedure
from stfmr_lab.instruments.base import CommandRefused, checked_commands
from stfmr_lab.instruments.field import OperatorActionRequired
from stfmr_lab.instruments.ramp import RampStopped
from stfmr_lab.procedures.buffered import BufferedSweep, uses_buffer

from stfmr_lab.config import FieldSweep, FreqSweep, IVSweep, RunConfig, SweepTally, sweep_key
from stfmr_lab.errors import error_line
from stfmr_lab.lockin_filter import poles_for_slope, step_residual
from stfmr_lab.physics import LOCKIN_RMS_FACTOR, SETTLE_TAUS
from stfmr_lab.safety import Guard
from stfmr_lab.sample import declared_sample
from stfmr_lab.stream import RunStream, Subscriber
from stfmr_lab.units import ACQUISITIONS, DVDI_LABELS, SAMPLE_REASONS, SPECTRUM_KINDS

log = logging.getLogger(__name__)


class Aborted(Exception):
    """The operator (or a signal) asked the run to stop: raised by the walker's checkpoint
    (``StfmrProcedure.checkpoint``) and handled in one place (``StfmrProcedure.execute``)."""


@dataclass
class RunContext:
    """Everything a running procedure needs, opened by ``open_context``."""

    config: RunConfig
    station: object
    guard: Guard
    runfile: object
    stream: RunStream
    #: the real bench's lock (stfmr_lab.locks.BenchLock), released when the station closes
    bench_lock: object = None
    t0: float = 0.0
    points_done: int = 0
    sweeps_done: int = 0


def open_context(
    config: RunConfig, *, sim: bool, out: Path, stream: RunStream, say=print, resume: Path | None = None, confirm_axis=None
):
    """Open the station and the run file (nothing is switched on yet).

    ``confirm_axis(axis) -> bool`` asks the operator to turn the magnet on a bench without a
    rotation stage (the GUI shows a dialog); without it a headless real-bench run stops
    there and says so. The simulated bench has its own simulated operator."""
    from stfmr_lab.locks import BenchLock
    from stfmr_lab.station import open_station, station_digest
    from stfmr_lab.storage import RunFile

    # a real bench: one run at a time per instrument address (the simulated twins are private)
    lock = None if sim else BenchLock(config.station).acquire()
    for note in lock.notes if lock else ():
        say(note)
    try:
        station = open_station(
            config.station,
            sim=sim,
            device=config.data["device"] if sim else None,
            simulation=config.data["simulation"] if sim else None,
            confirm_axis=confirm_axis,
        )
    except BaseException:
        if lock:
            lock.release()
        raise
    try:
        instruments = {}
        snaps = station.snapshot()
        for role, inst in station.instruments.items():
            icfg = config.station["instruments"][role]
            instruments[role] = {
                "model": icfg["model"],
                "address": icfg["address"],
                "identification": inst.identify(),
                "settings_at_open": snaps.get(role, {}),
            }
        if station.field is not None:
            instruments["field_controller"] = {"model": "closed loop on the gaussmeter", "settings": station.field.snapshot()}
        instruments["path"] = {"model": "bias-tee path calibration", "settings": station.path.snapshot()}
        declared = declared_sample(config.data["sample"])
        sample = {"name": declared["name"], "declared": declared}
        if sim:
            sample.update(station.bench.truth())
            sample.update({"coil_oe_per_a": station.bench.magnet.oe_per_a, "remanence_oe": station.bench.magnet.remanence_oe})
        if resume is not None:
            runfile = RunFile.resume(resume)
        else:
            runfile = RunFile.create(
                out,
                procedure="stfmr_lab.procedures." + config.data.get("_procedure", "RunConfigProcedure"),
                config_yaml=config.text,
                instruments=instruments,
                sample=sample,
                extra_entry_attrs={
                    "simulated": int(sim),
                    "station": config.station["name"],
                    # the bench the run was measured on: a resume on another one is refused
                    "station_yaml": config.station_text,
                    "station_sha256": station_digest(config.station),
                    "planned_points": config.plan.points,
                    "planned_spectra": len(config.plan.spectra),
                },
            )
    except BaseException:
        station.close()
        if lock:
            lock.release()
        raise
    stream.subscribe(_FileSubscriber(runfile))
    try:
        from stfmr_lab.runlog import RunLog

        runlog = RunLog(runfile.path, station.clock)
        stream.subscribe(runlog)
        say = _also_to(runlog, say)
    except OSError as e:  # the log is for people: a run goes on without it
        log.warning("no event log beside %s: %s", runfile.path, e)
    guard = Guard(station, say=say)
    return RunContext(config, station, guard, runfile, stream, bench_lock=lock)


def _also_to(runlog, say):
    """``say`` that also writes to the event log (the guard's notes: operator steps, ramps)."""

    def both(text):
        runlog.write(str(text).strip())
        say(text)

    return both


class _FileSubscriber(Subscriber):
    """The run file on the stream: essential (a write error stops the run)."""

    essential = True

    def __init__(self, runfile):
        self.runfile = runfile

    def row(self, table, row):
        self.runfile.append(table, row)

    def sweep_done(self, item):
        self.runfile.flush()


class StfmrProcedure(Procedure):
    """Base of every stfmr-lab procedure: walks ``self.plan_config`` through the station."""

    DATA_COLUMNS = ["Frequency (Hz)", "Field (Oe)", "Bias current (A)", "Bias voltage (V)", "Vmix (V)", "Spectrum"]

    #: set before ``startup``: a validated RunConfig, sim flag, output path
    run_config: RunConfig | None = None
    sim: bool = True
    out: Path | None = None
    resume_path: Path | None = None
    ctx: RunContext | None = None
    #: asks the operator to turn the magnet (real bench without a rotation stage); see open_context
    confirm_axis = None

    def __init__(self, *args, stream: RunStream | None = None, say=None, **kwargs):
        self.stream = stream or RunStream()
        self.say = say or (lambda text: log.info(text))
        self.outcome = "running"
        self.safe_state = ""
        #: False when the exit path could not verify bias 0 and RF off (``unverified``: which)
        self.safe_state_verified = True
        self.unverified: set[str] = set()
        self.error: BaseException | None = None
        self.done: ResumeState | NothingDone = NothingDone()  # what an interrupted file already holds
        self._tally: SweepTally | None = None
        #: per kind of adaptive sweep, the last one's line (``AdaptiveDesign.seed_out``): the next starts there
        self.adaptive_seeds: dict = {}
        super().__init__(*args, **kwargs)

    # ------------------------------------------------------------------ pymeasure hooks
    def make_run_config(self) -> RunConfig:
        """Subclasses build the RunConfig from their Parameters."""
        if self.run_config is None:
            raise ValueError("no run config")
        return self.run_config

    # ------------------------------------------------------------------ the stop checkpoint
    def stop_requested(self) -> bool:
        """Whether a stop was asked for: pymeasure's ``should_stop`` (the GUI's Abort; the
        runner's stop event, set by Ctrl-C or a caller)."""
        try:
            return bool(self.should_stop())
        except NotImplementedError:  # pymeasure's should_stop with no Worker attached
            return False

    def checkpoint(self, where: str = "") -> None:
        """The one place a run stops: between points, sweeps and field-ramp steps (the
        ramp asks ``stop_requested`` before each step, after the last one's whole dwell).
        Raises ``Aborted``; ``execute`` turns it, and a stopped ramp, into outcome "aborted"."""
        if self.stop_requested():
            raise Aborted(f"stop requested{where}")

    def startup(self):
        try:
            self._startup()
        except BaseException as e:
            self._fail(e)
            raise

    def _fail(self, e: BaseException) -> None:
        """Record a failure and ramp down *before* the exception leaves the procedure
        (pymeasure's Worker reports the failure first and calls shutdown only later)."""
        self.outcome = "failed"
        self.error = e
        self.shutdown()

    def _startup(self):
        if self.run_config is None:
            self.run_config = self.make_run_config()
        if self.ctx is None:
            out = self.out or Path(self.run_config.data["output"]["directory"]) / f"{self.run_config.name}.h5"
            self.ctx = open_context(
                self.run_config, sim=self.sim, out=Path(out), stream=self.stream, say=self.say, resume=self.resume_path,
                confirm_axis=self.confirm_axis,
            )
        ctx = self.ctx
        self._vmix_points = max(self.run_config.plan.vmix_points, 1)  # for pymeasure's progress
        ctx.t0 = ctx.station.clock.now() - self.done.time_offset_s
        self.stream.emit("start", {"path": str(ctx.runfile.path), "config": self.run_config, "station": ctx.station})
        self._configure()
        # the settings the run uses, read back from the instruments after configuration
        for role, snap in ctx.station.snapshot().items():
            ctx.runfile.write_settings(role, snap)

    def _configure(self):
        """Set up every instrument, reading its errors after each command: a refused command
        stops the run there (``CommandRefused`` names the role, the instrument and the
        command), before anything is measured. The queues were cleared when the station
        opened; an entry found before the first command comes from the queries since."""
        st = self.ctx.station
        errors = self._instrument_errors()
        if errors:
            raise CommandRefused("since the station opened, before configuration: " + "; ".join(errors))
        with ExitStack() as stack:
            for role, inst in st.instruments.items():
                stack.enter_context(checked_commands(inst, label=role))
            self._configure_instruments()
        errors = self._instrument_errors()
        if errors:
            raise CommandRefused("after configuration, before the first point: " + "; ".join(errors))

    def _configure_instruments(self):
        """Lock-in, chop and bias set-up: compliance before any output."""
        cfg = self.run_config.data
        st = self.ctx.station
        li = st["lockin"]
        lc = cfg["lockin"]
        li.configure_reference(lc["reference"], cfg["chop"]["frequency_hz"])
        li.set_time_constant_s(_nearest(li.TIME_CONSTANTS_S, lc["time_constant_s"]))
        li.set_slope_db_oct(int(lc["slope_db_oct"]))
        li.set_sensitivity_v(_nearest_up(li.SENSITIVITIES_V, lc["sensitivity_v"]))
        src = st["source"]
        src.set_rf_enabled(False)
        chop_source = cfg["chop"]["source"]
        if lc["reference"] == "internal" and chop_source == "internal":
            chop_source = "external"  # the lock-in's TTL reference out drives the modulation
        src.configure_chop(cfg["chop"]["frequency_hz"], chop_source)
        self.ctx.guard.prepare_bias()
        if st.field is not None:
            st.field.prepare()
        self._lockin = li
        self._read_xy, self._overloaded = li.xy_reader(), li.overload_reader()  # bound once for the points
        swept = any(getattr(item, "acquisition", "stepped") == "swept" for item in self.run_config.plan.order)
        self._buffered = BufferedSweep(self, li) if swept and uses_buffer(st.config) else None
        self._sensitivity_v = li.get_sensitivity_v()
        self._tau = tau = li.get_time_constant_s()
        self.settle_s = lc["settle_time_constants"] * tau
        self.settle_min_s = SETTLE_TAUS.get(int(lc["slope_db_oct"]), 10.0) * tau

    def execute(self):
        """Walk the plan. An abort returns normally (outcome "aborted"); an error ramps
        down, records "failed" and is re-raised."""
        try:
            self._execute()
        except (Aborted, RampStopped):  # the checkpoint, between points or field-ramp steps
            self.outcome = "aborted"
        except BaseException as e:
            self._fail(e)
            raise

    def _execute(self):
        plan = self.run_config.plan
        total = plan.points
        self.stream.emit("message", f"{len(plan.order)} sweeps, {total} points")
        for item in plan.order:
            if self.done.complete(item):
                continue
            self.checkpoint()
            self.stream.emit("sweep_start", item)
            if isinstance(item, IVSweep):
                self._iv_sweep(item)
            elif isinstance(item, FreqSweep):
                self._freq_sweep(item)
            elif isinstance(item, FieldSweep):
                self._field_sweep(item)
            self.ctx.sweeps_done += 1
            self.tally.finish(item)
            self.stream.emit("sweep_done", item)
            errors = self._instrument_errors()
            if errors:
                raise RuntimeError("instrument error queue: " + "; ".join(errors))

    def _instrument_errors(self) -> list[str]:
        out = []
        for role, inst in self.ctx.station.instruments.items():
            for e in inst.check_errors():
                out.append(f"{role}: {e}")
        return out

    def shutdown(self):
        """Every exit path: RF off, bias to zero, read back, record; never raises; once only."""
        ctx = self.ctx
        if ctx is None or getattr(self, "_shut_down", False):
            return
        self._shut_down = True
        if self.outcome == "running" and self.stop_requested():
            self.outcome = "aborted"  # stopped between startup and execute
        try:
            ok, text = ctx.guard.shutdown(field_to_zero=self.run_config.data.get("field_to_zero_at_end", True))
        except Exception as e:  # Guard.shutdown does not raise; belt and braces
            ok, text = False, f"NOT verified: shutdown raised {e!r}"
        self.safe_state = text
        self.safe_state_verified = ok
        self.unverified = set(getattr(ctx.guard, "unverified", set())) if not ok else set()
        if self.outcome == "running":
            self.outcome = "complete"
        if self.error is not None:
            self.stream.emit("error", error_line(self.error))  # the event log's subscriber
        try:
            bench_time = ctx.station.clock.now() - ctx.t0
            ctx.runfile.close(
                self.outcome,
                safe_state=text,
                field_state=getattr(ctx.guard, "field_state", ""),
                bench_time_s=bench_time,
                points_note=self.points_note(),
                error=error_line(self.error) if self.error is not None else "",
            )
        except Exception as e:
            text += f"; run file not closed cleanly ({e}): the journal beside it holds every point"
            self.safe_state = text
        finally:
            try:
                ctx.station.close()
            except Exception as e:  # a session that will not close must not keep the bench locked
                log.warning("closing the station: %s", error_line(e))
            finally:
                if ctx.bench_lock is not None:
                    ctx.bench_lock.release()
        self.stream.emit("stop", self.outcome, text)

    @property
    def tally(self) -> SweepTally:
        """Points recorded per sweep and the sweeps run to their end, a resumed file's
        included (made at the first use: ``done`` is set before the run starts)."""
        if self._tally is None:
            self._tally = SweepTally(self.run_config.plan, self.done)
        return self._tally

    def points_note(self) -> str:
        """Why the file holds fewer points than planned ("" when it holds them all)."""
        return self.tally.shortfall(self.outcome)

    # ------------------------------------------------------------------ sweeps
    def _record(self, table, row):
        self.stream.emit("row", table, row)
        self.tally.add_row(table, row)
        if table == "data":
            self.ctx.points_done += 1
            if "emit" not in self.__dict__:  # no pymeasure Worker attached (headless)
                return
            self.emit(
                "results",
                {
                    "Frequency (Hz)": row["frequency_hz"],
                    "Field (Oe)": row["field_oe"],
                    "Bias current (A)": row["bias_current_a"],
                    "Bias voltage (V)": row["bias_voltage_v"],
                    "Vmix (V)": row["vmix_v"],
                    "Spectrum": row["spectrum"],
                },
            )
            self.emit("progress", 100.0 * self.ctx.points_done / self._vmix_points)

    def _point(self, item, reason: int, settings: dict) -> float:
        """Read the lock-in and record one data row of ``item`` at ``settings`` (frequency_hz,
        field_oe, field_angle_deg, bias_current_a, bias_voltage_v); returns its Vmix."""
        x, y, over, sens = self._read_lockin()
        return self._record_point(item, reason, settings, x, y, over, sens, self._t_read)

    def _record_point(self, item, reason: int, settings: dict, x: float, y: float, over: int, sens: float, t: float) -> float:
        """Record one data row of ``item``: the lock-in's X and Y (V) read at time ``t`` (s of
        the run) with ``over`` (1: an overload re-ranged it) and ``sens`` (V); returns its Vmix."""
        vmix = x / LOCKIN_RMS_FACTOR
        self._record(
            "data",
            {
                **settings, "rf_power_dbm": item.power_dbm, "lockin_x_v": x, "lockin_y_v": y, "vmix_v": vmix,
                "time_s": t, "spectrum": item.index, "overload": over, "sensitivity_v": sens,
                "sample_reason": reason,
            },
        )
        return vmix

    def _now(self) -> float:
        return self.ctx.station.clock.now() - self.ctx.t0

    def _set_axis_and_field(self, axis: str, field_oe: float) -> float:
        st = self.ctx.station
        if st.field.axis != axis:
            self.ctx.guard.bias_to_current(0.0, measure=False)
            self.stream.emit("message", f"magnet to the {axis} axis")
            try:
                st.field.set_axis(axis)
            except OperatorActionRequired:
                self.checkpoint(" while waiting for the operator to turn the magnet")
                raise
            self._record_axis_change(axis)
        return self._field_to(field_oe)

    def _field_to(self, field_oe: float) -> float:
        """The magnet ramped to ``field_oe`` (Oe) through the guard, stoppable between steps."""
        return self.ctx.guard.field_to(field_oe, should_stop=self.stop_requested)

    def _record_axis_change(self, axis: str) -> None:
        """The step in the run file: ``/entry/instrument/field_controller/axis_changes``, one
        attribute per turn (``step_001`` ...), saying where to, when and by whom."""
        from stfmr_lab.storage import StorageError, now_iso

        who = "simulated operator" if self.sim and self.ctx.station.bench.operator else (
            "operator, confirmed at the prompt" if self.confirm_axis is not None else "rotation stage")
        text = f"{axis} axis ({self.ctx.station.field.field_angle_deg:g} deg) at bench time {self._now():.1f} s, {now_iso()}, by the {who}"
        try:
            done = self.ctx.runfile.read_settings("field_controller", group="axis_changes")
            n = sum(1 for k in done if k.startswith("step_"))
            self.ctx.runfile.write_settings("field_controller", {f"step_{n + 1:03d}": text}, group="axis_changes")
        except StorageError as e:  # the file held by another program: the event log keeps the step
            self.stream.emit("message", f"axis change not written to the run file ({e}): {text}")
        self.stream.emit("message", f"magnet on the {axis} axis ({who})")

    def _set_bias(self, bias) -> tuple[float, float]:
        g = self.ctx.guard
        if bias.is_voltage:
            return g.bias_to_voltage(bias.value)
        return g.bias_to_current(bias.value)

    def _sensitivity_up(self, note: str = "") -> bool:
        """The lock-in's sensitivity one range up after an overload (said on the stream);
        False when it is already at the top."""
        li = self._lockin
        up = li.next_sensitivity_up()
        if up is None:
            return False
        li.set_sensitivity_v(up)
        self._sensitivity_v = li.get_sensitivity_v()
        self.stream.emit("message", f"lock-in overload: sensitivity up to {up:g} V{note}")
        return True

    def _read_lockin(self):
        """(x, y, overload flag, sensitivity) with re-ranging on overload. ``self._t_read`` is
        the time the X/Y reply arrived (before the overload query): the reading's time, which
        a swept spectrum's filter model needs to the millisecond (on GPIB the instrument takes
        the snapshot about one reply transfer, ~1 ms, earlier; an up/down pair cancels that)."""
        x, y = self._read_xy()
        self._t_read = self._now()
        flagged = 0
        while self._overloaded():
            flagged = 1
            if not self._sensitivity_up():
                break
            self.ctx.station.clock.sleep(self.settle_s)
            x, y = self._read_xy()
            self._t_read = self._now()
        return x, y, flagged, self._sensitivity_v

    def _spectrum_row(self, item, field_angle):
        kinds = SPECTRUM_KINDS
        return {
            "index": item.index,
            "kind": kinds[item.kind],
            "field_target_oe": getattr(item, "field_oe", math.nan),
            "frequency_target_hz": getattr(item, "frequency_hz", math.nan),
            "bias_target": item.bias.value,
            "bias_target_is_voltage": int(item.bias.is_voltage),
            "rf_power_dbm": item.power_dbm,
            "field_angle_deg": field_angle,
            "adaptive": int(bool(getattr(item, "adaptive", None))),
            "acquisition": ACQUISITIONS[getattr(item, "acquisition", "stepped")],
            "dwell_s": item.dwell_s if getattr(item, "acquisition", "stepped") == "swept" else self.settle_s,
        }

    def _start_spectrum(self, item, field_oe: float, tune) -> tuple[float, float, float, float]:
        """Field (its axis first), bias, then ``tune()`` (power, frequency, RF), then the
        spectra row unless a resumed file has it. Returns (field as measured, bias voltage,
        bias current, field angle)."""
        h = self._set_axis_and_field(item.axis, field_oe)
        v, i = self._set_bias(item.bias)
        tune()
        angle = self.ctx.station.field.field_angle_deg
        if not self.done.started(item):
            self._record("spectra", self._spectrum_row(item, angle))
        return h, v, i, angle

    def _uniform_sweep(self, item, xs, move) -> None:
        """Each of ``xs`` not yet in the file, in order: ``move(x)`` (it returns the row's
        settings), a wait, one recorded point. Stepped: the wait is the lock-in's settling.
        Swept (``item.acquisition``): the first point settles, every later one is read
        ``item.dwell_s`` after its step, through the filter (the analysis models it from the
        recorded ``set_time`` and ``time``); with ``up_down`` the set points are walked up,
        then down again."""
        sleep, settle = self.ctx.station.clock.sleep, self.settle_s
        swept = getattr(item, "acquisition", "stepped") == "swept"
        if swept and item.up_down:
            xs = np.concatenate([xs, xs[::-1]])
        todo = xs[self.done.points(item):].tolist()
        if swept and getattr(self, "_buffered", None) is not None:  # the lock-in's triggered buffer (procedures/buffered.py)
            return self._buffered.walk(item, todo, move)
        for k, x in enumerate(todo):
            self.checkpoint()
            settings = move(x)
            settings["set_time_s"] = self._now()
            sleep(item.dwell_s if swept and k > 0 else settle)
            self._point(item, 0, settings)

    def _path_gain(self, f):
        """The path's relative I_RF^2 at ``f`` (10^(-loss/10); 1 with no path calibration)."""
        path = self.ctx.station.path
        if path is None:
            return np.ones(np.shape(f))
        return path.relative_irf2(f)

    def _freq_sweep(self, item: FreqSweep):
        """Vmix vs frequency at a fixed field and bias: uniform, or adaptive (``_adaptive_sweep``)."""
        g = self.ctx.guard
        fs = np.unique(np.asarray(item.frequencies_hz, dtype=float)) if item.adaptive else item.frequencies_hz
        set_frequency = g.frequency_setter(fs, item.power_dbm)  # the whole sweep checked before anything moves

        def tune():
            g.set_power(item.power_dbm, float(fs[0]))
            if not item.adaptive:  # an adaptive sweep turns the RF on at its first point
                set_frequency(float(fs[0]))
                g.rf_on()

        h, v, i, angle = self._start_spectrum(item, item.field_oe, tune)

        def move(f):
            set_frequency(f)
            return {"frequency_hz": f, "field_oe": h, "field_angle_deg": angle, "bias_current_a": i, "bias_voltage_v": v}

        if item.adaptive:
            return self._adaptive_sweep(item, fs, move, self._path_gain, "frequency",
                                        (item.kind, round(item.field_oe, 3), item.axis))
        self.ctx.station.clock.sleep(max(self.settle_s, self.settle_min_s))
        self._uniform_sweep(item, fs, move)

    def _field_sweep(self, item: FieldSweep):
        """Vmix vs field at a fixed frequency and bias: uniform, or adaptive (``_adaptive_sweep``);
        the field ramps to each point and is recorded as the gaussmeter reads it."""
        g = self.ctx.guard
        hs = np.unique(np.asarray(item.fields_oe, dtype=float)) if item.adaptive else item.fields_oe

        def tune():
            g.set_power(item.power_dbm, item.frequency_hz)
            g.set_frequency(item.frequency_hz)
            if not item.adaptive:
                g.rf_on()

        _, v, i, angle = self._start_spectrum(item, float(hs[0]), tune)

        def move(h_set):
            return {"frequency_hz": item.frequency_hz, "field_oe": self._field_to(float(h_set)), "field_angle_deg": angle,
                    "bias_current_a": i, "bias_voltage_v": v}

        if item.adaptive:
            # a field map's sweep through zero: one design per polarity, the negative first (config.adaptive_halves)
            # a half is not seeded (key None): a seeded coarse pass holds only the previous line's
            # surroundings and the window's ends, too little of a wide half's background
            key = None if item.designs else ("field", round(item.frequency_hz, 0), item.axis)
            for cand, settings in item.designs or ((hs, item.adaptive),):
                self._adaptive_sweep(item, cand, move, lambda x: np.ones(np.shape(x)), "field", key, settings=settings,
                                     distinct=bool(item.designs))
            return None
        self._uniform_sweep(item, hs, move)

    # ------------------------------------------------------------------ adaptive sampling
    def _adaptive_sweep(self, item, cand, move, gain, sweep: str, key, settings: dict | None = None,
                        distinct: bool = False):
        """A sweep whose points are chosen as it goes (``adaptive:`` in the config).

        ``cand``: the candidate set points (frequencies in Hz or fields in Oe); ``move(x)``
        sets one and returns the data row's settings there (the field as measured);
        ``gain(x)`` the path's relative I_RF^2 (1 for a field sweep). Where the points go is
        ``stfmr_lab.analysis.adaptive.AdaptiveDesign``'s (coarse pass, or one seeded by the
        previous sweep with this ``key``; baseline margins; Fisher-information batches until
        the goal or ``max_points``); this walks its batches: each from the end nearer the
        present set point, waiting out the lock-in's lag after a jump (``_lag_wait``). Every
        point's reason is recorded in ``sample_reason``. On resume, an adaptive sweep that had
        started counts as complete (``ResumeState.complete``). ``settings``: the design's
        ``adaptive`` mapping when not ``item.adaptive`` (one polarity's share of a field map's sweep);
        ``key`` None: not seeded, and no seed kept. ``distinct``: a repeated set point is
        moved to the nearest candidate not yet measured (a field map: its analysis takes the
        median spacing of the fields as their resolution).

        Swept (``item.acquisition``): the design's coarse pass is walked in order, a step
        every ``item.dwell_s`` (up and down with ``up_down``), read through the lock-in filter
        (reason ``swept``); its settled points follow, each read ``settle_time_constants``
        after its step (no longer lag wait after a jump: what is left of the lag is in the
        filter model), and every reading is told with its set and read times (the design and
        the analysis fit the whole record through the filter)."""
        from stfmr_lab.analysis.adaptive import AdaptiveDesign

        a = settings or item.adaptive
        clock = self.ctx.station.clock
        jump_wait = max(self.settle_s, a["jump_settle_time_constants"] * self._tau)
        poles = poles_for_slope(self.run_config.data["lockin"]["slope_db_oct"])
        swept = getattr(item, "acquisition", "stepped") == "swept"
        plan = AdaptiveDesign(cand, a, sweep=sweep, gain=gain, seed=self.adaptive_seeds.get(key) if key else None,
                              lockin_filter=(self._tau, poles) if swept else None)
        last = None  # the present set point
        free = np.ones(len(cand), dtype=bool)  # distinct: candidates not yet measured
        while (batch := plan.ask()) is not None:
            self.checkpoint()  # a design's round may take seconds of fitting: a stop is taken here too
            xs, reason = np.sort(np.asarray(batch[0], dtype=float)), batch[1]
            if distinct:
                if not free.any():
                    break  # every candidate measured once: nothing left to place (the design would ask forever)
                xs = np.sort(self._distinct(np.asarray(cand, dtype=float), free, xs))
            if xs.size == 0:
                continue
            if last is not None and abs(xs[-1] - last) < abs(xs[0] - last):
                xs = xs[::-1]  # start from the end nearer the present set point
            read_through = swept and reason == SAMPLE_REASONS["swept"]
            if read_through and item.up_down:
                xs = np.concatenate([xs, xs[::-1]])
            for x in xs.tolist():
                self.checkpoint()
                if plan.full:
                    break
                settings = move(x)
                settings["set_time_s"] = t_set = self._now()
                if last is None:
                    self.ctx.guard.rf_on()
                    # as a uniform sweep's first point: RF on, settle, and one point's settling
                    clock.sleep(max(self.settle_s, self.settle_min_s) + self.settle_s)
                elif read_through:
                    clock.sleep(item.dwell_s)  # no settling: the design and the analysis model the filter
                elif swept:
                    # settled as a stepped sweep's points: what lag is left of a jump is in the filter model
                    clock.sleep(self.settle_s)
                elif abs(x - last) > JUMP_WIDTHS * plan.width or plan.line is not None:
                    clock.sleep(self._lag_wait(plan.predicted_step(last, x), jump_wait, poles))
                else:
                    clock.sleep(self.settle_s)
                last = x
                vmix = self._point(item, reason, settings)
                if swept:
                    plan.tell(x, vmix, t_set, self._t_read)
                else:
                    plan.tell(x, vmix)
        seed = plan.seed_out()
        if seed is not None and key:
            self.adaptive_seeds[key] = seed

    @staticmethod
    def _distinct(cand: np.ndarray, free: np.ndarray, xs: np.ndarray) -> np.ndarray:
        """``xs`` with each moved to the nearest of the ``free`` candidates (sorted ``cand``),
        which it then takes (``free`` updated); as many as there are free ones."""
        out = []
        for x in xs.tolist():
            idx = np.flatnonzero(free)
            if idx.size == 0:
                break
            k = idx[np.argmin(np.abs(cand[idx] - x))]
            free[k] = False
            out.append(cand[k])
        return np.asarray(out, dtype=float)

    def _lag_wait(self, step, jump_wait: float, poles: int) -> float:
        """The wait after a step of an adaptive sweep: until the lock-in filter's residual of
        the step in Vmix (``step``: (change, noise sigma) in V, from the design; None: not
        predicted) is below LAG_TOLERANCE noise sigmas, at least settle_time_constants and at
        most ``jump_wait`` - the whole of it for a jump with no fit to predict it.
        (Out-of-order points make a lag that a monotonic sweep's smooth distortion would hide
        scatter instead: on a line ~1e4 times the noise, 15 time constants of a 24 dB/oct
        filter leave several sigma.)"""
        if step is None:
            return jump_wait
        change, noise = step
        tau = self._tau
        for k in np.arange(self.settle_s / tau, jump_wait / tau, LAG_SEARCH_STEP_TAUS):
            if step_residual(k, poles) * change <= LAG_TOLERANCE * noise:
                return max(self.settle_s, k * tau)
        return jump_wait

    def _iv_sweep(self, item: IVSweep):
        st, g = self.ctx.station, self.ctx.guard
        g.rf_off()
        if item.axis == "easy":
            self._set_axis_and_field("easy", item.saturate_oe)
            h = self._field_to(item.field_oe)
        else:
            h = self._set_axis_and_field("hard", item.field_oe)
        angle = st.field.field_angle_deg
        if not self.done.started(item):
            self._record(
                "dvdi_sweeps",
                {"index": item.index, "label": DVDI_LABELS[item.label], "field_target_oe": item.field_oe, "field_angle_deg": angle},
            )
        # from zero outwards, each branch stopping where |V| passes the sweep's voltage limit
        currents = np.asarray(item.currents_a, dtype=float)
        branches = (np.sort(currents[currents >= 0]), -np.sort(-currents[currents < 0]))
        step = float(np.min(np.abs(np.diff(np.sort(currents))))) if len(currents) > 1 else 1e-9
        for branch in branches:
            if self.done.branch_finished(item, branch, step):
                continue
            for current in branch:
                self.checkpoint()
                if self.done.measured_current(item, current, step):
                    continue
                v, i = g.bias_to_current(float(current))
                self._record(
                    "dvdi",
                    {"field_oe": h, "field_angle_deg": angle, "bias_current_a": i, "bias_voltage_v": v,
                     "time_s": self._now(), "sweep": item.index},
                )
                if abs(v) >= item.max_voltage_v:
                    break
            g.bias_to_current(0.0, measure=False)
        g.bias_to_current(0.0, measure=False)


class NothingDone:
    """A run from the start: no sweep of the plan is in the file yet (``ResumeState``'s questions)."""

    points_present = 0
    time_offset_s = 0.0

    def recorded(self, item) -> int:
        return 0

    def started(self, item) -> bool:
        return False

    def points(self, item) -> int:
        return 0

    def complete(self, item) -> bool:
        return False

    def measured_current(self, item, current, step) -> bool:
        return False

    def branch_finished(self, item, branch, step) -> bool:
        return False


class ResumeState:
    """What an interrupted run file holds, per sweep of the plan (for ``--resume``)."""

    def __init__(self, run_data, plan):
        d = run_data.tables
        self._counts = {}
        spec = d["data"]["spectrum"]
        for item in plan.spectra:
            self._counts[sweep_key(item)] = int(np.count_nonzero(spec == item.index))
        spectra_started, iv_started = set(d["spectra"]["index"].tolist()), set(d["dvdi_sweeps"]["index"].tolist())
        self._started = {sweep_key(it) for it in plan.spectra if it.index in spectra_started} | {
            sweep_key(it) for it in plan.iv_sweeps if it.index in iv_started
        }
        self._iv = {}
        for item in plan.iv_sweeps:
            sel = d["dvdi"]["sweep"] == item.index
            self._iv[item.index] = (d["dvdi"]["bias_current"][sel], d["dvdi"]["bias_voltage"][sel])
        times = np.concatenate([d["data"]["time"], d["dvdi"]["time"]])
        self.last_time_s = float(times.max()) if times.size else 0.0
        #: the bench time continues one second after the last recorded point
        self.time_offset_s = self.last_time_s + 1.0
        # every sweep before the last one started is complete (sweeps run in plan order)
        order = [sweep_key(it) for it in plan.order]
        started = [k for k, key in enumerate(order) if key in self._started]
        self._last_started = max(started) if started else -1
        self._order = order
        self.points_present = int(spec.size) + int(d["dvdi"]["sweep"].size)

    def started(self, item) -> bool:
        return sweep_key(item) in self._started

    def recorded(self, item) -> int:
        """Points of ``item`` in the file."""
        if isinstance(item, IVSweep):
            return int(self._iv.get(item.index, (np.zeros(0),))[0].size)
        return self.points(item)

    def points(self, item) -> int:
        return self._counts.get(sweep_key(item), 0)

    def complete(self, item) -> bool:
        pos = self._order.index(sweep_key(item))
        if pos < self._last_started:
            return True
        if isinstance(item, IVSweep) or pos > self._last_started:
            return False
        if self.points(item) == 0:
            return False  # stopped before its first point (its spectra row is in the file): measured in full
        if getattr(item, "adaptive", None):
            return True  # an adaptive sweep's choices depend on the points before: not continued
        if getattr(item, "acquisition", "stepped") == "swept":
            # a swept sweep's readings carry the lock-in filter's memory of the sweep before them:
            # after the break the filter's history is gone, so the sweep is kept as it stopped
            return True
        return self.points(item) >= item.points

    def measured_current(self, item, current, step) -> bool:
        i_rec, _ = self._iv.get(item.index, (np.zeros(0), np.zeros(0)))
        return bool(np.any(np.abs(i_rec - current) < 0.25 * step))

    def branch_finished(self, item, branch, step) -> bool:
        """A branch already stopped at the voltage limit, or fully measured."""
        i_rec, v_rec = self._iv.get(item.index, (np.zeros(0), np.zeros(0)))
        if branch.size == 0 or i_rec.size == 0:
            return False
        inb = np.zeros(i_rec.shape, bool)
        for c in branch:
            inb |= np.abs(i_rec - c) < 0.25 * step
        if np.any(np.abs(v_rec[inb]) >= item.max_voltage_v):
            return True
        return all(self.measured_current(item, c, step) for c in branch)


#: an adaptive sweep waits until the lock-in lag of a step is below this many noise sigmas
LAG_TOLERANCE = 0.25
#: searching that wait, in steps of this many time constants
LAG_SEARCH_STEP_TAUS = 0.5
#: a step of an adaptive sweep longer than this many line widths is a jump (its lag is waited out)
JUMP_WIDTHS = 2.0



def _nearest(table, value):
    return min(table, key=lambda t: abs(math.log(t / value)))


def _nearest_up(table, value):
    up = [t for t in table if t >= value * (1 - 1e-9)]
    return min(up) if up else max(table)

