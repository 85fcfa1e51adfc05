"""The window as a bench user meets it (issue 16): the I-V panel, small screens, bench units,
plots, status you can trust, named failures; and an unverified safe state in red (issue 15).
Real widgets on the simulated bench, offscreen."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from pymeasure.display.widgets import LogWidget
from qtpy import QtCore, QtWidgets
from qtpy.QtTest import QTest

from stfmr_lab.gui.docks import RF_ON_COLOUR
from stfmr_lab.gui.quantity import QuantityError, parse_quantity
from stfmr_lab.gui.runmodel import RunModel
from stfmr_lab.storage import read_run
from tests.gui.helpers import wait_for_end, wait_for_points


def _config_run(w, cfg: dict):
    w.select_measurement("config")
    w.config_edit.setPlainText(yaml.safe_dump(cfg))
    exp = w.queue()
    assert exp is not None, w.form_message.text()
    return exp


def _sweep(points=21, **extra):
    return {"type": "frequency_sweep", "field_oe": 1000, "frequency": {"start_hz": 7.4e9, "stop_hz": 9.8e9, "points": points}, **extra}


# ---------------------------------------------------------------------- 1. the dV/dI panel
def test_iv_sweeps_are_drawn_with_their_points_and_stay_selectable(qtbot, window, tmp_path):
    w = window
    w.select_measurement("dvdi")
    # the dV/dI form (RF off) asks for no RF power, lock-in or chop settings
    form = w.forms["dvdi"]
    for name in ("rf_power_dbm", "time_constant_s", "sensitivity_v", "chop_frequency_hz", "settle_time_constants"):
        assert not hasattr(form, name)
    w.form_input("fields_oe").setValue("1000")
    w.form_input("points").setValue(11)
    w.form_input("reference_loops").setValue(False)
    exp = w.queue()
    assert exp is not None, w.form_message.text()
    model = wait_for_end(qtbot, w, exp)
    assert model.status == "complete" and len(model.iv) == 1
    w._dirty = True
    w._refresh()
    panel = w.spectrum_panel
    (k, entry), = model.iv.items()
    # the I-V curve is drawn with its points, in uA and mV, and the view holds them
    x, y = np.asarray(panel.curve.xData), np.asarray(panel.curve.yData)
    assert len(x) == len(entry["i"]) >= 11
    assert np.allclose(np.sort(x), np.sort(np.asarray(entry["i"]) * 1e6))
    assert np.nanmax(np.abs(x)) > 50  # +-140 uA, not 1.4e-4 on a GHz axis
    (x0, x1), (y0, y1) = panel.plot.getPlotItem().viewRange()
    assert x0 <= np.nanmin(x) and np.nanmax(x) <= x1 and y0 <= np.nanmin(y) and np.nanmax(y) <= y1
    bottom = panel.plot.getPlotItem().getAxis("bottom").labelString()
    left = panel.plot.getPlotItem().getAxis("left").labelString()
    assert "Bias current I (\u00b5A)" in bottom and "G\u00b5A" not in bottom and "(x" not in bottom
    assert "Bias voltage V (mV)" in left and "mmV" not in left
    # the ticks are the values in uA and mV (no SI scale left over from the GHz axis)
    assert panel.plot.getPlotItem().getAxis("bottom").autoSIPrefixScale == 1.0
    assert panel.plot.getPlotItem().getAxis("left").autoSIPrefixScale == 1.0
    assert "I-V sweep #" in panel.plot.getPlotItem().titleLabel.text
    assert f"{len(x)} points" in panel.what.text()
    # finished I-V sweeps stay selectable, also from the opened file
    assert panel.iv_chooser.isVisible() and panel.iv_chooser.count() == 2  # "I-V sweeps (1)" and the sweep
    opened = w.open_run(model.path)
    assert opened is not None and len(opened.iv) == 1
    assert panel.iv_chooser.count() == 2
    panel.show_iv(k)
    assert len(panel.curve.xData) == len(entry["i"])
    assert "read-only" in panel.what.text()


def test_a_map_with_calibration_offers_its_iv_sweeps_next_to_the_spectra(qtbot, window, tmp_path):
    path = _finished_map_file(tmp_path, calibration=True)
    w = window
    model = w.open_run(path)
    panel = w.spectrum_panel
    assert panel.shown[0] == "spectrum"  # the spectra first
    assert panel.iv_chooser.count() == len(model.iv) + 1 >= 2
    assert panel.iv_chooser.currentIndex() == 0  # "I-V sweeps (n)" while a spectrum is shown
    panel.iv_chooser.activated.emit(1)
    k = panel.iv_chooser.itemData(1)
    assert panel.shown == ("iv", k)
    assert len(panel.curve.xData) == len(model.iv[k]["i"])
    w.choose_spectrum(2)  # and back to a spectrum: the frequency axis again
    assert panel.shown == ("spectrum", 2)
    assert panel.iv_chooser.currentIndex() == 0
    assert "Frequency" in panel.plot.getPlotItem().getAxis("bottom").labelText


# ---------------------------------------------------------------------- 2. the window on small screens
@pytest.mark.parametrize("screen", [(1280, 720), (1600, 1000)])
def test_the_window_fits_the_screen_with_queue_abort_status_and_progress_on_it(qtbot, window, screen):
    w = window
    w.fit_to_screen(QtCore.QRect(0, 0, *screen))
    qtbot.waitUntil(lambda: w._sized, timeout=5000)
    QtWidgets.QApplication.processEvents()
    assert w.width() <= screen[0] and w.height() <= screen[1] - 30  # room for the title bar
    assert w.maximumWidth() > 4000  # maximised, it takes the whole screen
    hint = w.minimumSizeHint()  # what the docks need: more than the window, and they overlap
    assert hint.width() <= w.width() and hint.height() <= w.height(), (hint, w.size())
    parts = [w.centralWidget(), w.inputs_dock, w.progress_dock, w.station_dock, w.runs_dock, w.map_dock]
    rects = [p.geometry() for p in parts]
    for a in range(len(rects)):
        for b in range(a + 1, len(rects)):
            assert not rects[a].intersects(rects[b]), (parts[a], parts[b])
    inside = w.rect()
    for widget in (w.queue_button, w.abort_button, w.statusBar(), w.progress_panel.bar, w.progress_panel.status,
                   w.station_panel.table):
        assert widget.isVisible(), widget
        r = QtCore.QRect(widget.mapTo(w, QtCore.QPoint(0, 0)), widget.size())
        assert inside.contains(r), (widget, r, inside)
    # the station's rows are not clipped: the whole table is in its dock
    table = w.station_panel.table
    dock_rect = QtCore.QRect(w.station_dock.mapTo(w, QtCore.QPoint(0, 0)), w.station_dock.size())
    assert dock_rect.contains(QtCore.QRect(table.mapTo(w, QtCore.QPoint(0, 0)), table.size()))
    # the spectrum plot is a plot, not a strip
    assert w.spectrum_panel.plot.height() >= 180


def test_queue_and_abort_stay_put_whatever_the_message(qtbot, window):
    w = window
    w.select_measurement("frequency")
    before = (w.queue_button.mapTo(w, QtCore.QPoint(0, 0)), w.abort_button.mapTo(w, QtCore.QPoint(0, 0)))
    w.form_input("field_oe").setText("9000")
    w.form_input("bias_current_a").setText("900 uA")
    w.form_input("start_hz").setText("x")
    QtWidgets.QApplication.processEvents()
    assert w.form_message.text().count("\n") >= 3  # a long, four-line message
    after = (w.queue_button.mapTo(w, QtCore.QPoint(0, 0)), w.abort_button.mapTo(w, QtCore.QPoint(0, 0)))
    assert after == before


# ---------------------------------------------------------------------- 3. bench units
def test_inputs_take_bench_units_and_refuse_unreadable_text_visibly(qtbot, window):
    w = window
    w.select_measurement("frequency")
    bias = w.form_input("bias_current_a")
    bias.setText("50 uA")
    assert bias.value() == pytest.approx(5e-5)
    w.form_input("start_hz").setText("7.4 GHz")
    w.form_input("stop_hz").setText("9.8")  # a bare number is in the label's unit (GHz)
    w.form_input("field_oe").setText("1.2 kOe")
    w.form_input("time_constant_s").setText("30 ms")
    proc = w.make_procedure()
    m = proc.run_config.data["measurements"][0]
    assert m["bias_a"] == pytest.approx(5e-5)
    assert proc.start_hz == pytest.approx(7.4e9) and proc.stop_hz == pytest.approx(9.8e9)
    assert proc.field_oe == pytest.approx(1200.0) and proc.time_constant_s == pytest.approx(0.03)
    # values are shown in the label's unit
    w.form_input("start_hz").setValue(8.1e9)
    assert w.form_input("start_hz").text() == "8.1 GHz"
    bias.setValue(-2.5e-5)
    assert bias.text() == "-25 \u00b5A"
    assert "(\u00b5A)" in w._labels("frequency")["bias_current_a"]
    # unreadable text is refused, kept as typed, marked, and said
    bias.setText("abc")
    assert bias.text() == "abc"
    assert "#d62728" in bias.styleSheet()
    assert w.queue() is None
    assert "abc" in w.form_message.text() and "Bias current" in w.form_message.text()
    assert len(w.manager.experiments.queue) == 0
    bias.setText("50 Hz")  # a unit that is not a current
    assert w.queue() is None and "not a current" in w.form_message.text()
    bias.setText("50 uA")
    assert bias.styleSheet() == ""
    assert w.form_message.text() == ""  # the refusal went stale and is gone


def test_parse_quantity_reads_si_prefixes_and_refuses_the_rest():
    assert parse_quantity("50 uA", "A", "\u00b5A") == pytest.approx(5e-5)
    assert parse_quantity("50 \u00b5A", "A") == pytest.approx(5e-5)
    assert parse_quantity("7.4GHz", "Hz", "GHz") == pytest.approx(7.4e9)
    assert parse_quantity("7.4", "Hz", "GHz") == pytest.approx(7.4e9)
    assert parse_quantity("1.2 kOe", "Oe") == pytest.approx(1200.0)
    assert parse_quantity("-10 dBm", "dBm") == -10.0
    assert parse_quantity("-500 mV", "V") == pytest.approx(-0.5)
    for text, unit in (("abc", "A"), ("", "A"), ("50 Hz", "A"), ("7.4 G", "Hz"), ("5 mdBm", "dBm"), ("3,5", "Oe")):
        with pytest.raises(QuantityError):
            parse_quantity(text, unit)


# ---------------------------------------------------------------------- 4. plots
def _finished_map_file(tmp_path, calibration=False) -> Path:
    from stfmr_lab.runner import run

    measurements = [
        {
            "type": "map",
            "fields_oe": [900, 1100],
            "biases_v": [-0.2, 0.0, 0.2],
            "bias_order": "alternating",
            "frequency": {"center": "kittel", "span_hz": 2.0e9, "points": 31},
        }
    ]
    if calibration:
        measurements.insert(0, {"type": "dvdi", "fields_oe": [1000], "currents_a": {"start": -1e-4, "stop": 1e-4, "points": 9},
                                "reference_loops": False})
    cfg = {"name": "small_map", "sample": "test junction", "simulation": {"noise": True, "seed": 3}, "measurements": measurements}
    return run(cfg, sim=True, out=tmp_path / ("cal.h5" if calibration else "done.h5"))


def test_map_rows_are_labelled_by_field_and_bias_and_follow_clicks(qtbot, window, tmp_path):
    w = window
    w.fit_to_screen(QtCore.QRect(0, 0, 1600, 1000))
    model = w.open_run(_finished_map_file(tmp_path))
    qtbot.waitUntil(lambda: w.fit_table.rowCount() == 6, timeout=20000)
    mp = w.map_panel
    assert mp.plot.getPlotItem().vb.height() >= 6 * 15  # room for a label per row
    ticks = mp.plot.getPlotItem().getAxis("left")._tickLevels[0]
    labels = [t for _r, t in ticks]
    # rows by field, then bias (measured alternating: a zig-zag in measurement order)
    assert labels == ["900 Oe, -0.200 V", "900 Oe, +0.000 V", "900 Oe, +0.200 V",
                      "1100 Oe, -0.200 V", "1100 Oe, +0.000 V", "1100 Oe, +0.200 V"]
    mp.order_box.setCurrentIndex(mp.order_box.findData("bias"))
    labels = [t for _r, t in mp.plot.getPlotItem().getAxis("left")._tickLevels[0]]
    assert labels[:2] == ["900 Oe, -0.200 V", "1100 Oe, -0.200 V"]
    biases = [model.spectra[i].bias_value for i in mp.order]
    assert biases == sorted(biases)
    # a click on a row (a real mouse click on the plot) shows that spectrum, marks the row,
    # and the fits table follows
    row = 3
    target = mp.order[row]
    x_mid = float(np.mean(model.map.x))
    scene = mp.plot.getPlotItem().vb.mapViewToScene(QtCore.QPointF(x_mid, row))
    view_pos = mp.plot.mapFromScene(scene)
    QTest.mouseClick(mp.plot.viewport(), QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.NoModifier, view_pos)
    qtbot.waitUntil(lambda: w.spectrum_panel.shown == ("spectrum", target), timeout=5000)
    assert mp.shown_line.isVisible() and mp.shown_line.value() == row
    selected = w.fit_table.selectedItems()
    assert selected and int(selected[0].text()) == target
    # the fits table has +- columns, filled
    heads = [w.fit_table.horizontalHeaderItem(c).text() for c in range(w.fit_table.columnCount())]
    assert heads.count("\u00b1") == 4
    r = w.fit_table._rows[target]
    f0, df0 = float(w.fit_table.item(r, 3).text()), float(w.fit_table.item(r, 4).text())
    fit = model.spectra[target].fit
    assert f0 == pytest.approx(fit.centre / 1e9, abs=df0) and df0 == pytest.approx(fit.errors["centre"] / 1e9, rel=0.1)
    # the legend is above the plot, not over the data
    assert w.spectrum_panel.plot.getPlotItem().legend is None
    assert "S + A fit" in w.spectrum_panel.legend.text()


# ---------------------------------------------------------------------- 5. status
def test_one_progress_figure_and_an_aborted_file_is_not_100_percent(qtbot, window, tmp_path):
    w = window
    exp = _config_run(w, {"name": "long", "simulation": {"noise": True, "seed": 1},
                          "measurements": [{"type": "dvdi", "fields_oe": [1000], "currents_a": {"start": -1e-4, "stop": 1e-4, "points": 9},
                                            "reference_loops": False}, _sweep(points=20000)]})
    # "Queued ..." is news only until the run starts
    model = wait_for_points(qtbot, w, exp, 50)
    assert "Queued" not in w.form_message.text()
    w._dirty = True
    w._refresh()
    panel = w.progress_panel.bar.value() / 10.0
    listed = exp.browser_item.progressbar.value()
    assert abs(panel - listed) <= 1.0  # the same figure (points of the plan, I-V included)
    w.abort()
    model = wait_for_end(qtbot, w, exp)
    assert model.status == "aborted"
    fraction = model.points_done / model.planned_points
    assert fraction < 0.5
    assert exp.browser_item.progressbar.value() == int(100 * fraction)
    assert w.progress_panel.bar.value() == round(1000 * fraction)
    opened = w.open_run(model.path)
    assert opened.status == "aborted"
    assert w.progress_panel.bar.value() < 500  # not 100 %
    # the opened file's header names its station, not the file
    header = w.station_panel.header.text()
    assert f"Station {read_run(model.path).attrs['station']}" in header and model.path.name in header
    assert "Station stfmr-bench" in header


def test_time_left_follows_the_plans_prediction():
    m = RunModel()
    m.planned_points, m.estimated_s = 1000, 2000.0
    m.points_done, m.time_s = 100, 400.0  # early: slow start (ramps, settling)
    assert m.remaining_s == pytest.approx(1800.0)  # the plan's, not 400 / 0.1 * 0.9 = 3600
    m.points_done, m.time_s = 500, 1500.0  # half-way, 1.5x slower than planned
    assert m.remaining_s == pytest.approx(1000.0 * 1.5)
    m.estimated_s = math.nan
    assert m.remaining_s == pytest.approx(1500.0)  # no prediction: the pace so far


def test_rf_on_is_not_the_safe_green(qtbot, window):
    w = window
    m = RunModel()
    m.state["rf_on"] = True
    m.state["rf_power_dbm"] = -10.0
    w.station_panel.refresh(m)
    rf = w.station_panel.values["rf"].text()
    assert RF_ON_COLOUR in rf and "RF ON" in rf and "#1a9e1a" not in rf


# ---------------------------------------------------------------------- 6. failures named; issue 15: unverified in red
def test_a_silent_lockin_is_named_and_its_traceback_folded(qtbot, window):
    w = window
    exp = _config_run(w, {"name": "silent", "simulation": {"noise": True, "seed": 1,
                                                           "faults": [{"instrument": "lockin", "kind": "timeout", "at": 30, "count": 1000}]},
                          "measurements": [_sweep()]})
    model = wait_for_end(qtbot, w, exp)
    qtbot.waitUntil(lambda: bool(model.error), timeout=10000)
    assert model.error == "Lock-in sr830 at GPIB0::8 stopped answering (timeout)"
    assert model.status == "failed" and model.safe_state == "verified"
    assert "Lock-in sr830 at GPIB0::8 stopped answering" in w.progress_panel.status.text()
    assert "Lock-in sr830 at GPIB0::8" in w.statusBar().currentMessage()
    qtbot.waitUntil(lambda: "traceback folded" in w.log_widget.view.toPlainText(), timeout=10000)
    log_text = w.log_widget.view.toPlainText()
    assert "Traceback (most recent call last)" not in log_text
    assert "Traceback (most recent call last)" in w.log_widget.last_traceback
    assert read_run(model.path).status == "failed"


def test_an_unverified_safe_state_is_shown_in_red_saying_what(qtbot, window):
    w = window
    # the DC source-meter vanishes mid-run: the shutdown cannot ramp it down nor read it back
    exp = _config_run(w, {"name": "unsafe", "simulation": {"noise": True, "seed": 1,
                                                           "faults": [{"instrument": "dc", "kind": "vanish", "at": 12}]},
                          "measurements": [_sweep(points=41, bias_a=2e-5)]})
    model = wait_for_end(qtbot, w, exp)
    assert model.safe_state.startswith("NOT verified")
    status = w.progress_panel.status.text()
    assert "SAFE STATE NOT VERIFIED" in status and "#d62728" in status
    assert "bias" in status and "check on the bench" in status
    assert "SAFE STATE NOT VERIFIED" in w.station_panel.values["safe"].text()
    qtbot.waitUntil(lambda: "NOT VERIFIED" in w.statusBar().currentMessage(), timeout=10000)
    assert "#c00000" in w.statusBar().styleSheet()
    assert "NOT verified" in exp.browser_item.text(5)


# ---------------------------------------------------------------------- issue 15: the LogWidget blink timer
def test_each_log_widget_has_its_own_blink_timer_stopped_on_close(qtbot, window, tmp_path):
    from stfmr_lab.gui.window import BenchWindow

    other = BenchWindow(sim=True, speed="instant", out_dir=tmp_path / "other")
    qtbot.addWidget(other)
    a, b = window.log_widget, other.log_widget
    assert a._blink_qtimer is not b._blink_qtimer
    shared = LogWidget._blink_qtimer
    assert a._blink_qtimer is not shared and shared.receivers(shared.timeout) == 0
    b._blinking_start("<!--ERROR-->boom")  # an error while the log tab is hidden: blinking
    other.tabs.setCurrentIndex(0)
    b._blinking_start("<!--ERROR-->boom")
    assert b._blink_qtimer.isActive()
    other.close()
    assert not b._blink_qtimer.isActive()
    assert b._blink_qtimer.receivers(b._blink_qtimer.timeout) == 0
    assert a._blink_qtimer.receivers(a._blink_qtimer.timeout) == 1  # the other window's is untouched
