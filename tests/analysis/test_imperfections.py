"""Fits against a real bench's imperfections (the lab's note on them, at its sizes).

For each imperfection: of the fits that call themselves ok, at most 5 % are off by more than
4 of their stated errors (statistical and systematic combined), and the fitter either copes
(most fits ok) or says it cannot (not ok). Synthetic sweeps from ``imperfect`` (seeded).
"""

import math

import numpy as np
import pytest

from stfmr_lab.analysis import fit_field_sweep, fit_lines, fit_spectra, fit_spectrum
from stfmr_lab.analysis.lockin import lockin_phase, rotate
from tests.analysis.imperfect import NAMES, base, batch, lorentz, one_over_f, pulls

N = 80  # spectra per imperfection


def off_among_ok(fits, truth):
    """(fraction ok, fraction of the ok fits off by more than 4 combined errors)."""
    ok = np.array([ft.ok for ft in fits])
    bad = (pulls(fits, truth) > 4).any(axis=1)
    return ok.mean(), (bad[ok].mean() if ok.any() else 0.0)


def test_clean_spectra_are_ok_with_honest_errors():
    f, y, truth, _ = batch("clean", N, 10)
    fits = fit_spectra(f, y)
    frac_ok, off = off_among_ok(fits, truth)
    assert frac_ok >= 0.95 and off <= 0.05
    # the statistical errors alone have unit spread (the structure checks do not inflate clean fits)
    est = np.array([[getattr(ft, k) for k in NAMES] for ft in fits])
    err = np.array([[ft.stderr[k] for k in NAMES] for ft in fits])
    assert np.std((est - truth) / err) == pytest.approx(1.0, abs=0.25)
    assert np.all(fits.n_outliers == 0)


def test_linear_drift_of_half_the_amplitude():
    f, y, truth, _ = batch("drift", N, 11)
    frac_ok, off = off_among_ok(fit_spectra(f, y), truth)  # a slope by default
    assert frac_ok >= 0.9 and off <= 0.05
    # a constant background cannot: its fits say so (or their errors cover the bias)
    frac_ok_c, off_c = off_among_ok(fit_spectra(f, y, slope=False), truth)
    assert off_c <= 0.05 and frac_ok_c < 0.5


def test_quadratic_baseline():
    f, y, truth, _ = batch("quadratic", N, 12)
    frac_ok, off = off_among_ok(fit_spectra(f, y), truth)
    assert off <= 0.05 and frac_ok < 0.2  # the slope model sees its residuals structured
    frac_ok2, off2 = off_among_ok(fit_spectra(f, y, background_order=2), truth)  # on request
    assert frac_ok2 >= 0.9 and off2 <= 0.05


def test_standing_wave_ripple():
    f, y, truth, extra = batch("ripple", N, 13)
    frac_ok, off = off_among_ok(fit_spectra(f, y), truth)
    assert off <= 0.05
    # divided by the measured I_RF^2(f) (a background reference sweep), the ripple is gone
    irf2 = np.array([e["irf2"] for e in extra])
    fits = fit_spectra(f, y, irf2=irf2)
    frac_ok_n, off_n = off_among_ok(fits, truth)  # the I_RF^2 shape is relative: amplitudes unchanged
    assert frac_ok_n >= 0.9 and off_n <= 0.05 and frac_ok_n > frac_ok


def test_second_mode_two_linewidths_away():
    f, y, truth, extra = batch("second_mode", N, 14)
    one = fit_spectra(f, y)
    frac_ok, off = off_among_ok(one, truth)
    assert frac_ok <= 0.03 and off <= 0.05  # a one-line fit of a two-line sweep: not ok
    # fit_lines finds both and fits them together
    found, mains = [], []
    for i in range(0, N, 3):
        lines = fit_lines(f[i], y[i])
        found.append(len(lines))
        mains.append(min(lines, key=lambda ft: abs(ft.f0_hz - truth[i, 0])))
        second = max(lines, key=lambda ft: ft.f0_hz)
        assert abs(second.f0_hz - extra[i]["second"]["f0_hz"]) < 0.5 * truth[i, 1]
    assert np.mean(np.array(found) == 2) >= 0.9
    frac_ok_l, off_l = off_among_ok(mains, truth[::3])
    assert frac_ok_l >= 0.8 and off_l <= 0.05


