"""Figures, tables and a text summary of a bilayer run (``stfmr-lab analyze`` on a field map).

Figures: the field sweeps at each frequency with their fits (both polarities), |H0|(f) with
the in-plane Kittel fit, Delta(f) with the damping fit, xi_FMR of every line with the mean,
and the linewidth vs DC current at each frequency (opposite slopes at +H and -H).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from stfmr_lab.analysis.fit import lineshape
from stfmr_lab.analysis.pipeline import Analysis
from stfmr_lab.analysis.report import FIELD_COLOURS, _plt, _write_csv


def _save(fig, plt, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def fig_sweeps(a: Analysis, path: Path) -> Path:
    """Vmix vs field at each frequency (smallest |I_dc|) with each polarity's fitted line."""
    plt = _plt()
    ps = a.per_spectrum
    i0 = ps["dc_current_a"].abs().min()
    sel = ps[ps["dc_current_a"].abs() == i0]
    fig, ax = plt.subplots(figsize=(6.8, 5.2))
    spectra = sorted(sel["spectrum"].unique(), key=lambda s: float(sel[sel["spectrum"] == s]["frequency_hz"].iloc[0]))
    span = max(float(np.max(np.abs(a.spectra[int(s)][1]))) for s in spectra) * 1e6
    for k, s in enumerate(spectra):
        h, v = a.spectra[int(s)]
        off = 1.1 * span * k
        c = FIELD_COLOURS[k % len(FIELD_COLOURS)]
        ax.plot(h, v * 1e6 + off, ".", ms=2, color=c)
        for r in sel[sel["spectrum"] == s].itertuples():
            side = (h * r.polarity > 0) & (np.abs(h - r.h0_oe) < 8 * r.dh_oe)  # (on its local linear background)
            model = lineshape(h[side], r.h0_oe, r.dh_oe, r.v_sym, r.v_asym, r.offset, r.slope)
            ax.plot(h[side], model * 1e6 + off, "-", color="k", lw=1)
        f = float(sel[sel["spectrum"] == s]["frequency_hz"].iloc[0])
        ax.text(h.max(), off, f"  {f / 1e9:.2f} GHz", va="center", fontsize=8)
    ax.set_xlabel("field H (Oe)")
    ax.set_ylabel("Vmix (µV), offset by frequency")
    ax.set_title(f"field sweeps at I_dc = {i0 * 1e3:.2g} mA: data (dots) and S/A fits per polarity", fontsize=10)
    ax.margins(x=0.12)
    return _save(fig, plt, path)


def fig_kittel(a: Analysis, path: Path) -> Path:
    """|H0| vs frequency with the in-plane Kittel fit."""
    plt = _plt()
    ps = a.per_spectrum[a.per_spectrum["used"]]
    k = a.kittel
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for p, mark in ((1, "o"), (-1, "s")):
        g = ps[ps["polarity"] == p]
        ax.errorbar(
            g["frequency_hz"] / 1e9,
            g["h0_oe"].abs(),
            yerr=g["h0_oe_err"],
            fmt=mark,
            ms=3.5,
            mfc="none",
            label=f"{'+' if p > 0 else '-'}H lines",
        )
    f = np.linspace(ps["frequency_hz"].min() * 0.9, ps["frequency_hz"].max() * 1.05, 200)
    g_txt = f"g = {k.g:.3f}" + (" (fitted)" if k.g_fitted else " (held)")
    ax.plot(f / 1e9, k.h0_oe(f), "k-", lw=1, label=f"Kittel: 4πMeff = {k.meff_4pi_oe:.0f} Oe, {g_txt}")
    ax.set_xlabel("frequency f (GHz)")
    ax.set_ylabel("resonance field |H0| (Oe)")
    ax.set_title("in-plane Kittel", fontsize=10)
    ax.legend(fontsize=8)
    return _save(fig, plt, path)


def fig_linewidth(a: Analysis, path: Path) -> Path:
    """Delta(f) at zero (smallest) DC current with dh0 + 2 pi f alpha / gamma."""
    plt = _plt()
    ps = a.per_spectrum[a.per_spectrum["used"]]
    i0 = ps["dc_current_a"].abs().min()
    g = ps[ps["dc_current_a"].abs() == i0]
    s = a.summary
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.errorbar(g["frequency_hz"] / 1e9, g["dh_oe"], yerr=g["dh_oe_err"], fmt="o", ms=3.5, label="each line")
    f = np.linspace(0, ps["frequency_hz"].max() * 1.05, 100)
    ax.plot(
        f / 1e9,
        s["dh0_oe"] + f * s["alpha"] / a.kittel.gamma_2pi_hz_per_oe,
        "k-",
        lw=1,
        label=f"α = {s['alpha']:.5f} ± {s['alpha_err']:.5f}, ΔH0 = {s['dh0_oe']:.2f} Oe",
    )
    ax.set_xlabel("frequency f (GHz)")
    ax.set_ylabel("linewidth Δ (HWHM, Oe)")
    ax.set_title(f"damping from Δ(f) at I_dc = {i0 * 1e3:.2g} mA", fontsize=10)
    ax.legend(fontsize=8)
    return _save(fig, plt, path)


