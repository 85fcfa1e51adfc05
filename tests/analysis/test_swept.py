"""Swept spectra: the lineshape fitted through the lock-in filter, with correlated noise."""

import numpy as np
import pytest
from scipy.special import gammainc

from stfmr_lab.analysis.fit import fit_spectrum, lineshape
from stfmr_lab.analysis.swept import fit_swept, response_matrix
from stfmr_lab.lockin_filter import FilterNoise

TAU, POLES = 0.03, 4
F = np.linspace(2e9, 14e9, 201)
TRUTH = {"f0_hz": 8.6e9, "hwhm_hz": 1.676e8, "v_sym": 3e-4, "v_asym": -2e-4, "offset": 2e-5}
NOISE_V = 3e-6


def _sweep(dt_tc, seed, x=F, read_frac=0.98):
    v = lineshape(x, TRUTH["f0_hz"], TRUTH["hwhm_hz"], TRUTH["v_sym"], TRUTH["v_asym"], TRUTH["offset"])
    ts = np.arange(x.size) * dt_tc * TAU
    tr = ts + read_frac * dt_tc * TAU
    rng = np.random.default_rng(seed)
    fn = FilterNoise(POLES)
    noise = np.array([fn.draw(dt_tc if i else 0.0, rng) for i in range(x.size)]) * NOISE_V
    return response_matrix(ts, tr, TAU, POLES) @ v + noise, ts, tr


def test_response_matrix_follows_the_analytic_ramp_response():
    """Fine steps of a ramp r t: the last reading is r (t P(n,t) - n tau P(n+1,t))."""
    dt = 1e-3 * TAU
    ts = np.arange(8000) * dt
    w = response_matrix(ts, ts[-1:] + dt, TAU, POLES)
    v = (ts + dt / 2) / TAU  # the ramp's value at each hold's midpoint, in units of r tau
    t_end = (ts[-1] + dt) / TAU
    want = t_end * gammainc(POLES, t_end) - POLES * gammainc(POLES + 1, t_end)
    want += v[0] * (1.0 - gammainc(POLES, t_end))  # the first value, held since long before
    assert (w @ v)[0] == pytest.approx(want, rel=1e-6)
    assert np.allclose(response_matrix(ts[:50], ts[:50] + dt, TAU, POLES).sum(axis=1), 1.0)


def test_swept_fit_has_no_lag_bias_and_honest_errors():
    """Steps every 1.5 time constants (a tenth of a stepped sweep's bench time): the naive
    fit of the readings is off by tens of its errors; the filter model is not, and its pulls
    spread as 1 over seeds."""
    pulls, naive_shift = [], []
    for seed in range(24):
        r, ts, tr = _sweep(1.5, seed)
        ft = fit_swept(F, r, ts, tr, TAU, POLES)
        assert ft.ok, ft.message
        pulls.append([(getattr(ft, k) - TRUTH[k]) / ft.stderr[k] for k in ("f0_hz", "hwhm_hz", "v_sym", "v_asym")])
        naive = fit_spectrum(F, r, slope=True)
        naive_shift.append((naive.f0_hz - TRUTH["f0_hz"]) / ft.stderr["f0_hz"])
    p = np.array(pulls)
    assert np.all(np.abs(p.mean(axis=0)) < 0.7)
    assert np.all((p.std(axis=0) > 0.6) & (p.std(axis=0) < 1.5))
    assert np.mean(np.abs(naive_shift)) > 10  # the lag the model removes


def test_up_down_pair_is_one_time_line():
    x = np.concatenate([F, F[::-1]])
    r, ts, tr = _sweep(1.5, 7, x=x)
    ft = fit_swept(x, r, ts, tr, TAU, POLES)
    single = fit_swept(F, *_sweep(1.5, 7)[:3], TAU, POLES)
    assert ft.ok
    assert abs(ft.f0_hz - TRUTH["f0_hz"]) < 4 * ft.stderr["f0_hz"]
    assert ft.stderr["f0_hz"] < single.stderr["f0_hz"]  # twice the readings


def test_bad_input():
    with pytest.raises(ValueError, match="one value per set point"):
        fit_swept(F, F[:-1], F, F, TAU, POLES)
    with pytest.raises(ValueError, match="axis"):
        fit_swept(F, F, F, F, TAU, POLES, axis="time")
    with pytest.raises(ValueError, match="set_times_s"):
        response_matrix([1.0, 0.0], [1.0, 2.0], TAU, POLES)
