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


def _race_for_the_lock(path, start, answers, release, judge_s):
    """One racer (a separate process): at ``start``, take the lock; put "won"/"refused" on
    ``answers``; a winner holds it until ``release``. ``judge_s`` slows the judgment of the
    holder's process (``owner_alive``) so every racer sees the lock stale before any replaces it."""
    import time

    from stfmr_lab import locks

    judge = locks.owner_alive

    def slow_judge(owner):
        time.sleep(judge_s)
        return judge(owner)

    locks.owner_alive = slow_judge
    start.wait()
    try:
        lock = locks.LockFile(path, "the test bench").acquire()
    except locks.LockHeld as e:
        answers.put(("refused", str(e)))
        return
    answers.put(("won", lock.stale_note))
    release.wait(60)
    lock.release()


@pytest.mark.parametrize("judge_s", [0.0, 0.3])
def test_runs_racing_for_the_same_stale_lock_one_wins(tmp_path, judge_s):
    """Three processes find the same stale lock at the same instant: exactly one takes it
    over, the others are refused naming it (before: each removed the other's fresh lock and
    all of them held the bench)."""
    import multiprocessing
    import socket

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    path = tmp_path / "bench.lock"
    path.write_text(f"owner: {dead.pid}@{socket.gethostname()}\nsince: 2026-12-01T10:00:00+00:00\ncommand: crashed\n")
    ctx = multiprocessing.get_context("spawn")
    racers = 3
    start, release, answers = ctx.Barrier(racers), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_race_for_the_lock, args=(str(path), start, answers, release, judge_s)) for _ in range(racers)]
    for p in procs:
        p.start()
    try:
        got = [answers.get(timeout=60) for _ in procs]
    finally:
        release.set()
        for p in procs:
            p.join(60)
    won = [note for kind, note in got if kind == "won"]
    refused = [text for kind, text in got if kind == "refused"]
    assert len(won) == 1 and len(refused) == racers - 1, got
    assert f"its process ({dead.pid}@" in won[0]
    assert all("in use by process" in r or "being taken by another run" in r for r in refused), refused
    assert not list(tmp_path.iterdir())  # the winner released it; no takeover file is left
