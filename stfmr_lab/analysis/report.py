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


MARKERS = ("o", "s", "^", "v", "D", "P", "X")


def _volts(v: float) -> str:
    """A bias label: +0.20 V, and 0.00 V (not -0.00) for the readback of zero."""
    return f"{v:+.2f} V" if abs(v) >= 5e-3 else "0.00 V"


def fig_spectra(a: Analysis, path: Path, field_oe: float | None = None, n_biases: int = 5) -> Path:
    """Vmix vs frequency at several biases with the fitted S/A lineshape (seed Fig. 2b),
    each series offset and with its own marker, and the residuals (data - fit) below."""
    plt = _plt()
    ps = a.per_spectrum
    fields = sorted(ps["field_oe"].round(0).unique())
    h = field_oe if field_oe is not None else fields[len(fields) // 2]
    sel = ps[(ps["field_oe"].round(0) == h)].sort_values("bias_voltage_v")
    if len(sel) > n_biases:
        idx = np.unique(np.linspace(0, len(sel) - 1, n_biases).round().astype(int))
        sel = sel.iloc[idx]
    fig, (ax, axr) = plt.subplots(2, 1, figsize=(6.4, 7.0), sharex=True, gridspec_kw={"height_ratios": [3, 1.4]})
    span = max(float(np.ptp(a.spectra[int(r.spectrum)][1])) for r in sel.itertuples())
    step = 1.1 * span * 1e3
    res = {int(r.spectrum): (a.spectra[int(r.spectrum)][1] - a.spectra[int(r.spectrum)][2]) * 1e6 for r in sel.itertuples()}
    rstep = 1.2 * max(max(float(np.ptp(x)) for x in res.values()), 1e-3)
    vmax = max(abs(sel["bias_voltage_v"]).max(), 1e-9)
    for k, r in enumerate(sel.itertuples()):
        f, v, model = a.spectra[int(r.spectrum)]
        # blue negative, red positive bias, darker with |V|; black at zero (no washed-out middle)
        shade = 0.45 + 0.5 * abs(r.bias_voltage_v) / vmax
        colour = plt.cm.Blues(shade) if r.bias_voltage_v < -1e-3 else plt.cm.Reds(shade) if r.bias_voltage_v > 1e-3 else "0.15"
        marker = MARKERS[k % len(MARKERS)]
        base = v[0] * 1e3
        off = k * step - base  # each series starts at its own level
        every = max(1, len(f) // 200)  # every point of a usual sweep (spikes stay visible)
        ax.plot(f / 1e9, v * 1e3 + off, marker, ms=3.2, mfc="none", mew=0.8, color=colour, markevery=every, ls="none")
        ax.plot(f / 1e9, model * 1e3 + off, "-", lw=1.1, color="k", alpha=0.85)
        ax.text(f[-1] / 1e9, model[-1] * 1e3 + off, f"  {_volts(r.bias_voltage_v)}", va="center", ha="left", fontsize=8)
        axr.axhline(k * rstep, color="0.7", lw=0.6)
        axr.plot(f / 1e9, res[int(r.spectrum)] + k * rstep, marker, ms=2.5, mfc="none", mew=0.6, color=colour,
                 markevery=every, ls="-", lw=0.5)
        axr.text(f[-1] / 1e9, k * rstep, f"  {_volts(r.bias_voltage_v)}", va="center", ha="left", fontsize=7)
    ax.set_ylabel("Vmix (mV), series offset")
    ax.set_title(f"ST-FMR spectra at H = {h:.0f} Oe: data (markers) and S/A fits (black lines)", fontsize=10)
    axr.set_xlabel("frequency (GHz)")
    axr.set_ylabel("data - fit (µV),\nseries offset")
    ax.margins(x=0.12)
    axr.margins(x=0.12)
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
        ax1.errorbar(g["bias_voltage_v"], g["dtau_par_dv"], yerr=g["dtau_par_dv_err"], fmt=MARKERS[k % len(MARKERS)], ms=4,
                     mfc="none", color=c,
                     label=f"{h:.0f} Oe")
        ax2.errorbar(g["bias_voltage_v"], g["dtau_perp_dv"], yerr=g["dtau_perp_dv_err"], fmt=MARKERS[k % len(MARKERS)], ms=4,
                     mfc="none", color=c,
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
        ax.errorbar(g["bias_voltage_v"], g["dtau_par_dv"] / ref, yerr=g["dtau_par_dv_err"] / ref, fmt=MARKERS[k % len(MARKERS)],
                    ms=4, mfc="none",
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
        ax.errorbar(g["bias_voltage_v"], g["alpha_eff"], yerr=g["alpha_eff_err"], fmt=MARKERS[k % len(MARKERS)], ms=4, mfc="none",
                    color=c, label=f"{h:.0f} Oe")
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


def _tmr_line(s: dict) -> str:
    def pct(x):
        return "n/a (outside the dV/dI sweeps)" if not math.isfinite(x) else f"{100 * x:.1f} %"

    halves = ", ".join(f"{s[k]:+.3f} V" for k in ("v_half_tmr_neg_v", "v_half_tmr_pos_v") if math.isfinite(s.get(k, math.nan)))
    return (f"TMR(V) (differential, G_P/G_AP - 1) from the data: {pct(s['tmr0'])} at 0 V, {pct(s['tmr_at_540mv'])} at +540 mV,"
            f" {pct(s['tmr_at_minus_540mv'])} at -540 mV" + (f"; half of TMR(0) at {halves}" if halves else "")
            + " (the seed quotes 154 % at 0 and 43 % at 540 mV)")


def summary_text(a: Analysis) -> str:
    s = a.summary
    lines = [f"stfmr-lab analysis of {s['file']} ({s['status']})"]
    if s.get("skipped"):
        lines.append(f"spectra fitted: {s['spectra_fitted']} of {s['spectra_total']} (lineshape fits only)")
        if "field_sweeps_total" in s:
            lines.append(f"field sweeps fitted: {s['field_sweeps_fitted']} of {s['field_sweeps_total']}")
        for what in s["skipped"]:
            lines.append(f"skipped: {what}")
        if "meff_4pi_oe" in s:
            lines.append(f"Kittel: 4piMeff = {s['meff_4pi_oe']:.1f} +- {s['meff_4pi_oe_err']:.1f} Oe,"
                         f" Hk = {s['hk_oe']:.2f} +- {s['hk_oe_err']:.2f} Oe")
        for w in s.get("warnings", []):
            lines.append(f"warning: {w}")
        return "\n".join(lines) + "\n"
    if s.get("ms_vol_assumed"):
        lines += [
            f"NOTE: no Ms*Vol declared for this sample: the paper's value {s['ms_vol_emu']:.3g} emu was assumed;",
            "      the torkance magnitudes hold for that value only (they scale with Ms*Vol:"
            " give sample: {ms_vol_emu: ...} in the run config or --ms-vol-emu)",
        ]
    lines += [
        f"spectra fitted: {s['spectra_fitted']} of {s['spectra_total']}",
        f"R_P = {s['r_p_ohm']:.1f} Ohm, R_AP = {s['r_ap_ohm']:.1f} Ohm, TMR(0) = {100 * s['tmr0']:.1f} %,"
        f" P (Julliere) = {s['polarization_julliere']:.3f}",
        _tmr_line(s),
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
    lines.append(f"Ms*Vol used: {s['ms_vol_emu']:.3g} emu ({s['ms_vol_source']})")
    for w in s.get("warnings", []):
        lines.append(f"warning: {w}")
    return "\n".join(lines) + "\n"


#: CSV column names: the analysis's names with their units (and what was divided by sin(theta));
#: names without a unit (alpha_eff, omega_perp, chi2_red, ...) are dimensionless
_CSV_EXPLICIT = {
    "dtau_par_dv": "dtau_par_dv_over_sin_hbar2e_per_kohm",
    "dtau_perp_dv": "dtau_perp_dv_over_sin_hbar2e_per_kohm",
    "dtau_par_dv_predicted": "dtau_par_dv_over_sin_predicted_hbar2e_per_kohm",
    "d2v_dtheta_di_ohm": "d2v_dtheta_di_ohm_per_rad",
}
_CSV_SUFFIX = (  # (name ends with, unit suffix), first match
    ("_per_irf2", "_v_per_a2"),
    ("v_sym", "_v"), ("v_asym", "_v"), ("offset", "_v"),
)


def csv_name(name: str) -> str:
    """The CSV header of a table column: its unit in the name (``v_sym`` -> ``v_sym_v``;
    ``dtau_par_dv`` -> ``dtau_par_dv_over_sin_hbar2e_per_kohm``; errors follow their value)."""
    base, err = (name[:-4], "_err") if name.endswith("_err") else (name, "")
    for kind in ("_fit", ""):
        if kind and base.endswith(kind) and base[: -len(kind)] in _CSV_EXPLICIT:
            stem = base[: -len(kind)]
            return _CSV_EXPLICIT[stem].replace(stem, stem + kind, 1) + err
    if base in _CSV_EXPLICIT:
        return _CSV_EXPLICIT[base] + err
    for end, unit in _CSV_SUFFIX:
        if base.endswith(end):
            return base + unit + err
    return name


def _write_csv(df, path: Path) -> Path:
    df.rename(columns={c: csv_name(c) for c in df.columns}).to_csv(path, index=False)
    return path


def write_report(a: Analysis, out_dir: str | Path) -> dict[str, Path]:
    """Write every figure (PNG), the tables (CSV, units in the headers) and the summary;
    return their paths. Without the dV/dI calibrations: the spectra (and Kittel) only.
    A bilayer run: the figures and tables of ``report_sot``."""
    if a.summary.get("device_type") == "bilayer":
        from stfmr_lab.analysis import report_sot

        return report_sot.write_report(a, out_dir)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"spectra figure": fig_spectra(a, out / "fig2b_spectra.png")} if a.spectra else {}
    if len(a.per_bias):
        paths.update({
            "torkance figure": fig_torkances(a, out / "fig3a_torkances.png"),
            "relative bias figure": fig_relative(a, out / "fig3b_relative.png"),
            "damping figure": fig_damping(a, out / "fig3c_damping.png"),
        })
    if a.kittel is not None:
        paths["Kittel figure"] = fig_kittel(a, out / "kittel.png")
    if a.iv_curves:
        paths["dV/dI figure"] = fig_dvdi(a, out / "dvdi.png")
    if len(a.per_spectrum):
        paths["per-spectrum table"] = _write_csv(a.per_spectrum, out / "per_spectrum.csv")
    if a.field_sweeps is not None:
        paths["field-sweep table"] = _write_csv(a.field_sweeps, out / "field_sweeps.csv")
    if len(a.per_bias):
        paths["per-bias table"] = _write_csv(a.per_bias, out / "per_bias.csv")
    (out / "summary.txt").write_text(summary_text(a), encoding="utf-8")
    paths["summary"] = out / "summary.txt"
    return paths


def analyze_to_report(path: str | Path, report_dir: str | Path | None = None, **kwargs) -> dict[str, Path]:
    """``stfmr-lab analyze``: analyse ``path`` and write the report (default: beside it)."""
    p = Path(path)
    a = analyze(p, **kwargs)
    out = Path(report_dir) if report_dir else p.with_name(p.stem + "_report")
    return write_report(a, out)
