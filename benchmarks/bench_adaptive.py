"""Adaptive frequency sampling against the uniform 201-point sweep: bench time and torkance errors.

For each seed, the same map (the demo's dV/dI calibration, then 800/1000/1200 Oe x 11
biases from -0.5 to 0.5 V) is run on the simulated bench three ways: uniform frequency
sweeps of 201 points, adaptive sweeps told to match the uniform 201-point sweep's errors
of the torkances' lineshape factors V_S w and V_A w (``match_uniform_points: 201``,
covariance included), and - for scale - uniform sweeps of 67 points (a third of the bench
time). All are analysed by ``stfmr_lab.analysis.analyze``. Printed per seed and window:
the bench time of the map part (virtual clock) and its ratio to the uniform 201-point
map, the ratios of the median per-bias 1-sigma errors of dtau_par/dV and dtau_perp/dV,
both the whole error and the lineshape fits' share of it (``dtau_*_fit_err``; the rest
comes from the calibrations, which all three share), and the largest |estimate - truth| /
error. Windows: the seed paper's 2-14 GHz, 5-12.5 GHz, and (one seed) +-1.2 GHz about the
Kittel frequency (+-7 linewidths), where the design bound (``bench_adaptive_bound``) says
no saving is possible.

Run: ``python -m benchmarks.bench_adaptive``.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import numpy as np

from stfmr_lab.analysis import analyze
from stfmr_lab.physics import TORKANCE_UNIT_J_PER_V, DeviceModel
from stfmr_lab.runner import run
from stfmr_lab.storage import read_run

PAPER = {"start_hz": 2.0e9, "stop_hz": 14.0e9, "points": 201}
WIDE = {"start_hz": 5.0e9, "stop_hz": 12.5e9, "points": 201}
NARROW = {"center": "kittel", "span_hz": 2.4e9, "points": 201}
ADAPTIVE = {"coarse_points": 15, "batch": 6, "max_points": 201, "match_uniform_points": 201, "margin_hwhm": 6}

BASE = {
    "name": "bench_adaptive",
    "sample": "paper preset",
    "station": "station.yaml",
    "device": {"preset": "paper"},
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
            "bias_order": "alternating", "outer": "field",
        },
    ],
}


def config(seed: int, window: dict, kind: str) -> dict:
    cfg = copy.deepcopy(BASE)
    cfg["simulation"]["seed"] = seed
    m = cfg["measurements"][1]
    m["frequency"] = dict(window)
    if kind == "adaptive":
        m["frequency"]["points"] = 401  # the candidate grid
        m["adaptive"] = dict(ADAPTIVE)
    elif kind == "uniform67":
        m["frequency"]["points"] = 67
    return cfg


def measure(seed: int, window: dict, kind: str, out: Path) -> dict:
    path = run(config(seed, window, kind), sim=True, out=out / f"s{seed}_{kind}_{window.get('start_hz', 0):.0f}.h5")
    d = read_run(path)
    t_map = float(np.max(d.data["time"]) - np.max(d.tables["dvdi"]["time"]))  # the map part (after the dV/dI)
    truth = DeviceModel(**{k: d.sample[k] for k in DeviceModel().params()})
    an = analyze(path)
    pb = an.per_bias
    true = np.array([truth.torkances_at(np.pi / 2, v) for v in pb["bias_voltage_v"]]) / TORKANCE_UNIT_J_PER_V
    z_par = (pb["dtau_par_dv"] - true[:, 0]) / pb["dtau_par_dv_err"]
    z_perp = (pb["dtau_perp_dv"] - true[:, 1]) / pb["dtau_perp_dv_err"]
    return {
        "t_map": t_map, "t_total": float(d.attrs["bench_time_s"]), "points": int(d.data["vmix"].size),
        "err_par": float(np.median(pb["dtau_par_dv_err"])), "err_perp": float(np.median(pb["dtau_perp_dv_err"])),
        "fit_par": float(np.median(pb["dtau_par_dv_fit_err"])), "fit_perp": float(np.median(pb["dtau_perp_dv_fit_err"])),
        "z_par": float(np.max(np.abs(z_par))), "z_perp": float(np.max(np.abs(z_perp))),
        "tork_rel": float(np.median(np.abs(pb["dtau_par_dv_err"] / pb["dtau_par_dv"]))),
        "mean_z_par": float(np.mean(z_par)), "mean_z_perp": float(np.mean(z_perp)), "n_bias": len(pb),
    }


def _line(label, r, ref):
    return (f"  {label:10s} map {r['t_map']:6.0f} s ({r['t_map'] / ref['t_map']:.3f}), {r['points']:5d} points;"
            f" error ratio par {r['err_par'] / ref['err_par']:.3f} perp {r['err_perp'] / ref['err_perp']:.3f};"
            f" fit share ratio par {r['fit_par'] / ref['fit_par']:.3f} perp {r['fit_perp'] / ref['fit_perp']:.3f};"
            f" max|z| par {r['z_par']:.2f} perp {r['z_perp']:.2f}; mean z par {r['mean_z_par']:+.2f}"
            f" perp {r['mean_z_perp']:+.2f}")


def compare(seed: int, window: dict, name: str, out: Path) -> dict:
    runs = {k: measure(seed, window, k, out) for k in ("uniform", "adaptive", "uniform67")}
    u = runs["uniform"]
    print(f"{name}, seed {seed}: uniform 201 map {u['t_map']:.0f} s; median torkance errors par {u['err_par']:.3g}"
          f" perp {u['err_perp']:.3g} (fit share par {u['fit_par']:.3g}, perp {u['fit_perp']:.3g}) (hbar/2e)/kOhm;"
          f" {u['n_bias']} biases")
    for k in ("uniform", "adaptive", "uniform67"):
        print(_line(k, runs[k], u))
    return runs


def main():
    print("torkance errors in the analysis's unit, (hbar/2e)/kOhm (per-bias medians); z = (estimate - truth) / error")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for seed in (1, 2, 3):
            compare(seed, PAPER, "paper's 2-14 GHz", out)
        for seed in (1, 2, 3):
            compare(seed, WIDE, "wide 5-12.5 GHz", out)
        compare(1, NARROW, "narrow +-1.2 GHz", out)


if __name__ == "__main__":
    main()
