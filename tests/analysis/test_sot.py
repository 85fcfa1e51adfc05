"""The bilayer inverse (physics-sot.md steps 2-5) on per-line values drawn from BilayerModel."""

import functools
import math

import numpy as np
import pytest

from stfmr_lab.analysis.sot import (
    BilayerSample,
    analyze_bilayer_sweeps,
    damping_fit,
    invert_bilayer,
    kittel_in_plane,
    xi_fmr_lines,
)
from stfmr_lab.bilayer import BilayerModel

FREQS_HZ = np.linspace(4e9, 16e9, 7)
I_RF_A = 6e-3


def random_model(rng) -> BilayerModel:
    """A bilayer with parameters drawn within physical ranges (xi of either sign)."""
    meff = rng.uniform(0.5, 1.5)
    return BilayerModel.preset(
        "py_pt",
        xi_dl=rng.choice([-1, 1]) * rng.uniform(0.05, 0.3),
        alpha=rng.uniform(0.005, 0.03),
        mu0_meff_t=meff,
        mu0_ms_t=meff + rng.uniform(0.0, 0.2),
        g=rng.uniform(2.0, 2.15),
        dh0_oe=rng.uniform(1.0, 10.0),
        t_fm_nm=rng.uniform(2.0, 8.0),
        t_hm_nm=rng.uniform(3.0, 10.0),
        width_um=rng.uniform(5.0, 20.0),
        shunt_hm=rng.uniform(0.4, 0.9),
        phi_deg=rng.uniform(30.0, 60.0),
    )


def sample_of(m: BilayerModel) -> dict:
    return {k: getattr(m, k) for k in ("mu0_ms_t", "t_fm_nm", "t_hm_nm", "width_um", "shunt_hm", "phi_deg")}


def dc_scale_a(m: BilayerModel) -> float:
    """The DC current that changes alpha_eff by 10 % at 9 GHz (a typical measured range)."""
    return 0.1 * m.alpha / abs(m.alpha_eff(9e9, 1.0) - m.alpha)


def synthetic_lines(m: BilayerModel, rng=None, rel_err=0.01) -> dict:
    """Per-line fit results (both polarities, five DC currents) with errors rel_err of the
    linewidth (H0, Delta) and of the larger amplitude (V_S, V_A); noisy when rng is given."""
    i_max = dc_scale_a(m)
    f, i, p = (a.ravel() for a in np.meshgrid(FREQS_HZ, np.linspace(-i_max, i_max, 5), [1.0, -1.0], indexing="ij"))
    h0, dh, vs, va = m.line(f, i, i_rf_a=I_RF_A, polarity=p)
    amp = np.maximum(np.abs(vs), np.abs(va))
    out = {
        "frequency_hz": f,
        "dc_current_a": i,
        "polarity": p,
        "h0_oe": h0,
        "h0_err_oe": rel_err * dh,
        "dh_oe": dh,
        "dh_err_oe": rel_err * dh,
        "v_sym": vs,
        "v_sym_err": rel_err * amp,
        "v_asym": va,
        "v_asym_err": rel_err * amp,
    }
    if rng is not None:
        for k in ("h0_oe", "dh_oe", "v_sym", "v_asym"):
            err = out["h0_err_oe" if k == "h0_oe" else "dh_err_oe" if k == "dh_oe" else k + "_err"]
            out[k] = out[k] + rng.normal(size=f.size) * err
    return out


def truth(m: BilayerModel) -> dict:
    return {"xi_fmr": m.xi_dl, "xi_dc": m.xi_dl, "alpha": m.alpha, "meff_4pi_oe": m.meff_4pi_oe, "g": m.g}


@pytest.mark.parametrize("seed", range(6))
def test_noise_free_lines_give_the_parameters_back(seed):
    m = random_model(np.random.default_rng(seed))
    r = invert_bilayer(synthetic_lines(m), sample_of(m), fit_g=True)
    s = r.summary
    for k, v in truth(m).items():
        assert s[k] == pytest.approx(v, rel=1e-7), k
    assert s["dh0_oe"] == pytest.approx(m.dh0_oe, rel=1e-6)
    assert s["g_fitted"] and "fitted" in s["g_note"]
    assert r.per_line["xi_fmr"] == pytest.approx(np.full(70, m.xi_dl), rel=1e-7)


