"""The one place where Python names with units meet HDF5 datasets with a ``units`` attribute.

Python carries units in names (``bias_current_a``); HDF5 datasets carry them as an
attribute. ``COLUMNS`` lists the point table of the run file (contract.md) in order.
"""

from __future__ import annotations

# dataset name -> (python field name, units, dtype, description)
COLUMNS: dict[str, tuple[str, str, str, str]] = {
    "frequency": ("frequency_hz", "Hz", "f8", "microwave source frequency"),
    "field": ("field_oe", "Oe", "f8", "in-plane field measured by the gaussmeter"),
    "field_angle": ("field_angle_deg", "deg", "f8", "field direction: 90 = hard axis z, 0 = easy axis y"),
    "bias_current": ("bias_current_a", "A", "f8", "DC bias current measured by the source-meter"),
    "bias_voltage": ("bias_voltage_v", "V", "f8", "DC bias voltage measured by the source-meter"),
    "rf_power": ("rf_power_dbm", "dBm", "f8", "source power setting"),
    "lockin_x": ("lockin_x_v", "V", "f8", "lock-in X (RMS of the chop fundamental)"),
    "lockin_y": ("lockin_y_v", "V", "f8", "lock-in Y"),
    "vmix": ("vmix_v", "V", "f8", "mixing voltage = X pi / sqrt(2) (square-wave chop)"),
    "time": ("time_s", "s", "f8", "bench time since the start of the run"),
    "set_time": ("set_time_s", "s", "f8", "bench time the point's frequency or field was set (swept sweeps: the lock-in filter's input changed then)"),
    "spectrum": ("spectrum", "", "i8", "index of the sweep the point belongs to (see /entry/spectra)"),
    "overload": ("overload", "", "i1", "1 if the lock-in overloaded and the point was re-ranged"),
    "sensitivity": ("sensitivity_v", "V", "f8", "lock-in sensitivity (full scale) used for the point"),
    "sample_reason": (
        "sample_reason", "", "i1",
        "why the point was measured: 0 uniform sweep, 1 adaptive coarse pass, 2 adaptive information"
        " (Fisher design), 3 adaptive background margin, 4 adaptive seeded from the previous sweep's fit,"
        " 5 adaptive swept coarse pass (read every dwell through the lock-in filter, not settled)",
    ),
}

#: the values of the ``sample_reason`` column
SAMPLE_REASONS = {"uniform": 0, "coarse": 1, "information": 2, "margin": 3, "seeded": 4, "swept": 5}
#: what an adaptive sweep's goal can be about (``stfmr_lab.analysis.design``): a lineshape
#: parameter, or a torkance's lineshape factor (dtau_par/dV ~ V_S w, dtau_perp/dV ~ V_A w)
DESIGN_QUANTITIES = ("f0", "w", "v_sym", "v_asym", "offset", "tau_par", "tau_perp")
DESIGN_TARGETS = ("tau_par", "tau_perp")

#: what a run config's ``sample:`` mapping may declare, kept in /entry/sample/declared (one
#: scalar dataset each, with its ``units`` attribute): key -> (units, description)
SAMPLE_DECLARED: dict[str, tuple[str, str]] = {
    "ms_vol_emu": ("emu", "free-layer moment Ms*Vol (MTJ)"),
    "ms_emu_cm3": ("emu/cm3", "free-layer magnetisation Ms (MTJ; with the area and thickness gives Ms*Vol)"),
    "free_layer_area_nm2": ("nm2", "free-layer area (MTJ)"),
    "free_layer_thickness_nm": ("nm", "free-layer thickness (MTJ)"),
    "mu0_ms_t": ("T", "mu0 Ms of the ferromagnet (bilayer)"),
    "t_fm_nm": ("nm", "ferromagnet thickness (bilayer)"),
    "t_hm_nm": ("nm", "heavy-metal thickness (bilayer)"),
    "width_um": ("um", "strip width (bilayer)"),
    "shunt_hm": ("", "fraction of the current in the heavy metal (bilayer)"),
    "phi_deg": ("deg", "in-plane angle of the field to the current (bilayer; 45 when not declared)"),
}

