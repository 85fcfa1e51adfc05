"""Operator steps in a headless run: the prompt at a terminal (through a pseudo-terminal),
Ctrl-C at the prompt, and the refusal when stdin is not a terminal."""

import fcntl
import os
import pty
import select
import subprocess
import sys
import termios
import time

import pytest
import yaml

from stfmr_lab.storage import read_run
from tests.conftest import EXAMPLES, REPO

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")


def _config(tmp_path):
    """Easy-axis P/AP references, then a hard-axis sweep (the magnet turned twice), on the
    simulated bench with no simulated operator."""
    cfg = {
        "name": "refs",
        "sample": "test junction",
        "station": "station.yaml",
        "simulation": {"noise": False, "operator": False},
        "lockin": {"time_constant_s": 0.03, "settle_time_constants": 5},
        "measurements": [
            {"type": "dvdi", "fields_oe": [], "currents_a": {"start": -4e-5, "stop": 4e-5, "points": 3}},
            {"type": "dvdi", "fields_oe": [1000], "reference_loops": False,
             "currents_a": {"start": -4e-5, "stop": 4e-5, "points": 3}},
        ],
    }
    (tmp_path / "station.yaml").write_text((EXAMPLES / "station.yaml").read_text())
    p = tmp_path / "refs.yaml"
    p.write_text(yaml.safe_dump(cfg))
    return p


def _controlling_terminal():
    """In the child: a new session whose controlling terminal is the pty (stdin), so that
    Ctrl-C typed there sends it SIGINT, as a terminal does."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """``stfmr-lab`` in a pseudo-terminal: stdin, stdout and stderr are the pty's slave."""

    def __init__(self, args, cwd):
        self.master, slave = pty.openpty()
        env = dict(os.environ, PYTHONPATH=str(REPO), QT_QPA_PLATFORM="offscreen")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "stfmr_lab", *args], stdin=slave, stdout=slave, stderr=slave, cwd=cwd,
            env=env, preexec_fn=_controlling_terminal,
        )
        os.close(slave)
        self.text = ""

    def expect(self, what, timeout_s=120.0):
        """Read until ``what`` has appeared (a failing test rather than a hang)."""
        end = time.monotonic() + timeout_s
        while what not in self.text:
            left = end - time.monotonic()
            assert left > 0, f"{what!r} never came; got:\n{self.text}"
            ready, _, _ = select.select([self.master], [], [], min(left, 1.0))
            if ready:
                try:
                    self.text += os.read(self.master, 4096).decode(errors="replace")
                except OSError:  # the child closed the terminal
                    assert what in self.text, f"{what!r} never came; got:\n{self.text}"

    def send(self, data: bytes):
        os.write(self.master, data)

    def finish(self, timeout_s=120.0):
        code = self.proc.wait(timeout=timeout_s)
        try:
            while select.select([self.master], [], [], 0.2)[0]:
                chunk = os.read(self.master, 4096)
                if not chunk:
                    break
                self.text += chunk.decode(errors="replace")
        except OSError:
            pass
        os.close(self.master)
        return code


def test_operator_prompt_at_a_terminal_turns_the_magnet_and_is_recorded(tmp_path):
    cfg = _config(tmp_path)
    out = tmp_path / "refs.h5"
    term = Terminal(["run", str(cfg), "--sim", "--out", str(out)], tmp_path)
    term.expect("Press Enter when it is done; Ctrl-C stops the run safely")  # the prompt's last line
    assert "Turn the magnet so that the field lies along the easy axis (0 deg" in term.text
    term.send(b"\r")  # Enter, as the terminal sends it
    term.expect("along the hard axis (90 deg from the easy axis y).\r\nPress Enter")  # back to the hard axis
    term.send(b"\r")
    assert term.finish() == 0, term.text
    d = read_run(out)
    assert d.status == "complete"
    steps = d.instruments["field_controller"]["axis_changes"]
    assert sorted(k for k in steps if k.startswith("step_")) == ["step_001", "step_002"]
    assert steps["step_001"].startswith("easy axis (0 deg)") and "operator, confirmed at the prompt" in steps["step_001"]
    assert steps["step_002"].startswith("hard axis (90 deg)")


