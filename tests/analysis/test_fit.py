"""Lineshape fits against the forward model: recovery, robustness, honest errors, batch = single."""

import dataclasses
import math

import numpy as np
import pytest
from scipy.optimize import curve_fit

from stfmr_lab.analysis import (
    FieldSweepFit,
    SpectrumFit,
    fit_field_sweep,
    fit_field_sweeps,
    fit_spectra,
    fit_spectrum,
    lineshape,
)
from stfmr_lab.physics import ERG_PER_J, DeviceModel

NAMES = ("f0_hz", "hwhm_hz", "v_sym", "v_asym", "offset")


@pytest.fixture(scope="module")
def flat():
    """Paper device on a frequency-flat path: its spectra are exact Lorentzians plus a constant."""
    return DeviceModel.preset("paper", loss_db_per_ghz=0.0)


def analytic(model, field_oe, current_a, power_dbm=-10.0, frequency_hz=9e9):
    """(f0, hwhm, v_sym, v_asym, offset) of the forward model at one frequency's I_RF."""
    theta = model.theta(field_oe)
    f0, hwhm = model.resonance(field_oe, current_a)
    _, omega_perp = model.kittel(field_oe)
    r_d = model.differential_resistance(theta, current_a)
    irf2 = model.i_rf(frequency_hz, power_dbm, r_d) ** 2
    par, perp = model.torkances(field_oe, current_a)
    amp = 0.5 * model.d2v_dtheta_di(theta, current_a) * irf2 * model.gamma / (2 * model.ms_vol_emu * 2 * np.pi * hwhm)
    v_sym = amp * par * r_d * ERG_PER_J
    v_asym = -amp * omega_perp * perp * r_d * ERG_PER_J
    offset = 0.25 * model.d2v_di2(theta, current_a) * irf2
    return np.array([f0, hwhm, v_sym, v_asym, offset], dtype=float)


def sweep(model, field_oe, n=201, widths=6.5):
    f0, hwhm = model.resonance(field_oe, 0.0)
    return np.linspace(f0 - widths * hwhm, f0 + widths * hwhm, n)


def values(fit, names=NAMES):
    return np.array([getattr(fit, k) for k in names])


def close(got, want, rel=1e-6):
    """f0, hwhm relative to themselves; amplitudes relative to the resonance amplitude."""
    scale = np.array([abs(want[0]), abs(want[1])] + [math.hypot(want[2], want[3])] * 3)
    return np.max(np.abs(np.asarray(got) - want) / scale) <= rel


# ------------------------------------------------------------------------------------ recovery
@pytest.mark.parametrize("field_oe", [800.0, 1000.0, 1200.0])
@pytest.mark.parametrize("current_a", [-1.3e-4, 0.0, 6e-5])
def test_recovers_device_model_spectrum(flat, field_oe, current_a):
    f = sweep(flat, field_oe)
    fit = fit_spectrum(f, flat.vmix(f, field_oe, current_a, -10.0))
    assert fit.ok, fit.message
    want = analytic(flat, field_oe, current_a)
    assert fit.f0_hz == pytest.approx(want[0], rel=1e-6)
    assert fit.hwhm_hz == pytest.approx(want[1], rel=1e-6)
    assert close(values(fit), want, rel=1e-6)
    assert fit.slope == 0.0 and "slope" not in fit.stderr
    assert fit.n_points == f.size and fit.param_names == ("f0_hz", "hwhm_hz", "offset", "v_sym", "v_asym")
    assert np.allclose(fit.model(f), flat.vmix(f, field_oe, current_a, -10.0), rtol=0, atol=1e-9 * abs(want[2:]).max())


