"""Synthetic ST-FMR frequency sweeps with the imperfections of a real bench, at the sizes of
the lab's note on bench imperfections (seeded numpy; no product code).

A sweep: 201 points over f0 +- 6.5 HWHM (as the twin's maps), one line (f0 ~ 8.6 GHz,
HWHM ~ 170 MHz, any S/A mix), a non-resonant background 0-2.5x the line amplitude, and white
noise of 0.3-2 % of the line amplitude. ``truth`` holds the main line's parameters.
"""

from __future__ import annotations

import numpy as np

N_POINTS = 201
NAMES = ("f0_hz", "hwhm_hz", "v_sym", "v_asym")


def lorentz(f, f0, w, vs, va):
    u = (f - f0) / w
    s = 1.0 / (1.0 + u * u)
    return vs * s + va * u * s


def base(rng):
    """(f, clean line + offset, truth dict, amplitude, white-noise sigma)."""
    f0 = 8.6e9 + rng.normal(0, 20e6)
    w = 170e6 * rng.uniform(0.85, 1.15)
    f = np.linspace(8.6e9 - 6.5 * 170e6, 8.6e9 + 6.5 * 170e6, N_POINTS)
    amp = 1e-4
    phi = rng.uniform(0, 2 * np.pi)
    vs, va = amp * np.cos(phi), amp * np.sin(phi)
    offset = amp * rng.uniform(-2.5, 2.5)
    sigma = amp * rng.uniform(0.003, 0.02)
    truth = {"f0_hz": f0, "hwhm_hz": w, "v_sym": vs, "v_asym": va}
    return f, offset + lorentz(f, f0, w, vs, va), truth, amp, sigma


def one_over_f(rng, n, sigma):
    """1/f noise sampled at the sweep's points: its power per frequency bin equals the white
    noise's at 0.3 of the sampling rate (comparable to the white noise at the lock-in's
    time constant, points ~2 time constants apart), 1/f below: a one-line fit's white-noise
    errors come out 2-3x too small (what the lab saw)."""
    k = np.arange(1, n // 2 + 1)
    amp_k = np.sqrt(0.3 * n / k)  # relative to the white noise's per-bin amplitude
    spec = amp_k * (rng.normal(size=k.size) + 1j * rng.normal(size=k.size)) / np.sqrt(2)
    full = np.zeros(n // 2 + 1, complex)
    full[1:] = spec
    x = np.fft.irfft(full, n) * np.sqrt(n)
    return sigma * x


def sweep(rng, kind):
    """(f, data, truth, extra) for one imperfection ``kind`` ('clean', 'drift', 'quadratic',
    'ripple', 'second_mode', 'one_over_f', 'spikes'); ``extra`` holds what the
    imperfection was (the ripple's I_RF^2 factor, the second line's parameters)."""
    f, y, truth, amp, sigma = base(rng)
    x = (f - f.mean()) / (f[-1] - f[0])  # -0.5 .. 0.5
    extra = {}
    if kind == "drift":  # linear drift of half the amplitude over the sweep
        y = y + 0.5 * amp * rng.choice([-1, 1]) * x * 2
    elif kind == "quadratic":  # a quadratic baseline of half the amplitude
        y = y + 0.5 * amp * rng.choice([-1, 1]) * (4 * x * x - 1 / 3)
    elif kind == "ripple":  # standing waves: +-0.5..1.5 dB of I_RF^2, period 0.1-0.7 GHz
        db = rng.uniform(0.5, 1.5)
        period = rng.uniform(0.1e9, 0.7e9)
        gain = 10 ** (db * np.sin(2 * np.pi * f / period + rng.uniform(0, 2 * np.pi)) / 10)
        y = y * gain
        extra["irf2"] = gain
    elif kind == "second_mode":  # 10-30 % of the main amplitude, 2 linewidths (2 x 2 HWHM) above
        a2 = rng.uniform(0.1, 0.3) * amp
        phi2 = rng.uniform(0, 2 * np.pi)
        f2 = truth["f0_hz"] + 4.0 * truth["hwhm_hz"]
        y = y + lorentz(f, f2, truth["hwhm_hz"], a2 * np.cos(phi2), a2 * np.sin(phi2))
        extra["second"] = {
            "f0_hz": f2,
            "hwhm_hz": truth["hwhm_hz"],
            "v_sym": a2 * np.cos(phi2),
            "v_asym": a2 * np.sin(phi2),
        }
    elif kind == "one_over_f":
        y = y + one_over_f(rng, f.size, sigma)
    elif kind == "spikes":  # GPIB retries: a few isolated points far off
        idx = rng.choice(f.size, size=int(rng.integers(2, 6)), replace=False)
        y = y.copy()
        y[idx] += rng.choice([-1, 1], idx.size) * rng.uniform(20, 300, idx.size) * sigma
    elif kind != "clean":
        raise ValueError(kind)
    return f, y + rng.normal(0, sigma, f.size), truth, extra


def batch(kind, n, seed):
    rng = np.random.default_rng(seed)
    rows = [sweep(rng, kind) for _ in range(n)]
    f = np.array([r[0] for r in rows])
    y = np.array([r[1] for r in rows])
    truth = np.array([[r[2][k] for k in NAMES] for r in rows])
    return f, y, truth, [r[3] for r in rows]


def pulls(fits, truth):
    """|estimate - truth| / sqrt(stat^2 + sys^2) per fit (rows) and parameter (columns)."""
    est = np.array([[getattr(ft, k) for k in NAMES] for ft in fits])
    err = np.array([[np.hypot(ft.stderr[k], ft.stderr_sys.get(k, 0.0)) for k in NAMES] for ft in fits])
    return np.abs(est - truth) / err
