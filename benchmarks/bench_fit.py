"""Benchmark: vectorised batch fitter vs ``scipy.optimize.curve_fit`` called per spectrum.

Builds a noisy 3-field x 41-bias x 201-point ST-FMR map from the paper-preset
``DeviceModel`` (-10 dBm, 1 uV Gaussian noise), fits it with ``fit_spectra`` (constant
background, the model curve_fit is given; and the default, with a slope) and with
per-spectrum ``curve_fit`` (same model, same start values: the batch fitter's grid-search
start, computed beforehand and not timed), and prints the times (best of 7, interleaved),
their ratios and the largest differences of the answers. curve_fit's default tolerances stop
~1e-3 standard errors short of the minimum (differences ~1e-5 relative); with
ftol = xtol = 1e-12 it gives the batch fitter's answers to ~1e-7.

``single_spectrum()`` times one spectrum (the GUI's live fit and the adaptive sweeps call
``fit_spectrum`` on each) against ``curve_fit`` with the same model from a naive start (centre
mid-sweep, width a tenth of the span, amplitude the data's peak) at its default tolerance, fit
only: our fit alone (cheap start + Newton/LM + covariance, checks off: the fair comparison),
``fit_spectrum`` with every check (spike searches, residual structure, 1/f errors,
systematics), the same seeded from a previous fit, the batch path on one row (the single path
before issue 17) and the fitter of commit ``BEFORE_CHECKS``; CPU time (``time.process_time``),
best of N interleaved, BLAS limited to one thread (threadpoolctl) or at numpy's default, with
the machine's load printed.

``before_checks()`` times ``fit_spectra`` on the map (default: sloped background, with every
check) against the fitter before the bench checks of issue 14 (commit 4f56c20, read with
``git show`` into a temporary directory and imported in this process), CPU time, best of N
interleaved, one BLAS thread.

Run: ``python -m benchmarks.bench_fit`` (from the repository root).
"""

from __future__ import annotations

import contextlib
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.optimize import curve_fit
from threadpoolctl import threadpool_limits

from benchmarks.conditions import describe
from stfmr_lab.analysis import fit as fitmod
from stfmr_lab.analysis import fit_one
from stfmr_lab.analysis.fit import _grid_start, fit_spectra, fit_spectrum, lineshape
from stfmr_lab.physics import DeviceModel

FIELDS_OE = (800.0, 1000.0, 1200.0)
CURRENTS_A = np.linspace(-1.3e-4, 1.3e-4, 41)
N_POINTS = 201
NOISE_V = 1e-6
POWER_DBM = -10.0
NAMES = ("f0_hz", "hwhm_hz", "v_sym", "v_asym", "offset")


def build_map(seed: int = 0):
    """(frequency_hz (m, n), vmix_v (m, n)): each sweep spans f0 +- 6.5 HWHM (zero-bias values)."""
    model = DeviceModel.preset("paper")
    rng = np.random.default_rng(seed)
    freqs, data = [], []
    for h in FIELDS_OE:
        f0, hwhm = model.resonance(h, 0.0)
        f = np.linspace(f0 - 6.5 * hwhm, f0 + 6.5 * hwhm, N_POINTS)
        for i in CURRENTS_A:
            freqs.append(f)
            data.append(model.vmix(f, h, i, POWER_DBM) + rng.normal(0.0, NOISE_V, N_POINTS))
    return np.array(freqs), np.array(data)


def _model(f, f0, hwhm, v_sym, v_asym, offset):
    return lineshape(f, f0, hwhm, v_sym, v_asym, offset)


def _jac(f, f0, hwhm, v_sym, v_asym, offset):
    x = (f - f0) / hwhm
    s = 1.0 / (1.0 + x * x)
    g = v_sym * (-2.0 * x * s * s) + v_asym * (s * s * (1.0 - x * x))
    return np.stack([-g / hwhm, -g * x / hwhm, s, x * s, np.ones_like(f)], axis=1)


