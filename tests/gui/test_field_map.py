"""The bilayer's field map in the window: its form, live line fits (both polarities) and
the frequency-vs-field map, on the simulated Py/Pt strip (real widgets, real run files)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from stfmr_lab.bilayer import BilayerModel
from stfmr_lab.config import load_run_config
from stfmr_lab.gui.fitting import LinesFit
from stfmr_lab.schema import ConfigError
from stfmr_lab.storage import read_run
from tests.gui.helpers import wait_for_end

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "bilayer_map.yaml"
FREQS_GHZ = (6.0, 7.0)
POINTS = 81  # 20 Oe steps through +-800 Oe: 5 points or more within 2 linewidths of each line


def _small_map(w, freqs=FREQS_GHZ, points=POINTS):
    w.select_measurement("field_map")
    form = w.forms["field_map"]
    form.frequencies_ghz.setValue(", ".join(f"{f:g}" for f in freqs))
    form.dc_currents_ma.setValue("0")
    form.start_oe.setValue(-800.0)
    form.stop_oe.setValue(800.0)
    form.points.setValue(points)
    return form


def test_the_form_defaults_save_the_example_run_config(qtbot, window, tmp_path):
    w = window
    w.select_measurement("field_map")
    assert w.measurement_box.currentText() == "Field map (bilayer)"
    saved = w.save_config(tmp_path / "bilayer.yaml")
    assert saved is not None, w.form_message.text()
    ours = load_run_config(saved, sim=True)
    example = load_run_config(EXAMPLE, sim=True)
    # the same measurement, sample block, device and bench settings as examples/bilayer_map.yaml
    assert ours.data["measurements"] == example.data["measurements"]
    assert ours.data["sample"] == example.data["sample"]
    assert ours.data["device"] == example.data["device"] == {"type": "bilayer", "preset": "py_pt"}
    assert ours.data["rf_power_dbm"] == example.data["rf_power_dbm"]
    for key in ("time_constant_s", "sensitivity_v", "settle_time_constants"):
        assert ours.data["lockin"][key] == example.data["lockin"][key]
    assert ours.station["name"] == example.station["name"]
    assert ours.plan.points == example.plan.points == 15 * 521
    # the MTJ forms keep the MTJ device
    w.select_measurement("field")
    mtj = yaml.safe_load(w.save_config(tmp_path / "mtj.yaml").read_text())
    assert mtj["device"] == {"preset": "paper"}


def test_field_map_form_refuses_values_beyond_the_strip_station(qtbot, window):
    w = window
    form = _small_map(w)
    form.dc_currents_ma.setValue("0, 20")  # the strip's station allows +-10 mA
    form.frequencies_ghz.setValue("6, 40")
    assert w.queue() is None
    text = w.form_message.text()
    assert "20 mA beyond the station limit \u00b110 mA" in text
    assert "6 to 40 GHz outside the station range 1 to 20 GHz" in text
    form.frequencies_ghz.setValue("6, abc")
    assert "'abc' is not a number" in w.form_message.text()


def test_field_map_runs_with_live_line_fits_and_the_frequency_field_map(qtbot, window, tmp_path):
    w = window
    _small_map(w)
    # at 100x real time (~1 s of bench time per 100 points): the -H half of a sweep takes
    # ~0.2 s, time for its live fits to come back before the +H half is measured (with no
    # waiting at all, newer requests may replace every one of them)
    w.speed_box.setCurrentIndex(w.speed_box.findData("100x"))
    seen = []  # the live fits of the sweep being measured, as they came
    w.fits.fitted.connect(lambda model, idx, n, fit: seen.append((idx, n, fit)))
    exp = w.queue()
    assert exp is not None, w.form_message.text()
    model = wait_for_end(qtbot, w, exp)
    assert model.status == "complete" and model.safe_state == "verified"
    assert model.bilayer
    # the live plot shows the sweep's fields (not the empty view's GHz it opened with)
    (x0, x1), _ = w.spectrum_panel.plot.getPlotItem().viewRange()
    assert -1000 < x0 < -700 and 700 < x1 < 1000
    qtbot.waitUntil(lambda: all(s.fit_n == POINTS for s in model.spectra.values()), timeout=20000)

    # fitted while the sweeps ran: the -H line first (swept from -800 Oe), then both
    partial = [fit for idx, n, fit in seen if n < POINTS and isinstance(fit, LinesFit)]
    assert any(fit.polarities == (-1.0,) for fit in partial)

    truth = BilayerModel.preset("py_pt")
    for info in model.spectra.values():
        fit = info.fit
        assert isinstance(fit, LinesFit) and sorted(fit.polarities) == [-1.0, 1.0]
        h0 = truth.resonance_field_oe(info.frequency_hz)
        dh = truth.linewidth_oe(info.frequency_hz)
        for p in (1.0, -1.0):
            line = fit.line(p)
            assert line.ok, line.message
            assert np.sign(line.centre) == p
            assert abs(abs(line.centre) - h0) < 0.2 * dh, (info.frequency_hz, p, line.centre, h0)
        # V_S changes sign with the polarity, V_A keeps it (physics-sot.md)
        assert np.sign(fit.line(1.0).v_sym) == -np.sign(fit.line(-1.0).v_sym)
        assert np.sign(fit.line(1.0).v_asym) == np.sign(fit.line(-1.0).v_asym)

    # the spectrum panel draws both lines' fits and names both
    w.choose_spectrum(1)
    w._dirty = True
    w._refresh()
    text = w.spectrum_panel.fit_label.text()
    assert "+H line" in text and "\u2212H line" in text
    plus, minus = w.spectrum_panel.fit_curve.xData, w.spectrum_panel.fit_curve_minus.xData
    assert plus.min() > 0 and plus.max() > 700 and minus.max() < 0 and minus.min() < -700
    # the fits table: one row per line
    assert w.fit_table.rowCount() == 4
    # the frequency-vs-field map: |H0| of the four lines at their frequencies, no Kittel with 2 frequencies
    panel = w.kittel_panel
    assert not panel.isHidden()
    pts = dict(panel.points)
    assert len(pts["h0_oe"]) == 4
    assert sorted(set(pts["frequency_hz"])) == [6e9, 7e9]
    assert np.count_nonzero(pts["h0_oe"] > 0) == 2
    assert len(panel.plus.data) == 2 and len(panel.minus.data) == 2
    assert panel.kittel is None and "3 frequencies" in panel.note.text()

    # the run file is a bilayer run of the form's sample block
    run = read_run(model.path)
    assert run.attrs["procedure"].endswith("FieldMapProcedure")
    assert run.sample["declared"]["t_hm_nm"] == 6.0
    assert len(run.data["vmix"]) == 2 * POINTS

    # opened from its file (read-only), the same lines are fitted and mapped again
    opened = w.open_run(model.path)
    assert opened.bilayer and not opened.live
    qtbot.waitUntil(lambda: all(isinstance(s.fit, LinesFit) for s in opened.spectra.values()), timeout=20000)
    w._dirty = True
    w._refresh()
    assert not w.kittel_panel.isHidden()
    assert np.allclose(np.sort(w.kittel_panel.points["h0_oe"]), np.sort(pts["h0_oe"]), atol=1e-6)


def test_three_frequencies_draw_the_kittel_curve(qtbot, window):
    w = window
    _small_map(w, freqs=(6.0, 6.5, 7.0))
    exp = w.queue()
    assert exp is not None, w.form_message.text()
    model = wait_for_end(qtbot, w, exp)
    qtbot.waitUntil(lambda: all(s.fit_n == POINTS for s in model.spectra.values()), timeout=20000)
    w._dirty = True
    w._refresh()
    panel = w.kittel_panel
    assert len(panel.points["h0_oe"]) == 6
    k = panel.kittel
    assert k is not None
    truth = BilayerModel.preset("py_pt")
    assert abs(k.meff_4pi_oe - truth.meff_4pi_oe) < 0.05 * truth.meff_4pi_oe
    x, y = panel.curve.getData()
    assert len(x) > 100
    assert abs(np.interp(truth.resonance_field_oe(6.5e9), x, y) - 6.5) < 0.1
    assert "4\u03c0M" in panel.note.text()


def test_loading_a_bilayer_config_fills_the_field_map_form(qtbot, window, tmp_path):
    w = window
    data = yaml.safe_load(EXAMPLE.read_text())
    data["station"] = str(EXAMPLE.parent / "station_bilayer.yaml")
    data["sample"]["t_hm_nm"] = 4.5
    data["measurements"][0]["frequencies_hz"] = [5e9, 7e9]
    data["measurements"][0]["fields_oe"] = {"start": -1500, "stop": 1500, "points": 151}
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(data))
    assert w.load_config(path) is not None
    form = w.forms["field_map"]
    assert form.frequencies_ghz.value() == "5, 7"
    assert form.dc_currents_ma.value() == "-5, 0, 5"
    assert (form.start_oe.value(), form.stop_oe.value(), form.points.value()) == (-1500.0, 1500.0, 151)
    assert form.t_hm_nm.value() == 4.5
    # queued from the form, it is the loaded run (its bilayer device on the simulated bench)
    w.select_measurement("field_map")
    again = load_run_config(w.save_config(tmp_path / "again.yaml"), sim=True)
    assert again.data["measurements"] == load_run_config(path, sim=True).data["measurements"]
    assert again.data["sample"]["t_hm_nm"] == 4.5
    assert again.data["device"]["type"] == "bilayer"


def test_an_mtj_field_sweep_keeps_its_single_line_fit_and_no_frequency_field_map(qtbot, window):
    from stfmr_lab.gui.fitting import FitSummary

    w = window
    w.select_measurement("field")
    w.form_input("points").setValue(41)
    exp = w.queue()
    model = wait_for_end(qtbot, w, exp)
    assert model.status == "complete" and not model.bilayer
    qtbot.waitUntil(lambda: model.spectra[0].fit_n == 41, timeout=10000)
    assert type(model.spectra[0].fit) is FitSummary
    assert w.kittel_panel.isHidden()
    assert w.spectrum_panel.fit_curve_minus.xData is None or len(w.spectrum_panel.fit_curve_minus.xData) == 0


def test_the_field_map_form_offers_adaptive_sampling_and_loading_keeps_it(qtbot, window, tmp_path):
    w = window
    form = _small_map(w)
    form.sampling.setValue("adaptive")
    saved = w.save_config(tmp_path / "adaptive.yaml")
    assert saved is not None, w.form_message.text()
    rc = load_run_config(saved, sim=True)
    (m,) = rc.data["measurements"]
    assert m["adaptive"]["match_uniform_points"] == m["adaptive"]["max_points"] == POINTS
    assert all(len(s.designs) == 2 for s in rc.plan.spectra)  # each polarity designed on its own
    form.sampling.setValue("uniform")
    assert w.load_config(saved) is not None
    assert form.sampling.value() == "adaptive"
    # too few points for two designs: refused in one line naming the key
    form.points.setValue(20)
    w.select_measurement("field_map")
    with pytest.raises(ConfigError, match=r"^measurements\[0\]\.adaptive\.max_points: 20 leaves a polarity 10"):
        load_run_config(w.save_config(tmp_path / "few.yaml"), sim=True)
