"""The adaptive sweep's design (stfmr_lab/analysis/adaptive.py) driven by synthetic lines, no instrument."""

import numpy as np
import pytest

from stfmr_lab.analysis.adaptive import AdaptiveDesign
from stfmr_lab.analysis.design import Line, covariance, relative_errors
from stfmr_lab.analysis.fit import lineshape
from stfmr_lab.units import SAMPLE_REASONS as R

LINE = Line(8.6e9, 1.7e8, 1.0e-5, 0.7e-5, 1.0e-7)
CAND = np.linspace(5.0e9, 12.5e9, 401)
SETTINGS = {"coarse_points": 15, "batch": 6, "max_points": 120, "match_uniform_points": 201,
            "target_rel_err": None, "margin_hwhm": 6.0, "targets": ["tau_par", "tau_perp"]}


def drive(plan, line=LINE, noise_v=1e-8, seed=1, gain=None):
    """Measure what the design asks on a synthetic line with white noise; (points, reasons)."""
    rng = np.random.default_rng(seed)
    g = gain or (lambda x: np.ones(np.shape(x)))
    reasons = []
    while (batch := plan.ask()) is not None:
        xs, reason = batch
        for x in np.sort(xs):
            if plan.full:
                break
            v = g(x) * lineshape(x, line.f0, line.w, line.v_sym, line.v_asym, line.offset)
            plan.tell(x, v + noise_v * rng.standard_normal())
            reasons.append(reason)
    return np.asarray(plan.x), np.asarray(reasons)


def test_coarse_pass_then_information_points_on_the_line_until_the_uniform_sweep_is_matched():
    plan = AdaptiveDesign(CAND, SETTINGS)
    first, reason = plan.ask()
    assert reason == R["coarse"] and first.size == 15
    assert first[0] == CAND[0] and first[-1] == CAND[-1]  # the whole window
    assert plan.line is None and plan.width == pytest.approx((CAND[-1] - CAND[0]) / 40)
    for x in first:
        plan.tell(x, lineshape(x, LINE.f0, LINE.w, LINE.v_sym, LINE.v_asym, LINE.offset))
    _, reasons = drive(plan)
    assert set(np.unique(reasons)) <= {R["information"], R["margin"], R["coarse"]}
    assert R["information"] in reasons
    assert 15 < len(plan.x) < SETTINGS["max_points"]  # the goal reached before the budget
    assert plan.line.f0 == pytest.approx(LINE.f0, rel=1e-3) and plan.line.w == pytest.approx(LINE.w, rel=1e-2)
    assert np.all(np.isin(plan.x, CAND))  # only candidates are asked for
    # the chosen points crowd the line, and their errors match the uniform 201-point sweep's
    info = np.asarray(plan.x)[15:]
    assert np.mean(np.abs(info - LINE.f0) < 3 * LINE.w) > 0.4
    mine = relative_errors(covariance(plan.x, LINE), LINE, 1.0, ("tau_par", "tau_perp"))
    uniform = relative_errors(covariance(np.linspace(CAND[0], CAND[-1], 201), LINE), LINE, 1.0, ("tau_par", "tau_perp"))
    assert all(mine[k] <= 1.1 * uniform[k] for k in mine)


def test_budget_is_kept_and_a_seed_starts_around_the_previous_line():
    tight = {**SETTINGS, "max_points": 30, "match_uniform_points": 2001}
    plan = AdaptiveDesign(CAND, tight)
    drive(plan)
    assert len(plan.x) == 30 and plan.full
    seed = plan.seed_out()
    assert seed is not None and seed[0] == pytest.approx(LINE.f0, rel=1e-3)
    assert seed[3] == pytest.approx(1e-8, rel=0.5)  # the noise the fit found
    nxt = AdaptiveDesign(CAND, tight, seed=seed)
    pts, reason = nxt.ask()
    assert reason == R["seeded"]
    assert np.all(np.abs(pts - seed[0]) <= 3 * seed[1] + (CAND[1] - CAND[0]))
    assert nxt.width == seed[1]
    # before a fit, a step's lag is predicted from the seed's line, doubled
    step, noise = nxt.predicted_step(LINE.f0 - 5 * LINE.w, LINE.f0)
    u = lineshape(np.array([LINE.f0 - 5 * LINE.w, LINE.f0]), *seed[2].__dict__.values())
    assert step == pytest.approx(2 * abs(u[1] - u[0])) and noise == seed[3]


def test_a_window_with_no_line_ends_after_the_refills():
    plan = AdaptiveDesign(CAND, SETTINGS)
    flat = Line(8.6e9, 1.7e8, 0.0, 0.0, 1e-7)
    x, reasons = drive(plan, line=flat)
    assert set(reasons.tolist()) == {R["coarse"]}
    assert plan.line is None and plan.seed_out() is None
    assert plan.predicted_step(6e9, 7e9) is None  # nothing to predict a lag by
    assert 15 < len(x) <= SETTINGS["max_points"]  # the window filled in between, within the budget


