"""The single-spectrum path (``stfmr_lab.analysis.fit_one``) against the batch path and curve_fit.

``fit_spectrum`` / ``fit_field_sweep`` take the few-call path; ``fit_spectra`` on one row is
the batch path (grid-search start, batched Newton/LM, the same checks). Their answers must
agree; a spy on ``fit_one.fit`` makes sure the fast path answered (a silent fallback to the
batch path would make the comparison trivial).
"""

import math

import numpy as np
import pytest
from scipy.optimize import curve_fit

from stfmr_lab.analysis import fit as fitmod
from stfmr_lab.analysis import fit_field_sweep, fit_field_sweeps, fit_one, fit_spectra, fit_spectrum, lineshape
from stfmr_lab.analysis.fit import STRUCTURE_MESSAGE
from tests.analysis import imperfect

NAMES = ("f0_hz", "hwhm_hz", "v_sym", "v_asym", "offset")


@pytest.fixture
def spy(monkeypatch):
    """Records what ``fit_one.fit`` returned (None: it handed the spectrum to the batch path)."""
    calls = []
    real = fit_one.fit

    def recording(*args, **kwargs):
        out = real(*args, **kwargs)
        calls.append(out)
        return out

    monkeypatch.setattr(fit_one, "fit", recording)
    return calls


def line(rng, n=201, slope=0.0, quad=0.0, noise=0.01, shuffle=False):
    """(f, y, truth): one Lorentzian line, any S/A mix, on an offset (+ slope, quadratic), white noise."""
    f0 = 8.6e9 + rng.normal(0, 50e6)
    w = 170e6 * rng.uniform(0.6, 1.6)
    f = np.linspace(8.6e9 - 7 * 170e6, 8.6e9 + 6 * 170e6, n)
    phi = rng.uniform(0, 2 * np.pi)
    amp = 1e-4
    vs, va = amp * np.cos(phi), amp * np.sin(phi)
    off = amp * rng.uniform(-2, 2)
    x = (f - f.mean()) / np.ptp(f)
    y = (
        lineshape(f, f0, w, vs, va, off)
        + amp * (slope * x + quad * (4 * x * x - 1 / 3))
        + rng.normal(0, noise * amp, n)
    )
    if shuffle:
        idx = rng.permutation(n)
        f, y = f[idx], y[idx]
    return f, y, np.array([f0, w, vs, va, off])


def scaled_diff(a, b):
    """max |a - b| over the parameters, in units of b's standard errors."""
    return max(abs(getattr(a, k) - getattr(b, k)) / b.stderr[k] for k in NAMES)


@pytest.mark.parametrize("order", [0, 1, 2])
@pytest.mark.parametrize("weighted", [False, True])
def test_single_path_gives_the_batch_paths_answers(spy, order, weighted):
    rng = np.random.default_rng(10 + order + 5 * weighted)
    for i in range(8):
        f, y, _ = line(rng, slope=0.5 * (order >= 1), quad=0.3 * (order >= 2), shuffle=(i == 3))
        w = rng.uniform(0.5, 2.0, f.size) if weighted else None
        one = fit_spectrum(f, y, background_order=order, weights=w)
        batch = fit_spectra(f, y[None], background_order=order, weights=None if w is None else w[None])[0]
        assert spy[-1] is not None, "the single path handed over to the batch path"
        assert one.ok and batch.ok, (one.message, batch.message)
        assert scaled_diff(one, batch) < 1e-6
        for k in NAMES:  # parameters to ~1e-10 relative (amplitudes relative to the line's)
            scale = (
                abs(batch.f0_hz)
                if k == "f0_hz"
                else abs(batch.hwhm_hz)
                if k == "hwhm_hz"
                else math.hypot(batch.v_sym, batch.v_asym)
            )
            assert abs(getattr(one, k) - getattr(batch, k)) <= 1e-9 * scale
            # errors: from J^T J at the last evaluated iterate of each path (good to ~1e-4 of themselves)
            assert one.stderr[k] == pytest.approx(batch.stderr[k], rel=1e-4)
            assert one.stderr_sys[k] == pytest.approx(batch.stderr_sys[k], rel=1e-3, abs=1e-3 * batch.stderr[k])
        assert one.error_inflation == pytest.approx(batch.error_inflation, rel=1e-6)
        assert one.runs_z == pytest.approx(batch.runs_z, abs=1e-9)
        assert (one.n_points, one.n_outliers, one.param_names) == (batch.n_points, batch.n_outliers, batch.param_names)
        assert one.covariance.shape == batch.covariance.shape


