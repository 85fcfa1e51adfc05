"""The HDF5 run file (contract.md layout), streamed point by point without losing any.

Durability and speed (see the measured costs in the design notes): every acknowledged
point is first appended to a small text journal next to the run file (``FILE.h5.journal``,
one line per point, flushed at once; fsync'ed at the end of each sweep), and the HDF5
columns are appended in batches and flushed at the end of each sweep and of the run. A
process killed at any moment leaves an HDF5 file that opens, holding every point up to
the last batch, and a journal holding the rest; ``read_run`` merges both, and a resume
writes the journal's points into the file before continuing. No SWMR (a killed SWMR
writer leaves a file that cannot be reopened for appending without h5clear).

Files are never overwritten: a name that exists gets ``-1``, ``-2``, ... appended.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import os
import shutil
import socket
import struct
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from stfmr_lab import __version__
from stfmr_lab.errors import one_line
from stfmr_lab.units import BIAS_TARGET_COLUMNS, NXDATA_AXES, SAMPLE_DECLARED, TABLES, parameter_unit

log = logging.getLogger(__name__)

JOURNAL_SUFFIX = ".journal"
JOURNAL_MAGIC = b"stfmr-lab journal v2: records of <table code byte><float64 little-endian per column>\n"
JOURNAL_CODES = {table: k for k, table in enumerate(TABLES)}
JOURNAL_RECORDS = {table: struct.Struct("<B" + "d" * len(cols)) for table, cols in TABLES.items()}
STATUSES = ("running", "complete", "aborted", "failed")
MIN_FREE_BYTES = 50 * 1024 * 1024


class StorageError(OSError):
    """The run file cannot be written (path, permissions, disk full)."""


class FileHeld(StorageError):
    """The run file cannot be opened for writing now (another program holds it, it was moved)."""


def now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).astimezone().isoformat(timespec="seconds")


def free_name(path: str | Path) -> Path:
    """``path`` if nothing is there, else the first free ``stem-N.suffix``."""
    p = Path(path)
    if not p.exists() and not Path(str(p) + JOURNAL_SUFFIX).exists():
        return p
    k = 1
    while True:
        cand = p.with_name(f"{p.stem}-{k}{p.suffix}")
        if not cand.exists() and not Path(str(cand) + JOURNAL_SUFFIX).exists():
            return cand
        k += 1


def free_folder(path: str | Path) -> Path:
    """``path`` if nothing is there, else the first free ``name-N`` (reports are never overwritten)."""
    p = Path(path)
    k = 0
    cand = p
    while cand.exists():
        k += 1
        cand = p.with_name(f"{p.name}-{k}")
    return cand


def make_report_folder(path: str | Path) -> Path:
    """Create a new, writable report folder at ``path`` (or ``path-N`` if taken); StorageError if it cannot be."""
    p = free_folder(path)
    try:
        p.mkdir(parents=True)
        probe = p / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        try:
            p.rmdir()
        except OSError:
            pass
        raise StorageError(f"report folder {p}: cannot write there ({e.strerror or e})") from None
    return p


def check_writable(path: str | Path, min_free_bytes: int = MIN_FREE_BYTES, create_folder: bool = True) -> Path:
    """Raise StorageError (one line) if a run file cannot be created at ``path``
    (``create_folder=False``: a missing folder is not created, its nearest existing parent is checked)."""
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if p.suffix not in (".h5", ".hdf5", ".nxs"):
        raise StorageError(f"output {p}: the run file must end in .h5 (or .hdf5/.nxs)")
    if not create_folder:
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise StorageError(f"output {p}: cannot create folder {parent} ({e.strerror})") from None
    if not os.access(parent, os.W_OK):
        raise StorageError(f"output {p}: folder {parent} is not writable")
    free = shutil.disk_usage(parent).free
    if free < min_free_bytes:
        raise StorageError(f"output {p}: only {free / 1e6:.0f} MB free on the disk (need {min_free_bytes / 1e6:.0f} MB)")
    return p


def _attr(value):
    """An HDF5-storable attribute value."""
    if value is None:
        return "none"
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (int, float, str, np.integer, np.floating)):
        return value
    if isinstance(value, (list, tuple)):
        arr = np.asarray(value)
        if arr.dtype.kind in "fiub":
            return arr
        return str(value)
    return str(value)


class RunFile:
    """A run file being written. Use ``RunFile.create`` or ``RunFile.resume``.

    The HDF5 file is open only while a batch is written (end of a sweep, every
    ``batch_rows`` rows, settings, close), without HDF5 file locking: between those
    moments it is a closed, consistent file that any HDF5 tool opens with plain ``"r"``
    (HDFView, silx, ``h5py.File(path, "r")``), on Linux and on Windows. The journal, open
    for the whole run, is the durable per-point record.
    """

    batch_rows = 512
    #: a sweep's end that cannot open the file (held by another program) keeps its rows for
    #: the next one; past this many rows waiting, the run stops (safely) instead
    max_deferred_rows = 200_000
    #: free disk below this at a sweep's end stops the run (safely) before writes fail
    reserve_bytes = 20 * 1024 * 1024

    def __init__(self, path: Path, journal):
        self.path = path
        self.h5: h5py.File | None = None  # open only inside ``_open``
        self._journal = journal
        self._pending: dict[str, list[tuple]] = {t: [] for t in TABLES}
        self._keys = {t: [c[0] for c in cols.values()] for t, cols in TABLES.items()}  # python names
        self._records = JOURNAL_RECORDS
        self._codes = JOURNAL_CODES
        self._dtypes = {t: [np.dtype(c[2]) for c in cols.values()] for t, cols in TABLES.items()}
        self.deferred = 0  # sweeps' ends whose rows waited because the file could not be opened
        with self._open():
            self.rows_written = {t: int(self._ds[t][0].shape[0]) for t in TABLES}
        self.closed = False

    @contextlib.contextmanager
    def _open(self):
        """The HDF5 file, open for one write session (no file locking: readers may hold it)."""
        try:
            h5 = h5py.File(self.path, "r+", rdcc_nbytes=0, locking=False)  # no chunk cache: it grows with the run
        except OSError as e:
            raise FileHeld(f"run file {self.path}: cannot open for writing ({one_line(e)})") from None
        self.h5 = h5
        entry = h5["entry"]
        self._ds = {t: [entry[t][name] for name in cols] for t, cols in TABLES.items()}  # looked up once a session
        try:
            yield h5
            h5.flush()
        finally:
            self._ds = {}
            self.h5 = None
            h5.close()

    # ------------------------------------------------------------------ create
    @classmethod
    def create(
        cls,
        path: str | Path,
        *,
        procedure: str,
        config_yaml: str,
        instruments: dict[str, dict],
        sample: dict,
        extra_entry_attrs: dict | None = None,
    ) -> "RunFile":
        """Create a new run file (never overwriting: a taken name gets a suffix)."""
        p = free_name(check_writable(path))
        try:
            h5 = h5py.File(p, "x", locking=False)
        except OSError as e:
            raise StorageError(f"output {p}: cannot create ({e})") from None
        with h5:
            _write_layout(h5, p, procedure, config_yaml, instruments, sample, extra_entry_attrs or {})
        journal = open(str(p) + JOURNAL_SUFFIX, "xb", buffering=0)  # unbuffered: one write() a record
        journal.write(JOURNAL_MAGIC)
        journal.flush()
        return cls(p, journal)

    @classmethod
    def resume(cls, path: str | Path) -> "RunFile":
        """Reopen an interrupted run file: write the journal's points in, then continue."""
        p = Path(path)
        if not p.is_file():
            raise StorageError(f"resume {p}: no such file")
        recovered = _journal_rows(p)
        try:
            with h5py.File(p, "r", locking=False) as h5:
                status = str(h5["entry"].attrs.get("status", ""))
        except (OSError, KeyError) as e:
            raise StorageError(f"resume {p}: cannot open ({one_line(e)})") from None
        if status == "complete":
            raise StorageError(f"resume {p}: the run is complete; nothing to resume")
        rf = cls(p, None)
        for table, rows in recovered.items():
            rows = rows[rf.rows_written[table]:]
            if rows:
                rf._pending[table].extend(rows)
        with rf._open() as h5:
            rf._write_pending()
            entry = h5["entry"]
            entry.attrs["resumed"] = int(entry.attrs.get("resumed", 0)) + 1
            entry.attrs["status"] = "running"
            entry.attrs[f"resume_{int(entry.attrs['resumed'])}_time"] = now_iso()
            entry.attrs["writer"] = writer_id()
        jpath = str(p) + JOURNAL_SUFFIX
        # every journal row is now in the file: start a fresh journal
        rf._journal = open(jpath, "wb", buffering=0)
        rf._journal.write(JOURNAL_MAGIC)
        rf._journal.flush()
        os.fsync(rf._journal.fileno())
        return rf

    # ------------------------------------------------------------------ append
    def append(self, table: str, row: dict) -> None:
        """Record one acknowledged row (keys: the python names of ``units.TABLES``).

        The journal line is written and flushed now; the HDF5 columns in the next batch.
        """
        values = [row[k] for k in self._keys[table]]
        # one fixed-size binary record handed to the OS at once (unbuffered file): a killed
        # process loses at most the point in flight (fsync, for power cuts, after each sweep)
        self._journal.write(self._records[table].pack(self._codes[table], *values))
        pend = self._pending[table]
        pend.append(values)
        if len(pend) >= self.batch_rows and (not self.deferred or len(pend) % self.batch_rows == 0):
            self.flush(durable=False)  # a held file defers the batch (the journal has the rows)

    def _write_table(self, table: str) -> None:
        rows = self._pending[table]
        if not rows:
            return
        arr = np.array(rows, dtype=float)
        n0 = self.rows_written[table]
        n1 = n0 + len(rows)
        for k, (ds, dtype) in enumerate(zip(self._ds[table], self._dtypes[table], strict=True)):
            ds.resize((n1,))
            ds[n0:n1] = arr[:, k].astype(dtype)
        if table == "spectra" and "bias_target_current" in self.h5["entry"]["spectra"]:
            g = self.h5["entry"]["spectra"]
            target = arr[:, self._keys[table].index("bias_target")]
            is_v = arr[:, self._keys[table].index("bias_target_is_voltage")] != 0
            for name, values in (("bias_target_current", np.where(is_v, np.nan, target)),
                                 ("bias_target_voltage", np.where(is_v, target, np.nan))):
                g[name].resize((n1,))
                g[name][n0:n1] = values
        self.rows_written[table] = n1
        self._pending[table] = []

    def _write_pending(self) -> None:
        for table in TABLES:
            self._write_table(table)

    def flush(self, durable: bool = True) -> None:
        """Write every pending row into the HDF5 file and close it again (end of a sweep).

        Raises StorageError when the disk is nearly full, so the run stops safely while
        the file can still be closed.
        """
        free = shutil.disk_usage(self.path.parent).free
        if free < self.reserve_bytes:
            raise StorageError(
                f"disk nearly full ({free / 1e6:.0f} MB left at {self.path.parent}): run stopped to keep the file whole"
            )
        if any(self._pending.values()):
            try:
                with self._open():
                    self._write_pending()
            except FileHeld as e:
                # the file could not be opened (on Windows: a viewer holding it with HDF5's
                # default, mandatory lock): the rows are already in the journal, so keep them
                # and try again at the next sweep; only a backlog this large stops the run
                backlog = sum(len(v) for v in self._pending.values())
                if backlog > self.max_deferred_rows:
                    raise
                if not self.deferred:
                    log.warning("%s; %d rows kept in the journal, written at the next sweep", e, backlog)
                self.deferred += 1
        if durable and self._journal is not None:
            self._journal.flush()
            os.fsync(self._journal.fileno())

    def write_settings(self, role: str, settings: dict, group: str = "settings") -> None:
        """(Re)write ``/entry/instrument/<role>/<group>`` attributes (e.g. after configuration)."""
        with self._open() as h5:
            g = h5["entry"]["instrument"].require_group(role)
            sub = g.require_group(group)
            sub.attrs["NX_class"] = "NXcollection"
            for k, v in settings.items():
                sub.attrs[k] = _attr(v)

    def read_settings(self, role: str, group: str = "settings") -> dict:
        """The attributes of ``/entry/instrument/<role>/<group>`` ({} if there is none yet)."""
        with self._open() as h5:
            g = h5["entry"]["instrument"].get(role)
            if g is None or group not in g:
                return {}
            return {k: _plain(v) for k, v in g[group].attrs.items()}

    def close(self, status: str, safe_state: str | None = None, **attrs) -> None:
        """Write everything, set status/end time, close; the journal is removed once all is in."""
        if self.closed:
            return
        if status not in STATUSES:
            raise ValueError(f"status: {status!r} not in {STATUSES}")
        with self._open() as h5:
            self._write_pending()
            entry = h5["entry"]
            entry.attrs["status"] = status
            entry.attrs["end_time"] = now_iso()
            # every point of the file (a resumed run's earlier sessions included): data + dvdi rows,
            # as planned_points counts them
            entry.attrs["points_recorded"] = self.rows_written["data"] + self.rows_written["dvdi"]
            entry.attrs["vmix_points_recorded"] = self.rows_written["data"]
            if safe_state is not None:
                entry.attrs["safe_state"] = safe_state
            for k, v in attrs.items():
                entry.attrs[k] = _attr(v)
        self.closed = True
        if self._journal is not None:
            self._journal.close()
            try:
                os.remove(str(self.path) + JOURNAL_SUFFIX)
            except OSError as e:
                log.warning("could not remove the journal: %s", e)


