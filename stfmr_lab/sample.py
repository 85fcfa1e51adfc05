"""What the user declares of the sample (``sample:`` in a run config) and what follows from it.

``sample:`` is a name, or a mapping with ``name`` and the sample's known properties
(``units.SAMPLE_DECLARED``): for an MTJ ``ms_vol_emu``, or ``ms_emu_cm3`` with
``free_layer_area_nm2`` and ``free_layer_thickness_nm``. It is stored in the run file's
``/entry/sample/declared``, apart from the simulated truth, and the analysis takes its
Ms*Vol from there (unless told otherwise).
"""

from __future__ import annotations

from stfmr_lab.schema import ConfigError, Map, Num, OneOf, Str
from stfmr_lab.units import SAMPLE_DECLARED

NM3_PER_CM3 = 1e21

_RANGES = {  # allowed range of each declared quantity, in its units
    "ms_vol_emu": (1e-20, 1e-6),
    "ms_emu_cm3": (1.0, 1e4),
    "free_layer_area_nm2": (1.0, 1e12),
    "free_layer_thickness_nm": (0.05, 1e4),
    "mu0_ms_t": (1e-4, 5.0),
    "t_fm_nm": (0.05, 1e4),
    "t_hm_nm": (0.05, 1e4),
    "width_um": (1e-3, 1e5),
    "shunt_hm": (0.0, 1.0),
    "phi_deg": (-180.0, 180.0),
}

SAMPLE_MAP = Map(
    {"name": Str(default="unnamed device")}
    | {k: Num(min=lo, max=hi, default=None, doc=SAMPLE_DECLARED[k][1]) for k, (lo, hi) in _RANGES.items()}
)
#: the ``sample:`` key of a run config
SAMPLE = OneOf((Str(), SAMPLE_MAP), default="unnamed device", what="a name or a mapping (name, ms_vol_emu, ...)")


def declared_sample(value, path: str = "sample") -> dict:
    """The checked ``sample:`` value as a mapping: ``name`` plus the quantities given (no Nones).

    Ms*Vol given twice (directly and from Ms, area and thickness) must agree within 1 %.
    """
    if isinstance(value, str):
        return {"name": value}
    out = {k: v for k, v in SAMPLE_MAP.check(path, value).items() if v is not None}
    parts = [k for k in ("ms_emu_cm3", "free_layer_area_nm2", "free_layer_thickness_nm") if k in out]
    if parts and len(parts) < 3:
        missing = sorted({"ms_emu_cm3", "free_layer_area_nm2", "free_layer_thickness_nm"} - set(parts))
        raise ConfigError(f"{path}: Ms*Vol from ms_emu_cm3 needs {' and '.join(missing)} too")
    if len(parts) == 3:
        derived = ms_vol_from_parts(out)
        if "ms_vol_emu" in out and abs(out["ms_vol_emu"] / derived - 1.0) > 0.01:
            raise ConfigError(
                f"{path}.ms_vol_emu: {out['ms_vol_emu']:g} emu disagrees with ms_emu_cm3 x area x thickness = {derived:g} emu"
            )
    return out


def sample_name(value) -> str:
    """The name of a ``sample:`` value (a name, or a mapping with ``name``)."""
    return str(value.get("name", "")) if isinstance(value, dict) else str(value or "")


def ms_vol_from_parts(declared: dict) -> float:
    """Ms*Vol (emu) = Ms (emu/cm3) x area (nm2) x thickness (nm)."""
    vol_cm3 = declared["free_layer_area_nm2"] * declared["free_layer_thickness_nm"] / NM3_PER_CM3
    return float(declared["ms_emu_cm3"] * vol_cm3)


def declared_ms_vol_emu(declared: dict) -> float | None:
    """The Ms*Vol (emu) a declared sample gives, or None when it gives none."""
    if declared.get("ms_vol_emu") is not None:
        return float(declared["ms_vol_emu"])
    if all(declared.get(k) is not None for k in ("ms_emu_cm3", "free_layer_area_nm2", "free_layer_thickness_nm")):
        return ms_vol_from_parts(declared)
    return None