@pytest.mark.parametrize("kind", ["second_mode", "quadratic", "spikes", "one_over_f"])
def test_single_path_verdicts_and_values_match_on_bench_imperfections(kind):
    """Fits that fail their checks, or hold spikes, come out as the batch path's: the same
    message, the same values (a fit failing only the structure check is the lower of its
    start's and the grid search's minima: the same one on these sweeps)."""
    f, y, _, _ = imperfect.batch(kind, 12, seed=5)
    n_not_ok = 0
    for i in range(len(y)):
        one = fit_spectrum(f[i], y[i])
        batch = fit_spectra(f[i], y[i][None], slope=False)[0]
        assert one.message == batch.message
        assert one.n_outliers == batch.n_outliers
        assert scaled_diff(one, batch) < 1e-5
        n_not_ok += not one.ok
    if kind in ("second_mode", "quadratic"):  # a constant background under these: structured residuals
        assert n_not_ok == len(y)


def test_a_fit_that_fails_other_checks_is_the_grid_searchs(spy):
    """Pure noise: the cheap start's fit is not significant, so the grid search decides, and
    the answer is exactly the batch path's (computed by the single path: no handover)."""
    rng = np.random.default_rng(3)
    f = np.linspace(8e9, 9e9, 201)
    answered = 0
    for _ in range(6):
        y = rng.normal(0, 1e-6, f.size)
        one = fit_spectrum(f, y)
        batch = fit_spectra(f, y[None], slope=False)[0]
        assert not one.ok and one.message == batch.message
        assert scaled_diff(one, batch) < 1e-6
        answered += spy[-1] is not None  # else a residual spike or no convergence: the batch path
    assert answered >= 3


def test_a_structured_fit_is_the_lower_of_the_start_and_the_grid_minimum(spy):
    """Standing-wave ripple (imperfect's 'ripple': +-0.5-1.5 dB of I_RF^2) gives a one-line
    model several minima; the cheap start's was a worse one than the grid search's in 10 of
    150 sweeps (chi2 up to 1.4x, f0 up to 36 standard errors off), and it was kept because
    only the structure check failed. Those fits are now the lower of the two minima: here
    the batch path's, values and verdicts."""
    rng = np.random.default_rng(77)
    rows = [imperfect.sweep(rng, "ripple") for _ in range(101)]
    for i in (3, 16, 54, 100):  # the draws whose start led to a worse minimum
        f, y = rows[i][0], rows[i][1]
        one = fit_spectrum(f, y, slope=True)
        assert spy[-1] is not None  # answered by the single path
        batch = fit_spectra(f, y[None])[0]
        assert not one.ok and one.message == batch.message == STRUCTURE_MESSAGE
        assert one.chi2_red <= batch.chi2_red * (1 + 1e-9)
        assert scaled_diff(one, batch) < 1e-5


def test_two_lines_are_not_ok_and_match_the_batch_path():
    rng = np.random.default_rng(4)
    f = np.linspace(8e9, 10e9, 201)
    y = lineshape(f, 8.7e9, 80e6, 1e-4, 2e-5) + lineshape(f, 9.3e9, 80e6, 6e-5, -3e-5) + rng.normal(0, 1e-6, f.size)
    one = fit_spectrum(f, y, slope=True)
    batch = fit_spectra(f, y[None])[0]
    assert not one.ok and STRUCTURE_MESSAGE in one.message
    assert one.message == batch.message and scaled_diff(one, batch) < 1e-6