def test_field_sweep_and_the_path_gain():
    fields = np.linspace(600.0, 1400.0, 401)
    line = Line(1000.0, 20.0, 2e-6, -1e-6, 0.0)
    plan = AdaptiveDesign(fields, {**SETTINGS, "max_points": 60}, sweep="field")
    drive(plan, line=line, noise_v=1e-9)
    assert plan.line.f0 == pytest.approx(1000.0, abs=0.5)
    # a frequency sweep through a lossy path: the design fits Vmix / gain, as the analysis does
    gain = lambda f: 10 ** (-(f / 1e9) / 10)  # noqa: E731  1 dB per GHz
    plan = AdaptiveDesign(CAND, SETTINGS, gain=gain)
    drive(plan, gain=gain)
    assert plan.line.v_sym == pytest.approx(LINE.v_sym, rel=1e-2)
    with pytest.raises(ValueError, match="sweep"):
        AdaptiveDesign(CAND, SETTINGS, sweep="bias")


# ------------------------------------------------------------------ swept coarse pass (acquisition: swept)
TAU, POLES = 0.03, 4


def drive_swept(plan, line=LINE, noise_v=1e-8, seed=1, dwell_tc=1.5, settle_tc=20.0):
    """The walker of a swept adaptive sweep on a synthetic line seen through the lock-in's
    filter (``lockin_filter.propagate``, its noise ``FilterNoise``): the swept passes a step
    every ``dwell_tc`` time constants, the other points ``settle_tc`` after their step."""
    from stfmr_lab.lockin_filter import FilterNoise, propagate

    rng = np.random.default_rng(seed)
    noise = FilterNoise(POLES)
    state, t, reasons = None, 0.0, []
    while (batch := plan.ask()) is not None:
        xs, reason = batch
        for x in np.sort(xs):
            if plan.full:
                break
            v = lineshape(x, line.f0, line.w, line.v_sym, line.v_asym, line.offset)
            wait = settle_tc if state is None or reason != R["swept"] else dwell_tc
            state = np.full(POLES, v) if state is None else propagate(state, v, wait)
            plan.tell(x, state[-1] + noise_v * noise.draw(wait, rng), t * TAU, (t + wait) * TAU)
            t += wait
            reasons.append(reason)
    return np.asarray(plan.x), np.asarray(reasons)


def test_record_information_weighs_swept_readings_below_settled_ones():
    from stfmr_lab.analysis.design import record_information
    from stfmr_lab.analysis.swept import whitened_map

    x = np.linspace(7.0e9, 10.2e9, 61)
    one = np.ones(x.size)
    settled = np.arange(x.size) * 30.0 * TAU  # 30 time constants apart: independent, settled readings
    _, m_settled = whitened_map(settled, settled + 29.0 * TAU, TAU, POLES)
    plain = np.linalg.inv(covariance(x, LINE))
    assert np.allclose(record_information(x, LINE, one, m_settled), plain, rtol=1e-4, atol=1e-9 * np.abs(plain).max())
    swept = np.arange(x.size) * 1.5 * TAU
    _, m_swept = whitened_map(swept, swept + 1.47 * TAU, TAU, POLES)
    through = np.linalg.inv(record_information(x, LINE, one, m_swept))
    for k, err in relative_errors(through, LINE, 1.0, ("tau_par", "tau_perp")).items():
        assert err > 1.2 * relative_errors(covariance(x, LINE), LINE, 1.0, (k,))[k]


def test_swept_design_reads_a_coarse_pass_through_the_filter_then_settled_points():
    swept = {**SETTINGS, "coarse_points": 101, "max_points": 250}
    plan = AdaptiveDesign(CAND, swept, lockin_filter=(TAU, POLES))
    first, reason = plan.ask()
    assert reason == R["swept"] and first.size == 101 and first[0] == CAND[0] and first[-1] == CAND[-1]
    with pytest.raises(ValueError, match="set_time_s and read_time_s"):
        plan.tell(first[0], 0.0)
    plan = AdaptiveDesign(CAND, swept, lockin_filter=(TAU, POLES))
    x, reasons = drive_swept(plan)
    assert np.count_nonzero(reasons == R["swept"]) == 101
    settled = reasons != R["swept"]
    assert R["information"] in reasons and 0 < np.count_nonzero(settled) < swept["max_points"] - 101
    assert np.all(np.flatnonzero(settled) > 100)  # the settled points after the pass
    # the design's fit (the whole record through the filter) has the line, and its errors match
    # the uniform 201-point stepped sweep's as the filter model weighs the record
    assert plan.line.f0 == pytest.approx(LINE.f0, rel=1e-3) and plan.line.w == pytest.approx(LINE.w, rel=1e-2)
    from stfmr_lab.analysis.design import record_information
    from stfmr_lab.analysis.swept import whitened_map

    _, m_w = whitened_map(plan.ts, plan.tr, TAU, POLES)
    mine = relative_errors(np.linalg.inv(record_information(x, LINE, np.ones(x.size), m_w)), LINE, 1.0, ("tau_par", "tau_perp"))
    uniform = relative_errors(covariance(np.linspace(CAND[0], CAND[-1], 201), LINE), LINE, 1.0, ("tau_par", "tau_perp"))
    assert all(mine[k] <= 1.1 * uniform[k] for k in mine)
    # the settled points alone would not: the swept pass's information counts
    alone = relative_errors(covariance(x[settled], LINE), LINE, 1.0, ("tau_par", "tau_perp"))
    assert any(alone[k] > 1.1 * uniform[k] for k in alone)
