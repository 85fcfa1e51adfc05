"""``python -m benchmarks`` (``make bench``): every benchmark, ratios against same-process baselines."""

import os
import subprocess
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

for name in ("bench_acquisition", "bench_storage", "bench_fit", "bench_gui", "bench_memory"):
    print(f"== {name}", flush=True)
    subprocess.run([sys.executable, "-m", f"benchmarks.{name}", *sys.argv[1:]], check=False)