def start_values(freqs, data):
    """The batch fitter's own start values (grid search), in physical units, order NAMES."""
    p0 = []
    for f, y in zip(freqs, data, strict=True):
        mid, hs = 0.5 * (f[0] + f[-1]), 0.5 * (f[-1] - f[0])
        ys = np.max(np.abs(y - np.median(y)))
        th = _grid_start((f - mid) / hs, y[None, :] / ys, np.ones_like(f), False)[0]
        p0.append([mid + hs * th[0], hs * np.exp(th[1]), ys * th[3], ys * th[4], ys * th[2]])
    return np.array(p0)


def run_curve_fit(freqs, data, p0, jac=False, tol=None):
    """curve_fit per spectrum; ``tol`` sets ftol = xtol (default: scipy's 1.49e-8)."""
    kw = {} if tol is None else {"ftol": tol, "xtol": tol}
    out = []
    for f, y, p in zip(freqs, data, p0, strict=True):
        popt, _ = curve_fit(_model, f, y, p0=p, jac=_jac if jac else None, **kw)
        out.append(popt)
    return np.array(out)


def rel_diff(a, ref):
    """|a - ref|: f0, hwhm relative to themselves; v_sym, v_asym, offset relative to hypot(v_sym, v_asym)."""
    d = np.abs(a - ref)
    d[:, :2] /= np.abs(ref[:, :2])
    d[:, 2:] /= np.hypot(ref[:, 2], ref[:, 3])[:, None]
    return d


def main(repeat: int = 7) -> dict:
    freqs, data = build_map()
    m, n = data.shape
    p0 = start_values(freqs, data)
    t_start0 = time.perf_counter()
    start_values(freqs, data)
    t_start = time.perf_counter() - t_start0
    runs = {
        "batch": lambda: fit_spectra(freqs, data, slope=False),  # the model curve_fit is given
        "batch_default": lambda: fit_spectra(freqs, data),  # a slope, as analyze() fits
        "cf": lambda: run_curve_fit(freqs, data, p0),
        "cf_tight": lambda: run_curve_fit(freqs, data, p0, tol=1e-12),
        "cf_jac": lambda: run_curve_fit(freqs, data, p0, jac=True),
        "cf_jac_tight": lambda: run_curve_fit(freqs, data, p0, jac=True, tol=1e-12),
    }
    best = dict.fromkeys(runs, np.inf)
    results = {}
    for _ in range(repeat):  # interleaved, best of `repeat`: robust to other load on the machine
        for key, fn in runs.items():
            t0 = time.perf_counter()
            results[key] = fn()
            best[key] = min(best[key], time.perf_counter() - t0)
    fits = results["batch"]
    batch = np.array([getattr(fits, k) for k in NAMES]).T
    stderr = np.array([fits.stderr[k] for k in NAMES]).T
    print(
        f"map: {m} spectra x {n} points (3 fields x 41 biases), -10 dBm, noise {NOISE_V * 1e6:g} uV; "
        f"fits ok: {int(np.sum(fits.ok))} of {m} with a constant background, "
        f"{int(np.sum(results['batch_default'].ok))} with the default slope (the path's 0.5 dB/GHz skew, not "
        "divided out here, leaves structured residuals at this 500:1 signal)"
    )
    print(
        f"batch fit_spectra, constant background (grid-search start + vectorised Newton/LM): {best['batch'] * 1e3:7.1f} ms"
    )
    print(
        f"batch fit_spectra, default (sloped background): {best['batch_default'] * 1e3:7.1f} ms "
        f"({best['batch_default'] / best['batch']:.2f}x); both with the spike search, the residual structure "
        "checks, the 1/f error model and the systematic errors"
    )
    print(
        "curve_fit per spectrum, from the batch fitter's start values (their "
        f"{t_start * 1e3:.0f} ms per-spectrum grid search not counted):"
    )
    labels = {
        "cf": "finite-difference jac, default tolerances",
        "cf_tight": "finite-difference jac, ftol = xtol = 1e-12",
        "cf_jac": "analytic jac, default tolerances",
        "cf_jac_tight": "analytic jac, ftol = xtol = 1e-12",
    }
    out = {"t_batch": best["batch"], "t_batch_default": best["batch_default"]}
    for key, label in labels.items():
        d = rel_diff(batch, results[key])
        print(
            f"  {label:44s} {best[key] * 1e3:7.1f} ms  ratio {best[key] / best['batch']:5.1f}x  "
            f"max rel. difference {d.max():.1e}"
        )
        out[key] = (best[key], d.max())
    print("max relative difference batch vs the tight finite-difference curve_fit, per parameter")
    print("(f0, hwhm relative to themselves; v_sym, v_asym, offset relative to hypot(v_sym, v_asym)):")
    d = rel_diff(batch, results["cf_tight"])
    sig = np.abs(batch - results["cf_tight"]) / stderr
    for j, k in enumerate(NAMES):
        print(f"  {k:8s} {d[:, j].max():.1e}   ({sig[:, j].max():.1e} standard errors)")
    return out