def fig_xi(a: Analysis, path: Path) -> Path:
    """xi_FMR of every line with the weighted mean (and xi_DC when measured)."""
    plt = _plt()
    ps = a.per_spectrum[a.per_spectrum["used"]].reset_index(drop=True)
    s = a.summary
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for p, mark in ((1, "o"), (-1, "s")):
        g = ps[ps["polarity"] == p]
        ax.errorbar(
            g["frequency_hz"] / 1e9,
            g["xi_fmr"],
            yerr=g["xi_fmr_err"],
            fmt=mark,
            ms=3.5,
            mfc="none",
            label=f"{'+' if p > 0 else '-'}H lines",
        )
    ax.axhline(s["xi_fmr"], color="k", lw=1, label=f"ξ_FMR = {s['xi_fmr']:.4f} ± {s['xi_fmr_err']:.4f}")
    if math.isfinite(s.get("xi_dc", math.nan)):
        ax.axhline(s["xi_dc"], color="C3", lw=1, ls="--", label=f"ξ_DC = {s['xi_dc']:.4f} ± {s['xi_dc_err']:.4f}")
    ax.set_xlabel("frequency f (GHz)")
    ax.set_ylabel("spin-torque efficiency ξ")
    ax.set_title("ξ from the lineshape ratio (assumes A = Oersted field only)", fontsize=10)
    ax.legend(fontsize=8)
    return _save(fig, plt, path)


def fig_dc(a: Analysis, path: Path) -> Path:
    """Linewidth vs DC current at each frequency, +H (filled) and -H (open)."""
    plt = _plt()
    pb = a.per_bias
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for k, (f, g) in enumerate(pb.groupby("frequency_hz")):
        c = FIELD_COLOURS[k % len(FIELD_COLOURS)]
        g = g.sort_values("dc_current_a")
        ax.errorbar(
            g["dc_current_a"] * 1e3,
            g["dh_plus_oe"],
            yerr=g["dh_plus_oe_err"],
            fmt="o-",
            ms=3.5,
            color=c,
            label=f"{f / 1e9:.2f} GHz",
        )
        ax.errorbar(
            g["dc_current_a"] * 1e3, g["dh_minus_oe"], yerr=g["dh_minus_oe_err"], fmt="s--", ms=3.5, color=c, mfc="none"
        )
    ax.set_xlabel("DC current I_dc (mA)")
    ax.set_ylabel("linewidth Δ (HWHM, Oe)")
    ax.set_title("linewidth vs DC current: +H filled, -H open", fontsize=10)
    ax.legend(fontsize=8)
    return _save(fig, plt, path)


def summary_text(a: Analysis) -> str:
    s = a.summary
    u = s["sample_used"]
    lines = [
        f"stfmr-lab analysis of {s['file']} ({s['status']}): heavy-metal / ferromagnet strip",
        f"lines fitted: {s['lines_fitted']} of {s['lines_total']}",
        f"sample used (declared): mu0Ms = {u['mu0_ms_t']:g} T, t_FM = {u['t_fm_nm']:g} nm, t_HM = {u['t_hm_nm']:g} nm,"
        f" width = {u['width_um']:g} um, shunt_HM = {u['shunt_hm']:g}, phi = {u['phi_deg']:g} deg",
        f"Kittel: 4piMeff = {s['meff_4pi_oe']:.1f} +- {s['meff_4pi_err_oe']:.1f} Oe; {s['g_note']}"
        + (f": g = {s['g']:.4f} +- {s['g_err']:.4f}" if s["g_fitted"] else ""),
        f"damping: alpha = {s['alpha']:.5f} +- {s['alpha_err']:.5f}, dH0 = {s['dh0_oe']:.2f} +- {s['dh0_err_oe']:.2f} Oe",
        f"xi_FMR (lineshape ratio, {s['xi_fmr_lines']} lines) = {s['xi_fmr']:.4f} +- {s['xi_fmr_err']:.4f};"
        f" assumes {s['xi_fmr_assumes']}",
    ]
    if math.isfinite(s["xi_dc"]):
        lines.append(f"xi_DC (DC-current slope of the damping) = {s['xi_dc']:.4f} +- {s['xi_dc_err']:.4f}")
    else:
        lines.append("xi_DC: no DC currents measured")
    for w in s.get("warnings", []):
        lines.append(f"warning: {w}")
    return "\n".join(lines) + "\n"


def write_report(a: Analysis, out_dir: str | Path) -> dict[str, Path]:
    """Write the bilayer figures (PNG), tables (CSV) and summary; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "field sweeps figure": fig_sweeps(a, out / "sweeps.png"),
        "Kittel figure": fig_kittel(a, out / "kittel.png"),
        "linewidth figure": fig_linewidth(a, out / "linewidth.png"),
        "xi figure": fig_xi(a, out / "xi_per_line.png"),
    }
    if a.per_bias["dc_current_a"].nunique() > 1:
        paths["DC current figure"] = fig_dc(a, out / "linewidth_vs_dc.png")
    _write_csv(a.per_spectrum, out / "per_line.csv")
    _write_csv(a.per_bias, out / "per_frequency.csv")
    (out / "summary.txt").write_text(summary_text(a))
    paths["per-line table"] = out / "per_line.csv"
    paths["per-frequency table"] = out / "per_frequency.csv"
    paths["summary"] = out / "summary.txt"
    return paths
