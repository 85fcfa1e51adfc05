"""``stfmr-lab gui [--sim] [CONFIG.yaml]``: open the bench window.

With ``sim=True`` the window drives the simulated bench (pyvisa-sim twins coupled to the
virtual device) in real time by default, so it looks and feels like the bench; the speed
can be raised in the window (10x, 100x, or no waiting at all).
"""

from __future__ import annotations

import os
import sys


def main(config=None, sim: bool = False, *, speed: str = "realtime", out_dir=None) -> int:
    """Open the bench window and run the Qt event loop; returns the exit status.

    ``config``: a run config (YAML path) to load into the window (queued as a
    RunConfigProcedure). ``sim``: the simulated bench. ``speed``: the simulated bench's
    pace (realtime, 10x, 100x or instant). ``out_dir``: folder for the run files.
    Exit status 2 (with a one-line reason) for a config that does not validate.
    """
    try:
        from qtpy import QtWidgets
    except Exception as e:  # no Qt binding installed (the 'gui' extra)
        print(f"stfmr-lab: error: the GUI needs PyQt5 and pyqtgraph: pip install -e '.[gui]' ({e})", file=sys.stderr)
        return 1

    from stfmr_lab.config import load_run_config
    from stfmr_lab.errors import one_line
    from stfmr_lab.schema import ConfigError
    from stfmr_lab.storage import StorageError

    rc = None
    if config is not None:
        try:
            rc = load_run_config(config, sim=sim)
        except (ConfigError, StorageError) as e:
            print(f"stfmr-lab: error: {one_line(e)}", file=sys.stderr)
            return 2
    if sys.platform.startswith("linux") and not any(os.environ.get(k) for k in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")):
        print("stfmr-lab: error: no display (set DISPLAY, or QT_QPA_PLATFORM=offscreen for a window nobody sees)", file=sys.stderr)
        return 1
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    app.setApplicationName("stfmr-lab")

    from stfmr_lab.gui.window import BenchWindow

    window = BenchWindow(rc, sim=sim, speed=speed, out_dir=out_dir)
    window.show()
    return int(app.exec_())


if __name__ == "__main__":
    sys.exit(main(sim="--sim" in sys.argv))
