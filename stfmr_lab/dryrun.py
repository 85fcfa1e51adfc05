"""``stfmr-lab run --dry-run``: what a run would do, from its validated config alone.

Nothing is opened or created: the plan by kind of sweep, the run file it would write, and
every station limit next to the plan's extreme value (validation has already checked each).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from stfmr_lab.config import FieldSweep, FreqSweep, IVSweep, RunConfig
from stfmr_lab.storage import free_name


def dry_run_report(rc: RunConfig, out: Path) -> list[str]:
    """What ``run --dry-run`` prints after the plan line: the sweeps, the run file, and every
    station limit next to the plan's extreme value (each already checked by validation)."""
    lines = [f"run file: {free_name(out)} (not created)", "plan, in measurement order:"]
    groups: list[list] = []
    for item in rc.plan.order:
        if groups and type(groups[-1][0]) is type(item) and getattr(groups[-1][0], "kind", "") == getattr(item, "kind", ""):
            groups[-1].append(item)
        else:
            groups.append([item])
    for g in groups:
        pts = sum(it.points for it in g)
        if isinstance(g[0], IVSweep):
            c = np.concatenate([it.currents_a for it in g])
            labels = ", ".join(f"{it.label} {it.field_oe:g} Oe" for it in g)
            lines.append(f"  {len(g)} I-V sweeps (RF off; {labels}): {c.min():g} to {c.max():g} A, {pts} points")
            continue
        biases = sorted({(it.bias.value, it.bias.is_voltage) for it in g})
        unit = "V" if biases[0][1] else "A"
        bias = f"bias {biases[0][0]:g} to {biases[-1][0]:g} {unit}" if len(biases) > 1 else f"bias {biases[0][0]:g} {unit}"
        adaptive = " (adaptive: at most)" if any(it.adaptive for it in g) else ""
        if isinstance(g[0], FreqSweep):
            f = np.concatenate([it.frequencies_hz for it in g])
            h = [it.field_oe for it in g]
            lines.append(
                f"  {len(g)} {g[0].kind} frequency sweeps: {min(h):g} to {max(h):g} Oe, {bias}, "
                f"{f.min() / 1e9:.3f} to {f.max() / 1e9:.3f} GHz,{adaptive} {pts} points"
            )
        else:
            h = np.concatenate([it.fields_oe for it in g])
            lines.append(
                f"  {len(g)} field sweeps: {h.min():g} to {h.max():g} Oe at "
                f"{_list_ghz(sorted({it.frequency_hz for it in g}))} GHz, {bias},{adaptive} {pts} points"
            )
    lim, order = rc.station["limits"], rc.plan.order
    fields = [abs(x) for it in order for x in (list(it.fields_oe) if isinstance(it, FieldSweep) else [it.field_oe])]
    fields += [abs(it.saturate_oe) for it in order if isinstance(it, IVSweep)]
    currents = [float(np.max(np.abs(it.currents_a))) for it in order if isinstance(it, IVSweep)]
    currents += [abs(it.bias.value) for it in rc.plan.spectra if not it.bias.is_voltage]
    volts = [abs(it.bias.value) for it in rc.plan.spectra if it.bias.is_voltage]
    volts += [it.max_voltage_v for it in order if isinstance(it, IVSweep) and math.isfinite(it.max_voltage_v)]
    powers = [it.power_dbm for it in rc.plan.spectra]
    freqs = [f for it in rc.plan.spectra for f in (
        (float(np.min(it.frequencies_hz)), float(np.max(it.frequencies_hz))) if isinstance(it, FreqSweep) else (it.frequency_hz,))]
    rows = [
        ("|field|", max(fields, default=0.0), "Oe", f"<= {lim['max_field_oe']:g} Oe"),
        ("|bias current|", max(currents, default=0.0), "A", f"<= {lim['max_bias_current_a']:g} A"),
        ("|bias voltage|", max(volts, default=0.0), "V", f"<= {lim['max_bias_voltage_v']:g} V (set points; read back at every step)"),
        ("rf power at the source", max(powers, default=math.nan), "dBm", f"<= {lim['max_rf_power_dbm']:g} dBm"),
    ]
    if powers:
        from stfmr_lab.instruments.path import BiasTeePath

        path = BiasTeePath.from_config(rc.station["path"])
        at_dev = max(float(np.max(path.power_at_device_dbm(
            it.frequencies_hz if isinstance(it, FreqSweep) else [it.frequency_hz], it.power_dbm))) for it in rc.plan.spectra)
        rows.append(("rf power at the device", at_dev, "dBm",
                     f"<= {lim['max_rf_power_at_device_dbm']:g} dBm (through the path "
                     f"{'loss model' if path.source == 'model' else path.source})"))
    lines.append("limits checked (station file): the plan's extreme, the limit")
    for name, value, unit, limit in rows:
        v = f"{value:.4g} {unit}" if math.isfinite(value) else "-"
        lines.append(f"  {name:24s} {v:>14s}   {limit}")
    if freqs:
        lines.append(
            f"  {'frequency':24s} {min(freqs) / 1e9:.3f} to {max(freqs) / 1e9:.3f} GHz   within "
            f"{lim['min_frequency_hz'] / 1e9:g} to {lim['max_frequency_hz'] / 1e9:g} GHz"
        )
    lines.append(
        f"  bias ramps in steps of at most {lim['max_bias_step_a']:g} A every {lim['bias_step_dwell_s']:g} s; "
        f"compliance {lim['compliance_v']:g} V"
    )
    return lines


def _list_ghz(freqs_hz: list[float], most: int = 6) -> str:
    shown = ", ".join(f"{f / 1e9:.3f}" for f in freqs_hz[:most])
    return shown + (f", ... ({len(freqs_hz)} frequencies)" if len(freqs_hz) > most else "")
