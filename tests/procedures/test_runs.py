"""Procedures on the simulated bench: what lands in the run file, and the exits."""

import threading

import numpy as np
import pytest

from stfmr_lab.config import validate_run_config
from stfmr_lab.physics import LOCKIN_RMS_FACTOR, DeviceModel
from stfmr_lab.runner import RunAborted, run
from stfmr_lab.storage import read_run
from tests.small_config import small_map


def _model(run_data):
    return DeviceModel(**{k: run_data.sample[k] for k in DeviceModel().params()})


def test_map_rows_match_the_model_within_the_noise(tmp_path):
    path = run(small_map(), sim=True, out=tmp_path / "m.h5")
    d = read_run(path)
    assert d.status == "complete"
    assert d.attrs["safe_state"] == "verified"
    D = d.data
    assert len(D["vmix"]) == 2 * 3 * 41
    assert set(np.unique(D["spectrum"])) == set(range(6))
    m = _model(d)
    pred = m.vmix(D["frequency"], D["field"], D["bias_current"], D["rf_power"])
    # error budget: lock-in noise, plus the field's measurement error (4 readings of 0.01 Oe)
    sd_lockin = m.lockin_noise_v(0.03, 24) / LOCKIN_RMS_FACTOR
    dh = 0.01 / 2
    slope = np.abs(m.vmix(D["frequency"], D["field"] + 1.0, D["bias_current"], D["rf_power"]) - pred)
    sd = np.sqrt(sd_lockin**2 + (slope * dh) ** 2)
    z = (D["vmix"] - pred) / sd
    assert np.abs(np.mean(z)) < 0.3
    assert 0.6 < np.std(z) < 1.6
    assert np.max(np.abs(z)) < 6
    # the voltage targets were reached by the closed loop on the readback
    assert np.allclose(np.unique(np.round(D["bias_voltage"], 2)), [-0.3, 0.0, 0.3], atol=0.003)
    # bias order alternating: 0, +0.3, -0.3 within each field
    sp = d.tables["spectra"]
    assert list(sp["bias_target"][:3]) == [0.0, 0.3, -0.3]
    assert list(sp["field_target"]) == [900.0] * 3 + [1100.0] * 3


def test_frequency_and_field_sweep_procedures(tmp_path):
    from stfmr_lab.procedures import FieldSweepProcedure, FrequencySweepProcedure

    for cls, kw in (
        (FrequencySweepProcedure, {"field_oe": 1000.0, "bias_current_a": 5e-5, "start_hz": 7.8e9, "stop_hz": 9.4e9, "points": 33}),
        (FieldSweepProcedure, {"frequency_hz": 8.6e9, "bias_current_a": 0.0, "start_oe": 850.0, "stop_oe": 1150.0, "points": 31}),
    ):
        proc = cls(**kw)
        proc.simulation = {"noise": False}
        rc = proc.make_run_config()
        path = run(rc, sim=True, out=tmp_path / f"{cls.__name__}.h5")
        d = read_run(path)
        D = d.data
        m = _model(d)
        pred = m.vmix(D["frequency"], D["field"], D["bias_current"], D["rf_power"])
        assert len(D["vmix"]) == kw["points"]
        assert np.max(np.abs(D["vmix"] - pred)) < 0.02 * np.max(np.abs(pred))
        assert d.attrs["procedure"].endswith("RunConfigProcedure") or d.attrs["procedure"]


def test_field_sweep_moves_the_field_per_point(tmp_path):
    from stfmr_lab.procedures import FieldSweepProcedure

    proc = FieldSweepProcedure(frequency_hz=8.6e9, start_oe=900.0, stop_oe=1100.0, points=11)
    path = run(proc.make_run_config(), sim=True, out=tmp_path / "f.h5")
    h = read_run(path).data["field"]
    assert np.allclose(h, np.linspace(900, 1100, 11), atol=1.0)
    v = read_run(path).data["vmix"]
    assert np.argmax(v) not in (0, 10)  # the line is crossed inside the sweep


