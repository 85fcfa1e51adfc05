"""Swept points through the lock-in's data buffer: a step and a trigger per point, no query.

The step-and-read path (``StfmrProcedure._uniform_sweep``) asks ``SNAP? 1,2`` and ``LIAS?``
at every point: two GPIB query round trips. With the SR830's buffer in trigger mode
(``SRAT 14``, CH1 = X, CH2 = Y) a swept point costs the step and one ``TRIG`` write; the
readings come back ``CHUNK_POINTS`` at a time (``SPTS?``, ``TRCA?`` for X and for Y,
``LIAS?``), four queries a chunk. The SR830 stores a triggered point on its next 512 Hz
tick, up to 1.95 ms after the ``TRIG``: on a bus faster than that, ``SPTS?`` right after a
chunk's last trigger may count one short; it is then asked again ``STORE_DELAY_S`` (two ticks)
after that trigger, and only a count still short is a lost trigger.

Same meaning as the SNAP path: each buffered point is the X and Y the lock-in showed at the
trigger (the twin stores exactly what ``SNAP?`` would read then; the SR830 itself samples
on its next 512 Hz tick, 0-2 ms after the trigger, against ~1 ms of reply transfer for
``SNAP?``); its ``time`` is taken in software right after the trigger is written, its
``set_time`` after the step, as on the SNAP path; rows go to the journal and the run file
in the same columns. Overload: ``LIAS?`` is latched (bits set since the last read), read
once a chunk. When it reports one, the sensitivity goes up one step (as on the SNAP path),
the chunk is walked again from its first set point (which waits the settling time, like a
sweep's first point), until ``LIAS?`` is clear or the top of the range; the points of a
chunk walked again carry ``overload`` = 1 (the SNAP path flags only the point it re-read:
the latched status cannot say which point of a chunk overloaded).

A crash (the program or the bus dying) loses at most the points triggered since the last
chunk was read: ``CHUNK_POINTS`` (about 1 s of bench time at a 45 ms dwell); a stop
request (the checkpoint, a stopped field ramp) reads what was triggered first and loses
nothing (except a stopped field ramp inside an overload's re-walk, which drops that chunk).
The SNAP path loses at most the point in flight.
"""

from __future__ import annotations

from stfmr_lab.instruments.base import InstrumentError

from stfmr_lab.station import uses_buffer

__all__ = ["CHUNK_POINTS", "BufferedSweep", "uses_buffer"]

#: points triggered between two reads of the buffer (what a crash can lose)
CHUNK_POINTS = 20


class BufferedSweep:
    """The swept walk of ``StfmrProcedure`` through the lock-in's triggered buffer.

    ``proc`` is the running procedure (its clock, checkpoint, row recording and re-ranging
    state); constructing it configures the buffer (``DDEF``, ``SRAT 14``, one shot)."""

    def __init__(self, proc, lockin):
        self.proc = proc
        self.li = lockin
        lockin.configure_buffer(rate_hz=None, loop=False)
        self._trigger = None  # bound at the first walk: outside the configuration's checked commands
        self._next_bin = 0

    def _restart(self) -> None:
        self.li.reset_buffer()
        self.li.start_buffer()
        self._next_bin = 0

    def walk(self, item, xs, move) -> None:
        """Each of ``xs`` (set points still to measure) in order: ``move(x)`` (it returns the
        row's settings), the settling wait before the first point or ``item.dwell_s``, a
        trigger; the rows recorded a chunk at a time."""
        proc = self.proc
        if self._trigger is None:
            self._trigger = self.li.trigger_function()
        self._restart()
        proc._overloaded()  # clear the latched status: what happened before the walk is not the points'
        pending: list[tuple[float, dict, float]] = []
        try:
            for k, x in enumerate(xs):
                proc.checkpoint()
                pending.append(self._step(move, x, item.dwell_s if k > 0 else proc.settle_s))
                if len(pending) == CHUNK_POINTS:
                    chunk, pending = pending, []  # a failed read loses this chunk, never records it twice
                    self._read_chunk(item, chunk, move)
        except BaseException as e:
            # a stop (checkpoint, stopped field ramp) or a failure while stepping: what was
            # triggered is kept if the lock-in still answers
            if pending:
                chunk, pending = pending, []
                try:
                    self._read_chunk(item, chunk, move, rerange=False)
                except Exception as read_error:
                    proc.stream.emit("message", f"{len(chunk)} buffered points lost ({read_error}) after: {e}")
            raise
        if pending:
            self._read_chunk(item, pending, move)

    def _step(self, move, x, wait_s) -> tuple[float, dict, float]:
        proc = self.proc
        settings = move(x)
        settings["set_time_s"] = proc._now()
        proc.ctx.station.clock.sleep(wait_s)
        self._trigger()
        return x, settings, proc._now()

    def _read(self, n: int, t_trigger: float):
        """The last ``n`` triggered points, the last triggered at ``t_trigger`` (run time, s).
        A count one short may be that point not stored yet (the next 512 Hz tick): asked again
        once ``STORE_DELAY_S`` has passed since its trigger."""
        li, proc = self.li, self.proc
        stored = li.buffer_count()
        if stored < self._next_bin + n:
            wait = t_trigger + li.STORE_DELAY_S - proc._now()
            if wait > 0:
                proc.ctx.station.clock.sleep(wait)
                stored = li.buffer_count()
        if stored != self._next_bin + n:
            raise InstrumentError(
                f"lock-in buffer holds {stored} points where {self._next_bin + n} were triggered: a trigger was lost "
                "(or came from the rear-panel TRIG IN)"
            )
        x, y = li.read_buffer_xy(self._next_bin, n)
        return x, y, proc._overloaded()

    def _read_chunk(self, item, pending, move, rerange: bool = True) -> None:
        """Read the chunk's points; on an overload walk it again one sensitivity up (until
        clear or at the top); record its rows."""
        proc, li = self.proc, self.li
        x, y, over = self._read(len(pending), pending[-1][2])
        flagged = 0
        while over and rerange:
            flagged = 1
            if not proc._sensitivity_up(f"; the last {len(pending)} points again"):
                break
            self._restart()
            pending = [self._step(move, p[0], item.dwell_s if k > 0 else proc.settle_s) for k, p in enumerate(pending)]
            x, y, over = self._read(len(pending), pending[-1][2])
        if over:
            flagged = 1
        for (_, settings, t), xv, yv in zip(pending, x.tolist(), y.tolist(), strict=True):
            proc._record_point(item, 0, settings, xv, yv, flagged, proc._sensitivity_v, t)
        self._next_bin += len(pending)
        if self._next_bin + CHUNK_POINTS > li.BUFFER_POINTS:
            self._restart()
