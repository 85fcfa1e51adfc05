"""Screenshots of the bench window on the simulated bench, on a 1600x1000 and a 1280x720 screen.

    python scripts/screenshots.py [--out docs] [--adaptive]

Runs offscreen (no display needed). For each screen size the window is sized as it opens on
that screen (``BenchWindow.fit_to_screen``), queues a small map (dV/dI calibration, then
3 fields x 11 biases x 121-point frequency sweeps) on the simulated bench at 100 times real
time and grabs it during the calibration (``gui_dvdi_running_<size>.png``) and part-way
through the map (``gui_map_running_<size>.png``); then a run whose lock-in stops answering
(``gui_failure_<size>.png``, the log tab open). On the large screen also the finished map
with every spectrum fitted (``gui_finished.png``) and, with ``--adaptive``, the same map
with adaptive sampling in a 7.5 GHz span (``gui_adaptive.png``). Run files go to a
temporary folder. ``--field-map`` (or ``--only field_map``): a bilayer's field map running
(5 frequencies x 261 fields through zero, the 10 GHz sweep past its +H line), its lines
fitted live and the frequency-vs-field map with the Kittel curve (``gui_field_map.png``,
1600 x 1000).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

SIZES = ((1600, 1000), (1280, 720))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    docs = Path(__file__).resolve().parent.parent / "docs"
    p.add_argument("--out", default=str(docs), help="folder for the PNG files (default: docs/)")
    p.add_argument("--speed", default="100x", choices=("realtime", "10x", "100x", "instant"), help="simulated bench pace")
    p.add_argument("--adaptive", action="store_true",
                   help="also the same map with adaptive sampling in a 7.5 GHz span (gui_adaptive.png)")
    p.add_argument("--field-map", action="store_true", help="also a bilayer field map running (gui_field_map.png)")
    p.add_argument("--only", choices=("all", "field_map"), default="all", help="field_map: that picture only")
    args = p.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from qtpy import QtCore, QtWidgets

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    from stfmr_lab.gui.window import BenchWindow

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs = Path(tempfile.mkdtemp(prefix="stfmr-screenshots-"))

    def pump(seconds=0.0):
        end = time.monotonic() + seconds
        while True:
            app.processEvents()
            if time.monotonic() >= end:
                return
            time.sleep(0.005)

    def wait(cond, timeout=180.0, what="condition"):
        end = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > end:
                raise TimeoutError(f"screenshots: timed out waiting for {what}")
            pump()

    if args.field_map or args.only == "field_map":
        field_map_shot(app, out, runs / "field_map", args.speed, pump, wait)
    if args.only == "field_map":
        return 0
    for width, height in SIZES:
        size = f"{width}x{height}"
        w = BenchWindow(sim=True, speed=args.speed, out_dir=runs / size)
        w.fit_to_screen(QtCore.QRect(0, 0, width, height))  # as it opens on that screen
        w.show()

        def draw(w=w):  # what the window's timers would draw next, of the model as it is now
            w._dirty = True
            w._map_dirty = True
            w._refresh()
            w._refresh_map()

        def grab(name, w=w):
            draw()
            shot = out / name
            w.grab().save(str(shot))
            print(f"wrote {shot} ({w.width()}x{w.height()})")

        pump(0.3)
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

        def mid_iv(run=run):
            """An I-V sweep part-measured, after the first (others in grey)."""
            m = run["model"]
            if m is None or m.iv_current is None or m.iv_current < 1:
                return False
            return len(m.iv[m.iv_current]["i"]) >= 30

        wait(mid_iv, what="the dV/dI calibration")
        grab(f"gui_dvdi_running_{size}.png")

        def mid_map(run=run):
            """Past half the map, a spectrum part-measured with a converged fit."""
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
        grab(f"gui_map_running_{size}.png")

        def finished(run, w=w):
            wait(lambda: run["model"] is not None and run["model"].status != "running" and not w.manager.is_running(),
                 what="the end of the run")
            wait(lambda: not w.fits.busy, what="the fits")
            pump(0.3)
            return run["model"]

        model = finished(run)
        if width == SIZES[0][0]:
            # a spectrum under bias (its S and A amplitudes are the torques), with the fits table
            chosen = next(
                (i for i, s in sorted(model.spectra.items()) if abs(s.field_oe - 1000) < 1 and abs(s.bias_value - 0.3) < 1e-6),
                max(model.spectra),
            )
            w.choose_spectrum(chosen)
            w.tabs.setCurrentIndex(1)
            pump(0.2)
            grab("gui_finished.png")
            print(f"run file: {model.path} ({model.status}, {model.n} points, safe state: {model.safe_state})")

        # a failure: the lock-in stops answering part-way through a frequency sweep
        w.select_measurement("config")
        w.config_edit.setPlainText(yaml.safe_dump({
            "name": "lockin_goes_silent",
            "sample": "MTJ A3 (paper preset)",
            "simulation": {"noise": True, "seed": 1, "faults": [{"instrument": "lockin", "kind": "timeout", "at": 120, "count": 10000}]},
            "measurements": [{"type": "frequency_sweep", "field_oe": 1000, "bias_a": 2e-5,
                              "frequency": {"start_hz": 7.4e9, "stop_hz": 9.8e9, "points": 161}}],
        }))
        exp = w.queue()
        if exp is None:
            print(f"screenshots: not queued: {w.form_message.text()}", file=sys.stderr)
            return 1
        failed = w._runs[id(exp.procedure)]
        wait(lambda failed=failed: failed["model"] is not None and bool(failed["model"].error), what="the failure")
        pump(0.3)
        w.tabs.setCurrentIndex(2)  # the log, its traceback folded
        grab(f"gui_failure_{size}.png")
        print(f"failure: {failed['model'].error}")

        if args.adaptive and width == SIZES[0][0]:
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
            model = finished(w._runs[id(exp.procedure)])
            chosen = next((i for i, s in sorted(model.spectra.items()) if abs(s.bias_value - 0.3) < 1e-6), max(model.spectra))
            w.choose_spectrum(chosen)
            w.tabs.setCurrentIndex(0)
            pump(0.2)
            grab("gui_adaptive.png")
        w.close()
    return 0


def field_map_shot(app, out: Path, runs: Path, speed: str, pump, wait) -> None:
    """``gui_field_map.png``: the bilayer field map part-way, on a 1600 x 1000 screen."""
    from qtpy import QtCore

    from stfmr_lab.gui.fitting import LinesFit
    from stfmr_lab.gui.window import BenchWindow

    w = BenchWindow(sim=True, speed=speed, out_dir=runs)
    w.fit_to_screen(QtCore.QRect(0, 0, *SIZES[0]))
    w.show()
    pump(0.3)
    w.select_measurement("field_map")
    form = w.forms["field_map"]
    form.frequencies_ghz.setValue("4, 6, 8, 10, 12")
    form.dc_currents_ma.setValue("0")
    form.start_oe.setValue(-2600.0)
    form.stop_oe.setValue(2600.0)
    form.points.setValue(261)
    exp = w.queue()
    if exp is None:
        raise RuntimeError(f"screenshots: not queued: {w.form_message.text()}")
    run = w._runs[id(exp.procedure)]

    def past_plus_line():
        """The 10 GHz sweep (#3) past its +H line at ~1370 Oe, both its lines fitted."""
        m = run["model"]
        if m is None or m.current != 3:
            return False
        info = m.spectra[3]
        fit = info.fit
        return isinstance(fit, LinesFit) and len(fit.lines) == 2 and info.n >= 0.85 * info.planned_points

    wait(past_plus_line, what="the 10 GHz sweep past its +H line")
    w._dirty = w._map_dirty = True
    w._refresh()
    w._refresh_map()
    out.mkdir(parents=True, exist_ok=True)
    shot = out / "gui_field_map.png"
    w.grab().save(str(shot))
    print(f"wrote {shot} ({w.width()}x{w.height()})")
    w.abort()
    wait(lambda: not w.manager.is_running(), what="the abort")
    w.close()


if __name__ == "__main__":
    sys.exit(main())