def test_recovers_with_slope_and_off_centre_sweep(flat):
    f0, hwhm = flat.resonance(1000.0, 1e-4)
    f = np.linspace(f0 - 3 * hwhm, f0 + 15 * hwhm, 150)  # resonance near one end
    y = flat.vmix(f, 1000.0, 1e-4, -10.0) + 2e-13 * (f - f0)
    fit = fit_spectrum(f, y, slope=True)
    assert fit.ok, fit.message
    assert fit.slope == pytest.approx(2e-13, rel=1e-6)
    assert close(values(fit), analytic(flat, 1000.0, 1e-4), rel=1e-6)


def test_irf2_normalisation_removes_path_skew():
    model = DeviceModel.preset("paper")  # 0.5 dB/GHz: I_RF^2 varies by ~ +-12 % across the sweep
    h, i = 1000.0, 1.2e-4
    theta = model.theta(h)
    f = sweep(model, h)
    v = model.vmix(f, h, i, -10.0)
    irf2 = model.i_rf(f, -10.0, model.differential_resistance(theta, i)) ** 2
    plain = fit_spectrum(f, v)
    norm = fit_spectrum(f, v, irf2=irf2)
    f0, hwhm = model.resonance(h, i)
    assert norm.ok and norm.normalised and not plain.normalised
    assert norm.f0_hz == pytest.approx(f0, rel=1e-9)
    assert norm.hwhm_hz == pytest.approx(hwhm, rel=1e-9)
    assert norm.offset == pytest.approx(0.25 * model.d2v_di2(theta, i), rel=1e-9)  # V/A^2 = Ohm/A
    want = analytic(model, h, i, frequency_hz=f[0])
    i0 = model.i_rf(f[0], -10.0, model.differential_resistance(theta, i)) ** 2
    assert norm.v_sym == pytest.approx(want[2] / i0, rel=1e-9)
    assert norm.v_asym == pytest.approx(want[3] / i0, rel=1e-9)
    assert abs(plain.hwhm_hz / hwhm - 1) > 1e-3  # the skew the normalisation removes is real


def random_case(rng):
    f0 = rng.uniform(2e9, 20e9)
    hwhm = f0 * rng.uniform(0.003, 0.05)
    n = int(rng.integers(60, 400))
    span = hwhm * rng.uniform(6, min(100, n / 2))
    lo = f0 - span * rng.uniform(0.1, 0.9)
    f = np.linspace(lo, lo + span, n)
    amp = rng.uniform(1e-6, 1e-3) * rng.choice([-1, 1])
    phi = rng.uniform(0, 2 * np.pi)
    truth = dict(
        f0=f0,
        hwhm=hwhm,
        v_sym=amp * np.cos(phi),
        v_asym=amp * np.sin(phi),
        offset=rng.normal(0, 3) * abs(amp),
        slope=rng.normal(0, 1) * abs(amp) / span,
    )
    return f, truth, abs(amp)


@pytest.mark.parametrize("with_slope", [False, True])
def test_converges_for_random_spectra_anywhere_any_sign_any_mix(with_slope):
    rng = np.random.default_rng(20240611 + with_slope)
    for _ in range(100):
        f, t, amp = random_case(rng)
        y = lineshape(f, t["f0"], t["hwhm"], t["v_sym"], t["v_asym"], t["offset"], t["slope"] if with_slope else 0.0)
        y = y + rng.normal(0, 0.01 * amp, f.size)
        fit = fit_spectrum(f, y, slope=with_slope)
        assert fit.ok, (fit.message, t)
        e = fit.stderr
        assert e["f0_hz"] < 0.05 * t["hwhm"] and e["hwhm_hz"] < 0.05 * t["hwhm"], t  # a meaningful check
        assert abs(fit.f0_hz - t["f0"]) < 6 * e["f0_hz"], t
        assert abs(fit.hwhm_hz - t["hwhm"]) < 6 * e["hwhm_hz"], t
        assert abs(fit.v_sym - t["v_sym"]) < 6 * e["v_sym"] and abs(fit.v_asym - t["v_asym"]) < 6 * e["v_asym"], t