def _write_layout(h5, p: Path, procedure, config_yaml, instruments, sample, extra_entry_attrs) -> None:
    """The contract.md layout of a new run file, with no rows yet."""
    h5.attrs["NX_class"] = "NXroot"
    h5.attrs["default"] = "entry"
    h5.attrs["program"] = "stfmr-lab"
    h5.attrs["program_version"] = __version__
    h5.attrs["file_name"] = p.name
    h5.attrs["file_time"] = now_iso()
    entry = h5.create_group("entry")
    entry.attrs["NX_class"] = "NXentry"
    entry.attrs["default"] = "data"
    entry.attrs["start_time"] = now_iso()
    entry.attrs["end_time"] = ""
    entry.attrs["status"] = "running"
    entry.attrs["procedure"] = procedure
    entry.attrs["config"] = config_yaml
    entry.attrs["safe_state"] = "not yet verified (run in progress)"
    entry.attrs["resumed"] = 0
    entry.attrs["writer"] = writer_id()
    for k, v in extra_entry_attrs.items():
        entry.attrs[k] = _attr(v)
    inst = entry.create_group("instrument")
    inst.attrs["NX_class"] = "NXinstrument"
    for role, info in instruments.items():
        g = inst.create_group(role)
        g.attrs["NX_class"] = "NXcollection"
        for k, v in info.items():
            if isinstance(v, dict):
                sub = g.create_group(k)
                sub.attrs["NX_class"] = "NXcollection"
                for kk, vv in v.items():
                    sub.attrs[kk] = _attr(vv)
            else:
                g.attrs[k] = _attr(v)
    samp = entry.create_group("sample")
    samp.attrs["NX_class"] = "NXsample"
    for k, v in sample.items():
        if k == "name":
            samp.create_dataset("name", data=str(v))
            continue
        if k == "declared":
            _write_declared(samp, v)
            continue
        samp.attrs[k] = _attr(v)
        if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
            # the same value as a NeXus field, with its units (attributes cannot carry units)
            ds = samp.create_dataset(k, data=v)
            unit = parameter_unit(k)
            if unit:
                ds.attrs["units"] = unit
    for table, cols in TABLES.items():
        g = entry.create_group(table)
        if table in ("data", "dvdi"):
            g.attrs["NX_class"] = "NXdata"
            g.attrs["signal"] = "vmix" if table == "data" else "bias_voltage"
        else:
            g.attrs["NX_class"] = "NXcollection"
        for name, (_py, unit, dtype, desc) in cols.items():
            ds = g.create_dataset(name, shape=(0,), maxshape=(None,), dtype=dtype, chunks=(4096,))
            ds.attrs["units"] = unit
            ds.attrs["long_name"] = desc
        if table == "spectra":
            for name, (unit, desc) in BIAS_TARGET_COLUMNS.items():
                ds = g.create_dataset(name, shape=(0,), maxshape=(None,), dtype="f8", chunks=(4096,))
                ds.attrs["units"] = unit
                ds.attrs["long_name"] = desc
            g["bias_target"].attrs["units"] = ""  # A or V per row: see bias_target_current/_voltage
        if table in NXDATA_AXES:
            # NeXus: the default axis, and every column of the point table an axis of dimension 0
            g.attrs["axes"] = [NXDATA_AXES[table][0]]
            for name in NXDATA_AXES[table]:
                g.attrs[f"{name}_indices"] = [0]


