"""Swept acquisition against the stepped map: bench time, torkances and their errors.

The map (the demo's dV/dI calibration, then 800/1000/1200 Oe x 11 biases from -0.5 to
0.5 V, frequency sweeps of 201 points over the seed paper's 2-14 GHz) is run on the
simulated bench, noise on, for a junction that is not the paper's (Ms*Vol 8.5e-15 emu,
declared in ``sample:``; R_P 2900 Ohm, alpha 0.011, 4piMeff 10.5 kOe), four ways:
stepped (each point read after 15 time constants), swept (a step every 1.5 time
constants, read through the filter), swept up and down (the same set points walked up,
then down, in one spectrum), adaptive stepped sampling (15 coarse points, then settled
points to the errors of the uniform 201-point stepped sweep), and swept + adaptive (a swept
coarse pass of 101 points through the filter, then settled points where the design wants
them, to the same goal). All are analysed by ``stfmr_lab.analysis.analyze`` (swept spectra,
and the swept + adaptive record of swept and settled readings, through the lock-in filter
model).

Printed per seed: the map part's bench time (virtual clock) and its ratio to the stepped
map; the median relative deviation of dtau_par/dV and dtau_perp/dV from the truth; the
ratio of the median per-bias stated errors to the stepped map's (whole error, and the
lineshape fits' share); and the spread (std) and mean of the pulls (estimate - truth) /
error over the biases; for swept + adaptive, how many of its readings were swept. Run:
``python -m benchmarks.bench_swept [--seeds 1 2 3] [--kinds swept swept_adaptive ...]``
(the stepped map, the reference, always runs).
"""

from __future__ import annotations

import argparse
import copy
import tempfile
from pathlib import Path

import numpy as np

from stfmr_lab.analysis import analyze
from stfmr_lab.physics import TORKANCE_UNIT_J_PER_V, DeviceModel
from stfmr_lab.runner import run
from stfmr_lab.storage import read_run

DEVICE = {"ms_vol_emu": 8.5e-15, "r_p_ohm": 2900.0, "alpha": 0.011, "meff_4pi_oe": 10500.0}
WINDOW = {"start_hz": 2.0e9, "stop_hz": 14.0e9, "points": 201}
BASE = {
    "name": "bench_swept",
    "sample": {"name": "70x140 nm2 junction", "ms_vol_emu": 8.5e-15},
    "station": "station.yaml",
    "device": DEVICE,
    "simulation": {"noise": True, "seed": 1},
    "lockin": {"time_constant_s": 0.03, "slope_db_oct": 24, "sensitivity_v": 0.002, "settle_time_constants": 15},
    "rf_power_dbm": -10.0,
    "measurements": [
        {
            "type": "dvdi", "fields_oe": [800, 1000, 1200], "currents_a": {"start": -2.0e-4, "stop": 2.0e-4, "points": 81},
            "max_voltage_v": 0.6, "reference_loops": True, "saturate_oe": 200,
        },
        {
            "type": "map", "fields_oe": [800, 1000, 1200], "biases_v": {"start": -0.5, "stop": 0.5, "points": 11},
            "bias_order": "alternating", "outer": "field", "frequency": WINDOW,
        },
    ],
}
KINDS = {
    "stepped": {},
    "swept": {"acquisition": "swept"},
    "swept_up_down": {"acquisition": "swept", "up_down": True},
    "adaptive": {"frequency": {**WINDOW, "points": 401},
                 "adaptive": {"coarse_points": 15, "batch": 6, "max_points": 201, "match_uniform_points": 201}},
    # the swept pass's 101 readings count in max_points: up to 201 settled points after it
    "swept_adaptive": {"frequency": {**WINDOW, "points": 401}, "acquisition": "swept",
                       "adaptive": {"coarse_points": 101, "batch": 6, "max_points": 302, "match_uniform_points": 201}},
}


def config(seed: int, kind: str) -> dict:
    cfg = copy.deepcopy(BASE)
    cfg["simulation"]["seed"] = seed
    cfg["measurements"][1].update(copy.deepcopy(KINDS[kind]))
    return cfg


