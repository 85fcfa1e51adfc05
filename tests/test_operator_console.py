"""The operator prompt's Windows-console branch (``msvcrt`` polling), run on every platform
with the console faked: a real Windows console cannot be driven from a test here, so this
checks the branch's logic (drain before the prompt, Enter after it, Ctrl-C, a stop), not
``msvcrt`` itself."""

import io
import threading

from stfmr_lab.operator_steps import TerminalOperator


class FakeConsole:
    """``msvcrt``'s ``kbhit``/``getwch`` over keys: ``ahead`` are waiting before the prompt;
    ``later`` arrive once the prompt has polled an empty console ``after_polls`` times."""

    def __init__(self, ahead="", later="", after_polls=1):
        self.keys, self.later, self.after_polls = list(ahead), list(later), after_polls
        self.empty_polls = 0
        self.read = []

    def kbhit(self):
        if not self.keys and self.later:
            self.empty_polls += 1
            if self.empty_polls > self.after_polls:
                self.keys, self.later = self.later, []
        return bool(self.keys)

    def getwch(self):
        key = self.keys.pop(0)
        self.read.append(key)
        return key


def _ask(console, stop=None):
    out = io.StringIO()
    op = TerminalOperator(stdin=io.StringIO(), out=out, stop_event=stop, poll_s=0.001, console=console)
    return op("easy"), out.getvalue()


def test_enter_after_the_prompt_confirms():
    console = FakeConsole(later="x\r")
    ok, out = _ask(console)
    assert ok is True and "along the easy axis (0 deg" in out and "magnet on the easy axis: going on" in out
    assert console.read == ["x", "\r"]


def test_keys_typed_ahead_are_drained_and_never_confirm():
    console = FakeConsole(ahead="\r\r", later="\r", after_polls=3)
    ok, _ = _ask(console)
    assert ok is True and console.read == ["\r", "\r", "\r"] and console.empty_polls > 3  # the later Enter confirmed
    stop = threading.Event()
    console = FakeConsole(ahead="\r")  # an early Enter and nothing after the prompt: no confirmation
    timer = threading.Timer(0.05, stop.set)
    timer.start()
    ok, out = _ask(console, stop)
    timer.join()
    assert ok is False and console.read == ["\r"] and "going on" not in out


def test_ctrl_c_read_as_a_key_stops_the_run():
    stop = threading.Event()
    ok, out = _ask(FakeConsole(later="\x03\r"), stop)
    assert ok is False and stop.is_set() and "going on" not in out


def test_a_stop_ends_the_wait():
    stop = threading.Event()
    stop.set()
    ok, _ = _ask(FakeConsole(later="\r"), stop)
    assert ok is False
