"""Portable process checks and lock files (Linux, macOS, Windows; no POSIX-only call).

- ``pid_alive(pid)``: is a process with this id running on this computer?
- ``LockFile``: a lock taken by creating a file with ``O_CREAT | O_EXCL`` (atomic on every
  local file system), holding ``pid@host`` and the time it was taken. A lock whose process
  is gone (same host, dead pid) is stale: it is removed, and the caller is told so.
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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                info = self.owner()
                owner = info.get("owner", "")
                if not owner and _age_s(self.path) < 10.0:  # created this instant, its owner not yet written
                    raise LockHeld(f"{self.what} is being taken by another run right now") from None
                alive = owner_alive(owner) if owner else False
                since = info.get("since", "?")
                if alive is False:
                    self.stale_note = (
                        f"removed a stale lock on {self.what}: its process ({owner or 'unknown'}, since {since}) "
                        f"is gone (a run that crashed or was killed)"
                    )
                    try:
                        os.remove(self.path)
                    except FileNotFoundError:
                        pass
                    except OSError as e:  # e.g. Windows: someone has the file open
                        raise LockHeld(f"{self.what}: a stale lock {self.path} cannot be removed ({e.strerror})") from None
                    continue
                where = "this computer" if alive else f"another computer ({owner.partition('@')[2]})"
                raise LockHeld(
                    f"{self.what} is in use by process {owner} on {where} since {since} "
                    f"({info.get('command', '?')}); stop that run first, or delete {self.path} if you are sure it is gone"
                ) from None
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(f"owner: {os.getpid()}@{socket.gethostname()}\n")
                f.write(f"since: {_dt.datetime.now().astimezone().isoformat(timespec='seconds')}\n")
                f.write(f"command: {' '.join(Path(a).name if k == 0 else a for k, a in enumerate(sys.argv))}\n")
            self.held = True
            return self
        raise LockHeld(f"{self.what}: could not take the lock {self.path}")

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