def measure(seed: int, kind: str, out: Path) -> dict:
    path = run(config(seed, kind), sim=True, out=out / f"s{seed}_{kind}.h5")
    d = read_run(path)
    t_map = float(np.max(d.data["time"]) - np.max(d.tables["dvdi"]["time"]))
    truth = DeviceModel(**{k: d.sample[k] for k in DeviceModel().params()})
    pb = analyze(path).per_bias
    true = np.array([truth.torkances_at(np.radians(th), v) for th, v in zip(pb["theta_deg"], pb["bias_voltage_v"], strict=True)])
    true /= TORKANCE_UNIT_J_PER_V
    sin = np.sin(np.radians(pb["theta_deg"].to_numpy()))
    true = true / sin[:, None]  # the table's torkances are divided by sin(theta)
    scale = np.abs(true[:, 0])  # deviations relative to dtau_par/dV (dtau_perp/dV crosses zero)
    z_par = (pb["dtau_par_dv"] - true[:, 0]) / pb["dtau_par_dv_err"]
    z_perp = (pb["dtau_perp_dv"] - true[:, 1]) / pb["dtau_perp_dv_err"]
    return {
        "t_map": t_map, "points": int(d.data["vmix"].size), "read_through": int(np.count_nonzero(d.data["sample_reason"] == 5)),
        "dev_par": float(np.median(np.abs(pb["dtau_par_dv"] - true[:, 0]) / scale)),
        "dev_perp": float(np.median(np.abs(pb["dtau_perp_dv"] - true[:, 1]) / scale)),
        "err_par": float(np.median(pb["dtau_par_dv_err"])), "err_perp": float(np.median(pb["dtau_perp_dv_err"])),
        "fit_par": float(np.median(pb["dtau_par_dv_fit_err"])), "fit_perp": float(np.median(pb["dtau_perp_dv_fit_err"])),
        "z_par": z_par.to_numpy(), "z_perp": z_perp.to_numpy(),
    }


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--kinds", nargs="+", default=list(KINDS), choices=list(KINDS), help="stepped is always run (the reference)")
    args = ap.parse_args(argv)
    kinds = ["stepped"] + [k for k in args.kinds if k != "stepped"]
    print("deviations relative to |dtau_par/dV| (median over biases); error ratios: median stated error / stepped map's")
    pulls = {k: ([], []) for k in kinds}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            runs = {k: measure(seed, k, Path(tmp)) for k in kinds}
            ref = runs["stepped"]
            print(f"seed {seed}: stepped map {ref['t_map']:.0f} s of bench time")
            for k, r in runs.items():
                pulls[k][0].extend(r["z_par"])
                pulls[k][1].extend(r["z_perp"])
                print(f"  {k:14s} bench time {r['t_map'] / ref['t_map']:.3f}, {r['points']:5d} points ({r['read_through']} swept in adaptive passes);"
                      f" deviation par {100 * r['dev_par']:.2f} % perp {100 * r['dev_perp']:.2f} %;"
                      f" error ratio par {r['err_par'] / ref['err_par']:.3f} perp {r['err_perp'] / ref['err_perp']:.3f};"
                      f" fit share ratio par {r['fit_par'] / ref['fit_par']:.3f} perp {r['fit_perp'] / ref['fit_perp']:.3f};"
                      f" pulls par {np.mean(r['z_par']):+.2f}+-{np.std(r['z_par']):.2f}"
                      f" perp {np.mean(r['z_perp']):+.2f}+-{np.std(r['z_perp']):.2f}")
    print("pulls over all seeds and biases (mean +- spread):")
    for k, (zp, zq) in pulls.items():
        print(f"  {k:14s} par {np.mean(zp):+.2f} +- {np.std(zp):.2f}   perp {np.mean(zq):+.2f} +- {np.std(zq):.2f}   (n = {len(zp)})")


if __name__ == "__main__":
    main()
