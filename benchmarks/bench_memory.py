"""Peak memory of a run vs its length: streaming must not hold the run in memory.

Each run is a separate process (peak RSS from ``getrusage``): a map at one field with
2001-point frequency sweeps, as many biases as needed for the length.
Run: ``python -m benchmarks.bench_memory`` (20k and 100k points) or ``--full`` (adds 1M points).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time

CHILD = """
import resource, sys, time
from stfmr_lab.runner import run
n = int(sys.argv[1]); points = 2001
biases = [round(-1e-4 + 2e-4 * k / max(n // points - 1, 1), 9) for k in range(n // points)]
cfg = {"name": "mem", "simulation": {"noise": True, "seed": 1}, "field_to_zero_at_end": False,
       "lockin": {"time_constant_s": 0.01, "settle_time_constants": 10},
       "measurements": [{"type": "map", "fields_oe": [1000.0], "biases_a": biases,
                         "frequency": {"start_hz": 7.0e9, "stop_hz": 10.2e9, "points": points}}]}
t = time.perf_counter()
run(cfg, sim=True, out=sys.argv[2])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.perf_counter() - t, len(biases) * points)
"""


def measure(n: int, folder: str) -> tuple[float, float, int]:
    r = subprocess.run([sys.executable, "-c", CHILD, str(n), f"{folder}/m{n}-{time.perf_counter_ns()}.h5"],
                       capture_output=True, text=True, check=True)
    kb, secs, pts = r.stdout.split()[-3:]
    return int(kb) / 1024.0, float(secs), int(pts)


def main(full: bool = False) -> dict:
    sizes = [20_000, 100_000] + ([1_000_000] if full else [])
    out = {}
    with tempfile.TemporaryDirectory() as d:
        base = None
        for n in sizes:
            mb, secs, pts = measure(n, d)
            base = base or mb
            out[pts] = mb
            print(f"  {pts:9d} points: peak RSS {mb:7.1f} MB ({mb / base:.2f}x the smallest run), {secs:6.1f} s wall")
    return out


if __name__ == "__main__":
    print("peak memory vs run length (simulated bench):")
    main(full="--full" in sys.argv)
