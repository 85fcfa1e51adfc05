"""``analyze`` for a bilayer run file: field sweeps -> the spin-torque efficiency (physics-sot.md).

A run is a bilayer run when the simulation recorded ``device_type = "bilayer"`` in its truth,
or its config has ``device: {type: bilayer}`` or a ``field_map`` measurement (a real bench
records no truth). Each field sweep's lines (both polarities) are fitted and inverted by
``stfmr_lab.analysis.sot``; the sample is what the user declared (``sample:`` mapping, stored
in /entry/sample/declared), never the simulation's truth.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from stfmr_lab.analysis.pipeline import Analysis, AnalysisError
from stfmr_lab.analysis.sot import BilayerSample, analyze_bilayer_sweeps
from stfmr_lab.storage import RunData
from stfmr_lab.units import SPECTRUM_KINDS

SAMPLE_KEYS = ("mu0_ms_t", "t_fm_nm", "t_hm_nm", "width_um", "shunt_hm")


def _config(run: RunData) -> dict:
    try:
        cfg = yaml.safe_load(run.attrs.get("config", "") or "")
    except yaml.YAMLError:
        return {}
    return cfg if isinstance(cfg, dict) else {}


def is_bilayer_run(run: RunData) -> bool:
    """Does this run file hold a heavy-metal / ferromagnet strip's field maps?"""
    if run.sample.get("device_type") == "bilayer":
        return True
    return is_bilayer_config(_config(run))


def is_bilayer_config(cfg) -> bool:
    """Is this run config (a mapping) a bilayer run: ``device: {type: bilayer}`` or a
    ``field_map`` measurement?"""
    if not isinstance(cfg, dict):
        return False
    device = cfg.get("device")
    if isinstance(device, dict) and device.get("type") == "bilayer":
        return True
    meas = cfg.get("measurements")
    return isinstance(meas, list) and any(isinstance(m, dict) and m.get("type") == "field_map" for m in meas)


def declared_sample(run: RunData, path) -> tuple[BilayerSample, list[str]]:
    """The sample the user declared, and warnings (phi taken as 45 deg when not declared)."""
    dec = dict(run.sample.get("declared", {}))
    missing = [k for k in SAMPLE_KEYS if k not in dec]
    if missing:
        raise AnalysisError(
            f"{path}: the run config's sample: mapping lacks {', '.join(missing)} (needed for the spin-torque efficiency)"
        )
    warnings = []
    if "phi_deg" not in dec:
        warnings.append("sample.phi_deg not declared: the field taken at 45 deg to the current")
    return BilayerSample.of(dec), warnings