def test_single_path_matches_curve_fit():
    rng = np.random.default_rng(7)

    def model(f, f0, w, vs, va, off):
        return lineshape(f, f0, w, vs, va, off)

    for _ in range(6):
        f, y, truth = line(rng)
        popt, _ = curve_fit(model, f, y, p0=truth * [1, 1.2, 0.8, 0.8, 1] + [1e7, 0, 0, 0, 0], ftol=1e-14, xtol=1e-14)
        ours = fit_spectrum(f, y)
        only = fit_one.fit(f, y, np.ones(f.size), 0, despike=False, checks=False)
        got = np.array([getattr(ours, k) for k in NAMES])
        fit_only = only.params[0][[0, 1, 3, 4, 2]]  # (centre, width, offset, v_sym, v_asym) -> NAMES order
        scale = np.array([popt[0], popt[1]] + [math.hypot(popt[2], popt[3])] * 3)
        assert np.max(np.abs(got - popt) / scale) < 1e-8
        assert np.max(np.abs(fit_only - popt) / scale) < 1e-8
        assert np.allclose(np.sqrt(np.diag(only.cov[0]))[[0, 1, 3, 4, 2]], [ours.stderr[k] for k in NAMES], rtol=1e-6)


def test_seeded_refits_converge_to_the_same_answer(spy):
    rng = np.random.default_rng(8)
    for order in (0, 1):
        f, y, _ = line(rng, slope=0.4 * order)
        first = fit_spectrum(f, y, background_order=order)
        again = fit_spectrum(f, y, background_order=order, previous=first)
        assert spy[-1] is not None
        assert again.ok and scaled_diff(again, first) < 1e-6
        # the adaptive design's way: the line from part of the sweep seeds the fit of all of it
        part = fit_spectrum(f[::3], y[::3], background_order=order)
        seeded = fit_spectrum(f, y, background_order=order, f0_guess_hz=part.f0_hz, hwhm_guess_hz=part.hwhm_hz)
        assert seeded.ok and scaled_diff(seeded, first) < 1e-6


def test_seeded_field_sweep_refit(spy):
    rng = np.random.default_rng(9)
    h = np.linspace(600.0, 1400.0, 161)
    y = lineshape(h, 1010.0, 35.0, -4e-5, 2e-5, 3e-6) + rng.normal(0, 4e-7, h.size)
    first = fit_field_sweep(h, y, slope=True)
    again = fit_field_sweep(h, y, slope=True, previous=first)
    batch = fit_field_sweeps(h, y[None])[0]
    assert spy[-1] is not None and first.ok and again.ok
    for k in ("h0_oe", "dh_oe", "v_sym", "v_asym", "offset"):
        assert abs(getattr(again, k) - getattr(first, k)) < 1e-6 * first.stderr[k]
        assert abs(getattr(first, k) - getattr(batch, k)) < 1e-6 * batch.stderr[k]


def test_a_bad_seed_falls_back(spy):
    """A seed near the sweep's start with a two-thousandth of the width leads nowhere useful:
    the fit falls back to the start search and returns the unseeded answer, ok."""
    rng = np.random.default_rng(11)
    f, y, truth = line(rng, noise=0.02)
    plain = fit_spectrum(f, y)
    guess = (f.min() + 1e6, 1e5)
    bad = fit_spectrum(f, y, f0_guess_hz=guess[0], hwhm_guess_hz=guess[1])
    assert plain.ok and bad.ok, bad.message
    assert scaled_diff(bad, plain) < 1e-6
    # without the fallback the same seed gives a fit that is not ok (the batch path from the guess)
    seeded_batch = fitmod._fit_group(f[None], y[None], np.ones((1, f.size)), 0, *guess)
    assert not fitmod._verdict(seeded_batch.take(0))[0]


@pytest.mark.parametrize("order", [0, 1, 2, 3])
@pytest.mark.parametrize("weighted", [False, True])
def test_newton_terms_equal_the_batch_evaluation(order, weighted):
    rng = np.random.default_rng(order)
    u = np.linspace(-1, 1, 151)
    y = rng.normal(0, 1, u.size)
    sw = rng.uniform(0.3, 1.5, u.size) if weighted else None
    theta = np.concatenate([[0.1, math.log(0.15), 0.3, 0.8, -0.4], rng.normal(0, 0.2, order)])
    got = fit_one.NewtonTerms(u, y, sw, order).terms(theta)
    want = fitmod._evaluate(u[None], y[None], None if sw is None else sw[None], theta[None], order)
    for g, w in zip(got, want, strict=True):
        assert np.allclose(g, w[0], rtol=1e-12, atol=1e-12 * np.max(np.abs(w[0])))
