"""The window's parts: the stream bridge, the run model, fits, big spectra, the entry point."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from stfmr_lab.config import validate_run_config
from stfmr_lab.gui import fitting
from stfmr_lab.gui.bridge import StreamBridge
from stfmr_lab.gui.runmodel import RunModel
from stfmr_lab.physics import DeviceModel
from stfmr_lab.stream import RunStream


def _sweep_config(points: int, field_oe: float = 1000.0):
    return validate_run_config(
        {
            "name": "sweep",
            "measurements": [
                {"type": "frequency_sweep", "field_oe": field_oe, "frequency": {"start_hz": 7.4e9, "stop_hz": 9.8e9, "points": points}}
            ],
        },
        sim=True,
    )


def _rows(rc, noise=2e-6, seed=0):
    item = rc.plan.spectra[0]
    f = item.frequencies_hz
    v = DeviceModel.preset("paper").vmix(f, item.field_oe, 0.0, -10.0)
    v = v + np.random.default_rng(seed).normal(0.0, noise, len(f))
    return [
        (
            "data",
            {
                "frequency_hz": float(f[j]), "field_oe": item.field_oe, "bias_current_a": 0.0, "bias_voltage_v": 0.0,
                "rf_power_dbm": -10.0, "vmix_v": float(v[j]), "time_s": 0.5 * j, "spectrum": 0, "overload": 0,
                "sensitivity_v": 2e-3,
            },
        )
        for j in range(len(f))
    ]


def test_bridge_delivers_a_worker_threads_events_in_order(qtbot):
    bridge = StreamBridge()
    stream = RunStream()
    stream.subscribe(bridge.sink)
    seen = []
    bridge.started.connect(lambda info: seen.append(("start", info["n"])))
    bridge.rows.connect(lambda batch: seen.extend(("row", r["k"]) for _t, r in batch))
    bridge.message.connect(lambda text: seen.append(("message", text)))
    bridge.stopped.connect(lambda status, safe: seen.append(("stop", status, safe)))
    main_thread = threading.get_ident()
    threads = []
    bridge.rows.connect(lambda batch: threads.append(threading.get_ident()))

    def worker():
        stream.emit("start", {"n": 1})
        for k in range(5000):
            stream.emit("row", "data", {"k": k})
            if k == 2500:
                stream.emit("message", "half way")
        stream.emit("stop", "complete", "verified")

    t = threading.Thread(target=worker)
    t.start()
    qtbot.waitUntil(lambda: bool(seen) and seen[-1][0] == "stop", timeout=10000)
    t.join()
    assert seen[0] == ("start", 1)
    rows = [s[1] for s in seen if s[0] == "row"]
    assert rows == list(range(5000))
    assert seen.index(("message", "half way")) == 2502  # after row 2500, before row 2501
    assert seen[-1] == ("stop", "complete", "verified")
    assert set(threads) == {main_thread}  # slots run in the GUI thread
    assert len(threads) < 5000  # rows arrive in batches, not one wake-up per point


def test_run_model_follows_the_stream():
    rc = _sweep_config(41)
    m = RunModel()
    m.start({"config": rc, "path": "/tmp/x.h5"})
    assert m.planned_points == 41 and m.roles["lockin"]["model"] == "sr830"
    m.sweep_started(rc.plan.spectra[0])
    m.add_rows([("spectra", {"index": 0, "rf_power_dbm": -10.0})])
    assert m.state["rf_on"] is True
    rows = _rows(rc)
    m.add_rows(rows[:20])
    m.add_rows(rows[20:])
    x, v = m.spectrum_data(0)
    assert len(x) == 41 and np.all(np.diff(x) > 0)
    assert np.isfinite(m.map.image[0]).sum() == 41
    m.sweep_finished(rc.plan.spectra[0])
    m.stop("complete", "verified")
    assert m.state["rf_on"] is False and m.state["bias_current_a"] == 0.0
    assert m.fraction == 1.0 and m.remaining_s == 0.0


def test_fits_are_optional(monkeypatch):
    rc = _sweep_config(41)
    rows = _rows(rc)
    f = np.array([r["frequency_hz"] for _t, r in rows])
    v = np.array([r["vmix_v"] for _t, r in rows])
    fit = fitting.fit_one("frequency", f, v)
    assert fit is not None and abs(fit.centre - 8.6e9) < 0.2e9
    assert fitting.fit_one("frequency", f[:5], v[:5]) is None  # too few points
    monkeypatch.setattr(fitting, "_analysis", lambda: None)  # the analysis module missing
    assert fitting.fit_one("frequency", f, v) is None

    class Broken:
        @staticmethod
        def fit_spectrum(*a, **k):
            raise RuntimeError("no convergence")

    monkeypatch.setattr(fitting, "_analysis", lambda: Broken)
    assert fitting.fit_one("frequency", f, v) is None


def test_100k_points_stay_responsive(qtbot, window):
    """A 100k-point spectrum: downsampled, clipped to the view, drawn in well under a second."""
    rc = _sweep_config(100000)
    m = RunModel()
    m.start({"config": rc, "path": None})
    m.sweep_started(rc.plan.spectra[0])
    rows = _rows(rc)
    w = window
    w.show_model(m)
    worst = 0.0
    for k in range(0, len(rows), 20000):
        m.add_rows(rows[k : k + 20000])
        t0 = time.perf_counter()
        w._dirty = True
        w._refresh()
        w.map_panel.refresh()
        w.spectrum_panel.plot.grab()  # paint
        worst = max(worst, time.perf_counter() - t0)
    curve = w.spectrum_panel.curve
    assert len(curve.xData) == 100000
    assert curve.opts["autoDownsample"] and curve.opts["clipToView"]
    assert worst < 1.0, f"a refresh with 100k points took {worst:.2f} s"


def test_main_refuses_a_bad_config_with_status_2(tmp_path, capsys):
    from stfmr_lab.gui.app import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nmeasurements: [{type: frequency_sweep, field_oe: 99999, frequency: {start_hz: 8e9, stop_hz: 9e9, points: 5}}]\n")
    assert main(config=str(bad), sim=True) == 2
    assert "99999" in capsys.readouterr().err
    assert main(config=str(tmp_path / "missing.yaml"), sim=True) == 2


def test_the_simulated_bench_runs_in_real_time_unless_sped_up(qtbot, tmp_path):
    from stfmr_lab.gui.window import BenchWindow

    w = BenchWindow(sim=True, out_dir=tmp_path)  # what `stfmr-lab gui --sim` opens
    qtbot.addWidget(w)
    w.form_input("points").setValue(11)
    proc = w.make_procedure()
    assert proc.sim and proc.simulation["realtime"] is True and proc.clock_speedup == 1.0
    assert proc.run_config.data["simulation"]["realtime"] is True
    w.speed_box.setCurrentIndex(w.speed_box.findData("100x"))
    proc = w.make_procedure()
    assert proc.simulation["realtime"] is True and proc.clock_speedup == 100.0
    w.speed_box.setCurrentIndex(w.speed_box.findData("instant"))
    assert w.make_procedure().simulation["realtime"] is False
    w._cleanup()


def test_the_real_bench_window_builds_without_simulation(qtbot, tmp_path):
    from stfmr_lab.gui.window import BenchWindow

    w = BenchWindow(sim=False, out_dir=tmp_path)
    qtbot.addWidget(w)
    proc = w.make_procedure()
    assert proc.sim is False and proc.run_config.data["simulation"] == {}
    assert "simulated" not in w.windowTitle()
    assert w.station_panel.table.rowCount() == 5  # the station file's roles, before any run
    w._cleanup()


def test_the_guis_stream_subscribers_are_subscribers():
    """The bridge's sink and the clock speed-up are ``Subscriber``s: the stream refuses a
    misspelt event on them (a plain object with one right method was taken as it was), and
    every event the bridge re-emits is its own method, not the base's no-op."""
    from stfmr_lab.gui.bridge import _Sink
    from stfmr_lab.gui.procedures import _ClockSpeed
    from stfmr_lab.stream import Subscriber

    for sub in (StreamBridge().sink, _ClockSpeed(10.0)):
        assert isinstance(sub, Subscriber)
        RunStream().subscribe(sub)
    for event in ("start", "sweep_start", "row", "sweep_done", "message", "stop"):
        assert getattr(_Sink, event) is not getattr(Subscriber, event), event
    assert _Sink.error is Subscriber.error  # the window reads a failure from the procedure

    class Misspelt(_Sink):
        def sweep_don(self, item):
            pass

    with pytest.raises(TypeError, match=r"sweep_don \(did you mean sweep_done\?\)"):
        RunStream().subscribe(Misspelt(lambda *a: None))


def test_the_clock_speed_up_reaches_a_real_time_simulated_clock_only():
    from stfmr_lab.gui.procedures import _ClockSpeed
    from stfmr_lab.sim.clock import VirtualClock

    stream = RunStream()
    stream.subscribe(_ClockSpeed(25.0))
    fast, instant = VirtualClock(realtime=True), VirtualClock()
    for clock in (fast, instant):
        stream.emit("start", {"station": type("S", (), {"clock": clock})()})
    assert fast.speedup == 25.0 and instant.speedup == 1.0