@pytest.mark.parametrize("seed", range(10, 22))
def test_noisy_lines_recover_within_the_issues_bounds(seed):
    rng = np.random.default_rng(seed)
    m = random_model(rng)
    s = invert_bilayer(synthetic_lines(m, rng), sample_of(m)).summary
    assert s["xi_fmr"] == pytest.approx(m.xi_dl, rel=0.05)
    assert s["xi_dc"] == pytest.approx(m.xi_dl, rel=0.10)
    assert s["alpha"] == pytest.approx(m.alpha, rel=0.05)
    assert s["meff_4pi_oe"] == pytest.approx(m.meff_4pi_oe, rel=0.01)
    assert np.sign(s["xi_fmr"]) == np.sign(s["xi_dc"]) == np.sign(m.xi_dl)


def test_errors_are_honest_pulls_have_unit_spread():
    rng = np.random.default_rng(2026)
    names = ("xi_fmr", "xi_dc", "alpha", "meff_4pi_oe", "g")
    pulls = {k: [] for k in names}
    for _ in range(150):
        m = random_model(rng)
        s = invert_bilayer(synthetic_lines(m, rng), sample_of(m), fit_g=True).summary
        for k in names:
            err = s["meff_4pi_err_oe" if k == "meff_4pi_oe" else k + "_err"]
            pulls[k].append((s[k] - truth(m)[k]) / err)
    for k in names:
        p = np.asarray(pulls[k])
        assert 0.8 < p.std() < 1.2, (k, p.std())
        assert abs(p.mean()) < 0.3, (k, p.mean())


def test_g_is_held_when_the_frequency_range_cannot_fix_it():
    m = BilayerModel.preset("py_pt", g=2.1)
    f = np.array([8.9e9, 9.0e9, 9.1e9])
    h0, dh, *_ = m.line(f, i_rf_a=I_RF_A)
    held = kittel_in_plane(f, h0, 0.5, g=2.1)
    assert not held.g_fitted and held.g == 2.1 and held.g_err == 0.0
    assert "g held at 2.1" in held.message and "does not fix it" in held.message
    assert held.meff_4pi_oe == pytest.approx(m.meff_4pi_oe, rel=1e-9)
    one = kittel_in_plane(9e9, h0[1], 0.5, g=2.1)
    assert one.meff_4pi_oe == pytest.approx(m.meff_4pi_oe, rel=1e-9) and "1 frequencies" in one.message
    # a wrong held g biases Meff: the report must say which g it used
    wrong = kittel_in_plane(f, h0, 0.5, g=2.0)
    assert abs(wrong.meff_4pi_oe / m.meff_4pi_oe - 1) > 0.03 and wrong.g == 2.0
    # ... and its error carries the held g's shift from the data's own: it covers the truth
    assert abs(wrong.meff_4pi_oe - m.meff_4pi_oe) < 1.5 * wrong.meff_4pi_err_oe and "data's own g" in wrong.message
    assert held.meff_4pi_err_oe < 0.01 * m.meff_4pi_oe  # (the right g held: a small shift)
    wide = kittel_in_plane(FREQS_HZ, m.resonance_field_oe(FREQS_HZ), 0.5)
    assert wide.g_fitted and wide.g == pytest.approx(2.1, rel=1e-9) and wide.g_err < 0.02


def test_without_dc_currents_xi_dc_is_nan_and_alpha_still_fitted():
    m = BilayerModel.preset("py_pt")
    f = FREQS_HZ
    h0, dh, vs, va = m.line(f, i_rf_a=I_RF_A)
    kit = kittel_in_plane(f, h0, 0.5)
    d = damping_fit(f, dh, 0.5, kittel=kit)
    assert (
        math.isnan(d.xi_dc) and d.alpha == pytest.approx(0.012, rel=1e-6) and d.dh0_oe == pytest.approx(3.0, rel=1e-5)
    )
    with pytest.raises(ValueError, match="two frequencies"):
        damping_fit(f[:1], dh[:1], 0.5, kittel=kit)
    with pytest.raises(ValueError, match="sample"):
        damping_fit(f, dh, 0.5, kittel=kit, dc_current_a=np.where(f > 8e9, 1e-3, 0.0))