def writer_id() -> str:
    """``pid@host`` of this process: who writes a live run file."""
    return f"{os.getpid()}@{socket.gethostname()}"


# ---------------------------------------------------------------------- reading
def _write_declared(sample_group, declared: dict) -> None:
    """``/entry/sample/declared``: what the user declared of the sample (run config's
    ``sample:``), one scalar dataset each with its ``units`` attribute, apart from the truth."""
    g = sample_group.create_group("declared")
    g.attrs["NX_class"] = "NXcollection"
    for k, v in declared.items():
        if k == "name":
            g.create_dataset("name", data=str(v))
            continue
        ds = g.create_dataset(k, data=float(v))
        units, desc = SAMPLE_DECLARED.get(k, ("", ""))
        ds.attrs["units"] = units
        ds.attrs["long_name"] = desc


def _read_declared(sample_group) -> dict:
    g = sample_group.get("declared")
    if g is None:
        return {}
    out = {}
    for k, ds in g.items():
        v = ds[()]
        out[k] = v.decode() if isinstance(v, bytes) else (str(v) if k == "name" else float(v))
    return out


def _journal_rows(path: Path) -> dict[str, list[tuple]]:
    """Rows of the journal beside ``path`` by table (a torn last record is ignored)."""
    out: dict[str, list[tuple]] = {t: [] for t in TABLES}
    jpath = Path(str(path) + JOURNAL_SUFFIX)
    if not jpath.exists():
        return out
    data = jpath.read_bytes()
    if not data.startswith(JOURNAL_MAGIC):
        return out
    pos = len(JOURNAL_MAGIC)
    tables = list(TABLES)
    while pos < len(data):
        code = data[pos]
        if code >= len(tables):
            break  # corrupt from here on
        rec = JOURNAL_RECORDS[tables[code]]
        if pos + rec.size > len(data):
            break  # the record in flight when the process died
        out[tables[code]].append(rec.unpack_from(data, pos)[1:])
        pos += rec.size
    return out