def test_noise_free_random_spectra_exact():
    rng = np.random.default_rng(7)
    for _ in range(30):
        f, t, amp = random_case(rng)
        y = lineshape(f, t["f0"], t["hwhm"], t["v_sym"], t["v_asym"], t["offset"])
        fit = fit_spectrum(f, y)
        assert fit.ok
        want = np.array([t["f0"], t["hwhm"], t["v_sym"], t["v_asym"], t["offset"]])
        assert close(values(fit), want, rel=1e-7), t


# ------------------------------------------------------------------------------------ errors
@pytest.mark.parametrize("with_slope", [False, True])
def test_errors_are_honest(flat, with_slope):
    """(estimate - truth) / stderr over 300 noisy spectra has unit spread for every parameter."""
    rng = np.random.default_rng(11 + with_slope)
    sigma_noise = 3e-6
    f_rows, data, truth = [], [], []
    for h in (800.0, 1000.0, 1200.0):
        f = sweep(flat, h)
        for i in np.linspace(-1.3e-4, 1.3e-4, 10):
            clean = flat.vmix(f, h, i, -10.0)
            want = analytic(flat, h, i)
            for _ in range(10):
                f_rows.append(f)
                data.append(clean + rng.normal(0, sigma_noise, f.size))
                truth.append(want)
    fits = fit_spectra(np.array(f_rows), np.array(data), slope=with_slope)
    assert np.all(fits.ok)
    truth = np.array(truth)
    for j, name in enumerate(NAMES):
        pull = (getattr(fits, name) - truth[:, j]) / fits.stderr[name]
        assert np.std(pull) == pytest.approx(1.0, abs=0.3), name
        assert abs(np.mean(pull)) < 0.3, name
    if with_slope:
        pull = fits.slope / fits.stderr["slope"]
        assert np.std(pull) == pytest.approx(1.0, abs=0.3)
    # the residual estimates the noise variance
    assert np.median(fits.chi2_red) == pytest.approx(sigma_noise**2, rel=0.1)


# ------------------------------------------------------------------------------------ batch
MAP_CURRENTS = np.linspace(-1.3e-4, 1.3e-4, 7)


def noisy_map(model, fields=(800.0, 1000.0, 1200.0), currents=MAP_CURRENTS, noise=1e-6, seed=3):
    rng = np.random.default_rng(seed)
    f_rows, data = [], []
    for h in fields:
        f = sweep(model, h)
        for i in currents:
            f_rows.append(f)
            data.append(model.vmix(f, h, i, -10.0) + rng.normal(0, noise, f.size))
    return np.array(f_rows), np.array(data)


@pytest.mark.parametrize("with_slope", [False, True])
def test_batch_equals_single_fits(with_slope):
    # a flat path: the residuals are white (with the path's skew they are structured, and the
    # batch pools the correlated noise's spectrum shape over its spectra, one fit cannot)
    freqs, data = noisy_map(DeviceModel.preset("paper", loss_db_per_ghz=0.0))
    batch = fit_spectra(freqs, data, slope=with_slope)
    assert len(batch) == len(data)
    for k, (f, y) in enumerate(zip(freqs, data, strict=True)):
        single = fit_spectrum(f, y, slope=with_slope)
        assert close(values(batch[k]), values(single), rel=1e-9)
        assert batch[k].stderr["hwhm_hz"] == pytest.approx(single.stderr["hwhm_hz"], rel=1e-4)
        assert batch[k].ok == single.ok