def test_xi_per_line_follows_the_polarity_convention_and_is_finite_at_zero():
    s = BilayerSample(0.8, 4, 6, 10, 0.7)
    xi, err = xi_fmr_lines(
        [0.871, -0.871, 0.0], 0.01, [1.0, 1.0, 1.0], 0.01, [1139.0, -1139.0, 1139.0], meff_4pi_oe=7500.0, sample=s
    )
    assert xi[:2] == pytest.approx([0.07, 0.07], abs=2e-4)
    assert xi[2] == 0.0 and err[2] > 0 and np.all(np.isfinite(err))
    # a positive V_S/V_A covariance lowers the ratio's error
    _, err_cov = xi_fmr_lines(0.871, 0.01, 1.0, 0.01, 1139.0, meff_4pi_oe=7500.0, sample=s, cov_sym_asym=5e-5)
    assert err_cov < err[0]


@pytest.mark.parametrize(
    "sample, match",
    [
        ({"mu0_ms_t": 0.8, "t_fm_nm": 4, "t_hm_nm": 6, "width_um": 10}, "shunt_hm"),
        ({"mu0_ms_t": -0.8, "t_fm_nm": 4, "t_hm_nm": 6, "width_um": 10, "shunt_hm": 0.7}, "mu0_ms_t"),
        ({"mu0_ms_t": 0.8, "t_fm_nm": 4, "t_hm_nm": 6, "width_um": 10, "shunt_hm": 1.7}, "shunt_hm"),
        ({"mu0_ms_t": 0.8, "t_fm_nm": 4, "t_hm_nm": 6, "width_um": 10, "shunt_hm": 0.7, "phi_deg": 0.0}, "phi_deg"),
        ("py_pt", "mapping"),
    ],
)
def test_bad_sample_is_named(sample, match):
    m = BilayerModel.preset("py_pt")
    with pytest.raises(ValueError, match=match):
        invert_bilayer(synthetic_lines(m), sample)


def test_missing_line_column_is_named():
    m = BilayerModel.preset("py_pt")
    lines = synthetic_lines(m)
    del lines["dh_err_oe"]
    with pytest.raises(ValueError, match="dh_err_oe"):
        invert_bilayer(lines, sample_of(m))


# ---------------------------------------------------------------------------------------- from field sweeps
def field_sweeps(m: BilayerModel, rng, noise_v=200e-9, points=301, freqs=FREQS_HZ, n_dc=5) -> list:
    """Field sweeps through zero (+-(H0 + 12 Delta), ``points`` per polarity) at each frequency
    and DC current, with an offset, a slope, an offset step at zero and white noise."""
    out = []
    i_max = dc_scale_a(m)
    for f in freqs:
        h_max = m.resonance_field_oe(f) + 12 * m.linewidth_oe(f)
        h = np.concatenate([np.linspace(-h_max, -1.0, points), np.linspace(1.0, h_max, points)])
        for i in np.linspace(-i_max, i_max, n_dc) if n_dc > 1 else [0.0]:
            v = m.vmix(h, f, i, i_rf_a=I_RF_A) + 0.3e-6 + 1e-10 * h + np.where(h < 0, 0.2e-6, 0.0)
            out.append(
                {"frequency_hz": f, "dc_current_a": i, "field_oe": h, "vmix_v": v + rng.normal(size=h.size) * noise_v}
            )
    return out


@pytest.mark.parametrize("seed", range(300, 304))
def test_field_sweeps_through_zero_give_the_efficiency(seed):
    rng = np.random.default_rng(seed)
    m = random_model(rng)
    a = analyze_bilayer_sweeps(field_sweeps(m, rng), sample_of(m))
    s = a.result.summary
    assert not a.rejected and len(a.lines) == 2 * 35
    assert s["xi_fmr"] == pytest.approx(m.xi_dl, rel=0.05)
    assert s["xi_dc"] == pytest.approx(m.xi_dl, rel=0.10)
    assert s["alpha"] == pytest.approx(m.alpha, rel=0.05)
    assert s["meff_4pi_oe"] == pytest.approx(m.meff_4pi_oe, rel=0.01)
    assert s["g_fitted"] and s["g"] == pytest.approx(m.g, abs=4 * s["g_err"])
    for k, err in (
        ("xi_fmr", "xi_fmr_err"),
        ("xi_dc", "xi_dc_err"),
        ("alpha", "alpha_err"),
        ("meff_4pi_oe", "meff_4pi_err_oe"),
    ):
        assert abs(s[k] - truth(m)[k]) < 4 * s[err], k
    # V_S changes sign between the polarities' lines, V_A keeps it
    by_sweep = {}
    for row in a.lines:
        by_sweep.setdefault(row["sweep"], {})[row["polarity"]] = row["fit"]
    for fits in by_sweep.values():
        assert np.sign(fits[1.0].v_sym) == -np.sign(fits[-1.0].v_sym) == np.sign(m.xi_dl)
        assert np.sign(fits[1.0].v_asym) == np.sign(fits[-1.0].v_asym) == 1
        assert fits[1.0].h0_oe == pytest.approx(-fits[-1.0].h0_oe, rel=0.01)


