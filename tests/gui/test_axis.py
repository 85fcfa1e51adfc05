"""The operator is asked to turn the magnet from the run's thread; the answer reaches the run."""

import threading

from qtpy import QtWidgets

from stfmr_lab.gui.axis import AxisPrompt


def test_prompt_from_a_worker_thread_waits_for_the_answer(qtbot, monkeypatch):
    asked = []

    def answer(parent, title, text, buttons, default):
        asked.append((threading.current_thread() is threading.main_thread(), text))
        return QtWidgets.QMessageBox.Ok if "along the easy axis" in text else QtWidgets.QMessageBox.Cancel

    monkeypatch.setattr(QtWidgets.QMessageBox, "question", staticmethod(answer))
    prompt = AxisPrompt()
    got = {}

    def worker():
        got["easy"] = prompt("easy")
        got["hard"] = prompt("hard")

    t = threading.Thread(target=worker)
    t.start()
    qtbot.waitUntil(lambda: len(got) == 2, timeout=5000)
    t.join(timeout=5)
    assert got == {"easy": True, "hard": False}
    assert all(in_gui_thread for in_gui_thread, _ in asked)  # the dialog ran in the GUI thread
    assert "0 deg" in asked[0][1] and "90 deg" in asked[1][1]


def test_window_hands_the_prompt_to_real_bench_runs(qtbot, tmp_path):
    from stfmr_lab.gui.window import BenchWindow

    w = BenchWindow(sim=False, out_dir=tmp_path)
    qtbot.addWidget(w)
    proc = w.make_procedure()
    assert proc.confirm_axis is w.axis_prompt
