"""The spike search of ``residuals`` against a direct, point-by-point statement of its rule."""

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from stfmr_lab.analysis.residuals import _MAD, _sliding_median, hampel_outliers, noise_from_differences


def _reference_hampel(y, good, half_window=3, n_sigma=8.0, floor=0.0):
    """The rule of ``hampel_outliers``'s docstring, one point at a time (NaN-aware medians)."""
    m, n = y.shape
    k = 2 * half_window + 1
    mask = np.zeros((m, n), dtype=bool)
    sigma = np.maximum(noise_from_differences(y, good), floor)
    yy = np.where(good, y, np.nan)
    for i in range(m):
        stand = 0.0
        for d in range(1, half_window + 1):
            for j in range(d, n - d):
                up, down = yy[i, j] - yy[i, j - d], yy[i, j] - yy[i, j + d]
                if up * down > 0 and np.isfinite(min(abs(up), abs(down))):
                    stand = max(stand, min(abs(up), abs(down)))
        if not stand > 0.5 * n_sigma * sigma[i]:
            continue
        for j in range(half_window, n - half_window):
            win = yy[i, j - half_window : j + half_window + 1]
            if not np.isfinite(yy[i, j]) or np.all(np.isnan(win)):
                continue
            med = np.nanmedian(win)
            mad = _MAD * np.nanmedian(np.abs(win - med))
            mask[i, j] = abs(yy[i, j] - med) > n_sigma * max(mad, sigma[i])
    assert k <= n
    return mask


@pytest.mark.parametrize("k", [3, 5, 7, 9])
def test_sliding_median_is_numpys_median(k):
    rng = np.random.default_rng(k)
    y = np.round(rng.normal(size=(6, 60)), 1)  # many ties
    n = y.shape[1]
    got = _sliding_median([y[:, j : j + n - k + 1] for j in range(k)])
    assert np.array_equal(got, np.median(sliding_window_view(y, k, axis=1), axis=2))


def test_hampel_outliers_follows_its_rule_on_lines_with_spikes_and_gaps():
    rng = np.random.default_rng(7)
    x = np.linspace(-1.0, 1.0, 81)
    found = 0
    for trial in range(16):
        m = 5
        centre = rng.uniform(-0.6, 0.6, (m, 1))
        width = rng.uniform(0.02, 0.3, (m, 1))
        y = rng.uniform(0.2, 1.0, (m, 1)) / (1 + ((x - centre) / width) ** 2) + rng.normal(0, 1e-3, (m, x.size))
        spikes = rng.random((m, x.size)) < 0.03  # isolated or in short runs, on flanks too
        y[spikes] += rng.choice([-1.0, 1.0], spikes.sum()) * rng.uniform(0.01, 0.5, spikes.sum())
        if trial % 4 == 0:
            y = np.round(y, 3)  # ties in the windows
        good = np.ones_like(y, dtype=bool) if trial % 2 else rng.random(y.shape) > 0.1
        got = hampel_outliers(y, good)
        assert np.array_equal(got, _reference_hampel(y, good))
        found += got.sum()
        assert not np.any(got & ~good)
    assert found > 8  # the comparison covered rows with spikes, not only clean ones