def test_batch_matches_curve_fit():
    """Same answers as scipy's curve_fit run to tight tolerances from the same start."""
    freqs, data = noisy_map(DeviceModel.preset("paper"), currents=np.array([-1.2e-4, 0.0, 9e-5]))
    batch = fit_spectra(freqs, data, slope=False)

    def model(f, f0, hwhm, v_sym, v_asym, offset):
        return lineshape(f, f0, hwhm, v_sym, v_asym, offset)

    for k, (f, y) in enumerate(zip(freqs, data, strict=True)):
        f0, hwhm = f.mean(), (f[-1] - f[0]) / 10
        p0 = [f0, hwhm, y.max() - np.median(y), 0.0, np.median(y)]
        popt, _ = curve_fit(model, f, y, p0=p0, ftol=1e-14, xtol=1e-14)
        assert close(values(batch[k]), popt, rel=1e-6)


def test_batch_accepts_unequal_lengths_and_shared_axis(flat):
    f_a, f_b = sweep(flat, 1000.0, n=201), sweep(flat, 1200.0, n=131)
    y_a, y_b = flat.vmix(f_a, 1000.0, 5e-5, -10.0), flat.vmix(f_b, 1200.0, -5e-5, -10.0)
    fits = fit_spectra([f_a, f_b, f_a], [y_a, y_b, 2 * y_a])
    assert [r.n_points for r in fits] == [201, 131, 201]
    assert close(values(fits[1]), values(fit_spectrum(f_b, y_b, slope=True)), rel=1e-9)  # batch: a slope by default
    assert fits[2].v_sym == pytest.approx(2 * fits[0].v_sym, rel=1e-9)
    shared = fit_spectra(f_a, np.array([y_a, 2 * y_a]))  # one 1-D axis for all rows
    assert close(values(shared[1]), values(fits[2]), rel=1e-9)
    cols = shared.columns()
    assert set(cols) >= {"f0_hz", "f0_hz_err", "ok", "chi2_red"} and cols["v_sym"].shape == (2,)
    assert isinstance(shared[-1], SpectrumFit) and len(shared[0:2]) == 2


# ------------------------------------------------------------------------------------ options, failures
def test_weights_and_nan_drop_points(flat):
    f = sweep(flat, 1000.0)
    y = flat.vmix(f, 1000.0, 8e-5, -10.0)
    bad = y.copy()
    bad[50] += 1.0  # a glitch
    w = np.ones_like(f)
    w[50] = 0.0
    ref = fit_spectrum(np.delete(f, 50), np.delete(y, 50))
    weighted = fit_spectrum(f, bad, weights=w)
    bad[50] = np.nan
    nan = fit_spectrum(f, bad)
    assert weighted.n_points == nan.n_points == f.size - 1
    assert close(values(weighted), values(ref), rel=1e-9) and close(values(nan), values(ref), rel=1e-9)


def test_start_guess_and_window_refit(flat):
    f = np.linspace(6e9, 12e9, 601)
    y = flat.vmix(f, 1000.0, 0.0, -10.0)
    y = y + 0.3 * y.max() / (1 + ((f - 11.5e9) / 50e6) ** 2)  # a second, narrow mode
    y = y + np.random.default_rng(4).normal(0, 1e-6, f.size)  # (its far tail is below the noise in the window)
    want = analytic(flat, 1000.0, 0.0)
    win = fit_spectrum(f, y, f0_guess_hz=8.5e9, hwhm_guess_hz=2e8, window_hwhm=6)
    assert win.ok and win.n_points < f.size
    assert win.f0_hz == pytest.approx(want[0], rel=2e-4)
    assert win.hwhm_hz == pytest.approx(want[1], rel=2e-2)


def test_pure_noise_and_resonance_outside_are_not_ok(flat):
    rng = np.random.default_rng(5)
    f = np.linspace(5e9, 6e9, 201)
    noise = fit_spectrum(f, rng.normal(0, 1e-6, f.size))
    assert not noise.ok and noise.message != "ok"
    f0, hwhm = flat.resonance(1000.0, 0.0)
    f_out = np.linspace(f0 + 20 * hwhm, f0 + 40 * hwhm, 201)  # only the far tail
    tail = fit_spectrum(f_out, flat.vmix(f_out, 1000.0, 0.0, -10.0) + rng.normal(0, 1e-6, f_out.size))
    assert not tail.ok and tail.message != "ok"