def naive_start(f, y):
    """curve_fit's start as a user would write it: centre mid-sweep, width a tenth of the span,
    the symmetric amplitude the data's largest excursion from its median, offset the median."""
    med = np.median(y)
    return [0.5 * (f[0] + f[-1]), 0.1 * (f[-1] - f[0]), y[np.argmax(np.abs(y - med))] - med, 0.0, med]


def _batch_path_one(f, y, slope=False):
    """``fit_spectrum``'s answer by the batch path alone (the single-spectrum path before issue 17:
    grid-search start, batch Newton/LM, the same checks), packaged the same way."""
    order = int(slope)
    xg, yg, wg = fitmod._prepare(f[None], y[None], np.ones((1, f.size)), None)
    with fitmod._blas_threads():
        raw = fitmod._fit_group(xg, yg, wg, order)
    return fitmod._package_one(raw.take(0), fitmod.SpectrumFits, False)


def _fit_only(f, y, guess=None):
    """Our fit alone, constant background (no spike search, residual checks, 1/f errors or
    systematics): cheap start (or ``guess`` = (f0, hwhm)) + Newton/LM + covariance; physical params."""
    cg, wg = guess if guess is not None else (None, None)
    raw = fit_one.fit(f, y, np.ones(f.size), 0, cg, wg, despike=False, checks=False)
    return raw.params[0]


def _cf_params(popt):
    """curve_fit's (f0, hwhm, v_sym, v_asym, offset) in NAMES order."""
    return np.asarray(popt)