def test_one_sided_and_empty_sweeps():
    rng = np.random.default_rng(7)
    m = BilayerModel.preset("py_pt")
    sweeps = field_sweeps(m, rng, freqs=[6e9, 9e9, 12e9], n_dc=1)
    pos = sweeps[0]["field_oe"] > 0
    sweeps[0] = dict(sweeps[0], field_oe=sweeps[0]["field_oe"][pos], vmix_v=sweeps[0]["vmix_v"][pos])
    sweeps.append({"frequency_hz": 9e9, "field_oe": np.linspace(1, 3000, 201), "vmix_v": rng.normal(size=201) * 200e-9})
    a = analyze_bilayer_sweeps(sweeps, sample_of(m))
    assert [(r["sweep"], r["polarity"]) for r in a.lines] == [
        (0, 1.0),
        (1, 1.0),
        (1, -1.0),
        (2, 1.0),
        (2, -1.0),
    ]
    assert a.rejected == [(3, 0.0, "no significant line found")]  # noise alone holds no line
    s = a.result.summary
    assert math.isnan(s["xi_dc"]) and s["xi_fmr"] == pytest.approx(0.07, rel=0.05)
    assert s["meff_4pi_oe"] == pytest.approx(7500, rel=0.01)
    with pytest.raises(ValueError, match="sweep 0: missing vmix_v"):
        analyze_bilayer_sweeps([{"frequency_hz": 9e9, "field_oe": [1.0]}], sample_of(m))


def test_one_dc_current_gives_no_slope_and_both_polarities_average_it_out():
    m = BilayerModel.preset("py_pt")
    f = np.repeat(FREQS_HZ, 2)
    p = np.tile([1.0, -1.0], FREQS_HZ.size)
    h0, dh, _, _ = m.line(f, 3e-3, i_rf_a=I_RF_A, polarity=p)
    kit = kittel_in_plane(f, h0, 0.5)
    d = damping_fit(f, dh, 0.5, kittel=kit, dc_current_a=3e-3, polarity=p, sample=sample_of(m))
    assert math.isnan(d.xi_dc) and d.alpha == pytest.approx(0.012, rel=1e-3)


def bench_like_sweeps(m: BilayerModel, rng, noise_v=200e-9, points=301, freqs=FREQS_HZ[::2], n_dc=3) -> list:
    """``field_sweeps`` with what a bench adds (bench-imperfections note): a random-walk drift
    in sweep order (1 uV rms over a sweep), a steep low-field background (the film not yet
    saturated: 3 uV, gone by the analysis' 20 Oe floor), three spikes of 50 uV, one near zero."""
    out = field_sweeps(m, rng, noise_v=noise_v, points=points, freqs=freqs, n_dc=n_dc)
    for sw in out:
        h = sw["field_oe"]
        walk = np.cumsum(rng.normal(size=h.size)) * 1e-6 / np.sqrt(h.size)
        v = sw["vmix_v"] + walk + 3e-6 * np.tanh(h / 3.0) * np.exp(-np.abs(h) / 5.0)
        hits = np.concatenate([rng.choice(h.size, 2, replace=False), [np.argmin(np.abs(h - 5.0))]])
        v[hits] += rng.choice([-1.0, 1.0], 3) * 50e-6
        sw["vmix_v"] = v
    return out


