"""The conditions a speed was measured under, printed beside it: a ratio means little without them.

The machine's load (1-minute load average over the cores) and the BLAS threads numpy's
linear algebra may use (threadpoolctl's count when it is installed, else the environment's
limit, else OpenBLAS's default of one thread per core).
"""

from __future__ import annotations

import os


def blas_threads() -> str:
    """How many BLAS threads numpy uses, and where that number comes from."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        pass
    else:
        blas = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        if blas:
            return ", ".join(f"{p['internal_api']} {p['num_threads']}" for p in blas)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(var):
            return f"{os.environ[var]} ({var})"
    return f"{os.cpu_count()} (default: one per core)"


def conditions() -> dict:
    """{"cores", "load_1min", "blas_threads"} now."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return {"cores": os.cpu_count(), "load_1min": load, "blas_threads": blas_threads()}


def describe(c: dict | None = None) -> str:
    """One line: cores, load, BLAS threads."""
    c = c or conditions()
    return f"{c['cores']} cores, load {c['load_1min']:.1f} (1 min), BLAS threads {c['blas_threads']}"
