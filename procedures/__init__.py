"""pymeasure procedures of stfmr-lab (installed as ``stfmr_lab.procedures``)."""

from stfmr_lab.procedures.base import Aborted, RunContext, StfmrProcedure, open_context
from stfmr_lab.procedures.sweeps import (
    DvdiCalibrationProcedure,
    FieldSweepProcedure,
    FrequencySweepProcedure,
    MapProcedure,
    RunConfigProcedure,
)

__all__ = [
    "Aborted",
    "DvdiCalibrationProcedure",
    "FieldSweepProcedure",
    "FrequencySweepProcedure",
    "MapProcedure",
    "RunConfigProcedure",
    "RunContext",
    "StfmrProcedure",
    "open_context",
]
