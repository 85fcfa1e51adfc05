"""Frames per second of the live plots (offscreen), with 10k and 100k points on screen.

A frame = new rows into the run model, the window's refresh of the spectrum and map
panels, and a paint of the spectrum plot. Baseline in the same process: a bare pyqtgraph
PlotWidget redrawn with the same points (setData + paint, no downsampling or clipping).
Run: ``QT_QPA_PLATFORM=offscreen python -m benchmarks.bench_gui``.
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402


def _rows(rc):
    from stfmr_lab.physics import DeviceModel

    item = rc.plan.spectra[0]
    f = item.frequencies_hz
    v = DeviceModel.preset("paper").vmix(f, item.field_oe, 0.0, -10.0) + np.random.default_rng(0).normal(0, 2e-6, len(f))
    return [("data", {"frequency_hz": float(f[j]), "field_oe": item.field_oe, "bias_current_a": 0.0, "bias_voltage_v": 0.0,
                      "rf_power_dbm": -10.0, "vmix_v": float(v[j]), "time_s": 0.5 * j, "spectrum": 0, "overload": 0,
                      "sensitivity_v": 2e-3}) for j in range(len(f))]


def main() -> dict:
    import pyqtgraph as pg
    from pyqtgraph.Qt import QtWidgets

    from stfmr_lab.config import validate_run_config
    from stfmr_lab.gui.runmodel import RunModel
    from stfmr_lab.gui.window import BenchWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    out = {}
    for n in (10_000, 100_000):
        rc = validate_run_config({"name": "b", "measurements": [{"type": "frequency_sweep", "field_oe": 1000.0,
                                  "frequency": {"start_hz": 7.4e9, "stop_hz": 9.8e9, "points": n}}]})
        rows = _rows(rc)
        w = BenchWindow(sim=True)
        w.resize(1600, 1000)
        m = RunModel()
        m.start({"config": rc, "path": None})
        m.sweep_started(rc.plan.spectra[0])
        m.add_rows(rows[:-50])
        w.show_model(m)
        frames, t0 = 0, time.perf_counter()
        k = n - 50
        while time.perf_counter() - t0 < 2.0:
            m.add_rows(rows[k % n: k % n + 1])  # one new point per frame, n on screen
            k += 1
            w._dirty = True
            w._refresh()
            w.map_panel.refresh()
            w.spectrum_panel.plot.grab()
            frames += 1
            app.processEvents()
        ours = frames / (time.perf_counter() - t0)
        w.close()
        # baseline: bare pyqtgraph, same points, no downsampling/clipping
        pw = pg.PlotWidget()
        pw.resize(640, 420)
        curve = pw.plot()
        x = np.array([r["frequency_hz"] for _, r in rows]) / 1e9
        y = np.array([r["vmix_v"] for _, r in rows]) * 1e3
        frames, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < 2.0:
            curve.setData(x, y)
            pw.grab()
            frames += 1
            app.processEvents()
        base = frames / (time.perf_counter() - t0)
        pw.close()
        out[n] = (ours, base)
        print(f"  {n:7d} points on screen: window {ours:6.1f} frames/s, bare pyqtgraph {base:6.1f} frames/s "
              f"({ours / base:.2f}x)")
    return out


if __name__ == "__main__":
    print("live plot frame rate (offscreen):")
    main()
