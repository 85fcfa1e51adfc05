"""Adaptive frequency sampling on the simulated bench: where the points go, why, and what
the analysis makes of them."""

import copy
import math

import numpy as np
import pytest

from stfmr_lab.analysis import analyze
from stfmr_lab.analysis.design import Line, covariance, design_status, relative_errors, select_points
from stfmr_lab.analysis.fit import fit_field_sweep, fit_spectrum
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


@pytest.mark.parametrize(
    ("targets", "window", "most"),
    [
        (("tau_par", "tau_perp"), (2e9, 14e9), 80),  # the Fisher bound of this window: ~64 (70 with the margin)
        (("tau_par", "tau_perp"), (5e9, 12.5e9), 120),  # bound ~96 (104 with the margin)
        (("w", "v_sym", "v_asym"), (5e9, 12.5e9), 80),  # one by one (ignoring correlation): easier
    ],
)
def test_design_picks_points_on_the_line_and_matches_a_uniform_sweep(targets, window, most):
    line = Line(8.6e9, 1.7e8, 1.0, 0.7, 0.1)
    cand = np.linspace(*window, 801)
    f = np.linspace(*window, 15)
    uniform = np.linspace(*window, 201)
    status = design_status(f, line, 1.0, uniform_f=uniform, targets=targets)
    assert not status.done
    for _ in range(40):
        f = np.concatenate([f, cand[select_points(cand, f, line, 6, targets=targets, weights=list(status.ratio.values()))]])
        status = design_status(f, line, 1.0, uniform_f=uniform, targets=targets)
        if status.done:
            break
    assert status.done
    assert f.size < most  # far fewer points than the uniform sweep in a wide window
    assert np.count_nonzero(np.abs(f[15:] - line.f0) < 3 * line.w) > 0.4 * (f.size - 15)
    # "done" means: the targets' errors (covariance included) are no larger than the uniform sweep's
    c, cu = covariance(f, line), covariance(uniform, line)
    mine, theirs = relative_errors(c, line, 1.0, targets), relative_errors(cu, line, 1.0, targets)
    assert all(mine[k] <= theirs[k] * (1 + 1e-9) for k in targets)


def test_torkance_targets_include_the_amplitude_width_correlation():
    """The relative error of V_S w from the design's covariance equals a Monte Carlo of the
    fit's V_S and w over noisy spectra (the fitter's own errors are tested honest)."""
    line = Line(8.6e9, 1.7e8, 1.0, 0.7, 0.1)
    f = np.linspace(7e9, 10.2e9, 81)
    sigma = 0.01
    rel = relative_errors(covariance(f, line), line, sigma, ("w", "v_sym", "tau_par"))
    rng = np.random.default_rng(5)
    u = (f - line.f0) / line.w
    clean = line.offset + (line.v_sym + line.v_asym * u) / (1 + u * u)
    prods = []
    for _ in range(300):
        ft = fit_spectrum(f, clean + sigma * rng.standard_normal(f.size))
        prods.append(ft.v_sym * ft.hwhm_hz)
    mc = np.std(prods) / (line.v_sym * line.w)
    assert mc == pytest.approx(rel["tau_par"], rel=0.15)
    assert rel["tau_par"] < 0.9 * np.hypot(rel["w"], rel["v_sym"])  # negatively correlated


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
    path = d.instruments["path"]["settings"]
    gain = 10 ** (-(path["loss_db_0"] + path["loss_db_per_ghz"] * D["frequency"] / 1e9) / 10)
    fit = fit_spectrum(D["frequency"], D["vmix"], irf2=gain)  # as the sweep and the analysis fit
    assert fit.f0_hz == pytest.approx(8.6e9, rel=0.01)
    # the goal: V_S w and V_A w to 5e-5 (relative), as the fit of the recorded points says
    names = list(fit.param_names)
    i_w, i_s, i_a = names.index("hwhm_hz"), names.index("v_sym"), names.index("v_asym")
    for i_v in (i_s, i_a):
        g = np.zeros(len(names))
        g[i_w], g[i_v] = 1.0 / fit.hwhm_hz, 1.0 / getattr(fit, names[i_v])
        assert math.sqrt(g @ fit.covariance @ g) < 1.5 * 5e-5


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
        ({"match_uniform_points": 201, "targets": ["tau_par", "torque"]}, "adaptive.targets\\[1\\]: 'torque' is not one of"),
        ({"match_uniform_points": 201, "targets": []}, "adaptive.targets: expected a non-empty list"),
        ({"match_uniform_points": 201, "targets": ["w", "w"]}, "listed twice"),
    ],
)
def test_bad_adaptive_configs_are_one_line_config_errors(adaptive, message):
    with pytest.raises(ConfigError, match=message) as e:
        validate_run_config(_sweep(adaptive))
    assert "\n" not in str(e.value)


