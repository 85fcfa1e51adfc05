"""HDF5 streaming: rows per second into the run file, against plain h5py in the same process.

- ours: ``RunFile.append`` per row (journal record written to the OS at once) + the HDF5
  batch written at the end of each sweep (every 200 rows here) in a write session that
  opens and closes the file, as in a run; the session's fixed cost is reported apart;
- h5py per-row, no flushing: each of the 13 columns resized and written per row (the
  straightforward streaming code), never flushed;
- h5py batched, no flushing (the floor): the same rows written 512 at a time;
- SWMR per row (the other way to let readers in during a run): each column resized,
  written and flushed per row.
Run: ``python -m benchmarks.bench_storage``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

from stfmr_lab.storage import RunFile
from stfmr_lab.units import COLUMNS

N = 20000
SWEEP = 200


def _rows(n):
    rng = np.random.default_rng(0)
    keys = [c[0] for c in COLUMNS.values()]
    vals = rng.normal(size=(n, len(keys)))
    out = []
    for k in range(n):
        row = dict(zip(keys, vals[k].tolist(), strict=True))
        row["spectrum"] = k // SWEEP
        row["overload"] = 0
        out.append(row)
    return out


def ours(tmp: Path, rows) -> float:
    rf = RunFile.create(tmp / f"ours-{time.perf_counter_ns()}.h5", procedure="bench", config_yaml="", instruments={}, sample={"name": "b"})
    t0 = time.perf_counter()
    for k, row in enumerate(rows):
        rf.append("data", row)
        if k % SWEEP == SWEEP - 1:
            rf.flush()
    dt = time.perf_counter() - t0
    rf.close("complete")
    return dt


def reopen_s(tmp: Path, rows) -> float:
    """One write session's fixed cost: open the run file (no locking), look up its datasets,
    flush, close - what the file pays per sweep to be closed (readable) between sweeps."""
    rf = RunFile.create(tmp / f"reopen-{time.perf_counter_ns()}.h5", procedure="bench", config_yaml="", instruments={}, sample={"name": "b"})
    for row in rows[:SWEEP]:
        rf.append("data", row)
    rf.flush()
    best = float("inf")
    for _ in range(50):
        t0 = time.perf_counter()
        with rf._open():
            pass
        best = min(best, time.perf_counter() - t0)
    rf.close("complete")
    return best


def h5py_swmr_per_row(tmp: Path, rows) -> float:
    """The alternative for live reading: SWMR, every column resized, written and flushed per row."""
    f = h5py.File(tmp / f"swmr-{time.perf_counter_ns()}.h5", "w", libver="latest")
    g = f.create_group("data")
    ds = [g.create_dataset(name, shape=(0,), maxshape=(None,), dtype=c[2], chunks=(4096,)) for name, c in COLUMNS.items()]
    f.swmr_mode = True
    keys = [c[0] for c in COLUMNS.values()]
    t0 = time.perf_counter()
    for n, row in enumerate(rows):
        for d, k in zip(ds, keys, strict=True):
            d.resize((n + 1,))
            d[n] = row[k]
            d.flush()
    dt = time.perf_counter() - t0
    f.close()
    return dt


def _create(path):
    f = h5py.File(path, "w")
    g = f.create_group("data")
    ds = [g.create_dataset(name, shape=(0,), maxshape=(None,), dtype=c[2], chunks=(4096,)) for name, c in COLUMNS.items()]
    return f, ds


def h5py_per_row(tmp: Path, rows) -> float:
    f, ds = _create(tmp / f"per-row-{time.perf_counter_ns()}.h5")
    keys = [c[0] for c in COLUMNS.values()]
    t0 = time.perf_counter()
    for n, row in enumerate(rows):
        for d, k in zip(ds, keys, strict=True):
            d.resize((n + 1,))
            d[n] = row[k]
    dt = time.perf_counter() - t0
    f.close()
    return dt


def h5py_batched(tmp: Path, rows) -> float:
    f, ds = _create(tmp / f"batched-{time.perf_counter_ns()}.h5")
    keys = [c[0] for c in COLUMNS.values()]
    t0 = time.perf_counter()
    buf, n = [], 0
    for row in rows:
        buf.append(tuple(row[k] for k in keys))
        if len(buf) == 512:
            arr = np.array(buf)
            for j, d in enumerate(ds):
                d.resize((n + len(buf),))
                d[n:] = arr[:, j]
            n += len(buf)
            buf = []
    dt = time.perf_counter() - t0
    f.close()
    return dt


def main() -> dict:
    rows = _rows(N)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        ours(tmp, rows[:1000])
        t_ours = min(ours(tmp, rows) for _ in range(3))
        t_row = min(h5py_per_row(tmp, rows[:5000]) for _ in range(2)) * N / 5000
        t_batch = min(h5py_batched(tmp, rows) for _ in range(3))
        t_reopen = reopen_s(tmp, rows)
        t_swmr = min(h5py_swmr_per_row(tmp, rows[:2000]) for _ in range(2)) * N / 2000
    out = {
        "rows": N,
        "ours_rows_per_s": N / t_ours,
        "h5py_per_row_rows_per_s": N / t_row,
        "h5py_batched_rows_per_s": N / t_batch,
        "ours_over_per_row": t_ours / t_row,
        "ours_over_batched": t_ours / t_batch,
        "reopen_per_sweep_s": t_reopen,
        "reopen_per_point_s": t_reopen / SWEEP,
        "swmr_per_point_s": t_swmr / N,
    }
    print(f"HDF5 streaming, {N} rows of 13 columns:")
    print(f"  h5py per-row append, no flush: {out['h5py_per_row_rows_per_s']:9.0f} rows/s")
    print(f"  h5py batched, no flush:        {out['h5py_batched_rows_per_s']:9.0f} rows/s")
    print(f"  RunFile (journal per row, HDF5 per sweep): {out['ours_rows_per_s']:9.0f} rows/s"
          f"   time ratio {out['ours_over_per_row']:.2f}x per-row h5py, {out['ours_over_batched']:.2f}x batched h5py")
    print(f"  the file closed between sweeps (readable by any HDF5 tool): {1e3 * t_reopen:.2f} ms a sweep to reopen,"
          f" {1e6 * out['reopen_per_point_s']:.1f} us a point at {SWEEP} points a sweep")
    print(f"  SWMR instead (every column flushed per row, readers with swmr=True): {1e6 * out['swmr_per_point_s']:.0f} us a point;"
          f" ours {1e6 * t_ours / N:.0f} us a point, the reopen included")
    return out


if __name__ == "__main__":
    main()
