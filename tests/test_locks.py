"""Lock files (stfmr_lab.locks): one holder, stale locks taken over, other hosts respected."""

import subprocess
import sys
import textwrap

import pytest

from stfmr_lab.locks import LockFile, LockHeld, pid_alive

HOLDER = textwrap.dedent(
    """
    import sys
    from stfmr_lab.locks import LockFile
    lock = LockFile(sys.argv[1], "the test bench").acquire()
    print("held", flush=True)
    sys.stdin.read()
    lock.release()
    """
)


def test_a_lock_held_by_another_live_process_is_refused_then_released(tmp_path):
    path = tmp_path / "bench.lock"
    other = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline().strip() == "held"
        with pytest.raises(LockHeld, match=f"in use by process {other.pid}@"):
            LockFile(path, "the test bench").acquire()
    finally:
        other.communicate("", timeout=30)
    assert not path.exists()  # released on exit
    with LockFile(path, "the test bench") as lock:
        assert lock.held and lock.stale_note == ""
    assert not path.exists()


def test_a_lock_of_a_killed_process_is_stale(tmp_path):
    path = tmp_path / "bench.lock"
    other = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert other.stdout.readline().strip() == "held"
    other.kill()
    other.wait()
    assert path.exists() and not pid_alive(other.pid)
    lock = LockFile(path, "the test bench").acquire()
    assert f"its process ({other.pid}@" in lock.stale_note and "is gone" in lock.stale_note
    lock.release()


def test_a_lock_from_another_computer_is_not_guessed_at(tmp_path):
    path = tmp_path / "bench.lock"
    path.write_text("owner: 4242@another-pc\nsince: 2026-12-01T10:00:00+00:00\ncommand: stfmr-lab run map.yaml\n")
    with pytest.raises(LockHeld, match=r"another computer \(another-pc\)"):
        LockFile(path, "dc GPIB0::24::INSTR").acquire()
    assert path.exists()


def test_a_lock_being_written_is_not_taken_for_stale(tmp_path):
    path = tmp_path / "bench.lock"
    path.write_text("")  # created by O_EXCL an instant ago, owner not yet written
    with pytest.raises(LockHeld, match="being taken"):
        LockFile(path, "dc").acquire()
