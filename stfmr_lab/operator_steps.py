"""Steps a person does at the bench during a headless run (``magnet.rotation: operator``).

The easy-axis P/AP references need the magnet turned by hand on a bench without a rotation
stage. In a terminal, ``stfmr-lab run`` asks the operator (what to do, Enter to go on,
Ctrl-C stops the run safely); with no terminal the run config is refused before anything
is opened (``operator_refusal``), naming the key and the alternatives.
"""

from __future__ import annotations

import os
import select
import sys
import threading

from stfmr_lab.instruments.field import AXES


def operator_steps_needed(rc, sim: bool) -> str | None:
    """The config key whose sweeps need the magnet turned by hand (``measurements[k].reference_loops``),
    or None: the station has no ``rotation: operator``, no easy-axis sweep is planned, or the
    simulated bench's own simulated operator turns it."""
    if rc.station["magnet"]["rotation"] != "operator":
        return None
    if sim and rc.data.get("simulation", {}).get("operator", True):
        return None
    for k, m in enumerate(rc.data["measurements"]):
        if m.get("type") == "dvdi" and m.get("reference_loops"):
            return f"measurements[{k}].reference_loops"
        if m.get("type") == "background" and m.get("axis") == "easy":
            return f"measurements[{k}].axis"
    return None


def operator_refusal(key: str) -> str:
    """The one-line refusal of a config that needs an operator nobody can ask."""
    what, off = (("the easy-axis I_RF^2 reference", f"{key}: hard") if key.endswith(".axis")
                 else ("the easy-axis P/AP references", f"{key}: false"))
    return (
        f"{key}: {what} need the magnet turned by hand (station magnet.rotation: operator) "
        f"and stdin is not a terminal, so nobody can be asked: run it in a terminal, use a bench with a rotation "
        f"stage, or set {off}"
    )


class TerminalOperator:
    """``confirm_axis(axis) -> bool`` for a headless run in a terminal.

    Says what to do on ``out`` and waits for Enter on ``stdin``; returns True when the
    operator confirms, False when ``stop_event`` is set meanwhile (Ctrl-C: the runner's
    signal handler sets it, the run then ramps down safely) or stdin is closed.

    Only an Enter pressed after the prompt confirms it: what was typed before (an early or
    a double Enter) is discarded first. POSIX: the terminal's input queue flushed
    (``termios.tcflush``), then ``select`` on stdin every ``poll_s`` (never a reader thread,
    which would hold a line for the next prompt). A Windows console (``console``: the
    ``msvcrt`` module, the default there): its keys drained (``kbhit``/``getwch``), then
    polled every ``poll_s`` until Enter (Ctrl-C read as a key stops too). Windows without a
    console (stdin a pipe or file): a plain blocking line read.
    """

    def __init__(self, stdin=None, out=None, stop_event: threading.Event | None = None, poll_s: float = 0.1, console=None):
        self.stdin = stdin if stdin is not None else sys.stdin
        self.out = out if out is not None else sys.stdout
        self.stop_event = stop_event or threading.Event()
        self.poll_s = poll_s
        if console is None and sys.platform == "win32" and stdin is None and _isatty(self.stdin):
            import msvcrt as console
        #: the Windows console's key functions (``msvcrt``: ``kbhit``, ``getwch``), or None
        self.console = console

    def instruction(self, axis: str) -> str:
        return (
            f"\nOPERATOR: the field is at zero and the bias at 0 A. Turn the magnet so that the field lies along the "
            f"{axis} axis ({AXES.get(axis, float('nan')):g} deg from the easy axis y).\n"
            "Press Enter when it is done; Ctrl-C stops the run safely (bias and RF ramped down). "
        )

    def __call__(self, axis: str) -> bool:
        self._discard_typed_ahead()  # before the prompt shows: only an Enter after it counts
        self.out.write(self.instruction(axis))
        self.out.flush()
        if self.console is not None:
            confirmed = self._wait_console()
        elif sys.platform == "win32":
            confirmed = self.stdin.readline() != ""  # no select on a Windows pipe or file
        else:
            confirmed = self._wait_posix()
        if confirmed:
            self.out.write(f"magnet on the {axis} axis: going on\n")
            self.out.flush()
        return confirmed

    def _discard_typed_ahead(self) -> None:
        """Forget the keys typed before the prompt (a terminal's queue; a pipe keeps its lines)."""
        if self.console is not None:
            while self.console.kbhit():
                self.console.getwch()
        elif sys.platform != "win32" and _isatty(self.stdin):
            import termios

            try:
                termios.tcflush(self.stdin.fileno(), termios.TCIFLUSH)
            except termios.error:  # not flushable after all: an early Enter may then confirm
                pass

    def _wait_posix(self) -> bool:
        """Wait for a line on stdin's descriptor (read unbuffered, a byte at a time: what
        follows the line, e.g. a pipe's next line, stays for the next prompt); False on end
        of file or a stop."""
        fd = self.stdin.fileno()
        # a terminal's line ends in \n (or \r in raw mode); a pipe's in \n, its \r\n one line
        ends = (b"\n", b"\r") if _isatty(self.stdin) else (b"\n",)
        while not self.stop_event.is_set():
            try:
                ready, _, _ = select.select([fd], [], [], self.poll_s)
            except InterruptedError:  # a signal during the wait: look at the stop event again
                continue
            if ready:
                data = os.read(fd, 1)
                if not data:  # stdin closed: nobody there
                    return False
                if data in ends:
                    return True
        return False

    def _wait_console(self) -> bool:
        """Poll the Windows console's keys until Enter; False on Ctrl-C or a stop."""
        while not self.stop_event.is_set():
            while self.console.kbhit():
                key = self.console.getwch()
                if key in ("\r", "\n"):
                    return True
                if key == "\x03":  # Ctrl-C read as a key (no signal reaches the run then): stop, as Ctrl-C does
                    self.stop_event.set()
                    return False
            self.stop_event.wait(self.poll_s)
        return False


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no such method, or a closed file
        return False