def test_one_over_f_noise():
    f, y, truth, _ = batch("one_over_f", N, 15)
    fits = fit_spectra(f, y)
    frac_ok, off = off_among_ok(fits, truth)
    assert frac_ok >= 0.2 and off <= 0.05
    assert np.median(fits.error_inflation) > 1.5  # the white-noise errors were too small; inflated


def test_spikes():
    f, y, truth, _ = batch("spikes", N, 16)
    fits = fit_spectra(f, y)
    frac_ok, off = off_among_ok(fits, truth)
    assert frac_ok >= 0.85 and off <= 0.05
    assert np.median(fits.n_outliers) >= 2  # 2-5 spikes per sweep, dropped


def test_lockin_phase_offset_found_and_removed():
    """X = V cos(phi), Y = V sin(phi), phi 5-20 deg fixed per setup: the phase from the pooled
    (X, Y) points; fits of the rotated signal are honest, fits of X alone under-read."""
    rng = np.random.default_rng(17)
    f, v, truth, _ = batch("clean", 40, 17)
    for phi_deg in (5.0, 12.0, 20.0):
        phi = math.radians(phi_deg)
        sigma = 1e-6
        x = v * math.cos(phi) + rng.normal(0, sigma, v.shape)
        y = v * math.sin(phi) + rng.normal(0, sigma, v.shape)
        est, err = lockin_phase(x, y, groups=np.repeat(np.arange(v.shape[0]), v.shape[1]))
        assert abs(est - phi) < 4 * err and err < math.radians(0.5)
        frac_ok, off = off_among_ok(fit_spectra(f, rotate(x, y, est)), truth)
        assert frac_ok >= 0.9 and off <= 0.05
        if phi_deg == 20.0:  # X alone: the amplitudes 6 % low, far outside their errors
            assert off_among_ok(fit_spectra(f, x), truth)[1] > 0.5


def _field_sweep(rng, h0=820.0, dh=60.0):
    """0 -> +1.4 kOe then 0 -> -1.4 kOe: a line at each polarity (S flips sign), an offset
    step at zero, drifts, glitches near zero."""
    hp, hn = np.linspace(0, 1400, 141), -np.linspace(0, 1400, 141)
    amp = 1e-4
    phi = rng.uniform(0, 2 * np.pi)
    vs, va = amp * np.cos(phi), amp * np.sin(phi)

    def sig(h):
        return lorentz(h, h0, dh, vs, va) + lorentz(h, -h0, dh, -vs, va)

    c0 = rng.normal(0, 2e-5)
    yp = sig(hp) + c0 + rng.normal(0, 2e-8) * hp + rng.normal(0, 1e-6, hp.size)
    yn = sig(hn) + c0 + rng.uniform(2e-5, 5e-5) + rng.normal(0, 2e-8) * hn + rng.normal(0, 1e-6, hn.size)
    h, y = np.concatenate([hp, hn]), np.concatenate([yp, yn])
    near0 = np.flatnonzero(np.abs(h) < 150)
    glitch = rng.choice(near0, 3, replace=False)
    y[glitch] += rng.choice([-1, 1], 3) * rng.uniform(1e-4, 1e-3, 3)
    return h, y, (h0, dh, vs, va)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fit_lines_field_sweep_through_zero(seed):
    rng = np.random.default_rng(seed)
    h, y, (h0, dh, vs, va) = _field_sweep(rng)
    lines = fit_lines(h, y, axis="field")
    assert len(lines) == 2 and lines[0].h0_oe < 0 < lines[1].h0_oe  # sorted by centre
    for ft, sign in zip(lines, (-1, 1), strict=True):
        assert ft.ok, ft.message
        assert set(ft.stderr_sys) == set(ft.stderr) >= {"h0_oe", "dh_oe", "v_sym", "v_asym"}
        # each line like a careful windowed fit with a slope on its own side
        sel = (np.sign(h) == sign) & (np.abs(h - sign * h0) < 6 * dh)
        ref = fit_field_sweep(h[sel], y[sel], slope=True)
        assert ref.ok
        for k in ("h0_oe", "dh_oe", "v_sym", "v_asym"):  # (fit_lines uses the whole sweep: its errors are smaller)
            assert abs(getattr(ft, k) - getattr(ref, k)) < 2.0 * ref.stderr[k], k
            assert ft.stderr[k] <= 1.25 * ref.stderr[k], k
        # and the truth (S flips sign with the field)
        assert abs(ft.h0_oe - sign * h0) < 4 * ft.stderr["h0_oe"]
        assert abs(ft.v_sym - sign * vs) < 4 * math.hypot(ft.stderr["v_sym"], ft.stderr_sys["v_sym"])
    assert sum(ft.n_outliers for ft in lines[:1]) >= 2  # the glitches near zero were dropped
    # a one-line fit of the whole sweep is not ok (the other polarity is structure)
    assert not fit_field_sweep(h, y, slope=True).ok