def test_adaptive_targets_default_to_the_torkances_and_can_be_the_parameters():
    rc = validate_run_config(_sweep({"match_uniform_points": 201}))
    assert rc.plan.spectra[0].adaptive["targets"] == ["tau_par", "tau_perp"]
    rc = validate_run_config(_sweep({"match_uniform_points": 201, "targets": ["f0", "w", "v_sym", "v_asym"]}))
    assert rc.plan.spectra[0].adaptive["targets"] == ["f0", "w", "v_sym", "v_asym"]


def test_adaptive_plan_counts_the_point_budget():
    cfg = small_map()
    cfg["measurements"] = copy.deepcopy(cfg["measurements"])
    cfg["measurements"][1]["adaptive"] = {"match_uniform_points": 41, "max_points": 30}
    rc = validate_run_config(cfg)
    spectra = rc.plan.spectra
    assert all(s.points == 30 for s in spectra)
    assert all(s.frequencies_hz.size >= 401 for s in spectra)  # the candidate grid


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_torkance_targets_do_not_depend_on_the_amplitudes_signs(sign):
    """V_A < 0 (one bias polarity) must get the same design as V_A > 0 mirrored: the
    relative error of V_A w is the same for the mirrored line and the mirrored points."""
    f = np.concatenate([np.linspace(2e9, 14e9, 15), 8.6e9 + 1.7e8 * np.linspace(-2, 2, 9)])
    line = Line(8.6e9, 1.7e8, 1.0, 0.7 * sign, 0.1)
    mirror = Line(8.6e9, 1.7e8, 1.0, -0.7 * sign, 0.1)
    r = relative_errors(covariance(f, line), line, 1.0, ("tau_perp",))["tau_perp"]
    r_m = relative_errors(covariance(2 * 8.6e9 - f, mirror), mirror, 1.0, ("tau_perp",))["tau_perp"]
    assert r == pytest.approx(r_m, rel=1e-9)
    # and it is the error of log|V_A w| from the covariance directly (no sign flip of the cross term)
    c, a = covariance(f, line), line.amplitude
    k = a / (0.7 * sign)  # d(V_A / a) -> dV_A / V_A
    direct = c[1, 1] + k**2 * c[3, 3] + 2 * k * c[1, 3]
    assert r == pytest.approx(np.sqrt(direct) / a, rel=1e-9)


