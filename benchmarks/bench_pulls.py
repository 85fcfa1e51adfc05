"""Do the stated torkance errors cover the truth? Pulls of the realistic map over seeds.

``examples/realistic_map.yaml`` (``realism: bench``: standing-wave ripple, lock-in phase
offset, drift and 1/f noise, a second mode, spikes, bias heating, field jitter; a junction
that is not the paper's, its Ms*Vol declared in ``sample:``) is run on the simulated bench
at several seeds and analysed by ``stfmr_lab.analysis.analyze``. Per bias (the per-bias
table: field x bias), the pull is (estimate - truth) / stated error, the stated error being
the statistical and systematic errors combined, hypot(``dtau_*_err``, ``dtau_*_err_sys``);
the truth is the twin's own torkance at that bias (divided by sin(theta), as the table).

Printed per seed and pooled over seeds: the median |deviation| over biases (relative to
the mean true dtau_par/dV / sin(theta)), and the pulls' rms, mean and spread (std), with
the combined errors and with the statistical ones alone. Errors that cover the truth give
an rms about 1; errors 2x too small about 2. The pulls of one run are correlated (the
I_RF^2 scale and the twin's fixed imperfections are common to all its biases): the rms over
several seeds is the figure, one run's is not.

Run: ``python -m benchmarks.bench_pulls [--seeds 1 2 3 4 5] [--small] [--set NAME=VALUE ...] [--keep DIR]``
(``--small``: the test suite's map, 2 fields x 5 biases x 61 frequencies; default the full
example; ``--set``: a ``simulation:`` key over the example's, e.g. ``--set second_mode_rel=0``
to switch one imperfection off, ``--set noise=false`` for a noise-free run; ``--keep``: the run
files stay in DIR, named by seed, size and ``--set`` keys, and are reused by the next call, so
a change of the analysis is measured on the same runs without running the bench again).
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from stfmr_lab.analysis import analyze
from stfmr_lab.config import packaged_example
from stfmr_lab.physics import TORKANCE_UNIT_J_PER_V, DeviceModel
from stfmr_lab.runner import run
from stfmr_lab.storage import read_run

COLUMNS = ("dtau_par_dv", "dtau_perp_dv")


def config(seed: int, small: bool, simulation: dict | None = None) -> dict:
    """The realistic map at ``seed``; ``small``: the test suite's size; ``simulation``: keys
    of the ``simulation:`` mapping set over the example's (an imperfection by name)."""
    cfg = yaml.safe_load(packaged_example("realistic_map.yaml").read_text())
    cfg["simulation"].update(simulation or {})
    cfg["simulation"]["seed"] = seed
    if small:
        fields = [900, 1100]
        cfg["measurements"][0].update(fields_oe=fields, currents_a={"start": -2e-4, "stop": 2e-4, "points": 33})
        cfg["measurements"][1].update(fields_oe=fields, biases_v={"start": -0.5, "stop": 0.5, "points": 5})
        cfg["measurements"][1]["frequency"]["points"] = 61
    return copy.deepcopy(cfg)


def simulation_keys(items) -> dict:
    """``--set`` items NAME=VALUE as ``simulation:`` keys: true/false, else a number."""
    out = {}
    for item in items:
        k, v = item.split("=", 1)
        out[k] = v.lower() == "true" if v.lower() in ("true", "false") else float(v)
    return out


def pulls(path) -> dict:
    """Per column: (deviation, statistical error, systematic error) per bias, and the scale
    (mean true dtau_par/dV / sin(theta)), from the analysis of the run file at ``path``."""
    pb = analyze(path).per_bias
    d = read_run(path)
    truth = DeviceModel(**{k: d.sample[k] for k in DeviceModel().params()})
    # the table's torkances are divided by sin(theta): the twin's at theta = 90 deg
    true = np.array([truth.torkances_at(np.pi / 2, v) for v in pb["bias_voltage_v"]]) / TORKANCE_UNIT_J_PER_V
    out = {"scale": float(np.mean(np.abs(true[:, 0])))}
    for k, col in enumerate(COLUMNS):
        out[col] = (pb[col].to_numpy() - true[:, k], pb[f"{col}_err"].to_numpy(), pb[f"{col}_err_sys"].to_numpy())
    return out


def _line(z) -> str:
    return f"rms {np.sqrt(np.mean(z**2)):.2f} (mean {np.mean(z):+.2f}, spread {np.std(z):.2f})"


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    ap.add_argument("--small", action="store_true", help="the test suite's small map")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="a simulation: key over the example's (e.g. second_mode_rel=0); repeatable")
    ap.add_argument("--keep", type=Path, metavar="DIR",
                    help="keep the run files in DIR and reuse those already there (analysis changes re-measured "
                         "without re-running the bench; the file names carry the seed, size and --set keys)")
    args = ap.parse_args(argv)
    try:
        simulation = simulation_keys(args.set)
    except ValueError:
        ap.error("--set: NAME=VALUE with a number, e.g. second_mode_rel=0")
    pooled = {col: ([], []) for col in COLUMNS}
    tag = "".join(f"_{k}={v}" if isinstance(v, bool) else f"_{k}={v:g}" for k, v in sorted(simulation.items()))
    with tempfile.TemporaryDirectory() as tmp:
        where = args.keep or Path(tmp)
        where.mkdir(parents=True, exist_ok=True)
        for seed in args.seeds:
            t0 = time.perf_counter()
            path = where / f"realistic_{'small' if args.small else 'full'}_{seed}{tag}.h5"
            if not path.exists():
                path = run(config(seed, args.small, simulation), sim=True, out=path)
            res = pulls(path)
            parts = []
            for col in COLUMNS:
                dev, err, err_sys = res[col]
                z, z_stat = dev / np.hypot(err, err_sys), dev / err
                pooled[col][0].append(z)
                pooled[col][1].append(z_stat)
                parts.append(f"{col}: |dev| {100 * np.median(np.abs(dev)) / res['scale']:.2f} %, pulls {_line(z)}")
            print(f"seed {seed} ({len(dev)} biases, {time.perf_counter() - t0:.0f} s): " + "; ".join(parts), flush=True)
    print(f"pooled over seeds {args.seeds} ({'small' if args.small else 'full'} map"
          f"{', ' + ', '.join(args.set) if args.set else ''}):")
    for col, (z, z_stat) in pooled.items():
        z, z_stat = np.concatenate(z), np.concatenate(z_stat)
        print(f"  {col}: pulls {_line(z)} with statistical and systematic errors; {_line(z_stat)} statistical alone;"
              f" n = {z.size}")


if __name__ == "__main__":
    main()
