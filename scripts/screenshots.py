"""Screenshots of the bench window on the simulated bench: during a run and after it.

    python scripts/screenshots.py [--out docs]

Runs offscreen (no display needed): opens the window, queues a small map (dV/dI
calibration, then 3 fields x 11 biases x 121-point frequency sweeps) on the simulated
bench at 100 times real time (about 20 s; ``--speed instant`` takes a few), grabs the window part-way through the map
(``gui_running.png``) and once the run is complete and every spectrum is fitted
(``gui_finished.png``); with ``--adaptive`` also the same map with adaptive sampling in a
7.5 GHz span (``gui_adaptive.png``). The run files go to a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    docs = Path(__file__).resolve().parent.parent / "docs"
    p.add_argument("--out", default=str(docs), help="folder for gui_running.png and gui_finished.png (default: docs/)")
    p.add_argument("--speed", default="100x", choices=("realtime", "10x", "100x", "instant"), help="simulated bench pace")
    p.add_argument("--adaptive", action="store_true",
                   help="also the same map with adaptive sampling in a 7.5 GHz span (gui_adaptive.png)")
    p.add_argument("--width", type=int, default=1600)
    p.add_argument("--height", type=int, default=1000)
    args = p.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from qtpy import QtWidgets

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    from stfmr_lab.gui.window import BenchWindow

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs = Path(tempfile.mkdtemp(prefix="stfmr-screenshots-"))
    w = BenchWindow(sim=True, speed=args.speed, out_dir=runs)
    w.resize(args.width, args.height)
    w.show()

    def pump(seconds=0.0):
        end = time.monotonic() + seconds
        while True:
            app.processEvents()
            if time.monotonic() >= end:
                return
            time.sleep(0.005)

    def wait(cond, timeout=120.0, what="condition"):
        end = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > end:
                raise TimeoutError(f"screenshots: timed out waiting for {what}")
            pump()

    def draw():  # what the window's timers would draw next, of the model as it is now
        w._dirty = True
        w._map_dirty = True
        w._refresh()
        w._refresh_map()

    pump(0.2)
    w.select_measurement("map")
    form = w.forms["map"]
    form.fields_oe.setValue("800, 1000, 1200")
    form.bias_start_v.setValue(-0.5)
    form.bias_stop_v.setValue(0.5)
    form.bias_points.setValue(11)
    form.points.setValue(121)
    form.with_calibration.setValue(True)
    form.sample_name.setValue("MTJ A3 (paper preset)")
    exp = w.queue()
    if exp is None:
        print(f"screenshots: not queued: {w.form_message.text()}", file=sys.stderr)
        return 1
    run = w._runs[id(exp.procedure)]

    def mid_map():
        """Past half the map, a spectrum part-measured with a converged fit (any spectrum late on)."""
        m = run["model"]
        if m is None or m.current is None or m.planned_points == 0:
            return False
        info = m.spectra[m.current]
        fit = info.fit
        fitted = fit is not None and fit.ok and info.fit_n >= 0.5 * info.planned_points
        partial = info.n < 0.95 * info.planned_points or m.fraction > 0.8
        return m.fraction > 0.55 and fitted and partial

    wait(mid_map, what="the map to be half done")
    # no event processing from here to the grab: the rows arriving meanwhile wait in the queue
    draw()
    shot = out / "gui_running.png"
    w.grab().save(str(shot))
    print(f"wrote {shot}")

    def finished_shot(run, name, tab=None):
        """Wait for the run's end and its fits, show a spectrum under bias (its S and A
        amplitudes are the torques), grab the window to ``name``."""
        wait(lambda: run["model"] is not None and run["model"].status != "running" and not w.manager.is_running(),
             what="the end of the run")
        model = run["model"]
        wait(lambda: not w.fits.busy, what="the fits")
        pump(0.3)
        chosen = next(
            (i for i, s in sorted(model.spectra.items()) if abs(s.field_oe - 1000) < 1 and abs(s.bias_value - 0.3) < 1e-6),
            max(model.spectra),
        )
        w.spectrum_panel.show_spectrum(chosen)
        if tab is not None:
            w.tabs.setCurrentIndex(tab)
        draw()
        pump(0.2)
        shot = out / name
        w.grab().save(str(shot))
        print(f"wrote {shot}")
        print(f"run file: {model.path} ({model.status}, {model.n} points, safe state: {model.safe_state})")

    finished_shot(run, "gui_finished.png", tab=1)  # with the fits table
    if args.adaptive:
        # the same map, points placed as each sweep goes, in a wide window
        w.select_measurement("map")
        form.span_hz.setValue(7.5e9)
        form.points.setValue(201)
        form.sampling.setValue("adaptive")
        form.with_calibration.setValue(False)
        exp = w.queue()
        if exp is None:
            print(f"screenshots: not queued: {w.form_message.text()}", file=sys.stderr)
            return 1
        finished_shot(w._runs[id(exp.procedure)], "gui_adaptive.png")
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
