"""Frames per second of the live plots (offscreen), with 10k and 100k points on screen.

A frame = new rows into the run model, the window's refresh of the spectrum and map
panels, and a paint of the spectrum plot. Baseline in the same process: a bare pyqtgraph
PlotWidget redrawn with the same points (setData + paint, no downsampling or clipping).
Each case runs ``REPEATS`` times for ``SECONDS``: the frame rate on the wall clock (what a
user sees; it depends on the machine's load, printed with it) and on the process's CPU
time (the frame's own cost, much less dependent on the load).
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


SECONDS = 2.0
REPEATS = 3


def _rate(frame, seconds=SECONDS) -> tuple[float, float]:
    """(frames per wall-clock second, frames per CPU second of this process) of ``frame``."""
    frames, t0, c0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - t0 < seconds:
        frame()
        frames += 1
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return frames / wall, frames / max(cpu, 1e-9)


def _case(app, n: int) -> tuple[list, list]:
    """[(wall, cpu) frames/s] of the window and of bare pyqtgraph with ``n`` points on screen."""
    import pyqtgraph as pg

    from stfmr_lab.config import validate_run_config
    from stfmr_lab.gui.runmodel import RunModel
    from stfmr_lab.gui.window import BenchWindow

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
    k = [n - 50]

    def frame():
        m.add_rows(rows[k[0] % n: k[0] % n + 1])  # one new point per frame, n on screen
        k[0] += 1
        w._dirty = True
        w._refresh()
        w.map_panel.refresh()
        w.spectrum_panel.plot.grab()
        app.processEvents()

    ours = [_rate(frame) for _ in range(REPEATS)]
    w._cleanup()
    w.close()
    # baseline: bare pyqtgraph, same points, no downsampling/clipping
    pw = pg.PlotWidget()
    pw.resize(640, 420)
    curve = pw.plot()
    x = np.array([r["frequency_hz"] for _, r in rows]) / 1e9
    y = np.array([r["vmix_v"] for _, r in rows]) * 1e3

    def bare():
        curve.setData(x, y)
        pw.grab()
        app.processEvents()

    base = [_rate(bare) for _ in range(REPEATS)]
    pw.close()
    return ours, base


def _median(values) -> float:
    v = sorted(values)
    return v[len(v) // 2]


def main() -> dict:
    from pyqtgraph.Qt import QtWidgets

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    out = {}
    print(f"  load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")
    for n in (10_000, 100_000):
        ours, base = _case(app, n)
        wall = [r[0] for r in ours]
        out[n] = (_median(wall), _median(r[0] for r in base))
        print(f"  {n:7d} points on screen: window {min(wall):5.1f}-{max(wall):5.1f} frames/s (median {_median(wall):5.1f}; "
              f"CPU-bound {_median(r[1] for r in ours):5.1f}), bare pyqtgraph median {out[n][1]:5.1f} frames/s")
    print(f"  load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return out


if __name__ == "__main__":
    print("live plot frame rate (offscreen):")
    main()
