"""The bench window, driven like an operator would: real widgets, the real simulated bench."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import yaml
from pymeasure.experiment import Procedure

from stfmr_lab.config import load_run_config
from stfmr_lab.physics import DeviceModel
from stfmr_lab.storage import read_run
from tests.gui.helpers import wait_for_end, wait_for_points


def _h5_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.h5")) if folder.exists() else []


def test_frequency_sweep_shows_spectrum_and_fit(qtbot, window, tmp_path):
    w = window
    w.select_measurement("frequency")
    w.form_input("points").setValue(41)
    exp = w.queue()
    assert exp is not None, w.form_message.text()
    model = wait_for_end(qtbot, w, exp)

    # the spectrum curve holds the run's 41 points, in the window, from the stream
    assert model.status == "complete"
    assert len(w.spectrum_panel.curve.xData) == 41
    assert len(w.spectrum_panel.curve.yData) == 41
    # the S + A fit converges on the resonance at 1000 Oe, zero bias
    qtbot.waitUntil(lambda: model.spectra[0].fit is not None and model.spectra[0].fit_n == 41, timeout=10000)
    fit = model.spectra[0].fit
    f0, hwhm = DeviceModel.preset("paper").resonance(1000.0, 0.0)
    assert abs(fit.centre - 8.6e9) < 3 * hwhm
    assert abs(fit.centre - f0) < 3 * hwhm
    qtbot.waitUntil(lambda: "f<sub>0</sub>" in w.spectrum_panel.fit_label.text(), timeout=5000)
    assert len(w.spectrum_panel.fit_curve.xData) > 41  # the fitted curve is drawn over the data
    assert "GHz" in w.spectrum_panel.fit_label.text() and "MHz" in w.spectrum_panel.fit_label.text()
    assert w.fit_table.rowCount() == 1

    # the run file is the record, in the chosen folder
    files = _h5_files(tmp_path / "runs")
    assert files == [model.path]
    run = read_run(model.path)
    assert run.status == "complete"
    assert len(run.data["vmix"]) == 41
    assert run.attrs["safe_state"] == "verified"
    assert run.attrs["procedure"].endswith("FrequencySweepProcedure")
    # pymeasure's browser lists it as finished; the progress and station panels say it is safe
    assert exp.browser_item.text(3) == "Finished"
    assert "COMPLETE" in w.progress_panel.status.text()
    assert "bias 0 / RF off" in w.station_panel.values["safe"].text()
    assert "41 / 41 points" in w.progress_panel.counts.text()
    # the station panel lists each role's model and address
    table = w.station_panel.table
    cells = {table.item(r, 1).text(): table.item(r, 2).text() for r in range(table.rowCount())}
    assert cells["sr830"] == "GPIB0::8"  # the full resource name in the tooltip
    assert cells["keithley2400"] == "GPIB0::24"


def test_abort_of_a_second_run_ramps_down_and_says_so(qtbot, window, tmp_path):
    w = window
    w.select_measurement("frequency")
    w.form_input("points").setValue(41)
    first = w.queue()
    wait_for_end(qtbot, w, first)

    w.form_input("points").setValue(20000)
    second = w.queue()
    assert second is not None
    wait_for_points(qtbot, w, second, 10)
    assert w.manager.is_running()
    w.abort()
    model = wait_for_end(qtbot, w, second)

    assert model.status == "aborted"
    assert model.safe_state == "verified"
    assert second.procedure.safe_state == "verified"
    assert second.procedure.status == Procedure.ABORTED
    assert second.browser_item.text(3) == "Aborted"
    assert "bias 0 / RF off" in second.browser_item.text(5)
    status = w.progress_panel.status.text()
    assert "ABORTED" in status and "ramped down safely" in status and "bias 0 / RF off" in status
    assert "bias 0 / RF off" in w.station_panel.values["safe"].text()
    assert "off" in w.station_panel.values["rf"].text()
    assert "+0.000" in w.station_panel.values["bias"].text()
    assert "bias 0 / RF off" in w.statusBar().currentMessage()
    run = read_run(model.path)
    assert run.status == "aborted"
    assert run.attrs["safe_state"] == "verified"
    assert 10 <= len(run.data["vmix"]) < 20000
    # two runs, two files: nothing overwritten
    assert len(_h5_files(tmp_path / "runs")) == 2
    # a new run queued after the abort starts at once
    w.form_input("points").setValue(11)
    third = w.queue()
    assert wait_for_end(qtbot, w, third).status == "complete"


def test_out_of_range_inputs_are_refused_before_queueing(qtbot, window, tmp_path):
    w = window
    w.select_measurement("frequency")
    w.form_input("points").setValue(41)
    w.form_input("field_oe").setValue(5000.0)
    # the form marks the field at once and says why
    assert "#d62728" in w.form_input("field_oe").styleSheet()
    assert "5000 Oe" in w.form_message.text() and "3000 Oe" in w.form_message.text()
    assert w.queue() is None
    assert len(w.manager.experiments.queue) == 0
    assert not w.manager.is_running()
    assert "Not queued" in w.form_message.text() and "5000 Oe" in w.form_message.text()
    # the station's limit is shown on the input's label
    assert "3000 Oe" in w.forms["frequency"].labels["field_oe"].text()

    w.form_input("field_oe").setValue(1000.0)
    w.form_input("bias_current_a").setValue(5e-4)
    assert w.queue() is None
    assert "500 \u00b5A" in w.form_message.text() and "200 \u00b5A" in w.form_message.text()
    w.form_input("bias_current_a").setValue(0.0)
    w.form_input("rf_power_dbm").setValue(5.0)
    assert w.queue() is None
    assert "0 dBm" in w.form_message.text()
    w.form_input("rf_power_dbm").setValue(-10.0)
    assert w.form_input("field_oe").styleSheet() == ""

    w.select_measurement("map")
    w.form_input("fields_oe").setValue("800, 3500")
    assert w.queue() is None
    assert "3500 Oe" in w.form_message.text()
    # a loaded run config beyond the limits is refused as well (by the config's validation)
    w.select_measurement("config")
    w.config_edit.setPlainText(
        yaml.safe_dump(
            {
                "name": "too_far",
                "measurements": [
                    {"type": "frequency_sweep", "field_oe": 4000, "frequency": {"start_hz": 8e9, "stop_hz": 9e9, "points": 11}}
                ],
            }
        )
    )
    assert w.queue() is None
    assert "4000 Oe" in w.form_message.text()
    assert len(w.manager.experiments.queue) == 0
    assert _h5_files(tmp_path / "runs") == []


def _finished_map_file(tmp_path) -> Path:
    from stfmr_lab.runner import run

    cfg = {
        "name": "small_map",
        "sample": "test junction",
        "simulation": {"noise": True, "seed": 3},
        "measurements": [
            {
                "type": "map",
                "fields_oe": [900, 1100],
                "biases_v": [-0.2, 0.0, 0.2],
                "frequency": {"center": "kittel", "span_hz": 2.0e9, "points": 41},
            }
        ],
    }
    return run(cfg, sim=True, out=tmp_path / "done.h5")


def test_opening_a_finished_run_shows_its_spectra_and_fits(qtbot, window, tmp_path):
    w = window
    path = _finished_map_file(tmp_path)
    model = w.open_run(path)
    assert model is not None and not model.live
    assert w.model is model
    assert len(model.spectra) == 6 and model.n == 6 * 41
    # a spectrum with its fit, the map with every row, read-only in the title
    assert len(w.spectrum_panel.curve.xData) == 41
    image = w.map_panel.image.image
    assert image.shape[0] == 6
    assert np.all(np.isfinite(image).any(axis=1))
    assert "read-only" in w.windowTitle()
    qtbot.waitUntil(lambda: all(s.fit is not None for s in model.spectra.values()), timeout=20000)
    qtbot.waitUntil(lambda: w.fit_table.rowCount() == 6, timeout=5000)
    # the label follows on the window's next refresh (a timer: under load it may lag the table)
    qtbot.waitUntil(lambda: "f<sub>0</sub>" in w.spectrum_panel.fit_label.text(), timeout=5000)
    # another spectrum, chosen from the fits table
    w.spectrum_panel.show_spectrum(4)
    x, _v = model.spectrum_data(4)
    assert np.allclose(w.spectrum_panel.curve.xData, np.sort(x))
    assert "COMPLETE" in w.progress_panel.status.text()
    assert "bias 0 / RF off" in w.station_panel.values["safe"].text()
    # a file that is not a run is refused with a message
    bad = tmp_path / "not_a_run.h5"
    bad.write_text("nope")
    assert w.open_run(bad) is None
    assert "Cannot open" in w.form_message.text()


def test_save_and_load_run_configs_as_yaml(qtbot, window, tmp_path):
    w = window
    w.select_measurement("frequency")
    w.form_input("points").setValue(21)
    saved = w.save_config(tmp_path / "sweep.yaml")
    # the same file a headless run takes
    rc = load_run_config(saved, sim=True)
    assert rc.plan.points == 21
    assert "realtime" not in (rc.data["simulation"] or {})

    assert w.load_config(saved) is not None
    assert w.measurement == "config"
    assert "21 points" in w.config_summary.text()
    exp = w.queue()
    assert exp is not None, w.form_message.text()
    model = wait_for_end(qtbot, w, exp)
    assert model.status == "complete"
    run = read_run(model.path)
    assert run.attrs["procedure"].endswith("RunConfigProcedure")
    assert len(run.data["vmix"]) == 21
    # the example config loads too (and is summarised before queueing)
    assert w.load_config(Path(__file__).resolve().parents[2] / "examples" / "paper_map.yaml") is not None
    assert "spectra" in w.config_summary.text()
    assert w.load_config(tmp_path / "missing.yaml") is None
    assert "Cannot load" in w.form_message.text()


def _listening_sockets_of_this_process() -> set[str]:
    """Inodes of TCP sockets this process listens on (from /proc, no psutil)."""
    listening = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) > 9 and parts[3] == "0A":  # TCP_LISTEN
                listening.add(parts[9])
    own = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            own.add(target[len("socket:[") : -1])
    return listening & own


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")
def test_no_network_port_is_opened(qtbot, window):
    w = window
    assert w.manager.port is None
    before = _listening_sockets_of_this_process()
    w.form_input("points").setValue(20000)
    exp = w.queue()
    worker = w.manager._worker  # made by the Manager when the run starts, at once here
    assert worker is not None
    assert worker.port is None and worker.publisher is None and worker.context is None
    wait_for_points(qtbot, w, exp, 5)
    assert _listening_sockets_of_this_process() == before == set()
    if w.manager.is_running():
        w.abort()
    wait_for_end(qtbot, w, exp)
    with pytest.raises(ImportError):
        import zmq  # noqa: F401


def test_closing_during_a_run_asks_then_shuts_down_safely(qtbot, window):
    w = window
    w.form_input("points").setValue(20000)
    exp = w.queue()
    wait_for_points(qtbot, w, exp, 10)

    w.confirm_close = lambda: False  # the operator says no: nothing changes
    w.close()
    assert w.isVisible() and w.manager.is_running()

    asked = []
    w.confirm_close = lambda: asked.append(1) or True
    w.close()
    assert asked == [1]
    model = wait_for_end(qtbot, w, exp)
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=10000)
    assert model.status == "aborted" and model.safe_state == "verified"
    assert read_run(model.path).status == "aborted"


def test_field_sweep_plots_vmix_against_field(qtbot, window):
    w = window
    w.select_measurement("field")
    w.form_input("points").setValue(41)
    exp = w.queue()
    model = wait_for_end(qtbot, w, exp)
    assert model.status == "complete"
    assert len(w.spectrum_panel.curve.xData) == 41
    assert w.spectrum_panel.plot.getPlotItem().getAxis("bottom").labelText.startswith("Field")
    qtbot.waitUntil(lambda: model.spectra[0].fit is not None and model.spectra[0].fit_n == 41, timeout=10000)
    assert abs(model.spectra[0].fit.centre - 1000.0) < 100.0  # H0 near 1 kOe at 8.6 GHz
    qtbot.waitUntil(lambda: "H<sub>0</sub>" in w.spectrum_panel.fit_label.text(), timeout=5000)


def test_a_failing_instrument_is_reported_with_the_safe_state(qtbot, window):
    w = window
    w.select_measurement("config")
    cfg = {
        "name": "faulty",
        "simulation": {"noise": True, "seed": 1, "faults": [{"instrument": "lockin", "kind": "error", "at": 30}]},
        "measurements": [
            {"type": "frequency_sweep", "field_oe": 1000, "frequency": {"start_hz": 7.4e9, "stop_hz": 9.8e9, "points": 21}}
        ],
    }
    w.config_edit.setPlainText(yaml.safe_dump(cfg))
    exp = w.queue()
    assert exp is not None, w.form_message.text()
    model = wait_for_end(qtbot, w, exp)
    qtbot.waitUntil(lambda: bool(model.error), timeout=10000)
    assert model.status == "failed" and model.safe_state == "verified"
    assert exp.procedure.status == Procedure.FAILED
    assert exp.browser_item.text(3) == "Failed"
    text = w.progress_panel.status.text()
    assert "FAILED" in text and "error queue" in text and "bias 0 / RF off" in text
    assert read_run(model.path).status == "failed"


def test_adaptive_sampling_is_chosen_in_the_form(qtbot, window, tmp_path):
    """Sampling: adaptive in the frequency-sweep form queues a sweep that places its points
    (fewer than the uniform sweep's, each with its reason) and is saved as the same YAML."""
    w = window
    w.select_measurement("frequency")
    w.form_input("start_hz").setValue(5.0e9)
    w.form_input("stop_hz").setValue(12.5e9)
    w.form_input("points").setValue(201)
    w.form_input("sampling").setValue("adaptive")
    saved = w.save_config(tmp_path / "adaptive.yaml")
    adaptive = yaml.safe_load(saved.read_text())["measurements"][0]["adaptive"]
    assert adaptive == {"match_uniform_points": 201, "max_points": 201}
    exp = w.queue()
    assert exp is not None, w.form_message.text()
    model = wait_for_end(qtbot, w, exp, timeout=60000)
    assert model.status == "complete"
    run = read_run(model.path)
    n = len(run.data["vmix"])
    assert 20 < n < 201
    assert list(run.tables["spectra"]["adaptive"]) == [1]
    assert np.all(run.data["sample_reason"] > 0)
    # the live curve holds every point, drawn in frequency order, and the fit found the line
    x = np.asarray(w.spectrum_panel.curve.xData)
    assert x.size == n and np.all(np.diff(x) >= 0)
    qtbot.waitUntil(lambda: model.spectra[0].fit is not None and model.spectra[0].fit_n == n, timeout=10000)
    f0, hwhm = DeviceModel.preset("paper").resonance(1000.0, 0.0)
    assert abs(model.spectra[0].fit.centre - f0) < hwhm
    # the panels say it was adaptive rather than short of a plan
    assert f"{n} points, adaptive (complete)" in w.spectrum_panel.what.text()
    assert f"{n} points (adaptive)" in w.progress_panel.counts.text()


def test_swept_adaptive_sweep_is_chosen_in_the_form(qtbot, window, tmp_path):
    """Sampling adaptive with Acquisition swept: a swept coarse pass (half the points, on top of
    the settled budget), then settled points; recorded with their reasons, fitted live through
    the lock-in filter."""
    from stfmr_lab.units import SAMPLE_REASONS

    w = window
    w.select_measurement("frequency")
    w.form_input("start_hz").setValue(6.0e9)
    w.form_input("stop_hz").setValue(11.0e9)
    w.form_input("points").setValue(81)
    w.form_input("sampling").setValue("adaptive")
    w.form_input("acquisition").setValue("swept")
    saved = w.save_config(tmp_path / "swept_adaptive.yaml")
    m = yaml.safe_load(saved.read_text())["measurements"][0]
    assert m["acquisition"] == "swept"
    assert m["adaptive"] == {"match_uniform_points": 81, "coarse_points": 40, "max_points": 121}
    exp = w.queue()
    assert exp is not None, w.form_message.text()
    model = wait_for_end(qtbot, w, exp, timeout=60000)
    assert model.status == "complete"
    run = read_run(model.path)
    reasons = run.data["sample_reason"]
    assert np.count_nonzero(reasons == SAMPLE_REASONS["swept"]) == 40
    assert np.count_nonzero(reasons == SAMPLE_REASONS["information"]) > 0
    n = reasons.size
    qtbot.waitUntil(lambda: model.spectra[0].fit is not None and model.spectra[0].fit_n == n, timeout=20000)
    f0, hwhm = DeviceModel.preset("paper").resonance(1000.0, 0.0)
    assert abs(model.spectra[0].fit.centre - f0) < 0.02 * hwhm


def test_swept_acquisition_is_chosen_in_the_form(qtbot, window, tmp_path):
    """Acquisition: swept up/down in the frequency-sweep form is saved as the config keys and
    queues a run whose spectrum is recorded swept (set points up, then down)."""
    w = window
    w.select_measurement("frequency")
    w.form_input("points").setValue(41)
    w.form_input("acquisition").setValue("swept up/down")
    saved = w.save_config(tmp_path / "swept.yaml")
    m = yaml.safe_load(saved.read_text())["measurements"][0]
    assert (m["acquisition"], m["up_down"]) == ("swept", True)
    exp = w.queue()
    assert exp is not None, w.form_message.text()
    model = wait_for_end(qtbot, w, exp, timeout=60000)
    assert model.status == "complete"
    run = read_run(model.path)
    f = run.data["frequency"]
    assert f.size == 82 and f[40] == f[41] and f[0] == f[-1]
    assert list(run.tables["spectra"]["acquisition"]) == [1]
    # the live fit is made through the lock-in filter: no lag (a settled-reading fit of the same
    # points is 50 % too wide: the up and down legs lag opposite ways)
    qtbot.waitUntil(lambda: model.spectra[0].fit is not None and model.spectra[0].fit_n == 82, timeout=20000)
    f0, hwhm = DeviceModel.preset("paper").resonance(1000.0, 0.0)
    fit = model.spectra[0].fit
    assert abs(fit.centre - f0) < 0.02 * hwhm, (fit.centre, f0)
    assert abs(fit.width - hwhm) < 0.05 * hwhm
