"""Swept points read through the SR830's data buffer against a SNAP? query per point.

One swept frequency sweep (201 points, 6-11 GHz, tau 30 ms, 24 dB/oct, dwell 1.5 tau, noise
on) is run on the simulated bench twice: ``swept_readout: snap`` (per point: the step, then
``SNAP? 1,2`` and ``LIAS?``) and ``swept_readout: buffer`` (per point: the step and ``TRIG``;
per 20 points ``SPTS?``, two ``TRCA?`` and ``LIAS?``). Printed per path:

- the lock-in's messages per point (queries and writes, counted on the twin's bus);
- the bench time per point on the virtual clock (the simulated bench charges
  ``query_latency_s`` = 5 ms for every message, write or query alike);
- a real-bench estimate of the lock-in's bus time per point from ASSUMED figures
  (``WRITE_S``, ``QUERY_S``, ``TRANSFER_S_PER_VALUE`` below), not measured on an SR830;
- the wall time per point of the sweep on this machine (software and the twins' physics),
  median of ``--repeats`` runs.

Run: ``python -m benchmarks.bench_buffer [--points 201] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time
from pathlib import Path

import yaml
from stfmr_lab.procedures.buffered import CHUNK_POINTS

from benchmarks.conditions import conditions
from stfmr_lab.runner import run
from stfmr_lab.storage import read_run
from stfmr_lab.stream import RunStream, Subscriber

#: ASSUMED real-bench costs (s). A GPIB write of a short command (tens of bytes at the
#: controller's ~1 MB/s, plus the driver's call overhead): about 1 ms. A query round trip
#: (write, the instrument parsing and formatting its reply, the bus turnaround, the read):
#: about 5 ms, the figure the project's bench-time estimate already uses (runner.py,
#: SPECTRUM_POINT_IO_S = 3 transactions of ~5 ms) and the order other instruments' manuals
#: list for a GPIB query (e.g. 3-6 ms in ADCMT 6146's "GPIB remote execution time" table).
#: An ASCII buffer value (``+1.234567e-004,``, 15 bytes) adds its transfer, ~15 us.
WRITE_S = 1e-3
QUERY_S = 5e-3
TRANSFER_S_PER_VALUE = 15e-6

STATION = yaml.safe_load((Path(__file__).parents[1] / "examples" / "station.yaml").read_text())


def config(readout: str, points: int, seed: int) -> dict:
    station = copy.deepcopy(STATION)
    station["swept_readout"] = readout
    return {
        "name": f"bench_buffer_{readout}",
        "sample": "test junction",
        "station": station,
        "device": {"preset": "paper"},
        "simulation": {"noise": True, "seed": seed},
        "lockin": {"time_constant_s": 0.03, "slope_db_oct": 24, "sensitivity_v": 0.002, "settle_time_constants": 15},
        "rf_power_dbm": -10.0,
        "measurements": [{
            "type": "frequency_sweep", "field_oe": 1000, "bias_a": 0.0, "acquisition": "swept",
            "frequency": {"start_hz": 6.0e9, "stop_hz": 11.0e9, "points": points},
        }],
    }


class Traffic(Subscriber):
    """The lock-in's messages during the sweep (from the first data step on) and the wall
    time of each recorded row."""

    def __init__(self):
        self.queries = self.writes = 0
        self.counting = False
        self.row_wall: list[float] = []

    def start(self, info):
        bench = info["station"].bench
        resource = bench._resource_of["lockin"]
        before = bench.before_message

        def counted(res, query):
            if res == resource and self.counting:
                if b"?" in query:
                    self.queries += 1
                else:
                    self.writes += 1
            return before(res, query)

        bench.before_message = counted

    def row(self, table, row):
        if table == "spectra":
            self.counting = True  # the sweep's points start after its spectra row
        elif table == "data":
            self.row_wall.append(time.perf_counter())


def measure(readout: str, points: int, seed: int, out: Path) -> dict:
    traffic = Traffic()
    stream = RunStream()
    stream.subscribe(traffic)
    path = run(config(readout, points, seed), sim=True, out=out / f"{readout}_{seed}.h5", stream=stream)
    d = read_run(path).data
    n = int(d["vmix"].size)
    walls = traffic.row_wall
    first_batch = sum(1 for t in walls if t == walls[0])  # the buffer path records its first chunk at once
    wall_per_point = (walls[-1] - walls[0]) / (n - first_batch)
    set_time = d["set_time"]
    return {
        "n": n,
        "queries": traffic.queries / n, "writes": traffic.writes / n,
        "bench_per_point": float((set_time[-1] - set_time[1]) / (n - 2)),
        "wall_per_point": wall_per_point,
    }


def assumed_bus_s(queries: float, writes: float, readout: str) -> float:
    """The lock-in's bus time per point from the assumed figures (TRCA? values included)."""
    values = 2.0 if readout == "buffer" else 0.0  # X and Y of every point come back through TRCA?
    return queries * QUERY_S + writes * WRITE_S + values * TRANSFER_S_PER_VALUE


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=201)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    c = conditions()
    print(f"swept sweep, {args.points} points, tau 30 ms, dwell 45 ms, chunk {CHUNK_POINTS} points; "
          f"cores {c['cores']}, load {c['load_1min']}, BLAS {c['blas_threads']}")
    print(f"assumed real-bench costs: write {WRITE_S * 1e3:g} ms, query {QUERY_S * 1e3:g} ms, "
          f"{TRANSFER_S_PER_VALUE * 1e6:g} us per ASCII buffer value")
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for readout in ("snap", "buffer"):
            runs = [measure(readout, args.points, seed, Path(tmp)) for seed in range(1, args.repeats + 1)]
            r = runs[0]
            r["wall_per_point"] = statistics.median(x["wall_per_point"] for x in runs)
            rows[readout] = r
    for readout, r in rows.items():
        bus = assumed_bus_s(r["queries"], r["writes"], readout)
        print(f"  {readout:6s} lock-in messages per point: {r['queries']:.3f} queries + {r['writes']:.3f} writes;"
              f" virtual bench time per point {1e3 * r['bench_per_point']:.2f} ms"
              f" (dwell 45 ms + bus {1e3 * (r['bench_per_point'] - 0.045):.2f} ms at 5 ms a message);"
              f" assumed real lock-in bus time {1e3 * bus:.2f} ms a point;"
              f" wall time {1e3 * r['wall_per_point']:.3f} ms a point (median of {args.repeats})")
    s, b = rows["snap"], rows["buffer"]
    print(f"  buffer / snap: virtual bench time per point {b['bench_per_point'] / s['bench_per_point']:.3f},"
          f" assumed bus time {assumed_bus_s(b['queries'], b['writes'], 'buffer') / assumed_bus_s(s['queries'], s['writes'], 'snap'):.3f},"
          f" wall time {b['wall_per_point'] / s['wall_per_point']:.3f}")


if __name__ == "__main__":
    main()