# Ten consecutive draws of ``random_model`` (seeds 310-319, not selected), each a bench-like map.
BENCH_SEEDS = range(310, 320)
BENCH_POINTS = 201  # per polarity (the helper's 301 costs ~7 s a draw on this machine, 201 ~4 s)
ISSUE_BOUNDS = {"xi_fmr": 0.05, "xi_dc": 0.10, "alpha": 0.05, "meff_4pi_oe": 0.01}  # issue 19, relative
ERR_KEYS = {"xi_fmr": "xi_fmr_err", "xi_dc": "xi_dc_err", "alpha": "alpha_err", "meff_4pi_oe": "meff_4pi_err_oe"}


@functools.cache
def bench_like_draws() -> tuple:
    """Per draw: seed, the lines found (count; all away from the low field), and per quantity
    the relative error and the pull (value - truth) / stated error."""
    out = []
    for seed in BENCH_SEEDS:
        rng = np.random.default_rng(seed)
        m = random_model(rng)
        a = analyze_bilayer_sweeps(bench_like_sweeps(m, rng, points=BENCH_POINTS), sample_of(m))
        s, t = a.result.summary, truth(m)
        row = {"seed": seed, "lines": len(a.lines), "low_field": sum(abs(r["fit"].h0_oe) <= 40 for r in a.lines)}
        for k, e in ERR_KEYS.items():
            row[k] = ((s[k] - t[k]) / t[k], (s[k] - t[k]) / s[e])
        out.append(row)
    return tuple(out)


def test_bench_like_draws_find_every_line():
    """Two lines a sweep (12 sweeps), none from the low-field background or the spikes."""
    bad = [(d["seed"], d["lines"], d["low_field"]) for d in bench_like_draws() if d["lines"] != 24 or d["low_field"]]
    assert not bad, f"(seed, lines, lines below 40 Oe) off: {bad}"


def _bench_param(k, failing=None):
    return pytest.param(k, marks=pytest.mark.xfail(strict=True, reason=failing)) if failing else k


@pytest.mark.parametrize("k", [_bench_param(k) for k in ISSUE_BOUNDS])
def test_bench_like_draws_are_within_the_issues_bounds(k):
    """At least 90 % of the draws within the issue's bound on k."""
    out = [(d["seed"], round(100 * d[k][0], 2)) for d in bench_like_draws() if abs(d[k][0]) > ISSUE_BOUNDS[k]]
    assert len(out) <= 0.1 * len(BENCH_SEEDS), (
        f"{k}: {len(out)} of {len(BENCH_SEEDS)} draws off by > {100 * ISSUE_BOUNDS[k]:g} % (seed, %): {out}"
    )


HONEST_ERRORS_FAIL = {  # measured on seeds 310-319 at 201 points; the bounds stay the issue's
    # (with fit_lines' systematics by the single-line rule, each shift counted beyond 2 of its own sd,
    # xi_fmr's ten draws pass by a hair (mean -0.49, spread 1.17) and xi_dc's miss; over 30 draws
    # (310-339) neither moved beyond its noise: xi_fmr spread 1.51 -> 1.58, xi_dc 1.10 -> 1.19)
    "xi_dc": "spread 1.54 > 1.4 (mean +0.44; seed 312's pull 3.5); 30 draws (310-339): spread 1.19, mean -0.02",
    "meff_4pi_oe": "pulls' mean +0.70 (|mean| < 0.5 asked; spread 1.10, largest 3.3); 30 draws (310-339): spread "
    "1.21, mean +0.45",
}


@pytest.mark.parametrize("k", [_bench_param(k, HONEST_ERRORS_FAIL.get(k)) for k in ISSUE_BOUNDS])
def test_bench_like_draws_give_honest_errors(k):
    """The pulls (value - truth) / error: spread 0.7-1.4, |mean| < 0.5, every one within 4."""
    pulls = np.array([d[k][1] for d in bench_like_draws()])
    far = [(d["seed"], round(d[k][1], 2)) for d in bench_like_draws() if abs(d[k][1]) >= 4]
    assert not far, f"{k}: pulls beyond 4 (seed, pull): {far}"
    assert 0.7 <= pulls.std(ddof=1) <= 1.4 and abs(pulls.mean()) < 0.5, (
        f"{k}: pulls spread {pulls.std(ddof=1):.2f}, mean {pulls.mean():+.2f} over {pulls.size} draws"
    )