@dataclass
class RunData:
    """A run file's content, journal points merged in (for interrupted runs)."""

    path: Path
    attrs: dict
    tables: dict[str, dict[str, np.ndarray]]
    units: dict[str, dict[str, str]]
    instruments: dict[str, dict]
    sample: dict
    recovered_points: int = 0

    @property
    def data(self) -> dict[str, np.ndarray]:
        return self.tables["data"]

    @property
    def live(self) -> bool:
        """The run is still being written: status "running" and its writer process is alive."""
        return self.attrs.get("status") == "running" and bool(is_live(self.path, self.attrs.get("writer", "")))

    @property
    def status(self) -> str:
        """"running" (a live run), "interrupted" (its writer is gone), or the file's status."""
        s = self.attrs.get("status", "")
        if s == "running":
            return "running" if self.live else "interrupted"
        return s


def is_live(path: str | Path, writer: str) -> bool:
    """A run file whose writer (``pid@host``) is alive on this computer, its journal open beside it."""
    from stfmr_lab.locks import owner_alive

    return bool(writer) and Path(str(path) + JOURNAL_SUFFIX).exists() and owner_alive(str(writer)) is True


def read_run(path: str | Path, *, retries: int = 3) -> RunData:
    """Read a run file (complete, aborted, failed, interrupted or still running) into arrays.

    A live run writes its file for a few ms per sweep: a read that lands in that moment is
    tried again (``retries`` times, 0.1 s apart) before the journal alone is used."""
    import time

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such run file")
    has_journal = Path(str(p) + JOURNAL_SUFFIX).exists()
    for attempt in range(retries + 1 if has_journal else 1):
        if attempt:
            time.sleep(0.1)
        try:
            h5 = h5py.File(p, "r", locking=False)  # never blocks (nor is blocked by) a live run's writer
        except OSError as e:
            error: Exception = e
            if has_journal:
                continue
            raise ValueError(f"{p}: not a readable HDF5 file ({one_line(e)})") from None
        try:
            with h5:
                return _read_open(p, h5)
        except (OSError, KeyError) as e:  # mid-write, or damaged (a write that failed half-way: disk full)
            error = e
            if not has_journal:
                raise ValueError(f"{p}: damaged run file ({one_line(e)})") from None
    return _from_journal_only(p, error)