#: the columns of /entry/dvdi (I-V calibration sweeps, RF off)
DVDI_COLUMNS: dict[str, tuple[str, str, str, str]] = {
    "field": ("field_oe", "Oe", "f8", "in-plane field measured by the gaussmeter"),
    "field_angle": ("field_angle_deg", "deg", "f8", "field direction: 90 = hard axis z, 0 = easy axis y"),
    "bias_current": ("bias_current_a", "A", "f8", "DC bias current measured"),
    "bias_voltage": ("bias_voltage_v", "V", "f8", "DC bias voltage measured"),
    "time": ("time_s", "s", "f8", "bench time since the start of the run"),
    "sweep": ("sweep", "", "i8", "index of the I-V sweep (see /entry/dvdi_sweeps)"),
}

#: the columns of /entry/spectra (one row per frequency or field sweep)
SPECTRA_COLUMNS: dict[str, tuple[str, str, str, str]] = {
    "index": ("index", "", "i8", "spectrum index (the 'spectrum' column of /entry/data)"),
    "kind": ("kind", "", "i1", "0 resonance frequency sweep, 1 background reference, 2 field sweep"),
    "field_target": ("field_target_oe", "Oe", "f8", "field set point (frequency sweeps)"),
    "frequency_target": ("frequency_target_hz", "Hz", "f8", "frequency (field sweeps)"),
    "bias_target": ("bias_target", "", "f8", "bias set point, in A or V per bias_target_is_voltage"),
    "bias_target_is_voltage": ("bias_target_is_voltage", "", "i1", "1: bias_target in V, 0: in A"),
    "rf_power": ("rf_power_dbm", "dBm", "f8", "source power"),
    "field_angle": ("field_angle_deg", "deg", "f8", "field direction"),
    "adaptive": ("adaptive", "", "i1", "1: adaptive frequency sampling (see sample_reason in /entry/data), 0: uniform"),
    "acquisition": ("acquisition", "", "i1", "0 stepped (each point read after the lock-in settled), 1 swept (read every dwell, through the filter)"),
    "dwell": ("dwell_s", "s", "f8", "swept: time between steps; stepped: the settling wait"),
}

#: the values of the ``acquisition`` column of /entry/spectra
ACQUISITIONS = {"stepped": 0, "swept": 1}

#: the columns of /entry/dvdi_sweeps (one row per I-V sweep)
DVDI_SWEEP_COLUMNS: dict[str, tuple[str, str, str, str]] = {
    "index": ("index", "", "i8", "sweep index (the 'sweep' column of /entry/dvdi)"),
    "label": ("label", "", "i1", "0 hard-axis field, 1 easy-axis parallel, 2 easy-axis antiparallel"),
    "field_target": ("field_target_oe", "Oe", "f8", "field set point"),
    "field_angle": ("field_angle_deg", "deg", "f8", "field direction"),
}

SPECTRUM_KINDS = {"resonance": 0, "background": 1, "field": 2}
DVDI_LABELS = {"hard": 0, "parallel": 1, "antiparallel": 2}

TABLES = {
    "data": COLUMNS,
    "spectra": SPECTRA_COLUMNS,
    "dvdi": DVDI_COLUMNS,
    "dvdi_sweeps": DVDI_SWEEP_COLUMNS,
}



#: NeXus axes of each NXdata group: the first is the default (``@axes``), every one gets
#: ``@<name>_indices = [0]`` (the "scatter" form: one row per point, rows in any order)
NXDATA_AXES = {
    "data": ("frequency", "field", "field_angle", "bias_current", "bias_voltage", "rf_power", "time"),
    "dvdi": ("bias_current", "field", "field_angle", "time"),
}

#: /entry/spectra columns derived from ``bias_target`` (written into the HDF5 file, not journalled):
#: the set point in A or in V, NaN where the sweep's bias was given in the other unit
BIAS_TARGET_COLUMNS: dict[str, tuple[str, str]] = {
    "bias_target_current": ("A", "bias set point of a current-biased sweep (NaN if set in V)"),
    "bias_target_voltage": ("V", "bias set point of a voltage-biased sweep (NaN if set in A)"),
}

#: units of the bench keys a simulated run records with the device truth
BENCH_KEY_UNITS = {"coil_oe_per_a": "Oe/A", "remanence_oe": "Oe"}


def parameter_unit(name: str) -> str:
    """The unit of a device parameter or bench key ("" for dimensionless ones), from physics.PARAMETERS."""
    import re

    from stfmr_lab.physics import PARAMETERS

    if name in BENCH_KEY_UNITS:
        return BENCH_KEY_UNITS[name]
    if name not in PARAMETERS:
        return ""
    m = re.search(r"\(((?:[^()]|\([^()]*\))*)\)$", PARAMETERS[name][4])
    return m.group(1) if m else ""