def test_adaptive_field_sweep_places_fields_and_records_the_measured_field(tmp_path):
    """A field sweep with ``adaptive:``: a coarse pass, then fields chosen by the design; the
    rows carry the gaussmeter's field (not the set point), the fit finds the line where the
    uniform sweep does, and the field never leaves the window."""
    fields = {"start": 600, "stop": 1400, "points": 201}
    base = {"type": "field_sweep", "frequency_hz": 8.6e9, "bias_v": 0.3, "fields_oe": fields}
    uni = read_run(run(small_map(measurements=[base]), sim=True, out=tmp_path / "u.h5"))
    ada = read_run(run(small_map(measurements=[{**base, "adaptive": {"match_uniform_points": 201, "max_points": 201}}]),
                       sim=True, out=tmp_path / "a.h5"))
    assert ada.status == "complete" and ada.attrs["safe_state"] == "verified"
    D = ada.data
    assert list(ada.tables["spectra"]["adaptive"]) == [1]
    reasons = np.unique(D["sample_reason"]).tolist()
    assert SAMPLE_REASONS["coarse"] in reasons and SAMPLE_REASONS["information"] in reasons
    assert D["vmix"].size <= 201
    assert np.all((D["field"] > 595) & (D["field"] < 1405))
    # measured fields: read back through the gaussmeter, not exactly the candidates' set points
    cand = np.linspace(600, 1400, 401)
    assert np.min(np.abs(D["field"][:, None] - cand[None, :]), axis=1).max() > 0
    # the chosen fields crowd the line: more of them within 3 widths than a uniform sweep has
    # (at 0.3 V the rectified background follows theta(H) across 800 Oe: with a constant or a slope
    # the residuals are structured, and the fit says so)
    fu = fit_field_sweep(uni.data["field"], uni.data["vmix"], background_order=3)
    fa = fit_field_sweep(D["field"], D["vmix"], background_order=3)
    assert fa.ok, fa.message
    assert abs(fa.h0_oe - fu.h0_oe) < 0.5 * fu.dh_oe
    near = lambda h: np.mean(np.abs(h - fu.h0_oe) < 3 * fu.dh_oe)  # noqa: E731
    assert near(D["field"]) > 1.5 * near(uni.data["field"])


def test_adaptive_field_sweep_config_is_checked():
    m = {"type": "field_sweep", "frequency_hz": 8.6e9, "bias_v": 0.3, "fields_oe": {"start": 600, "stop": 1400, "points": 41},
         "adaptive": {"match_uniform_points": 101, "max_points": 80}}
    rc = validate_run_config(small_map(measurements=[m]))
    (item,) = rc.plan.spectra
    assert item.points == 80 and item.fields_oe.size == 401  # the budget; the candidate grid
    with pytest.raises(ConfigError, match="exactly one of"):
        validate_run_config(small_map(measurements=[{**m, "adaptive": {"max_points": 80}}]))


def test_resume_skips_the_adaptive_sweep_that_had_started(tmp_path):
    """An adaptive sweep's choices depend on the points before: a resumed run leaves the one
    it was in as it is and measures the sweeps after it."""
    import threading

    from stfmr_lab.runner import RunAborted
    from stfmr_lab.stream import RunStream

    m = {"type": "map", "fields_oe": [1000], "biases_v": [0.0, 0.2, -0.2],
         "frequency": {"start_hz": 7.0e9, "stop_hz": 10.2e9, "points": 401},
         "adaptive": {"coarse_points": 15, "batch": 6, "max_points": 100, "match_uniform_points": 101}}
    cfg = small_map(measurements=[m])
    stop = threading.Event()

    class Stopper:
        def row(self, table, row):
            if table == "data" and row["spectrum"] == 1 and row["sample_reason"] == SAMPLE_REASONS["margin"]:
                stop.set()  # part-way into the second sweep

    stream = RunStream()
    stream.subscribe(Stopper())
    with pytest.raises(RunAborted) as e:
        run(cfg, sim=True, out=tmp_path / "r.h5", stream=stream, stop_event=stop)
    before = read_run(e.value.path).data
    n1 = int(np.count_nonzero(before["spectrum"] == 1))
    assert 0 < n1 and np.count_nonzero(before["spectrum"] == 2) == 0
    run(cfg, sim=True, resume=e.value.path)
    d = read_run(e.value.path)
    assert d.status == "complete"
    assert int(np.count_nonzero(d.data["spectrum"] == 1)) == n1  # not continued
    assert np.count_nonzero(d.data["spectrum"] == 2) > 15  # the next sweep measured in full
