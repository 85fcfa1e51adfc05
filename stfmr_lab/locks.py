"""Portable process checks and lock files (Linux, macOS, Windows: each its own call where they differ).

- ``pid_alive(pid)``: is a process with this id running on this computer?
- ``LockFile``: a lock taken by creating a file with ``O_CREAT | O_EXCL`` (atomic on every
  local file system), holding ``pid@host`` and the time it was taken. A lock whose process
  is gone (same host, dead pid) is stale: it is replaced, and the caller is told so; one run
  at a time may replace it (an operating-system lock on ``<lock>.takeover``, held for the
  takeover and removed after it), so two runs finding it stale at once never both take it.
- ``bench_lock(station)``: one lock per VISA address of a real station, so two runs (two
  terminals, a GUI and a terminal) cannot drive the same instrument at once.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import socket
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

#: where bench locks live (override with the environment variable of this name)
LOCK_DIR_ENV = "STFMR_LAB_LOCK_DIR"


class LockHeld(ConnectionError):
    """Another live process holds the lock (one-line reason naming it; exit status 2 at the CLI)."""


def pid_alive(pid: int) -> bool:
    """True if a process ``pid`` runs on this computer (Windows: OpenProcess; else signal 0)."""
    if pid <= 0:
        return False
    if sys.platform == "win32":
        import ctypes

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return kernel32.GetLastError() == 5  # access denied: it exists
        try:
            code = ctypes.c_ulong()
            kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)  # never on Windows: there os.kill terminates the process
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner_alive(owner: str) -> bool | None:
    """For ``pid@host``: True/False on this host, None when it is another computer's process."""
    pid, _, host = owner.partition("@")
    if host != socket.gethostname():
        return None
    try:
        return pid_alive(int(pid))
    except ValueError:
        return False


class LockFile:
    """An exclusive lock file: ``acquire()`` raises ``LockHeld`` if a live process has it."""

    def __init__(self, path: str | Path, what: str):
        self.path = Path(path)
        self.what = what
        self.held = False
        #: set by ``acquire`` when a stale lock was removed: says whose it was
        self.stale_note = ""

    def owner(self) -> dict:
        """The holder's ``owner`` (pid@host), ``since`` and ``command`` ({} if unreadable)."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except OSError:
            return {}
        out = {}
        for line in lines:
            k, _, v = line.partition(": ")
            out[k] = v
        return out

    def acquire(self) -> "LockFile":
        """Take the lock; raise ``LockHeld`` naming the holder when a live process has it.

        A stale lock (its process gone) is taken over under ``_takeover_guard``: judged
        again there, removed and created anew while no other run can judge it, so two runs
        finding the same stale lock at the same instant never both take it (one waits, then
        finds the other's live lock).
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = self._create()
        if fd is not None:
            self._write_owner(fd)
            return self
        self._refuse_unless_stale()
        with _takeover_guard(self.path, self.what):
            owner, since = self._refuse_unless_stale()  # again: another run may have taken it over
            try:
                os.remove(self.path)
            except FileNotFoundError:
                pass
            except OSError as e:  # e.g. Windows: someone has the file open
                raise LockHeld(f"{self.what}: a stale lock {self.path} cannot be removed ({e.strerror})") from None
            fd = self._create()
            if fd is None:  # a run that needed no takeover created it between the removal and ours
                self._refuse_unless_stale()
                raise LockHeld(f"{self.what}: could not take the lock {self.path}")
            self.stale_note = (
                f"removed a stale lock on {self.what}: its process ({owner or 'unknown'}, since {since}) "
                f"is gone (a run that crashed or was killed)"
            )
            self._write_owner(fd)
        return self

    def _create(self) -> int | None:
        """The lock file created (``O_CREAT | O_EXCL``): its descriptor, or None if it exists."""
        try:
            return os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return None

    def _write_owner(self, fd: int) -> None:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(f"owner: {os.getpid()}@{socket.gethostname()}\n")
            f.write(f"since: {_dt.datetime.now().astimezone().isoformat(timespec='seconds')}\n")
            f.write(f"command: {' '.join(Path(a).name if k == 0 else a for k, a in enumerate(sys.argv))}\n")
        self.held = True

    def _refuse_unless_stale(self) -> tuple[str, str]:
        """Raise ``LockHeld`` for a lock held by a live process, another computer's, or one
        being written right now; for a stale one return its (owner, since)."""
        info = self.owner()
        owner = info.get("owner", "")
        if not owner and _age_s(self.path) < 10.0:  # created this instant, its owner not yet written
            raise LockHeld(f"{self.what} is being taken by another run right now")
        alive = owner_alive(owner) if owner else False
        since = info.get("since", "?")
        if alive is False:
            return owner, since
        where = "this computer" if alive else f"another computer ({owner.partition('@')[2]})"
        raise LockHeld(
            f"{self.what} is in use by process {owner} on {where} since {since} "
            f"({info.get('command', '?')}); stop that run first, or delete {self.path} if you are sure it is gone"
        )

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        try:
            if self.owner().get("owner") == f"{os.getpid()}@{socket.gethostname()}":
                os.remove(self.path)
        except OSError:
            pass

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


@contextmanager
def _takeover_guard(path: Path, what: str):
    """Hold an operating-system lock on ``<lock>.takeover`` for the block: one run at a time
    judges and replaces a stale lock. The system drops the lock when its process ends (a run
    killed here leaves nothing stale behind); the file is removed on the way out. POSIX: a
    run that locked the file after its removal (its descriptor names a removed file) opens it
    again. Windows: a file someone has open cannot be removed, so it stays for them; the wait
    gives up after about 10 s. Waits for a run taking over the same lock (milliseconds)."""
    guard = path.with_name(path.name + ".takeover")
    if sys.platform == "win32":
        import msvcrt

        fd = os.open(guard, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            try:
                msvcrt.locking(fd, msvcrt.LK_LOCK, 1)  # retries for 10 s, then OSError
            except OSError as e:
                raise LockHeld(f"{what}: another run is taking over its stale lock ({e.strerror})") from None
            try:
                yield
            finally:
                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        finally:
            os.close(fd)
        try:
            os.remove(guard)
        except OSError:  # another run has it open (waiting for it): it stays for them
            pass
        return
    import fcntl

    while True:
        fd = os.open(guard, os.O_CREAT | os.O_RDWR, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            same = os.stat(guard).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # locked a file the previous holder removed: open the path again
    try:
        yield
    finally:
        try:
            os.remove(guard)  # while still locked: a waiting run then finds it removed
        except OSError:
            pass
        os.close(fd)


def _age_s(path: Path) -> float:
    import time

    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0


def lock_dir() -> Path:
    return Path(os.environ.get(LOCK_DIR_ENV) or Path(tempfile.gettempdir()) / "stfmr-lab-locks")


def _safe_name(address: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", address).strip("_") or "address"


class BenchLock:
    """Locks on every VISA address of a real station, taken together (all or none)."""

    def __init__(self, station: dict):
        self.locks = [
            LockFile(lock_dir() / f"{_safe_name(inst['address'])}.lock", f"{role} {inst['address']}")
            for role, inst in station["instruments"].items()
        ]
        self.notes: list[str] = []

    def acquire(self) -> "BenchLock":
        taken = []
        try:
            for lock in self.locks:
                lock.acquire()
                taken.append(lock)
                if lock.stale_note:
                    self.notes.append(lock.stale_note)
        except BaseException:
            for lock in taken:
                lock.release()
            raise
        return self

    def release(self) -> None:
        for lock in self.locks:
            lock.release()

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