def test_fit_lines_finds_one_line_in_a_clean_sweep_and_rejects_bad_input():
    f, y, truth, _ = batch("clean", 10, 18)
    counts = [len(fit_lines(f[i], y[i])) for i in range(10)]
    assert counts.count(1) >= 9
    single = fit_spectrum(f[0], y[0], slope=True)
    line = fit_lines(f[0], y[0])[0]
    assert line.f0_hz == pytest.approx(single.f0_hz, abs=0.1 * single.stderr["f0_hz"])
    with pytest.raises(ValueError):
        fit_lines(f[0], y[0], axis="time")
    with pytest.raises(ValueError):
        fit_lines(f[0][:5], y[0][:5])


def _curved(kind, n, seed, curve=0.0):
    """Sweeps of ``imperfect.base`` with white noise, plus (``kind`` 'curve') a quadratic
    background of ``curve`` times the line amplitude (the slow drift's curve under the line:
    the note's 0.1-5 uV over a sweep), or (``kind`` '1/f') 1/f noise as well."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        f, y, truth, amp, sigma = base(rng)
        x = (f - f.mean()) / (f[-1] - f[0])
        y = y + rng.normal(0, sigma, f.size) + curve * amp * rng.choice([-1, 1]) * (4 * x * x - 1 / 3)
        if kind == "1/f":
            y = y + one_over_f(rng, f.size, sigma)
        rows.append((f, y, [truth[k] for k in NAMES]))
    return np.array([r[0] for r in rows]), np.array([r[1] for r in rows]), np.array([r[2] for r in rows])


def _signed_pulls(fits, truth, with_sys=True):
    est = np.array([[getattr(ft, k) for k in NAMES] for ft in fits])
    stat = np.array([[ft.stderr[k] for k in NAMES] for ft in fits])
    sys = np.array([[ft.stderr_sys[k] for k in NAMES] for ft in fits])
    return (est - truth) / (np.hypot(stat, sys) if with_sys else stat), sys / stat


def test_systematic_covers_a_curved_background_the_slope_model_misses():
    # a curve of 5 % of the amplitude biases the slope model's fits by 1-3.5 of their
    # statistical errors; the shift to the quadratic model, beyond its own noise, covers it
    f, y, truth = _curved("curve", 120, 21, curve=0.05)
    fits = fit_spectra(f, y)
    stat_only, _ = _signed_pulls(fits, truth, with_sys=False)
    combined, _ = _signed_pulls(fits, truth)
    rms_stat, rms = np.sqrt(np.mean(stat_only**2, axis=0)), np.sqrt(np.mean(combined**2, axis=0))
    assert rms_stat.max() > 2.5
    assert np.all((rms > 0.6) & (rms < 1.3)), rms
    # the single-spectrum path gives the batch path's systematic errors on the same spectrum
    for i in range(3):
        one, batch_one = fit_spectrum(f[i], y[i], slope=True), fit_spectra(f[i : i + 1], y[i : i + 1])[0]
        for k in NAMES:
            assert one.stderr_sys[k] == pytest.approx(batch_one.stderr_sys[k], rel=1e-4, abs=1e-6 * one.stderr[k])


@pytest.mark.parametrize("kind", ["white", "1/f"])
def test_systematic_is_zero_on_clean_spectra_in_most_fits(kind):
    # constant background, white (or white + 1/f) noise: a shift to another background or
    # window is counted only beyond its own noise (1/f included), so most fits carry none
    # and the combined errors are not the noise counted twice
    f, y, truth = _curved(kind, 120, 22)
    fits = fit_spectra(f, y)
    combined, ratio = _signed_pulls(fits, truth)
    assert np.all(np.median(ratio, axis=0) == 0.0)
    assert np.mean(ratio > 0) < 0.2
    assert np.all(np.sqrt(np.mean(combined**2, axis=0)) > 0.85)


# ---------------------------------------------------------------------------------------- field sweeps through zero
def _bilayer_sweep(model, frequency_hz, rng, points=301, noise_v=200e-9):
    """A heavy-metal / ferromagnet strip's field sweep through zero (-H0 - 12 Delta ->
    +H0 + 12 Delta): a line per polarity, each on its own side of zero, an offset step."""
    h_max = model.resonance_field_oe(frequency_hz) + 12 * model.linewidth_oe(frequency_hz)
    h = np.concatenate([np.linspace(-h_max, -1.0, points), np.linspace(1.0, h_max, points)])
    v = model.vmix(h, frequency_hz, i_rf_a=6e-3) + 0.3e-6 + np.where(h < 0, 0.2e-6, 0.0)
    return h, v + rng.normal(0, noise_v, h.size)


@pytest.mark.parametrize("seed", [300, 301, 302])
def test_fit_lines_calls_no_low_field_background_a_line(seed):
    """The low-field region of a bilayer sweep (the lines' tails meeting the step at zero, a
    steep background where the film is not yet saturated, a glitch as the supply switches
    polarity) is background: two lines, at +-H0, at 4 and 6 GHz (where H0 is a few
    hundred Oe: the earlier search called that region one or two more lines)."""
    from tests.analysis.test_sot import random_model

    rng = np.random.default_rng(seed)
    m = random_model(rng)
    for f in (4e9, 6e9):
        h, v = _bilayer_sweep(m, f, rng)
        v = v + 3e-6 * np.tanh(h / 3.0) * np.exp(-np.abs(h) / 5.0)
        v[np.argmin(np.abs(h - 2.0))] += 40e-6
        lines = fit_lines(h, v, axis="field")
        h0, dh = m.resonance_field_oe(f), m.linewidth_oe(f)
        assert len(lines) == 2, [(ft.h0_oe, ft.dh_oe) for ft in lines]
        for ft, sign in zip(lines, (-1, 1), strict=True):
            assert ft.ok, ft.message
            assert abs(ft.h0_oe - sign * h0) < 4 * ft.stderr["h0_oe"] + 0.01 * dh
            assert ft.dh_oe == pytest.approx(dh, rel=0.15)  # (the DC-free linewidth: both polarities alike)


def test_fit_lines_systematic_errors_at_the_field_sweeps_cubic_background():
    """stderr_sys (spread over background orders and windows) is there at order 3, the
    order the analysis uses for field sweeps, also on a coarse sweep (131 points through
    +-1300 Oe, as the small bilayer map): the earlier fitter gave none there. A background
    the cubic misses (a quartic of 3 uV) shifts every parameter beyond its noise; one it
    holds (a quadratic) moves none beyond it, and none is counted (the single-line rule)."""
    from stfmr_lab.bilayer import BilayerModel

    m = BilayerModel.preset("py_pt")
    h = np.linspace(-1300, 1300, 131)
    for curve, missed in (((h / 1300) ** 4 * 3e-6, True), ((h / 1300) ** 2 * 1e-6, False)):
        rng = np.random.default_rng(5)
        v = m.vmix(h, 6e9, i_rf_a=6e-3) + curve + rng.normal(0, 100e-9, h.size)
        lines = fit_lines(h, v, axis="field", background_order=3)
        assert len(lines) == 2
        for ft in lines:
            for k in ("h0_oe", "dh_oe", "v_sym", "v_asym"):
                assert (ft.stderr_sys[k] > 0) == missed, (k, missed)


def test_fit_lines_search_basis_follows_the_weights():
    """The line search projects its trial lines off the background weighted as the points
    are now (a dropped spike has weight 0): its gain is the drop of the weighted residual sum
    of squares that a least-squares fit of background + S + A at the trial centre and width
    gives. (The search built that basis once, before spikes found on a line's flank were
    dropped.)"""
    from stfmr_lab.analysis import lines as lines_module

    rng = np.random.default_rng(8)
    u = np.linspace(-1, 1, 201)
    y = 1.0 / (1.0 + ((u - 0.3) / 0.05) ** 2) + 0.2 * u + rng.normal(0, 0.02, u.size)
    sw = np.ones_like(u)
    sw[[40, 41, 120]] = 0.0  # spikes dropped
    bcols, _ = lines_module._background(u, 1, None)
    c, w, vs, va, gain = lines_module._scan(u, y, sw, bcols, [0.04, 0.06, 0.09])
    x = (u - c) / w
    s = 1.0 / (1.0 + x * x)

    def rss(cols):
        coef = np.linalg.lstsq(cols * sw[:, None], y * sw, rcond=None)[0]
        r = sw * (y - cols @ coef)
        return r @ r

    assert gain == pytest.approx(rss(bcols) - rss(np.column_stack([bcols, s, x * s])), rel=1e-9)
    assert abs(c - 0.3) < 0.05


def test_fit_lines_with_a_random_walk_drift_has_honest_errors():
    """A slow background drift is a random walk in sweep order: with ``drift=True`` the fit
    models it (generalised least squares) and its errors cover the truth, tighter than the
    white-noise fit's 1/f-inflated ones."""
    from stfmr_lab.bilayer import BilayerModel

    rng = np.random.default_rng(9)
    m = BilayerModel.preset("py_pt")
    f = 8e9
    h0, dh = m.resonance_field_oe(f), m.linewidth_oe(f)
    pull, err_drift, err_white = [], [], []
    for _ in range(12):
        h, v = _bilayer_sweep(m, f, rng, points=151, noise_v=100e-9)
        v = v + np.cumsum(rng.normal(size=h.size)) * 3e-6 / np.sqrt(h.size)  # 3 uV rms over the sweep
        walk = fit_lines(h, v, axis="field", background_order=3, drift=True)
        white = fit_lines(h, v, axis="field", background_order=3)
        assert len(walk) == 2
        for ft, ref in zip(walk, white, strict=True):
            sign = np.sign(ft.h0_oe)
            pull += [(ft.h0_oe - sign * h0) / ft.stderr["h0_oe"], (ft.dh_oe - dh) / ft.stderr["dh_oe"]]
            err_drift.append(ft.stderr["dh_oe"])
            err_white.append(ref.stderr["dh_oe"])
    assert np.std(pull) == pytest.approx(1.0, abs=0.35) and np.max(np.abs(pull)) < 4
    assert np.median(err_drift) < 0.9 * np.median(err_white)


