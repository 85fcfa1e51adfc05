"""GUI fixtures: the real bench window on the simulated bench (virtual clock, no waiting)."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")


@pytest.fixture
def window(qtbot, tmp_path):
    """A BenchWindow on the simulated bench, run files in ``tmp_path/runs``."""
    from stfmr_lab.gui.window import BenchWindow

    w = BenchWindow(sim=True, speed="instant", out_dir=tmp_path / "runs")
    w.confirm_close = lambda: True  # no modal dialog in tests
    qtbot.addWidget(w)
    w.show()
    yield w
    if w.manager.is_running():
        w.abort()
        qtbot.waitUntil(lambda: not w.manager.is_running(), timeout=30000)
    w._cleanup()
    # pymeasure's LogWidget blinks its tab on warnings with ONE QTimer shared by every
    # LogWidget (a class attribute): left running, it fires into the next test's new window
    # before its tab exists (AttributeError 'tabBar' in the Qt event loop)
    from pymeasure.display.widgets.log_widget import LogWidget

    LogWidget._blink_qtimer.stop()