def _read_open(p: Path, h5) -> RunData:
    """A run file open for reading, into a RunData (the journal's points merged in)."""
    if "entry" not in h5 or h5.attrs.get("program") != "stfmr-lab":
        raise ValueError(f"{p}: not an stfmr-lab run file")
    entry = h5["entry"]
    attrs = {k: _plain(v) for k, v in entry.attrs.items()}
    tables, units_ = {}, {}
    unreadable = []
    for table, cols in TABLES.items():
        g = entry.get(table)
        try:
            tables[table] = {name: (g[name][()] if g is not None and name in g else np.zeros(0)) for name in cols}
        except OSError:  # a write that failed half-way (disk full, killed mid-flush)
            unreadable.append(table)
            tables[table] = {name: np.zeros(0, dtype=cols[name][2]) for name in cols}
        units_[table] = {name: cols[name][1] for name in cols}
    instruments = {}
    for role, g in entry["instrument"].items():
        info = {k: _plain(v) for k, v in g.attrs.items()}
        for sub, sg in g.items():
            info[sub] = {k: _plain(v) for k, v in sg.attrs.items()}
        instruments[role] = info
    sample = {k: _plain(v) for k, v in entry["sample"].attrs.items()}
    if "name" in entry["sample"]:
        sample["name"] = entry["sample"]["name"][()].decode() if isinstance(
            entry["sample"]["name"][()], bytes
        ) else str(entry["sample"]["name"][()])
    sample["declared"] = _read_declared(entry["sample"])
    recovered = 0
    if unreadable:
        attrs["unreadable_tables"] = unreadable
    if attrs.get("status") == "running" or unreadable:
        jr = _journal_rows(p)
        for table, rows in jr.items():
            n = len(next(iter(tables[table].values())))
            extra = rows[n:]
            if extra:
                arr = np.array(extra, dtype=float)
                for k, (name, col) in enumerate(TABLES[table].items()):
                    tables[table][name] = np.concatenate([tables[table][name], arr[:, k].astype(col[2])])
                if table == "data":
                    recovered += len(extra)
    return RunData(p, attrs, tables, units_, instruments, sample, recovered)


def _from_journal_only(p: Path, error: Exception) -> RunData:
    """The HDF5 file cannot be opened (e.g. truncated by a full disk): the journal's points."""
    rows = _journal_rows(p)
    tables, units_ = {}, {}
    for table, cols in TABLES.items():
        arr = np.array(rows[table], dtype=float).reshape(-1, len(cols))
        tables[table] = {name: arr[:, k].astype(col[2]) for k, (name, col) in enumerate(cols.items())}
        units_[table] = {name: col[1] for name, col in cols.items()}
    attrs = {"status": "running", "unreadable_tables": list(TABLES), "hdf5_error": str(error).splitlines()[0]}
    return RunData(p, attrs, tables, units_, {}, {}, len(rows["data"]))


def _plain(v):
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    return v
