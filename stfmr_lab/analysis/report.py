"""Figures, tables and a text summary of an analysed run (``stfmr-lab analyze``).

Figures after the seed paper: spectra at several biases with their fits (its Fig. 2b),
torkances vs bias (3a), their relative bias dependence beside (dI/dV)_P (3b), alpha_eff vs
bias with the linewidth model (3c), f0(H) with the Kittel fit, and the dV/dI calibration
curves. Every axis says its quantity and unit.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from stfmr_lab.analysis.pipeline import Analysis, analyze

FIELD_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 10, "axes.grid": True, "grid.alpha": 0.3, "figure.dpi": 110})
    return plt


def _fields(a: Analysis):
    return sorted(a.per_bias["field_oe"].round(0).unique())


def fig_spectra(a: Analysis, path: Path, field_oe: float | None = None, n_biases: int = 5) -> Path:
    """Vmix vs frequency at several biases with the fitted S/A lineshape (seed Fig. 2b)."""
    plt = _plt()
    ps = a.per_spectrum
    fields = _fields(a)
    h = field_oe if field_oe is not None else fields[len(fields) // 2]
    sel = ps[(ps["field_oe"].round(0) == h)].sort_values("bias_voltage_v")
    if len(sel) > n_biases:
        idx = np.unique(np.linspace(0, len(sel) - 1, n_biases).round().astype(int))
        sel = sel.iloc[idx]
    fig, ax = plt.subplots(figsize=(6.4, 5.2))
    span = max(float(np.max(np.abs(a.spectra[int(r.spectrum)][1]))) for r in sel.itertuples())
    step = 1.1 * span * 1e3
    cmap = plt.get_cmap("coolwarm")  # blue negative, red positive bias
    vmax = max(abs(sel["bias_voltage_v"]).max(), 1e-9)
    for k, r in enumerate(sel.itertuples()):
        f, v, model = a.spectra[int(r.spectrum)]
        colour = cmap(0.5 + 0.5 * r.bias_voltage_v / vmax)
        off = k * step
        ax.plot(f / 1e9, v * 1e3 + off, ".", ms=2.5, color=colour)
        ax.plot(f / 1e9, model * 1e3 + off, "-", lw=1.2, color="k", alpha=0.8)
        ax.text(f[-1] / 1e9, model[-1] * 1e3 + off, f"  {r.bias_voltage_v:+.2f} V", va="center", ha="left", fontsize=8)
    ax.set_xlabel("frequency (GHz)")
    ax.set_ylabel("Vmix (mV), offset by bias")
    ax.set_title(f"ST-FMR spectra at H = {h:.0f} Oe: data (dots) and S/A fits (lines)", fontsize=10)
    ax.margins(x=0.12)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def fig_torkances(a: Analysis, path: Path) -> Path:
    """dtau_par/dV and dtau_perp/dV (/ sin theta) vs bias (seed Fig. 3a)."""
    plt = _plt()
    pb = a.per_bias
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(6.4, 6.4), sharex=True)
    for k, h in enumerate(_fields(a)):
        g = pb[pb["field_oe"].round(0) == h].sort_values("bias_voltage_v")
        c = FIELD_COLOURS[k % len(FIELD_COLOURS)]
        ax1.errorbar(g["bias_voltage_v"], g["dtau_par_dv"], yerr=g["dtau_par_dv_err"], fmt="o", ms=3.5, color=c,
                     label=f"{h:.0f} Oe")
        ax2.errorbar(g["bias_voltage_v"], g["dtau_perp_dv"], yerr=g["dtau_perp_dv_err"], fmt="s", ms=3.5, color=c,
                     label=f"{h:.0f} Oe")
    g = pb.sort_values("bias_voltage_v")
    ax1.plot(g["bias_voltage_v"], g["dtau_par_dv_predicted"], "k--", lw=1, label="prediction (hbar/4e) 2P/(1+P²) (dI/dV)_P")
    if a.tau_perp_fits:
        a1 = a.summary["a1_perp"]
        v = np.linspace(pb["bias_voltage_v"].min(), pb["bias_voltage_v"].max(), 100)
        ax2.plot(v, 2 * a1 * v, "k--", lw=1, label=f"fit 2 A1 V, A1 = {a1:.4f} (hbar/2e)/kOhm/V")
    ax1.set_ylabel("dτ∥/dV / sin θ  ((ħ/2e)/kΩ)")
    ax2.set_ylabel("dτ⊥/dV / sin θ  ((ħ/2e)/kΩ)")
    ax2.set_xlabel("bias voltage V (V)")
    lo = min(pb["dtau_par_dv"].min(), pb["dtau_par_dv_predicted"].min())
    hi = max(pb["dtau_par_dv"].max(), pb["dtau_par_dv_predicted"].max())
    pad = max(0.15 * (hi - lo), 0.05 * abs(hi))
    ax1.set_ylim(lo - pad, hi + pad)
    ax1.legend(fontsize=8)
    ax2.legend(fontsize=8)
    ax1.set_title("spin-transfer torkances vs bias", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def fig_relative(a: Analysis, path: Path) -> Path:
    """Relative bias dependence of dtau_par/dV beside (dI/dV)_P (seed Fig. 3b)."""
    plt = _plt()
    pb = a.per_bias
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for k, h in enumerate(_fields(a)):
        g = pb[pb["field_oe"].round(0) == h].sort_values("bias_voltage_v")
        ref = float(np.interp(0.0, g["bias_voltage_v"], g["dtau_par_dv"]))
        ax.errorbar(g["bias_voltage_v"], g["dtau_par_dv"] / ref, yerr=g["dtau_par_dv_err"] / ref, fmt="o", ms=3.5,
                    color=FIELD_COLOURS[k % len(FIELD_COLOURS)], label=f"dτ∥/dV, {h:.0f} Oe")
    v, gp, gap = a.tmr_curve
    ax.plot(v, gp / np.interp(0.0, v, gp), "k-", lw=1.2, label="(dI/dV)_P (normalised)")
    ax.plot(v, gap / np.interp(0.0, v, gap), "k:", lw=1.2, label="(dI/dV)_AP (normalised)")
    ax.set_xlabel("bias voltage V (V)")
    ax.set_ylabel("value / value at V = 0")
    ax.set_title("relative bias dependence of the in-plane torkance", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def fig_damping(a: Analysis, path: Path) -> Path:
    """alpha_eff vs bias with the linear model of the linewidth (seed Fig. 3c)."""
    plt = _plt()
    ps = a.per_spectrum[a.per_spectrum["fit_ok"]]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for k, h in enumerate(_fields(a)):
        g = ps[ps["field_oe"].round(0) == h].sort_values("bias_voltage_v")
        c = FIELD_COLOURS[k % len(FIELD_COLOURS)]
        ax.errorbar(g["bias_voltage_v"], g["alpha_eff"], yerr=g["alpha_eff_err"], fmt="o", ms=3.5, color=c, label=f"{h:.0f} Oe")
        fit = a.linewidth_fits.get(float(h))
        if fit is not None:
            v = np.linspace(g["bias_voltage_v"].min(), g["bias_voltage_v"].max(), 50)
            scale = fit.alpha / fit.sigma0_rad_s
            ax.plot(v, scale * (fit.sigma0_rad_s + fit.slope_rad_s_per_v * v), "-", color=c, lw=1)
    ax.set_xlabel("bias voltage V (V)")
    ax.set_ylabel("α_eff = 2σ / (ω_m (Ω⊥ + 1/Ω⊥))")
    al = a.summary.get("alpha", math.nan)
    ax.set_title(f"effective damping vs bias (lines: linear linewidth model, α = {al:.5f})", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def fig_kittel(a: Analysis, path: Path) -> Path:
    """f0(H) with the Kittel fit."""
    plt = _plt()
    ps = a.per_spectrum[a.per_spectrum["fit_ok"]]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.errorbar(ps["field_oe"], ps["f0_hz"] / 1e9, yerr=ps["f0_hz_err"] / 1e9, fmt="o", ms=3.5, label="f0 of each spectrum")
    h = np.linspace(max(ps["field_oe"].min() * 0.8, a.kittel.hk_oe + 1), ps["field_oe"].max() * 1.2, 200)
    ax.plot(h, a.kittel.f0_hz(h) / 1e9, "k-", lw=1,
            label=f"Kittel: 4πMeff = {a.kittel.meff_4pi_oe:.0f} Oe, Hk = {a.kittel.hk_oe:.1f} Oe")
    ax.set_xlabel("field H (Oe)")
    ax.set_ylabel("resonance frequency f0 (GHz)")
    ax.set_title("main-mode resonance vs field", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def fig_dvdi(a: Analysis, path: Path) -> Path:
    """The dV/dI(V) calibration curves: P, AP and the hard-axis fields."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for c in a.iv_curves:
        style = {"parallel": ("k-", "P (easy axis)"), "antiparallel": ("k--", "AP (easy axis)")}.get(
            c.label, ("-", f"hard axis, {c.field_oe:.0f} Oe")
        )
        ax.plot(c.voltage_v, c.r_d_ohm / 1e3, style[0], lw=1.2, label=style[1])
    ax.set_xlabel("bias voltage V (V)")
    ax.set_ylabel("dV/dI (kΩ)")
    ax.set_title(f"differential resistance; TMR(0) = {100 * a.summary['tmr0']:.0f} %", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def summary_text(a: Analysis) -> str:
    s = a.summary
    lines = [
        f"stfmr-lab analysis of {s['file']} ({s['status']})",
        f"spectra fitted: {s['spectra_fitted']} of {s['spectra_total']}",
        f"R_P = {s['r_p_ohm']:.1f} Ohm, R_AP = {s['r_ap_ohm']:.1f} Ohm, TMR(0) = {100 * s['tmr0']:.1f} %,"
        f" P (Julliere) = {s['polarization_julliere']:.3f}",
        f"Kittel: 4piMeff = {s['meff_4pi_oe']:.1f} +- {s['meff_4pi_oe_err']:.1f} Oe, Hk = {s['hk_oe']:.2f} +- {s['hk_oe_err']:.2f} Oe",
        f"I_RF^2 from the backgrounds / path calibration = {s['irf2_scale_vs_path']:.4f} +- {s['irf2_scale_vs_path_err']:.4f}"
        f" ({s['irf2_backgrounds_used']} spectra used)",
        f"d2V/(dtheta dI): cos(theta) model of the P/AP references; across-field derivative differs by"
        f" {100 * s['d2v_dtheta_di_across_fields_median_rel_diff']:.2f} % (median)",
        f"dtau_par/dV / sin(theta) at V = 0: {s['dtau_par_dv_at_0']:.4f} +- {s['dtau_par_dv_at_0_err']:.4f} (hbar/2e)/kOhm"
        f" (prediction {s['dtau_par_dv_at_0_predicted']:.4f}); systematic +-{100 * s['ms_vol_rel_err_systematic']:.0f} % from Ms*Vol",
    ]
    if "a1_perp" in s:
        lines.append(f"tau_perp / sin(theta) = A0 + A1 V^2: A1 = {s['a1_perp']:.4f} +- {s['a1_perp_err']:.4f} (hbar/2e)/kOhm/V")
    if "alpha" in s:
        lines.append(f"Gilbert damping (linewidth vs bias, V = 0 intercept): alpha = {s['alpha']:.5f} +- {s['alpha_err']:.5f}")
    lines.append(f"Ms*Vol used: {s['ms_vol_emu']:.3g} emu")
    for w in s.get("warnings", []):
        lines.append(f"warning: {w}")
    return "\n".join(lines) + "\n"


def write_report(a: Analysis, out_dir: str | Path) -> dict[str, Path]:
    """Write every figure (PNG), the tables (CSV) and the summary; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "spectra figure": fig_spectra(a, out / "fig2b_spectra.png"),
        "torkance figure": fig_torkances(a, out / "fig3a_torkances.png"),
        "relative bias figure": fig_relative(a, out / "fig3b_relative.png"),
        "damping figure": fig_damping(a, out / "fig3c_damping.png"),
        "Kittel figure": fig_kittel(a, out / "kittel.png"),
        "dV/dI figure": fig_dvdi(a, out / "dvdi.png"),
    }
    a.per_spectrum.to_csv(out / "per_spectrum.csv", index=False)
    a.per_bias.to_csv(out / "per_bias.csv", index=False)
    (out / "summary.txt").write_text(summary_text(a), encoding="utf-8")
    paths["per-spectrum table"] = out / "per_spectrum.csv"
    paths["per-bias table"] = out / "per_bias.csv"
    paths["summary"] = out / "summary.txt"
    return paths


def analyze_to_report(path: str | Path, report_dir: str | Path | None = None, **kwargs) -> dict[str, Path]:
    """``stfmr-lab analyze``: analyse ``path`` and write the report (default: beside it)."""
    p = Path(path)
    a = analyze(p, **kwargs)
    out = Path(report_dir) if report_dir else p.with_name(p.stem + "_report")
    return write_report(a, out)
