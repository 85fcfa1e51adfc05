"""The shared tail of a line outside the sweep (``tails.find_tail``) on synthetic field groups."""

from __future__ import annotations

import numpy as np
import pytest

from stfmr_lab.analysis import fit_spectra
from stfmr_lab.analysis.tails import MIN_SPECTRA, ORDER, find_tail

F0, W = 8.0e9, 0.18e9
F = np.linspace(F0 - 1.2e9, F0 + 1.2e9, 161)


def _line(f, centre, width, v_sym, v_asym):
    u = (f - centre) / width
    s = 1.0 / (1.0 + u * u)
    return v_sym * s + v_asym * u * s


def _group(rng, second=0.2, m=21, noise=5e-9):
    """One field's spectra at m biases: the line's antisymmetric part and the background change
    with the bias (up to 4x the line); ``second``: a replica 2 GHz above, outside the sweep."""
    a = np.linspace(-1.0, 1.0, m)
    truth = np.stack([np.full(m, 1e-6), 1e-6 * a], axis=1)
    data = []
    for (vs, va), bg in zip(truth, 4e-6 * np.abs(a), strict=True):
        y = _line(F, F0, W, vs, va) + second * _line(F, F0 + 2.0e9, W, vs, va) + bg + 1e-16 * (F - F0)
        data.append(y + rng.normal(0.0, noise, F.size))
    return np.array(data), truth


def _corrected(data, tail):
    return fit_spectra(F, data - tail.curves, slope=True)


def test_a_replica_outside_the_sweep_is_found_and_its_bias_removed():
    rng = np.random.default_rng(5)
    data, truth = _group(rng)
    fits = fit_spectra(F, data, slope=True)
    before = np.abs(fits.v_sym / truth[:, 0] - 1)
    tail = find_tail(F, data, np.ones_like(data), list(fits))
    assert tail is not None and tail.p_value < 1e-3
    assert tail.centre_hz > F[-1]  # above the sweep
    after = _corrected(data, tail)
    dev = np.abs(after.v_sym / truth[:, 0] - 1)
    assert np.median(before) > 0.003  # the one-line fits are off by 0.4 % (up to 1.5 %)
    assert np.median(dev) < np.median(before) / 3
    # the stated errors (the tail's added) cover what is left
    k = ORDER.index("v_sym")
    err = np.hypot(np.sqrt(after.stderr["v_sym"] ** 2 + tail.extra_covariance[:, k, k]), tail.systematic[:, k])
    assert np.sqrt(np.mean(((after.v_sym - truth[:, 0]) / err) ** 2)) < 1.5
    # the one-line fits' errors did not
    assert np.sqrt(np.mean(((fits.v_sym - truth[:, 0]) / fits.stderr["v_sym"]) ** 2)) > 2  # 2.7


def test_no_tail_is_found_where_there_is_none():
    rng = np.random.default_rng(11)
    found = 0
    for _ in range(20):
        data, _ = _group(rng, second=0.0)
        fits = fit_spectra(F, data, slope=True)
        found += find_tail(F, data, np.ones_like(data), list(fits)) is not None
    assert found <= 1


def test_too_few_spectra_or_bad_data_give_no_tail():
    rng = np.random.default_rng(2)
    data, _ = _group(rng, m=MIN_SPECTRA - 1)
    fits = list(fit_spectra(F, data, slope=True))
    assert find_tail(F, data, np.ones_like(data), fits) is None
    data, _ = _group(rng)
    fits = list(fit_spectra(F, data, slope=True))
    bad = data.copy()
    bad[3, 10] = np.nan
    assert find_tail(F, bad, np.ones_like(data), fits) is None


@pytest.mark.parametrize("order", [slice(None), slice(None, None, -1)])
def test_the_tail_does_not_depend_on_the_frequency_order(order):
    rng = np.random.default_rng(5)
    data, _ = _group(rng)
    fits = list(fit_spectra(F, data, slope=True))
    a = find_tail(F, data, np.ones_like(data), fits)
    b = find_tail(F[order], data[:, order], np.ones_like(data), fits)
    assert a.centre_hz == b.centre_hz and a.ratio == pytest.approx(b.ratio, rel=1e-9)
    assert np.allclose(a.curves, b.curves)  # on the sorted frequencies


def test_a_tail_of_the_wrong_sign_is_not_a_neighbouring_mode():
    """A replica with a negative ratio (the spectra curve, but the other way than a mode driven
    like the main line) is not taken for one: something else is missing from the model."""
    rng = np.random.default_rng(5)
    data, _ = _group(rng, second=-0.2)
    fits = list(fit_spectra(F, data, slope=True))
    assert find_tail(F, data, np.ones_like(data), fits) is None
    data, _ = _group(rng, second=0.2)
    fits = list(fit_spectra(F, data, slope=True))
    assert find_tail(F, data, np.ones_like(data), fits).ratio > 0
