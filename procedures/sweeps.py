"""The procedures a user queues: each turns its Parameters into a run config and walks it.

- ``FrequencySweepProcedure``: Vmix vs frequency at fixed field and bias (the seed's
  main measurement).
- ``FieldSweepProcedure``: Vmix vs field at fixed frequency and bias.
- ``MapProcedure``: fields x biases x frequency sweeps in one run (one file).
  The sweeps offer ``Sampling``: uniform, or adaptive (points placed as the sweep goes,
  to the same torkance errors as the uniform sweep of that many points).
- ``DvdiCalibrationProcedure``: dV/dI(I) with the RF off at a list of fields, plus the
  easy-axis parallel and antiparallel references.
- ``FieldMapProcedure``: a heavy-metal / ferromagnet strip (physics-sot.md): a field sweep
  through zero at every frequency x DC current, with the sample block the analysis needs.
- ``RunConfigProcedure``: any run config (YAML), as ``stfmr-lab run`` uses.
"""

from __future__ import annotations

import yaml
from pymeasure.experiment import BooleanParameter, FloatParameter, IntegerParameter, ListParameter, Parameter
from stfmr_lab.procedures.base import StfmrProcedure

from stfmr_lab.config import validate_run_config
from stfmr_lab.schema import number_list


class _Common(StfmrProcedure):
    """Parameters every queued procedure shares (lock-in, power, station, sample)."""

    station_file = Parameter("Station file", default="station.yaml")
    sample_name = Parameter("Sample", default="unnamed device")
    rf_power_dbm = FloatParameter("RF power", units="dBm", minimum=-150, maximum=30, default=-10.0)
    time_constant_s = FloatParameter("Lock-in time constant", units="s", minimum=1e-5, maximum=30, default=0.03)
    settle_time_constants = FloatParameter("Settle", units="tau", minimum=0, maximum=100, default=15.0)
    sensitivity_v = FloatParameter("Lock-in sensitivity", units="V", minimum=1e-9, maximum=1, default=2e-3)
    chop_frequency_hz = FloatParameter("Chop frequency", units="Hz", minimum=1, maximum=1e5, default=250.0)

    #: the run config's ``device:`` and ``simulation:`` (set by the GUI / API for --sim)
    device: dict = {}
    simulation: dict = {}

    def measurements(self) -> list[dict]:
        raise NotImplementedError

    def config_dict(self) -> dict:
        return {
            "name": type(self).__name__.replace("Procedure", "").lower(),
            "sample": self.sample_name,
            "station": self.station_file,
            "device": dict(self.device),
            "simulation": dict(self.simulation),
            "lockin": {
                "time_constant_s": self.time_constant_s,
                "settle_time_constants": self.settle_time_constants,
                "sensitivity_v": self.sensitivity_v,
            },
            "chop": {"frequency_hz": self.chop_frequency_hz},
            "rf_power_dbm": self.rf_power_dbm,
            "measurements": self.measurements(),
        }

    def make_run_config(self):
        data = self.config_dict()
        data["_procedure"] = type(self).__name__
        rc = validate_run_config({k: v for k, v in data.items() if k != "_procedure"}, sim=self.sim)
        rc.data["_procedure"] = type(self).__name__
        return rc


#: the ``Sampling`` choice of the frequency sweeps: uniform, or adaptive with the same errors
SAMPLING = ("uniform", "adaptive")