def test_ctrl_c_at_the_prompt_stops_the_run_safely(tmp_path):
    cfg = _config(tmp_path)
    out = tmp_path / "refs.h5"
    term = Terminal(["run", str(cfg), "--sim", "--out", str(out)], tmp_path)
    term.expect("Ctrl-C stops the run safely")
    term.send(b"\x03")  # Ctrl-C: the terminal sends SIGINT to the run
    assert term.finish() == 130, term.text
    assert "safe state: verified" in term.text
    d = read_run(out)
    assert d.status == "aborted" and d.attrs["safe_state"] == "verified"


def test_enter_typed_ahead_never_confirms_a_later_prompt(tmp_path):
    """An Enter typed before a prompt shows (while the run measures), or a double Enter at
    one, is discarded when the next prompt comes: only an Enter after a prompt confirms it."""
    cfg = _config(tmp_path)
    out = tmp_path / "refs.h5"
    term = Terminal(["run", str(cfg), "--sim", "--out", str(out)], tmp_path)
    term.send(b"\r")  # typed ahead, long before the first prompt
    term.expect("Press Enter when it is done; Ctrl-C stops the run safely")
    term.send(b"\r\r")  # the first confirms the easy axis, the second is typed ahead of the next prompt
    term.expect("along the hard axis (90 deg from the easy axis y).\r\nPress Enter")
    term.send(b"\x03")  # no Enter after the hard-axis prompt: Ctrl-C ends the run there
    assert term.finish() == 130, term.text
    assert term.text.count("magnet on the easy axis: going on") == 1
    assert "magnet on the hard axis: going on" not in term.text
    d = read_run(out)
    assert d.status == "aborted" and d.attrs["safe_state"] == "verified"
    steps = d.instruments["field_controller"]["axis_changes"]
    assert sorted(k for k in steps if k.startswith("step_")) == ["step_001"]


def test_no_terminal_refuses_the_config_in_one_line(tmp_path):
    cfg = _config(tmp_path)
    env = dict(os.environ, PYTHONPATH=str(REPO), QT_QPA_PLATFORM="offscreen")
    r = subprocess.run(
        [sys.executable, "-m", "stfmr_lab", "run", str(cfg), "--sim", "--out", str(tmp_path / "x.h5")],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120,
    )
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "measurements[0].reference_loops" in lines[0]
    assert "rotation stage" in lines[0] and "reference_loops: false" in lines[0]
    assert r.stdout == "" and not list(tmp_path.glob("*.h5"))


def test_prompt_returns_false_on_a_closed_stdin_or_a_stop():
    import io
    import threading

    from stfmr_lab.operator_steps import TerminalOperator

    r, w = os.pipe()
    os.close(w)  # nobody will ever type: end of file
    with os.fdopen(r) as stdin:
        out = io.StringIO()
        assert TerminalOperator(stdin=stdin, out=out)("easy") is False
        assert "along the easy axis (0 deg" in out.getvalue()
    r, w = os.pipe()  # open but silent: the stop event ends the wait
    stop = threading.Event()
    stop.set()
    with os.fdopen(r) as stdin:
        assert TerminalOperator(stdin=stdin, out=io.StringIO(), stop_event=stop)("hard") is False
    os.close(w)
    r, w = os.pipe()
    os.write(w, b"\n")
    with os.fdopen(r) as stdin:
        out = io.StringIO()
        assert TerminalOperator(stdin=stdin, out=out)("hard") is True
        assert "magnet on the hard axis: going on" in out.getvalue()
    os.close(w)


def test_each_line_of_a_pipe_confirms_one_prompt():
    """Not a terminal (nothing is discarded there): two lines already in a pipe confirm two
    prompts, one each; the first prompt must not read the second one's line, and a CRLF is
    one line."""
    import io
    import threading

    from stfmr_lab.operator_steps import TerminalOperator

    r, w = os.pipe()
    os.write(w, b"\r\n\n")  # a CRLF line (Windows-made), then an LF one
    stop = threading.Event()
    threading.Timer(10.0, stop.set).start()  # a prompt left without its line would wait for this
    with os.fdopen(r) as stdin:
        prompt = TerminalOperator(stdin=stdin, out=io.StringIO(), stop_event=stop)
        assert prompt("easy") is True
        assert prompt("hard") is True
    stop.set()
    os.close(w)
