"""Adaptive frequency sampling on the simulated bench: where the points go, why, and what
the analysis makes of them."""

import copy

import numpy as np
import pytest

from stfmr_lab.analysis import analyze
from stfmr_lab.analysis.design import Line, design_status, select_points
from stfmr_lab.analysis.fit import fit_spectrum
from stfmr_lab.config import validate_run_config
from stfmr_lab.physics import TORKANCE_UNIT_J_PER_V, DeviceModel
from stfmr_lab.runner import run
from stfmr_lab.schema import ConfigError
from stfmr_lab.storage import read_run
from stfmr_lab.units import SAMPLE_REASONS
from tests.small_config import small_map


def _sweep(adaptive, frequency=None, **extra):
    m = {"type": "frequency_sweep", "field_oe": 1000, "bias_v": 0.3,
         "frequency": frequency or {"start_hz": 7.0e9, "stop_hz": 10.2e9, "points": 401}, "adaptive": adaptive}
    m.update(extra)
    return small_map(measurements=[m])


def test_design_picks_points_on_the_line_and_matches_a_uniform_sweep():
    line = Line(8.6e9, 1.7e8, 1.0, 0.7, 0.1)
    cand = np.linspace(5e9, 12.5e9, 801)
    f = np.linspace(5e9, 12.5e9, 15)
    uniform = np.linspace(5e9, 12.5e9, 201)
    assert not design_status(f, line, 1.0, uniform_f=uniform).done
    for _ in range(30):
        f = np.concatenate([f, cand[select_points(cand, f, line, 6)]])
        if design_status(f, line, 1.0, uniform_f=uniform).done:
            break
    assert design_status(f, line, 1.0, uniform_f=uniform).done
    assert f.size < 201 / 2  # far fewer points than the uniform sweep in a wide window
    assert np.count_nonzero(np.abs(f[15:] - line.f0) < 3 * line.w) > 0.4 * (f.size - 15)


def test_adaptive_sweep_records_why_and_stops_at_an_easy_target(tmp_path):
    # six coarse points leave one below f0 - 3 widths (8.1 GHz): a margin point is added; the
    # simulated lock-in noise is ~1e-5 of the line, so 5e-5 is a target reached in ~40 points
    cfg = _sweep({"coarse_points": 6, "batch": 4, "max_points": 120, "target_rel_err": 5e-5, "margin_hwhm": 3},
                 frequency={"start_hz": 8.0e9, "stop_hz": 11.0e9, "points": 601})
    path = run(cfg, sim=True, out=tmp_path / "a.h5")
    d = read_run(path)
    assert d.status == "complete"
    D = d.data
    reasons = set(np.unique(D["sample_reason"]).tolist())
    assert {SAMPLE_REASONS["coarse"], SAMPLE_REASONS["information"], SAMPLE_REASONS["margin"]} <= reasons
    assert 5 < D["vmix"].size < 120
    assert list(d.tables["spectra"]["adaptive"]) == [1]
    fit = fit_spectrum(D["frequency"], D["vmix"])
    assert fit.f0_hz == pytest.approx(8.6e9, rel=0.01)
    near = np.abs(D["frequency"] - fit.f0_hz) <= 3 * fit.hwhm_hz
    assert np.count_nonzero(near) > 0.5 * D["vmix"].size


def test_uniform_sweeps_record_reason_zero(tmp_path):
    path = run(small_map(), sim=True, out=tmp_path / "u.h5")
    d = read_run(path)
    assert np.all(d.data["sample_reason"] == 0)
    assert np.all(d.tables["spectra"]["adaptive"] == 0)


def test_adaptive_map_recovers_the_torkances(tmp_path):
    cfg = small_map()
    cfg["measurements"] = [
        {"type": "dvdi", "fields_oe": [900, 1100], "currents_a": {"start": -2.0e-4, "stop": 2.0e-4, "points": 41},
         "max_voltage_v": 0.5},
        {"type": "map", "fields_oe": [900, 1100], "biases_v": {"start": -0.3, "stop": 0.3, "points": 3},
         "bias_order": "alternating", "frequency": {"center": "kittel", "span_hz": 4.0e9, "points": 401},
         "adaptive": {"coarse_points": 15, "batch": 6, "max_points": 100, "match_uniform_points": 101}},
    ]
    path = run(cfg, sim=True, out=tmp_path / "map.h5")
    d = read_run(path)
    D = d.data
    seeded = D["sample_reason"] == SAMPLE_REASONS["seeded"]
    assert np.any(seeded)  # sweeps after the first at a field start from its fit
    assert D["vmix"].size < 6 * 100
    a = analyze(path)
    truth = DeviceModel(**{k: d.sample[k] for k in DeviceModel().params()})
    par0 = truth.torkances_at(np.pi / 2, 0.0)[0] / TORKANCE_UNIT_J_PER_V
    assert a.summary["dtau_par_dv_at_0"] == pytest.approx(par0, rel=0.02)
    pb = a.per_bias
    true_perp = np.array([truth.torkances_at(np.pi / 2, v)[1] for v in pb["bias_voltage_v"]]) / TORKANCE_UNIT_J_PER_V
    assert np.max(np.abs(pb["dtau_perp_dv"] - true_perp)) < 0.05 * par0
    assert a.per_spectrum["fit_ok"].all()


@pytest.mark.parametrize(
    ("adaptive", "message"),
    [
        ({"coarse_points": 15}, "exactly one of target_rel_err or match_uniform_points"),
        ({"target_rel_err": 0.01, "match_uniform_points": 201}, "exactly one of"),
        ({"match_uniform_points": 201, "coarse_points": 40, "max_points": 30}, "max_points"),
        ({"match_uniform_points": 201, "batch": 0}, "adaptive.batch"),
        ({"target_rel_err": -1}, "adaptive.target_rel_err"),
        ({"match_uniform_points": 201, "spacing": 3}, "unknown key"),
    ],
)
def test_bad_adaptive_configs_are_one_line_config_errors(adaptive, message):
    with pytest.raises(ConfigError, match=message) as e:
        validate_run_config(_sweep(adaptive))
    assert "\n" not in str(e.value)


def test_adaptive_plan_counts_the_point_budget():
    cfg = small_map()
    cfg["measurements"] = copy.deepcopy(cfg["measurements"])
    cfg["measurements"][1]["adaptive"] = {"match_uniform_points": 41, "max_points": 30}
    rc = validate_run_config(cfg)
    spectra = rc.plan.spectra
    assert all(s.points == 30 for s in spectra)
    assert all(s.frequencies_hz.size >= 401 for s in spectra)  # the candidate grid