def single_spectrum(repeat: int = 200, rows=(61, 0), blas_limit: bool = True) -> dict:
    """CPU time of one 201-point spectrum, best of ``repeat``, interleaved, against curve_fit
    (same model, naive start, default tolerance, fit only) on each of ``rows`` of the map
    (61: 1000 Oe, zero bias, a fit that passes its checks; 0: 800 Oe, -0.13 mA, whose residuals
    are structured at this 500:1 signal with the path's skew not divided out, so its fit is not
    ok). Ours: the fit alone (checks off, as curve_fit), the default ``fit_spectrum`` (every
    check), the same seeded with the previous fit's f0 and hwhm (as the adaptive design refits),
    the batch path on one row (the single-spectrum path before issue 17: grid-search start, same
    checks), and ``fit_spectrum`` of commit ``BEFORE_CHECKS`` (before issue 14's checks).
    ``blas_limit``: numpy's BLAS limited to one thread while timing (else the default threads)."""
    freqs, data = build_map()
    old = load_before_checks()
    out = {}
    ctx = threadpool_limits(limits=1, user_api="blas") if blas_limit else contextlib.nullcontext()
    with ctx:
        cond = describe()
        print(f"one spectrum, {N_POINTS} points, CPU time, best of {repeat}, interleaved; {cond}")
        for row in rows:
            f, y = freqs[row], data[row]
            p0 = naive_start(f, y)
            first = fit_spectrum(f, y)
            seed = {"f0_guess_hz": first.f0_hz, "hwhm_guess_hz": first.hwhm_hz}
            runs = {
                "curve_fit": lambda f=f, y=y, p0=p0: curve_fit(_model, f, y, p0=p0)[0],
                "fit_only": lambda f=f, y=y: _fit_only(f, y),
                "fit_spectrum": lambda f=f, y=y: fit_spectrum(f, y),
                "seeded": lambda f=f, y=y, seed=seed: fit_spectrum(f, y, **seed),
                "batch_path": lambda f=f, y=y: _batch_path_one(f, y),
            }
            if old is not None:
                runs[f"fit_{BEFORE_CHECKS}"] = lambda f=f, y=y: old.fit_spectrum(f, y)
            results = {k: fn() for k, fn in runs.items()}
            best = dict.fromkeys(runs, np.inf)
            for _ in range(repeat):
                for key, fn in runs.items():
                    t0 = time.process_time()
                    fn()
                    best[key] = min(best[key], time.process_time() - t0)
            cf = results["curve_fit"]
            diff = {
                "fit_only": rel_diff(results["fit_only"][[0, 1, 3, 4, 2]][None], cf[None]).max(),
                **{k: rel_diff(np.array([[getattr(results[k], n) for n in NAMES]]), cf[None]).max()
                   for k in runs if k not in ("curve_fit", "fit_only")},
            }  # fmt: skip
            fit = results["fit_spectrum"]
            print(f"  row {row}: fit_spectrum ok={fit.ok} ({fit.message})")
            for key in runs:
                extra = "" if key == "curve_fit" else f"  {best[key] / best['curve_fit']:5.2f}x curve_fit's time"
                d = f", max rel. difference to curve_fit {diff[key]:.0e}" if key in diff else ""
                print(f"    {key:16s} {best[key] * 1e3:6.3f} ms{extra}{d}")
            out[row] = {k: best[k] for k in runs} | {"ok": fit.ok}
    out["conditions"] = cond
    return out


BEFORE_CHECKS = "4f56c20"  # the fitter before issue 14's bench checks


def load_before_checks():
    """The fitter of commit ``BEFORE_CHECKS`` (``git show`` into a temporary directory, imported
    in this process), or None without a git checkout."""
    root = Path(__file__).resolve().parent.parent
    try:
        src = subprocess.run(
            ["git", "show", f"{BEFORE_CHECKS}:stfmr_lab/analysis/fit.py"], cwd=root, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        print(f"fitter of {BEFORE_CHECKS}: not available (no git checkout): comparison skipped")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fit_before_checks.py"
        path.write_bytes(src)
        spec = importlib.util.spec_from_file_location("fit_before_checks", path)
        old = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = old  # dataclasses look their module up
        spec.loader.exec_module(old)
    return old


def before_checks(repeat: int = 10) -> dict | None:
    """CPU time of ``fit_spectra`` on the map against the fitter of commit ``BEFORE_CHECKS``
    (its own defaults), same process, best of ``repeat`` interleaved, 1 BLAS thread."""
    old = load_before_checks()
    if old is None:
        return None
    freqs, data = build_map()
    runs = {"now": lambda: fit_spectra(freqs, data), "before": lambda: old.fit_spectra(freqs, data)}
    best = dict.fromkeys(runs, np.inf)
    with threadpool_limits(limits=1, user_api="blas"):
        cond = describe()
        for _ in range(repeat):
            for key, fn in runs.items():
                t0 = time.process_time()
                fn()
                best[key] = min(best[key], time.process_time() - t0)
    ratio = best["now"] / best["before"]
    print(
        f"map fit_spectra with every check vs the fitter of {BEFORE_CHECKS} (before the bench checks): "
        f"{best['now'] * 1e3:.1f} ms vs {best['before'] * 1e3:.1f} ms CPU, ratio {ratio:.2f}x "
        f"(best of {repeat}, interleaved; {cond})"
    )
    return {"t_now": best["now"], "t_before": best["before"], "ratio": ratio, "conditions": cond}


if __name__ == "__main__":
    main()
    single_spectrum()
    single_spectrum(repeat=100, rows=(61,), blas_limit=False)
    before_checks()
