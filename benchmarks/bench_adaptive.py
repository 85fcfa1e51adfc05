"""Adaptive frequency sampling against the uniform 201-point sweep: bench time and torkance errors.

For each seed, the same map (the demo's dV/dI calibration, then 800/1000/1200 Oe x 11
biases from -0.5 to 0.5 V) is run on the simulated bench twice: uniform frequency sweeps of
201 points over a wide window (5 to 12.5 GHz, the seed paper swept 2-14 GHz), and adaptive
sweeps in the same window told to match the uniform 201-point sweep's errors
(``match_uniform_points: 201``). Both are analysed by ``stfmr_lab.analysis.analyze``.
Printed per seed: the bench time of the map part (virtual clock), its ratio, the median
per-bias 1-sigma errors of dtau_par/dV and dtau_perp/dV, and the largest
|estimate - truth| / error. The same for a narrow window (+-1.2 GHz about the Kittel
frequency, +-7 linewidths) for one seed, where the design bound
(``bench_adaptive_bound``) says no saving is possible.

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


def config(seed: int, window: dict, adaptive: bool) -> dict:
    cfg = copy.deepcopy(BASE)
    cfg["simulation"]["seed"] = seed
    m = cfg["measurements"][1]
    m["frequency"] = dict(window)
    if adaptive:
        m["frequency"]["points"] = 401  # the candidate grid
        m["adaptive"] = dict(ADAPTIVE)
    return cfg


def measure(seed: int, window: dict, adaptive: bool, out: Path) -> dict:
    path = run(config(seed, window, adaptive), sim=True, out=out / f"s{seed}_{'a' if adaptive else 'u'}.h5")
    d = read_run(path)
    t_map = float(np.max(d.data["time"]) - np.max(d.tables["dvdi"]["time"]))  # the map part (after the dV/dI)
    truth = DeviceModel(**{k: d.sample[k] for k in DeviceModel().params()})
    an = analyze(path)
    pb, ps = an.per_bias, an.per_spectrum
    true = np.array([truth.torkances_at(np.pi / 2, v) for v in pb["bias_voltage_v"]]) / TORKANCE_UNIT_J_PER_V
    z_par = (pb["dtau_par_dv"] - true[:, 0]) / pb["dtau_par_dv_err"]
    z_perp = (pb["dtau_perp_dv"] - true[:, 1]) / pb["dtau_perp_dv_err"]
    return {
        "t_map": t_map, "t_total": float(d.attrs["bench_time_s"]), "points": int(d.data["vmix"].size),
        "err_par": float(np.median(pb["dtau_par_dv_err"])), "err_perp": float(np.median(pb["dtau_perp_dv_err"])),
        "z_par": float(np.max(np.abs(z_par))), "z_perp": float(np.max(np.abs(z_perp))),
        # the lineshape fit's own relative errors (what the design matches), per-spectrum medians
        "fit_vs": float(np.median(np.abs(ps["v_sym_per_irf2_err"] / ps["v_sym_per_irf2"]))),
        "fit_va": float(np.median(np.abs(ps["v_asym_per_irf2_err"] / ps["v_asym_per_irf2"]))),
        "fit_w": float(np.median(ps["hwhm_hz_err"] / ps["hwhm_hz"])),
        "tork_rel": float(np.median(np.abs(pb["dtau_par_dv_err"] / pb["dtau_par_dv"]))),
        "mean_z_par": float(np.mean(z_par)), "mean_z_perp": float(np.mean(z_perp)), "n_bias": len(pb),
    }


def _line(label, r):
    return (f"  {label:8s} map {r['t_map']:7.0f} s (run {r['t_total']:6.0f} s), {r['points']:5d} points;"
            f" median err par {r['err_par']:.3g} perp {r['err_perp']:.3g};"
            f" max|z| par {r['z_par']:.2f} perp {r['z_perp']:.2f}; mean z par {r['mean_z_par']:+.2f}"
            f" perp {r['mean_z_perp']:+.2f} ({r['n_bias']} biases)\n"
            f"           fit relative errors (medians): V_S {r['fit_vs']:.2e}, V_A {r['fit_va']:.2e}, w {r['fit_w']:.2e};"
            f" torkance relative error (median) {r['tork_rel']:.2e}")


def compare(seed: int, window: dict, name: str, out: Path) -> tuple[dict, dict]:
    u = measure(seed, window, False, out)
    a = measure(seed, window, True, out)
    print(f"{name} window, seed {seed}: bench-time ratio (map) {a['t_map'] / u['t_map']:.3f}, "
          f"(whole run) {a['t_total'] / u['t_total']:.3f}; error ratio adaptive/uniform: "
          f"par {a['err_par'] / u['err_par']:.3f}, perp {a['err_perp'] / u['err_perp']:.3f}; fit errors V_S "
          f"{a['fit_vs'] / u['fit_vs']:.2f}, V_A {a['fit_va'] / u['fit_va']:.2f}, w {a['fit_w'] / u['fit_w']:.2f}")
    print(_line("uniform", u))
    print(_line("adaptive", a))
    return u, a


def main():
    print("torkance errors in the analysis's unit, (hbar/2e)/kOhm (per-bias medians); z = (estimate - truth) / error")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for seed in (1, 2, 3):
            compare(seed, WIDE, "wide 5-12.5 GHz", out)
        compare(1, NARROW, "narrow +-1.2 GHz", out)


if __name__ == "__main__":
    main()