def test_fit_lines_takes_a_sweep_that_visits_each_frequency_twice():
    """An up/down sweep (or an adaptive sweep's repeated set point) has zero steps between
    equal abscissae: the point spacing is the step between distinct values, and the fit of
    the doubled sweep is the single sweep's, with errors smaller by about sqrt(2)."""
    rng = np.random.default_rng(5)
    f = np.linspace(7e9, 10e9, 201)
    truth = lorentz(f, 8.6e9, 0.17e9, 1e-4, 0.5e-4) + 3e-5 * lorentz(f, 9.0e9, 0.1e9, 1.0, 0.0)
    one = fit_lines(f, truth + rng.normal(0, 1e-6, f.size), axis="frequency")
    ff = np.concatenate([f, f[::-1]])
    both = fit_lines(ff, np.concatenate([truth, truth[::-1]]) + rng.normal(0, 1e-6, ff.size), axis="frequency")
    assert len(both) == len(one) == 2
    for a, b in zip(one, both, strict=True):
        assert b.f0_hz == pytest.approx(a.f0_hz, abs=5 * a.stderr["f0_hz"])
        assert 0.5 < b.stderr["f0_hz"] / a.stderr["f0_hz"] < 0.95


def test_fit_lines_systematic_errors_follow_the_single_line_fitters_rule():
    """fit_lines counts a background order's or a window's shift as a systematic only beyond
    two of its own (1/f-aware) noise sd, as fit_spectra does: on clean sweeps (a slope
    background, white noise) most lines carry none, so the noise is not counted twice (the
    earlier rule, any excess over a variance mixed from the largest parameter's 1/f factor,
    gave half of them one and pulls of 0.80-0.83); a 5 % curve under the line is still covered."""
    f, y, truth = _curved("white", 60, 31)
    lines = [fit_lines(f[i], y[i]) for i in range(len(f))]
    assert all(len(ls) == 1 for ls in lines)
    combined, ratio = _signed_pulls([ls[0] for ls in lines], truth)
    assert np.all(np.mean(ratio > 0, axis=0) < 0.3), np.mean(ratio > 0, axis=0)
    assert np.all(np.sqrt(np.mean(combined**2, axis=0)) > 0.85)
    f, y, truth = _curved("curve", 60, 32, curve=0.05)
    fits = [min(fit_lines(f[i], y[i]), key=lambda ft, t=truth[i][0]: abs(ft.f0_hz - t)) for i in range(len(f))]
    stat_only, _ = _signed_pulls(fits, truth, with_sys=False)
    combined, _ = _signed_pulls(fits, truth)
    assert np.sqrt(np.mean(stat_only**2, axis=0)).max() > 2.0  # the curve biases the slope model
    assert np.all(np.sqrt(np.mean(combined**2, axis=0)) < 1.3)