def _adaptive(sampling: str, points: int, acquisition: str = "stepped") -> dict:
    """The measurement's ``adaptive:`` block for the form's choice: the same 1-sigma errors of
    the torkances' lineshape factors as a uniform sweep of ``points``, never more points.
    With a swept acquisition the coarse pass is swept (half as many points, read through the
    lock-in filter) and comes on top of that budget of settled points."""
    if sampling != "adaptive":
        return {}
    if acquisition.startswith("swept"):
        coarse = max(15, min(int(points) // 2, 1000))
        return {"adaptive": {"match_uniform_points": int(points), "coarse_points": coarse,
                             "max_points": int(points) + coarse}}
    return {"adaptive": {"match_uniform_points": int(points), "max_points": int(points)}}


#: the ``Acquisition`` choice: settle at each point, or read through the lock-in filter
#: every 1.5 time constants (``acquisition: swept``), optionally up and down again
ACQUISITION = ("stepped", "swept", "swept up/down")


def _acquisition(choice: str) -> dict:
    """The measurement's acquisition keys for the form's choice."""
    if choice == "swept":
        return {"acquisition": "swept"}
    if choice == "swept up/down":
        return {"acquisition": "swept", "up_down": True}
    return {}


class FrequencySweepProcedure(_Common):
    """Vmix vs frequency at one field and bias."""

    field_oe = FloatParameter("Field", units="Oe", minimum=-1e5, maximum=1e5, default=1000.0)
    bias_current_a = FloatParameter("Bias current", units="A", minimum=-0.1, maximum=0.1, default=0.0)
    start_hz = FloatParameter("Start frequency", units="Hz", minimum=0, maximum=1e12, default=7.4e9)
    stop_hz = FloatParameter("Stop frequency", units="Hz", minimum=0, maximum=1e12, default=9.8e9)
    points = IntegerParameter("Points", minimum=2, maximum=100000, default=201)
    sampling = ListParameter("Sampling", choices=list(SAMPLING), default="uniform")
    acquisition = ListParameter("Acquisition", choices=list(ACQUISITION), default="stepped")

    def measurements(self):
        return [
            {
                "type": "frequency_sweep",
                "field_oe": self.field_oe,
                "bias_a": self.bias_current_a,
                "frequency": {"start_hz": self.start_hz, "stop_hz": self.stop_hz, "points": self.points},
                **_adaptive(self.sampling, self.points, self.acquisition),
                **_acquisition(self.acquisition),
            }
        ]


class FieldSweepProcedure(_Common):
    """Vmix vs field at one frequency and bias."""

    frequency_hz = FloatParameter("Frequency", units="Hz", minimum=0, maximum=1e12, default=8.6e9)
    bias_current_a = FloatParameter("Bias current", units="A", minimum=-0.1, maximum=0.1, default=0.0)
    start_oe = FloatParameter("Start field", units="Oe", minimum=-1e5, maximum=1e5, default=800.0)
    stop_oe = FloatParameter("Stop field", units="Oe", minimum=-1e5, maximum=1e5, default=1200.0)
    points = IntegerParameter("Points", minimum=2, maximum=100000, default=161)
    sampling = ListParameter("Sampling", choices=list(SAMPLING), default="uniform")
    acquisition = ListParameter("Acquisition", choices=list(ACQUISITION), default="stepped")

    def measurements(self):
        return [
            {
                "type": "field_sweep",
                "frequency_hz": self.frequency_hz,
                "bias_a": self.bias_current_a,
                "fields_oe": {"start": self.start_oe, "stop": self.stop_oe, "points": self.points},
                **_adaptive(self.sampling, self.points, self.acquisition),
                **_acquisition(self.acquisition),
            }
        ]


class MapProcedure(_Common):
    """Fields x biases x frequency sweeps (centred on the Kittel prediction) in one file."""

    fields_oe = Parameter("Fields (Oe, comma-separated)", default="800, 1000, 1200")
    bias_start_v = FloatParameter("Bias from", units="V", minimum=-20, maximum=20, default=-0.5)
    bias_stop_v = FloatParameter("Bias to", units="V", minimum=-20, maximum=20, default=0.5)
    bias_points = IntegerParameter("Biases", minimum=1, maximum=1001, default=11)
    bias_order = ListParameter("Bias order", choices=["ascending", "descending", "alternating"], default="alternating")
    outer = ListParameter("Outer loop", choices=["field", "bias"], default="field")
    span_hz = FloatParameter("Frequency span", units="Hz", minimum=1e6, maximum=1e11, default=2.4e9)
    points = IntegerParameter("Points per sweep", minimum=2, maximum=100000, default=161)
    sampling = ListParameter("Sampling", choices=list(SAMPLING), default="uniform")
    acquisition = ListParameter("Acquisition", choices=list(ACQUISITION), default="stepped")
    with_calibration = BooleanParameter("dV/dI calibration first", default=True)

    def measurements(self):
        out = []
        if self.with_calibration:
            out.append({"type": "dvdi", "fields_oe": number_list(self.fields_oe), "currents_a": {"start": -1.4e-4, "stop": 1.4e-4, "points": 57}})
        biases = (
            {"start": self.bias_start_v, "stop": self.bias_stop_v, "points": self.bias_points}
            if self.bias_points > 1
            else [self.bias_start_v]
        )
        out.append(
            {
                "type": "map",
                "fields_oe": number_list(self.fields_oe),
                "biases_v": biases,
                "bias_order": self.bias_order,
                "outer": self.outer,
                "frequency": {"center": "kittel", "span_hz": self.span_hz, "points": self.points},
                **_adaptive(self.sampling, self.points, self.acquisition),
                **_acquisition(self.acquisition),
            }
        )
        return out


class DvdiCalibrationProcedure(_Common):
    """dV/dI(I) with the RF off at each field, plus the easy-axis P and AP references."""

    fields_oe = Parameter("Fields (Oe, comma-separated)", default="800, 1000, 1200")
    current_max_a = FloatParameter("Current to +-", units="A", minimum=1e-9, maximum=0.1, default=1.4e-4)
    points = IntegerParameter("Points", minimum=3, maximum=100001, default=57)
    reference_loops = BooleanParameter("Easy-axis P/AP references", default=True)

    def measurements(self):
        return [
            {
                "type": "dvdi",
                "fields_oe": number_list(self.fields_oe),
                "currents_a": {"start": -self.current_max_a, "stop": self.current_max_a, "points": self.points},
                "reference_loops": bool(self.reference_loops),
            }
        ]


class FieldMapProcedure(_Common):
    """Field sweeps (through zero: both polarities) at every frequency and DC current of a
    heavy-metal / ferromagnet strip; the run config of ``examples/bilayer_map.yaml``."""

    frequencies_ghz = Parameter("Frequencies (GHz, comma-separated)", default="4, 6, 8, 10, 12")
    dc_currents_ma = Parameter("DC currents (mA, comma-separated)", default="-5, 0, 5")
    start_oe = FloatParameter("Start field", units="Oe", minimum=-1e5, maximum=1e5, default=-2600.0)
    stop_oe = FloatParameter("Stop field", units="Oe", minimum=-1e5, maximum=1e5, default=2600.0)
    points = IntegerParameter("Points per sweep", minimum=2, maximum=100000, default=521)
    # adaptive: each sweep's two lines designed one polarity after the other, at most ``points``
    sampling = ListParameter("Sampling", choices=list(SAMPLING), default="uniform")
    # the sample block (what the analysis needs for the spin-torque efficiency)
    mu0_ms_t = FloatParameter("mu0 Ms", units="T", minimum=1e-4, maximum=5.0, default=0.8)
    t_fm_nm = FloatParameter("Ferromagnet thickness", units="nm", minimum=0.05, maximum=1e4, default=4.0)
    t_hm_nm = FloatParameter("Heavy-metal thickness", units="nm", minimum=0.05, maximum=1e4, default=6.0)
    width_um = FloatParameter("Strip width", units="um", minimum=1e-3, maximum=1e5, default=10.0)
    shunt_hm = FloatParameter("Current fraction in the heavy metal", minimum=1e-6, maximum=1.0, default=0.7)
    phi_deg = FloatParameter("Field angle to the current", units="deg", minimum=-180, maximum=180, default=45.0)
    # a strip's bench (the example's): +10 dBm, 100 uV sensitivity, its own station limits
    station_file = Parameter("Station file", default="station_bilayer.yaml")
    sample_name = Parameter("Sample", default="Py(4)/Pt(6) strip 10 x 50 um2")
    rf_power_dbm = FloatParameter("RF power", units="dBm", minimum=-150, maximum=30, default=10.0)
    settle_time_constants = FloatParameter("Settle", units="tau", minimum=0, maximum=100, default=10.0)
    sensitivity_v = FloatParameter("Lock-in sensitivity", units="V", minimum=1e-9, maximum=1, default=1e-4)

    def measurements(self):
        return [
            {
                "type": "field_map",
                "frequencies_hz": [f * 1e9 for f in number_list(self.frequencies_ghz)],
                "dc_currents_a": [i * 1e-3 for i in number_list(self.dc_currents_ma)],
                "fields_oe": {"start": self.start_oe, "stop": self.stop_oe, "points": self.points},
                **_adaptive(self.sampling, self.points),
            }
        ]

    def config_dict(self) -> dict:
        data = super().config_dict()
        data["name"] = "bilayer_map"
        data["sample"] = {
            "name": self.sample_name,
            **{k: float(getattr(self, k)) for k in ("mu0_ms_t", "t_fm_nm", "t_hm_nm", "width_um", "shunt_hm", "phi_deg")},
        }
        return data


class RunConfigProcedure(StfmrProcedure):
    """Any run config given as YAML text (what ``stfmr-lab run`` and the GUI's Load use)."""

    config_text = Parameter("Run config (YAML)", default="")
    #: folder that relative paths in the config (the station file) are relative to
    base_dir = None

    def make_run_config(self):
        return validate_run_config(yaml.safe_load(self.config_text), sim=self.sim, base_dir=self.base_dir)