def test_dvdi_calibration_gives_parallel_and_antiparallel(tmp_path):
    from stfmr_lab.procedures import DvdiCalibrationProcedure

    proc = DvdiCalibrationProcedure(fields_oe="1000", current_max_a=1e-4, points=21)
    proc.simulation = {"noise": False}
    path = run(proc.make_run_config(), sim=True, out=tmp_path / "c.h5")
    d = read_run(path)
    m = _model(d)
    iv, sw = d.tables["dvdi"], d.tables["dvdi_sweeps"]
    assert list(sw["label"]) == [0, 1, 2]
    assert list(sw["field_angle"]) == [90.0, 0.0, 0.0]
    for idx, theta in ((1, 0.0), (2, np.pi)):
        sel = iv["sweep"] == idx
        assert np.allclose(iv["bias_voltage"][sel], m.voltage(theta, iv["bias_current"][sel]), atol=1e-7)
    # RF stays off during dV/dI: no Vmix rows at all
    assert len(d.data["vmix"]) == 0


def test_abort_mid_sweep_keeps_points_and_leaves_the_device_safe(tmp_path):
    stop = threading.Event()

    class StopAfter:
        n = 0

        def row(self, table, row):
            if table == "data":
                self.n += 1
                if self.n == 60:
                    stop.set()

    from stfmr_lab.stream import RunStream

    stream = RunStream()
    stream.subscribe(StopAfter())
    with pytest.raises(RunAborted) as e:
        run(small_map(), sim=True, out=tmp_path / "a.h5", stream=stream, stop_event=stop)
    d = read_run(e.value.path)
    assert d.attrs["status"] == "aborted"
    assert d.attrs["safe_state"] == "verified"
    assert len(d.data["vmix"]) == 60  # every point before the abort, none after
    assert d.instruments["dc"]["model"] == "keithley2400"


def test_failure_mid_run_is_recorded_and_safe(tmp_path):
    from stfmr_lab.runner import RunFailed

    cfg = small_map(simulation={"noise": False, "faults": [{"instrument": "lockin", "kind": "vanish", "at": 50}]})
    cfg["station"] = None  # replaced below
    import yaml

    from tests.conftest import EXAMPLES

    st = yaml.safe_load((EXAMPLES / "station.yaml").read_text())
    st["instruments"]["lockin"]["timeout_ms"] = 100
    cfg["station"] = st
    with pytest.raises(RunFailed) as e:
        run(cfg, sim=True, out=tmp_path / "x.h5")
    d = read_run(e.value.path)
    assert d.attrs["status"] == "failed"
    assert d.attrs["safe_state"] == "verified"  # the lock-in is gone; bias and RF are not
    assert len(d.data["vmix"]) > 0


def test_config_beyond_station_limits_is_refused_before_anything_opens(tmp_path):
    from stfmr_lab.schema import ConfigError

    cfg = small_map()
    cfg["measurements"][1]["biases_v"] = {"start": -0.9, "stop": 0.9, "points": 3}
    with pytest.raises(ConfigError, match="beyond the station limit"):
        validate_run_config(cfg)
    with pytest.raises(ConfigError):
        run(cfg, sim=True, out=tmp_path / "never.h5")
    assert not (tmp_path / "never.h5").exists()


def test_lockin_overload_raises_the_sensitivity_and_flags_the_point(tmp_path):
    cfg = small_map(simulation={"noise": False, "faults": [{"instrument": "lockin", "kind": "overload", "at": 60}]})
    path = run(cfg, sim=True, out=tmp_path / "o.h5")
    d = read_run(path)
    D = d.data
    assert D["overload"].sum() == 1
    k = int(np.argmax(D["overload"]))
    assert D["sensitivity"][k] > D["sensitivity"][0]  # re-ranged up, and stays up (no mid-sweep down-ranging)
    assert np.all(D["sensitivity"][k:] == D["sensitivity"][k])
    # the re-read point is good data
    m = _model(d)
    pred = m.vmix(D["frequency"][k], D["field"][k], D["bias_current"][k], D["rf_power"][k])
    assert D["vmix"][k] == pytest.approx(pred, rel=2e-3, abs=1e-7)