def analyze_bilayer_run(run: RunData, path, *, g=None, fit_g=None) -> Analysis:
    """The bilayer analysis of a run file (see the module docstring).

    ``per_spectrum``: one row per fitted line (sweep, polarity, frequency, DC current, the
    fit with errors, ok, xi_fmr per line). ``per_bias``: one row per frequency and DC
    current with both polarities' linewidths and alpha_eff = (Delta - dh0) (gamma/2pi) / f.
    """
    sample, warnings = declared_sample(run, path)
    D, S = run.data, run.tables["spectra"]
    from stfmr_lab.analysis.pipeline import _vmix_phase_removed

    vmix_all = _vmix_phase_removed(D)[0]  # the lock-in phase removed, as for the MTJ
    sweeps, index = [], []
    for k, idx in enumerate(S["index"]):
        if int(S["kind"][k]) != SPECTRUM_KINDS["field"]:
            continue
        sel = D["spectrum"] == idx
        if np.count_nonzero(sel) < 12:
            continue
        h, v = D["field"][sel], vmix_all[sel]
        order = np.argsort(h, kind="stable")
        sweeps.append(
            {
                "frequency_hz": float(S["frequency_target"][k]),
                # the set current (a readback of zero is a few nA of noise on a real bench)
                "dc_current_a": float(np.median(D["bias_current"][sel]))
                if int(S["bias_target_is_voltage"][k])
                else float(S["bias_target"][k]),
                "field_oe": h[order],
                "vmix_v": v[order],
            }
        )
        index.append(int(idx))
    if not sweeps:
        raise AnalysisError(f"{path}: no field sweeps to fit")
    try:
        res = analyze_bilayer_sweeps(sweeps, sample, g=g, fit_g=fit_g)
    except ValueError as e:
        raise AnalysisError(f"{path}: {e}") from None
    n_structured = sum(r["structured"] for r in res.lines)
    if n_structured:
        warnings.append(
            f"{n_structured} of {len(res.lines)} line fits have structured residuals (the model misses something:"
            " drift, say): used, with their background-model systematic errors added"
        )
    for k, pol, msg in res.rejected:
        side = "+" if pol > 0 else "-"
        warnings.append(f"spectrum {index[k]} ({side}H): line not used ({msg})" if pol else f"spectrum {index[k]}: {msg}")

    rows = []
    for r in res.lines:
        ft = r["fit"]
        rows.append(
            {
                "spectrum": index[r["sweep"]],
                "polarity": int(r["polarity"]),
                "frequency_hz": r["frequency_hz"],
                "dc_current_a": r["dc_current_a"],
                "h0_oe": ft.h0_oe,
                "h0_oe_err": ft.stderr["h0_oe"],
                "dh_oe": ft.dh_oe,
                "dh_oe_err": ft.stderr["dh_oe"],
                "v_sym": ft.v_sym,
                "v_sym_err": ft.stderr["v_sym"],
                "v_asym": ft.v_asym,
                "v_asym_err": ft.stderr["v_asym"],
                "offset": ft.offset,
                "slope": ft.slope,
                "h0_oe_err_sys": ft.stderr_sys.get("h0_oe", 0.0),
                "dh_oe_err_sys": ft.stderr_sys.get("dh_oe", 0.0),
                "v_sym_err_sys": ft.stderr_sys.get("v_sym", 0.0),
                "v_asym_err_sys": ft.stderr_sys.get("v_asym", 0.0),
                "ok": ft.ok,
                "used": r["used"],
                "message": ft.message,
                "xi_fmr": r.get("xi_fmr", math.nan),
                "xi_fmr_err": r.get("xi_fmr_err", math.nan),
            }
        )
    per_spectrum = pd.DataFrame(rows)
    s = res.result.summary
    gam = res.result.kittel.gamma_2pi_hz_per_oe
    per_bias = []
    ok = per_spectrum[per_spectrum["used"]]
    for (f, i), grp in ok.groupby(["frequency_hz", "dc_current_a"]):
        row = {"frequency_hz": f, "dc_current_a": i}
        for p, name in ((1, "plus"), (-1, "minus")):
            g1 = grp[grp["polarity"] == p]
            dh = float(g1["dh_oe"].iloc[0]) if len(g1) else math.nan
            dh_err = float(g1["dh_oe_err"].iloc[0]) if len(g1) else math.nan
            row[f"dh_{name}_oe"], row[f"dh_{name}_oe_err"] = dh, dh_err
            row[f"alpha_eff_{name}"] = (dh - s["dh0_oe"]) * gam / f
        per_bias.append(row)
    summary = dict(s)
    summary.update(
        device_type="bilayer",
        file=str(Path(path)),
        status=run.attrs.get("status", ""),
        lines_fitted=int(per_spectrum["used"].sum()),
        lines_total=len(per_spectrum),
        warnings=warnings,
    )
    return Analysis(
        path=run.path,
        per_spectrum=per_spectrum,
        per_bias=pd.DataFrame(per_bias),
        summary=summary,
        spectra={index[k]: (sw["field_oe"], sw["vmix_v"]) for k, sw in enumerate(sweeps)},
        kittel=res.result.kittel,
        linewidth_fits={"damping": res.result.damping},
        warnings=warnings,
    )