def test_resolution_is_judged_near_the_line_not_by_the_mean_spacing():
    """A uniform sweep too coarse for the line is not ok; a sparse sweep with its points on
    the line (as an adaptive one places them) is, though its mean spacing exceeds the width."""
    from stfmr_lab.analysis.fit import RESOLUTION_MESSAGE

    f0, w = 8.6e9, 1.7e8
    rng = np.random.default_rng(2)

    def line(f):
        u = (f - f0) / w
        return 1e-6 * rng.standard_normal(f.size) + (1e-4 + 0.7e-4 * u) / (1 + u * u)

    coarse = np.linspace(2e9, 14e9, 31)  # 400 MHz spacing, width 170 MHz
    fc = fit_spectrum(coarse, line(coarse), f0_guess_hz=f0, hwhm_guess_hz=w)
    assert not fc.ok and RESOLUTION_MESSAGE in fc.message
    sparse = np.concatenate([np.linspace(2e9, 14e9, 13), f0 + w * np.linspace(-3, 3, 25)])  # mean spacing 320 MHz
    fs = fit_spectrum(sparse, line(sparse))
    assert fs.ok, fs.message
    assert abs(fs.hwhm_hz - w) < 4 * fs.stderr["hwhm_hz"]


def test_bad_input_raises():
    with pytest.raises(ValueError):
        fit_spectrum(np.arange(5.0), np.arange(5.0))  # too few points
    with pytest.raises(ValueError):
        fit_spectrum(np.arange(50.0), np.arange(49.0))
    with pytest.raises(ValueError):
        fit_spectrum(np.arange(50.0), np.arange(50.0), weights=-np.ones(50))
    with pytest.raises(ValueError):
        fit_spectrum(np.arange(50.0), np.arange(50.0), irf2=np.zeros(50))


def test_results_are_frozen(flat):
    f = sweep(flat, 1000.0)
    fit = fit_spectrum(f, flat.vmix(f, 1000.0, 0.0, -10.0))
    with pytest.raises(dataclasses.FrozenInstanceError):
        fit.f0_hz = 1.0
    assert fit.sigma_rad_s == pytest.approx(2 * np.pi * fit.hwhm_hz)


# ------------------------------------------------------------------------------------ field sweeps
def test_field_sweep_recovers_lorentzian_in_h():
    rng = np.random.default_rng(9)
    h = np.linspace(600.0, 1400.0, 161)
    truth = (1010.0, 37.0, -3e-4, 1.2e-4, 2e-5)
    y = lineshape(h, *truth)
    fit = fit_field_sweep(h, y)
    assert isinstance(fit, FieldSweepFit) and fit.ok
    assert np.allclose(values(fit, ("h0_oe", "dh_oe", "v_sym", "v_asym", "offset")), truth, rtol=1e-8, atol=1e-14)
    assert set(fit.stderr) == {"h0_oe", "dh_oe", "offset", "v_sym", "v_asym"}
    noisy = fit_field_sweeps(h, np.array([y + rng.normal(0, 1e-6, h.size) for _ in range(3)]), slope=True)
    assert all(r.ok for r in noisy)
    assert np.all(np.abs(noisy.h0_oe - truth[0]) < 5 * noisy.stderr["h0_oe"])
    assert np.allclose(noisy[0].model(h), y, atol=1e-5)


def test_field_sweep_of_device_model_finds_the_kittel_field(flat):
    f = 8.61e9
    h = np.linspace(700.0, 1300.0, 241)
    v = np.array([flat.vmix(f, hh, 0.0, -10.0) for hh in h])
    fit = fit_field_sweep(h, v)
    assert fit.ok
    f_at_h0, _ = flat.resonance(fit.h0_oe, 0.0)
    assert f_at_h0 == pytest.approx(f, rel=2e-3)