def test_background_reference_sweep(tmp_path):
    cfg = small_map()
    cfg["rf_power_dbm"] = -20.0
    cfg["measurements"] = [
        {"type": "background", "field_oe": 1000, "biases_v": [-0.3, 0.3],
         "frequency": {"start_hz": 3.0e9, "stop_hz": 5.0e9, "points": 21}},
    ]
    path = run(cfg, sim=True, out=tmp_path / "b.h5")
    d = read_run(path)
    assert list(d.tables["spectra"]["kind"]) == [1, 1]
    m = _model(d)
    D = d.data
    theta = m.theta(1000.0)
    bg = m.background(D["frequency"], theta, D["bias_current"], D["rf_power"])
    full = m.vmix(D["frequency"], D["field"], D["bias_current"], D["rf_power"])
    # far below the line the signal is (nearly) the non-resonant rectification alone
    assert np.allclose(D["vmix"], full, rtol=0.02, atol=2e-7)
    assert np.allclose(D["vmix"], bg, rtol=0.1)
    assert np.all(D["rf_power"] == -20.0)


def test_headless_run_without_an_operator_is_refused_before_anything_opens(tmp_path):
    from stfmr_lab.schema import ConfigError

    cfg = small_map(simulation={"noise": False, "operator": False})
    cfg["measurements"][0]["fields_oe"] = []  # starts with the easy-axis references
    with pytest.raises(ConfigError) as e:
        run(cfg, sim=True, out=tmp_path / "op.h5")
    msg = str(e.value)
    assert msg.startswith("measurements[0].reference_loops:") and "\n" not in msg
    assert "rotation stage" in msg and "reference_loops: false" in msg
    assert not list(tmp_path.glob("*.h5"))


def test_operator_who_declines_stops_the_run_safely(tmp_path):
    from stfmr_lab.runner import RunFailed

    cfg = small_map(simulation={"noise": False, "operator": False})
    cfg["measurements"][0]["fields_oe"] = []
    asked = []
    with pytest.raises(RunFailed, match="turn the magnet to the easy axis") as e:
        run(cfg, sim=True, out=tmp_path / "op.h5", confirm_axis=lambda axis: asked.append(axis) or False)
    assert asked == ["easy"]
    d = read_run(e.value.path)
    assert d.attrs["status"] == "failed"
    assert d.attrs["safe_state"] == "verified"


def test_every_recorded_row_is_tallied_under_its_sweeps_key(tmp_path):
    """One key rule (``config.sweep_key``/``row_sweep_key``) for the procedure's tally, the
    progress line's and the resume state's: a spectrum and an I-V sweep both numbered 0 get
    different keys, and every row of a run lands under the key of a sweep of the plan."""
    from collections import Counter

    from stfmr_lab.config import IVSweep, row_sweep_key, sweep_key
    from stfmr_lab.stream import RunStream, Subscriber

    cfg = small_map()
    cfg["measurements"][0]["currents_a"]["points"] = 5
    cfg["measurements"][1].update(fields_oe=[1000], biases_v=[0.0, 0.1])
    cfg["measurements"][1]["frequency"]["points"] = 7
    keys = []

    class Keys(Subscriber):
        def row(self, table, row):
            keys.append(row_sweep_key(table, row))

    stream = RunStream()
    stream.subscribe(Keys())
    run(cfg, sim=True, out=tmp_path / "k.h5", stream=stream)
    plan = validate_run_config(cfg).plan
    plan_keys = [sweep_key(item) for item in plan.order]
    assert ("s", 0) in plan_keys and ("iv", 0) in plan_keys and len(set(plan_keys)) == len(plan_keys)
    counts = Counter(k for k in keys if k is not None)
    assert set(counts) == set(plan_keys)
    assert all(counts[sweep_key(item)] == item.points for item in plan.order if not isinstance(item, IVSweep))
    assert None in keys  # rows of other tables (the spectra's own rows) are not points of a sweep
