"""The bench window: pymeasure's queue, inputs, browser and abort, plus stfmr-lab's docks.

``BenchWindow`` extends pymeasure's ``ManagedWindowBase``: its Manager runs one queued
procedure at a time in a Worker thread (no ZMQ port: ``manager.port`` is None), its inputs
come from the procedures' Parameters and its browser lists the session's runs. Each queued
procedure gets a new HDF5 run file (``procedure.out``, never overwriting), and the
window subscribes a ``StreamBridge`` to its stream: the spectrum with its running fit,
the map, the station panel and the progress are drawn from the stream's rows, never by
re-reading files or by querying instruments from the GUI thread.

Abort stops at the next point and the procedure's shutdown ramps down (RF off, bias to
zero, read back); the window shows the shutdown's verdict. Closing during a run asks first,
then aborts and closes once the bench is safe. File > Open run file shows a finished run
(read-only) from its HDF5 file.
"""

from __future__ import annotations

import datetime as _dt
import logging
import tempfile
from pathlib import Path

import yaml
from pymeasure.display.windows.managed_window import ManagedWindowBase
from pymeasure.experiment import Results
from qtpy import QtCore, QtGui, QtWidgets

from stfmr_lab.config import RunConfig, load_run_config, validate_run_config
from stfmr_lab.errors import failure_text, one_line
from stfmr_lab.gui import forms
from stfmr_lab.gui import procedures as gp
from stfmr_lab.gui.axis import AxisPrompt
from stfmr_lab.gui.bridge import StreamBridge
from stfmr_lab.gui.docks import (
    NOTHING_ON,
    UNVERIFIED_CHECK,
    FitTable,
    KittelPanel,
    MapPanel,
    ProgressPanel,
    SpectrumPanel,
    StationPanel,
    html_escape,
    is_unverified,
)
from stfmr_lab.gui.fitting import MIN_POINTS, FitService
from stfmr_lab.gui.log import BenchLogWidget
from stfmr_lab.gui.quantity import DISPLAY_UNITS, bench_inputs_widget
from stfmr_lab.gui.runmodel import RunModel
from stfmr_lab.sample import sample_name
from stfmr_lab.schema import ConfigError
from stfmr_lab.storage import StorageError, check_writable, free_name

log = logging.getLogger(__name__)

#: simulated bench speed: key -> (label, realtime, speed-up)
SPEEDS = {
    "realtime": ("real time", True, 1.0),
    "10x": ("10\u00d7 real time", True, 10.0),
    "100x": ("100\u00d7 real time", True, 100.0),
    "instant": ("no waiting", False, 1.0),
}
DEFAULT_DEVICE = {"preset": "paper"}
#: the simulated device of the bilayer forms (field map) when the window's device is an MTJ
DEFAULT_BILAYER_DEVICE = {"type": "bilayer", "preset": "py_pt"}
DEFAULT_SIMULATION = {"noise": True, "seed": 1}
REFRESH_MS = 100
#: the window's size where the screen has room, its smallest, and what a window frame takes
DEFAULT_SIZE = (1600, 1000)
MIN_SIZE = (1000, 600)
FRAME_PX = (16, 40)
MAP_REFRESH_MS = 300


class BenchWindow(ManagedWindowBase):
    """The bench GUI (see the module docstring). ``config``: a RunConfig or YAML path."""

    def __init__(self, config=None, *, sim: bool = False, speed: str = "realtime", out_dir=None, parent=None):
        self.sim = bool(sim)
        self.speed = speed if speed in SPEEDS else "realtime"
        rc = config
        if config is not None and not isinstance(config, RunConfig):
            rc = load_run_config(config, sim=self.sim)
        self.config_dir = rc.source.parent.resolve() if rc is not None and rc.source else Path.cwd()
        self.config_path: Path | None = rc.source if rc is not None else None
        if self.sim and rc is not None:
            self.device = dict(rc.data.get("device") or DEFAULT_DEVICE)
            self.simulation = {k: v for k, v in (rc.data.get("simulation") or DEFAULT_SIMULATION).items() if k != "realtime"}
        else:
            self.device, self.simulation = dict(DEFAULT_DEVICE), dict(DEFAULT_SIMULATION)
        if out_dir is None:
            out_dir = Path(rc.data["output"]["directory"]) if rc is not None else Path("runs")
        self._out_dir = Path(out_dir).expanduser().resolve()
        # pymeasure's CSV copies (for its browser only): removed on close, or at exit at the latest
        self._tmpdir = tempfile.TemporaryDirectory(prefix="stfmr-gui-", ignore_cleanup_errors=True)
        self._tmp = Path(self._tmpdir.name)
        self._reserved: set[Path] = set()
        self._runs: dict[int, dict] = {}  # id(procedure) -> {"bridge", "model", "experiment", "title"}
        self.axis_prompt = AxisPrompt()  # parented to the window once it exists (below)
        self.live_model: RunModel | None = None
        self.model: RunModel | None = None  # what the docks show
        self._dirty = False
        self._map_dirty = False
        self._closing = False
        self._cleaned = False
        self.fits = FitService()
        self.fits.fitted.connect(self._fitted)
        self.log_widget = BenchLogWidget("Log", fmt="%(asctime)s  %(message)s", datefmt="%H:%M:%S")
        first = forms.MEASUREMENTS[0]
        super().__init__(
            first.procedure_class,
            inputs=first.inputs,
            displays=(),
            widget_list=(self.log_widget,),
            enable_file_input=False,
            inputs_in_scrollarea=True,
            log_channel="stfmr_lab.gui",
            parent=parent,
        )
        # the product opens no network port: the Worker binds ZMQ only when given a port
        self.manager.port = None
        # one progress figure everywhere: the runs list shows the model's (``_show_progress``),
        # not the procedure's own (which counts the spectra's points only)
        self.manager._update_progress = lambda _progress: None
        self.axis_prompt.setParent(self)  # dialogs appear over the window
        self.manager.failed.connect(self.failed)
        self.folder_edit.setText(str(self._out_dir))
        self.speed_box.setCurrentIndex(max(0, self.speed_box.findData(self.speed)))
        logging.getLogger().addHandler(self.log_widget.handler)
        if logging.getLogger().level > logging.INFO or logging.getLogger().level == logging.NOTSET:
            logging.getLogger("stfmr_lab").setLevel(logging.INFO)
        self._timer = QtCore.QTimer(self)
        self._timer.timeout.connect(self._refresh)
        self._timer.start(REFRESH_MS)
        self._map_timer = QtCore.QTimer(self)
        self._map_timer.timeout.connect(self._refresh_map)
        self._map_timer.start(MAP_REFRESH_MS)
        if rc is not None:
            self._apply_config(rc)
        else:
            self._load_station_limits()
        self.spectrum_panel.refresh()
        self.map_panel.refresh()
        self._update_title()

    # ================================================================== construction
    def _setup_ui(self):
        super()._setup_ui()
        self.queue_button.setText("Queue run")
        self.queue_button.setToolTip("Check the inputs against the station's limits and queue the run")
        self.abort_button.setToolTip("Stop at the next point; the shutdown ramps the bias to 0 and turns the RF off")
        self.browser.setColumnCount(6)
        self.browser.setHeaderLabels(["Graph", "Run file", "Progress", "Status", "Measurement", "Safe state"])
        self.browser.itemDoubleClicked.connect(self._browser_double_clicked)
        for col, width in enumerate((50, 210, 90, 70, 220)):
            self.browser.header().resizeSection(col, width)
        self.browser_widget.open_button.setText("Open run file...")
        try:
            self.browser_widget.open_button.clicked.disconnect()
        except TypeError:
            pass
        self.browser_widget.open_button.clicked.connect(lambda: self.open_run_dialog())

        # ---- measurement forms: one InputsWidget per procedure, the first is pymeasure's own
        self.measurement_box = QtWidgets.QComboBox()
        self.forms: dict[str, QtWidgets.QWidget] = {}
        self.form_limits: dict[str, dict] = {}
        self.form_stack = QtWidgets.QStackedWidget()
        # every form in bench units ("50 uA", "7.4 GHz"): pymeasure's own first form is replaced
        form_class = bench_inputs_widget(type(self.inputs))
        self.inputs.hide()
        self.inputs.deleteLater()
        for meas in forms.MEASUREMENTS:
            widget = form_class(meas.procedure_class, meas.inputs, parent=self, inputs_in_scrollarea=True)
            self.forms[meas.key] = widget
            self.form_stack.addWidget(widget)
            self.measurement_box.addItem(meas.title, meas.key)
            self._watch_form(meas, widget)
            for lab in widget.labels.values():
                lab.setWordWrap(True)
        self.inputs = self.forms[forms.MEASUREMENTS[0].key]
        self.config_edit = QtWidgets.QPlainTextEdit()
        self.config_edit.setFont(QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont))
        self.config_edit.setPlaceholderText("Load a run config (YAML) or paste one here")
        self.config_edit.setLineWrapMode(QtWidgets.QPlainTextEdit.LineWrapMode.NoWrap)
        self.config_edit.textChanged.connect(lambda: self._config_timer.start(400))
        self.config_summary = QtWidgets.QLabel("")
        self.config_summary.setWordWrap(True)
        cfg_page = QtWidgets.QWidget()
        cl = QtWidgets.QVBoxLayout(cfg_page)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.addWidget(self.config_edit, 1)
        cl.addWidget(self.config_summary)
        self.form_stack.addWidget(cfg_page)
        self.measurement_box.addItem(forms.RUN_CONFIG_TITLE, forms.RUN_CONFIG)
        self.measurement_box.currentIndexChanged.connect(self._measurement_changed)
        self._config_checked: tuple | None = None  # ((text, folder, sim), RunConfig or None)
        self._config_timer = QtCore.QTimer(self)
        self._config_timer.setSingleShot(True)
        self._config_timer.timeout.connect(self._check_config_text)

        self.limits_label = QtWidgets.QLabel("")
        self.limits_label.setWordWrap(True)
        self.limits_label.setStyleSheet("color: #444;")
        self.form_message = QtWidgets.QLabel("")
        self.form_message.setWordWrap(True)
        self.form_message.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.folder_edit = QtWidgets.QLineEdit()
        self.folder_edit.setToolTip("Each queued run writes a new HDF5 file here (never overwriting)")
        self.folder_button = QtWidgets.QToolButton()
        self.folder_button.setText("...")
        self.folder_button.clicked.connect(self._choose_folder)
        self.speed_box = QtWidgets.QComboBox()
        for key, (label, _rt, _f) in SPEEDS.items():
            self.speed_box.addItem(label, key)
        self.speed_box.setToolTip("Simulated bench: how fast the virtual clock's waits really pass")
        self.load_button = QtWidgets.QPushButton("Load config...")
        self.load_button.clicked.connect(lambda: self.load_config_dialog())
        self.save_button = QtWidgets.QPushButton("Save config...")
        self.save_button.clicked.connect(lambda: self.save_config_dialog())

        # ---- docks' contents
        self.spectrum_panel = SpectrumPanel()
        self.map_panel = MapPanel()
        self.kittel_panel = KittelPanel()  # a bilayer's frequency vs |H0|, beside its map
        self.kittel_panel.setVisible(False)
        self.map_split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        self.map_split.addWidget(self.map_panel)
        self.map_split.addWidget(self.kittel_panel)
        self.map_split.setStretchFactor(0, 3)
        self.map_split.setStretchFactor(1, 2)
        self.station_panel = StationPanel()
        self.progress_panel = ProgressPanel()
        self.fit_table = FitTable()
        self.map_panel.rowChosen.connect(self.choose_spectrum)
        self.fit_table.spectrumChosen.connect(self.choose_spectrum)
        self.spectrum_panel.spectrumChosen.connect(self.fit_table.select_spectrum)

    def _layout(self):
        # left: the measurement and its inputs
        left = QtWidgets.QWidget()
        lv = QtWidgets.QVBoxLayout(left)
        lv.setContentsMargins(6, 6, 6, 6)
        lv.addWidget(self.measurement_box)
        lv.addWidget(self.form_stack, 1)
        self.form_stack.setMinimumHeight(60)  # the inputs scroll: the column fits a 720-pixel screen
        lv.addWidget(self.limits_label)
        fold = QtWidgets.QHBoxLayout()
        fold.addWidget(QtWidgets.QLabel("Run files in"))
        fold.addWidget(self.folder_edit, 1)
        fold.addWidget(self.folder_button)
        lv.addLayout(fold)
        if self.sim:
            sp = QtWidgets.QHBoxLayout()
            sp.addWidget(QtWidgets.QLabel("Sim speed"))
            sp.addWidget(self.speed_box, 1)
            lv.addLayout(sp)
        files = QtWidgets.QHBoxLayout()
        files.addWidget(self.load_button)
        files.addWidget(self.save_button)
        lv.addLayout(files)
        # the message scrolls in a box of fixed height: Queue and Abort, last, never move
        self.message_box = QtWidgets.QScrollArea()
        self.message_box.setWidget(self.form_message)
        self.message_box.setWidgetResizable(True)
        self.message_box.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.message_box.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.message_box.setFixedHeight(3 * self.form_message.fontMetrics().lineSpacing() + 8)
        self.form_message.setAlignment(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignTop)
        lv.addWidget(self.message_box)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.queue_button)
        buttons.addWidget(self.abort_button)
        lv.addLayout(buttons)
        self.queue_button.setStyleSheet("font-weight: bold; padding: 4px 12px;")
        self.abort_button.setStyleSheet("padding: 4px 12px;")
        left.setMinimumWidth(260)
        left.setMaximumWidth(420)

        self.inputs_dock = self._dock("Measurement", left, QtCore.Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCentralWidget(self.spectrum_panel)
        self.station_dock = self._dock("Station", self.station_panel, QtCore.Qt.DockWidgetArea.RightDockWidgetArea)
        self.progress_dock = self._dock("Progress", _scrolled(self.progress_panel), QtCore.Qt.DockWidgetArea.LeftDockWidgetArea)
        self.map_dock = self._dock("Map", self.map_split, QtCore.Qt.DockWidgetArea.BottomDockWidgetArea)
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.addTab(self.browser_widget, "Runs")
        self.tabs.addTab(self.fit_table, "Fits")
        self.tabs.addTab(self.log_widget, self.log_widget.name)
        self.runs_dock = self._dock("Runs, fits and log", self.tabs, QtCore.Qt.DockWidgetArea.RightDockWidgetArea)
        # the progress (and the run's verdict) under Queue and Abort; the station over the runs
        self.splitDockWidget(self.inputs_dock, self.progress_dock, QtCore.Qt.Orientation.Vertical)
        self.splitDockWidget(self.station_dock, self.runs_dock, QtCore.Qt.Orientation.Vertical)
        self.setCorner(QtCore.Qt.Corner.BottomRightCorner, QtCore.Qt.DockWidgetArea.RightDockWidgetArea)
        self.setCorner(QtCore.Qt.Corner.BottomLeftCorner, QtCore.Qt.DockWidgetArea.LeftDockWidgetArea)
        self._sized = False
        self._menus()
        self.statusBar().showMessage("ready")
        self.setMinimumSize(*MIN_SIZE)
        self.fit_to_screen()

    def fit_to_screen(self, available: QtCore.QRect | None = None) -> None:
        """Size the window to the screen's available area (at most 1600 x 1000), leaving
        room for the window frame, so the status bar and every dock are on screen."""
        if available is None:
            screen = self.screen() if hasattr(self, "screen") else None
            screen = screen or QtWidgets.QApplication.primaryScreen()
            available = screen.availableGeometry() if screen is not None else QtCore.QRect(0, 0, *DEFAULT_SIZE)
        width = max(MIN_SIZE[0], min(DEFAULT_SIZE[0], available.width() - FRAME_PX[0]))
        height = max(MIN_SIZE[1], min(DEFAULT_SIZE[1], available.height() - FRAME_PX[1]))
        self.resize(width, height)
        self._sized = False
        if self.isVisible():
            self._size_docks()

    def showEvent(self, event):
        super().showEvent(event)
        if not self._sized:  # dock sizes take only once the window has its size
            self._size_docks()

    def resizeEvent(self, event):
        super().resizeEvent(event)
        if self.isVisible() and not self._sized:
            self._size_docks()

    def _size_docks(self) -> None:
        """Share the window between the docks in proportion to its size."""
        self._sized = True
        w, h = self.width(), self.height()
        left = 300 if w < 1400 else 340
        right = max(330, int(0.3 * w))
        self.resizeDocks([self.inputs_dock, self.station_dock], [left, right], QtCore.Qt.Orientation.Horizontal)
        self.resizeDocks([self.map_dock], [int(0.38 * h)], QtCore.Qt.Orientation.Vertical)
        progress = max(self.progress_panel.minimumHeight() + 30, int(0.3 * h))
        self.resizeDocks([self.inputs_dock, self.progress_dock], [h - progress, progress], QtCore.Qt.Orientation.Vertical)
        self.resizeDocks([self.station_dock, self.runs_dock], [int(0.5 * h), int(0.5 * h)], QtCore.Qt.Orientation.Vertical)

    def _dock(self, title, widget, area) -> QtWidgets.QDockWidget:
        dock = QtWidgets.QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        dock.setFeatures(
            QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(area, dock)
        return dock

    def _menus(self):
        bar = self.menuBar()
        m = bar.addMenu("&File")
        act = m.addAction("&Open run file (HDF5)...", lambda: self.open_run_dialog())
        act.setShortcut(QtGui.QKeySequence.StandardKey.Open)
        m.addAction("&Load run config (YAML)...", lambda: self.load_config_dialog())
        m.addAction("&Save run config (YAML)...", lambda: self.save_config_dialog())
        m.addSeparator()
        act = m.addAction("&Quit", self.close)
        act.setShortcut(QtGui.QKeySequence.StandardKey.Quit)
        r = bar.addMenu("&Run")
        r.addAction("&Queue", self._queue_clicked)
        r.addAction("&Abort", lambda: self.abort() if self.manager.is_running() else None)
        r.addAction("Show the &live run", self.show_live)
        r.addAction("Show the last &traceback", self.show_traceback)
        v = bar.addMenu("&View")
        for dock in (self.inputs_dock, self.station_dock, self.progress_dock, self.map_dock, self.runs_dock):
            v.addAction(dock.toggleViewAction())

    def show_traceback(self) -> None:
        """The last exception's whole traceback (folded to one line in the log tab)."""
        text = self.log_widget.last_traceback or "No traceback in this session."
        box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Information, "Last traceback", text.splitlines()[-1], parent=self)
        box.setDetailedText(text)
        box.open()

    def _update_title(self):
        where = "simulated bench" if self.sim else "bench"
        shown = ""
        if self.model is not None and not self.model.live and self.model.path:
            shown = f" \u2014 {self.model.path.name} (read-only)"
        elif self.live_model is not None and self.model is self.live_model:
            shown = f" \u2014 {self.live_model.name} ({self.live_model.status})"
        self.setWindowTitle(f"stfmr-lab \u2014 ST-FMR {where}{shown}")

    # ================================================================== forms
    @property
    def measurement(self) -> str:
        return self.measurement_box.currentData()

    def select_measurement(self, key: str) -> None:
        """Show the form of ``key`` (frequency, field, map, dvdi or config)."""
        idx = self.measurement_box.findData(key)
        if idx < 0:
            raise KeyError(key)
        self.measurement_box.setCurrentIndex(idx)

    def form_input(self, name: str, key: str | None = None):
        """The input element of parameter ``name`` in the current (or ``key``) form."""
        return getattr(self.forms[key or self.measurement], name)

    def _measurement_changed(self, _index):
        key = self.measurement
        if key == forms.RUN_CONFIG:
            self.form_stack.setCurrentIndex(self.form_stack.count() - 1)
            self._check_config_text()
            return
        meas = self._meas(key)
        self.form_stack.setCurrentWidget(self.forms[key])
        # pymeasure's make_procedure reads these
        self.inputs = self.forms[key]
        self.procedure_class = meas.procedure_class
        self._load_station_limits(key)

    @staticmethod
    def _meas(key) -> forms.Measurement:
        return next(m for m in forms.MEASUREMENTS if m.key == key)

    def _watch_form(self, meas, widget):
        for name in meas.inputs:
            el = getattr(widget, name)
            for sig in ("valueChanged", "textChanged", "currentTextChanged", "toggled"):
                s = getattr(el, sig, None)
                if s is not None:
                    s.connect(lambda *_a, key=meas.key: self._check_form(key))
                    break
        widget.station_file.editingFinished.connect(lambda key=meas.key: self._load_station_limits(key))

    def _form_values(self, key: str) -> tuple[dict, dict]:
        """(input -> value in SI units, input -> why its text is unreadable)."""
        meas = self._meas(key)
        w = self.forms[key]
        labels = self._labels(key)
        values, unreadable = {}, {}
        for name in meas.inputs:
            try:
                values[name] = getattr(w, name).value()
            except ValueError as e:  # QuantityInput: text that is not a value of its unit
                unreadable[name] = f"{labels[name]}: {e}"
        return values, unreadable

    def _labels(self, key: str) -> dict:
        proc = self._meas(key).procedure_class
        out = {}
        for name in self._meas(key).inputs:
            p = getattr(proc, name)
            unit = DISPLAY_UNITS.get(name, getattr(p, "units", None))
            out[name] = p.name + (f" ({unit})" if unit else "")
        return out

    def _load_station_limits(self, key: str | None = None) -> None:
        key = key or self.measurement
        if key == forms.RUN_CONFIG:
            return
        w = self.forms[key]
        try:
            path, station = forms.station_limits(w.station_file.value(), self.config_dir)
        except ConfigError as e:
            self.form_limits.pop(key, None)
            self._say_form(f"Station file: {e}", error=True)
            return
        lim = station["limits"]
        self.form_limits[key] = {"limits": lim, "path": path, "station": station}
        self._show_station(station)
        proc = self._meas(key).procedure_class
        for name in self._meas(key).inputs:
            lab = w.labels.get(name)
            if lab is None:
                continue
            hint = forms.limit_hint(name, lim)
            lab.setText(f"{getattr(proc, name).name}:" + (f"  <span style='color:#666'>[{hint}]</span>" if hint else ""))
        # one line (each input's label shows its limit); all of them in the tooltip
        self.limits_label.setText(f"Limits of station <b>{station['name']}</b> ({path.name})")
        self.limits_label.setToolTip(forms.limit_summary(lim))
        self._check_form(key)

    def _show_station(self, station: dict) -> None:
        """The station a run would use, until a run (or a file) shows its own."""
        if self.model is not None:
            return
        roles = {r: {"model": i["model"], "address": i["address"]} for r, i in station["instruments"].items()}
        self.station_panel.set_station(station.get("name", ""), roles, self.sim)

    def _check_form(self, key: str) -> dict:
        """Mark inputs beyond the station's limits; returns input -> reason."""
        if key not in self.forms:
            return {}
        w = self.forms[key]
        info = self.form_limits.get(key)
        values, problems = self._form_values(key)
        if info:
            problems.update(forms.limit_problems(values, info["limits"], self._labels(key)))
        for name in self._meas(key).inputs:
            el = getattr(w, name)
            el.setStyleSheet("border: 2px solid #d62728; background: #fdecec;" if name in problems else "")
            el.setToolTip(problems.get(name, ""))
        if key == self.measurement:
            if problems:
                self._say_form("Not accepted (not queued):\n" + "\n".join(problems.values()), error=True)
            elif self.form_message.property("kind") in ("limits", "queue"):
                self._say_form("")  # a "Not queued: ..." is stale once the form changes
        return problems

    def _say_form(self, text: str, error: bool = False, kind: str = "limits") -> None:
        self.form_message.setText(text)
        self.form_message.setProperty("kind", kind if text else "")
        self.form_message.setStyleSheet("color: #c00000; font-weight: bold;" if error else "color: #1a6e1a;")

    def _check_config_text(self) -> RunConfig | None:
        """Validate the config text and summarise it (each text once: the summary of the
        same text, folder and bench is kept)."""
        text = self.config_edit.toPlainText()
        key = (text, self.config_dir, self.sim)
        if self._config_checked is not None and self._config_checked[0] == key:
            return self._config_checked[1]
        rc = None
        if not text.strip():
            self.config_summary.setText("no run config loaded")
        else:
            try:
                rc = validate_run_config(yaml.safe_load(text), base_dir=self.config_dir, source=self.config_path, sim=self.sim)
            except (ConfigError, yaml.YAMLError, StorageError) as e:
                self.config_summary.setText(f"<span style='color:#c00000'><b>not valid:</b> {html_escape(one_line(e))}</span>")
            else:
                self._show_config(rc)
        self._config_checked = (key, rc)
        return rc

    def _show_config(self, rc: RunConfig) -> None:
        self._show_station(rc.station)
        from stfmr_lab.runner import estimate_bench_time_s, fmt_duration

        self.config_summary.setText(
            f"<b>{rc.name}</b>: {len(rc.plan.spectra)} spectra + {len(rc.plan.iv_sweeps)} I-V sweeps, "
            f"{rc.plan.points} points; expected bench time {fmt_duration(estimate_bench_time_s(rc))}"
        )

    def _apply_config(self, rc: RunConfig) -> None:
        """Show a loaded run config (queued as a RunConfigProcedure) and take its settings into the forms."""
        self.config_edit.setPlainText(rc.text)
        self._config_timer.stop()  # the text is rc's, validated already
        self._config_checked = ((rc.text, self.config_dir, self.sim), rc)
        self._show_config(rc)
        d = rc.data
        station = d.get("station")
        for key, w in self.forms.items():
            if isinstance(station, str):
                w.station_file.setValue(station)
            w.sample_name.setValue(sample_name(d.get("sample", "")))
            for name, value in (
                ("rf_power_dbm", d["rf_power_dbm"]),
                ("time_constant_s", d["lockin"]["time_constant_s"]),
                ("settle_time_constants", d["lockin"]["settle_time_constants"]),
                ("sensitivity_v", d["lockin"]["sensitivity_v"]),
                ("chop_frequency_hz", d["chop"]["frequency_hz"]),
            ):
                if name in self._meas(key).inputs:  # the dV/dI form has no RF or lock-in inputs
                    getattr(w, name).setValue(float(value))
            self._load_station_limits(key)
        self._fill_field_map_form(d)
        self.select_measurement(forms.RUN_CONFIG)

    def _fill_field_map_form(self, d: dict) -> None:
        """Take a loaded config's first field map (and its sample block) into the field-map form."""
        w = self.forms.get("field_map")
        fm = next((m for m in d.get("measurements", []) if m.get("type") == "field_map"), None)
        if w is None or fm is None:
            return
        w.frequencies_ghz.setValue(", ".join(f"{f / 1e9:g}" for f in fm["frequencies_hz"]))
        w.dc_currents_ma.setValue(", ".join(f"{i * 1e3:g}" for i in fm["dc_currents_a"]))
        fields = fm["fields_oe"]
        if isinstance(fields, dict):
            w.start_oe.setValue(float(fields["start"]))
            w.stop_oe.setValue(float(fields["stop"]))
            w.points.setValue(int(fields["points"]))
        w.sampling.setValue("adaptive" if fm.get("adaptive") else "uniform")
        sample = d.get("sample")
        if isinstance(sample, dict):
            for name in ("mu0_ms_t", "t_fm_nm", "t_hm_nm", "width_um", "shunt_hm", "phi_deg"):
                if sample.get(name) is not None:
                    getattr(w, name).setValue(float(sample[name]))
        self._check_form("field_map")

    # ================================================================== configs on disk
    def load_config_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Load run config", str(self.config_dir), "Run configs (*.yaml *.yml)")
        if path:
            self.load_config(path)

    def load_config(self, path) -> RunConfig | None:
        """Load a run config file (validated); it is queued as a RunConfigProcedure."""
        try:
            rc = load_run_config(path, sim=self.sim)
        except (ConfigError, StorageError) as e:
            self._say_form(f"Cannot load {path}: {one_line(e)}", error=True, kind="file")
            return None
        self.config_dir = Path(path).resolve().parent
        self.config_path = Path(path)
        if self.sim:
            self.device = dict(rc.data.get("device") or DEFAULT_DEVICE)
            self.simulation = {k: v for k, v in (rc.data.get("simulation") or DEFAULT_SIMULATION).items() if k != "realtime"}
        self._apply_config(rc)
        self._say_form(f"Loaded {path}", kind="file")
        log.info("run config loaded: %s", path)
        return rc

    def save_config_dialog(self) -> None:
        start = str(self.config_dir / "run.yaml")
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save run config", start, "Run configs (*.yaml *.yml)")
        if path:
            self.save_config(path)

    def save_config(self, path) -> Path | None:
        """Write the current form (or the config text) as a run config YAML file."""
        path = Path(path)
        if self.measurement == forms.RUN_CONFIG:
            text = self.config_edit.toPlainText()
        else:
            try:
                proc = self.forms[self.measurement].get_procedure()
            except ValueError as e:  # an input's text is unreadable
                self._say_form(f"Not saved: {e}", error=True, kind="file")
                return None
            if self.sim:
                proc.device, proc.simulation = self.sim_device(self.measurement), dict(self.simulation)
            text = forms.config_yaml(proc, sim_extras=self.sim)
        try:
            path.write_text(text, encoding="utf-8")  # what load_yaml reads, whatever the OS locale
        except OSError as e:
            self._say_form(f"Cannot save {path}: {e.strerror}", error=True, kind="file")
            return None
        self._say_form(f"Saved {path}", kind="file")
        log.info("run config saved: %s", path)
        return path

    # ================================================================== queue
    def _choose_folder(self):
        d = QtWidgets.QFileDialog.getExistingDirectory(self, "Folder for run files", str(self.out_dir))
        if d:
            self.out_dir = d

    @property
    def out_dir(self) -> Path:
        text = self.folder_edit.text().strip()
        return Path(text).expanduser().resolve() if text else self._out_dir

    @out_dir.setter
    def out_dir(self, value) -> None:
        self._out_dir = Path(value).expanduser().resolve()
        self.folder_edit.setText(str(self._out_dir))

    def sim_device(self, key: str) -> dict:
        """The simulated device of form ``key``'s run: the window's (that of the config last
        loaded) when it is of the form's type, else the form's default (MTJ or bilayer)."""
        want = self._meas(key).device_type
        have = str(self.device.get("type", "mtj"))
        if have == want:
            return dict(self.device)
        return dict(DEFAULT_BILAYER_DEVICE if want == "bilayer" else DEFAULT_DEVICE)

    def _queue_clicked(self, *_):
        self.queue()

    def make_procedure(self):
        """The procedure of the current form or config, validated (raises ConfigError)."""
        realtime, speedup = SPEEDS[self.speed_box.currentData() or self.speed][1:]
        key = self.measurement
        if key == forms.RUN_CONFIG:
            text = self.config_edit.toPlainText()
            if not text.strip():
                raise ConfigError("no run config: load one (Load config...) or type one")
            try:
                data = forms.with_realtime(text, realtime) if self.sim else yaml.safe_load(text)
            except yaml.YAMLError as e:
                raise ConfigError(f"config: malformed YAML ({one_line(e)})") from None
            rc = validate_run_config(data, base_dir=self.config_dir, source=self.config_path, sim=self.sim)
            proc = gp.RunConfigProcedure()
            proc.config_text = yaml.safe_dump(data, sort_keys=False)
        else:
            problems = self._check_form(key)
            if problems:
                raise ConfigError("\n".join(problems.values()))
            proc = self.forms[key].get_procedure()
            info = self.form_limits.get(key)
            if info is None:
                raise ConfigError(f"station file {proc.station_file}: not found")
            proc.station_file = str(info["path"])
            proc.sim = self.sim
            if self.sim:
                proc.device = self.sim_device(key)
                proc.simulation = dict(self.simulation, realtime=realtime)
            rc = proc.make_run_config()
        proc.sim = self.sim
        proc.run_config = rc
        proc.clock_speedup = speedup if (self.sim and realtime) else 1.0
        if not self.sim:  # no rotation stage: the operator turns the magnet when asked
            proc.confirm_axis = self.axis_prompt
        return proc

    def queue(self, procedure=None):
        """Check and queue the current form as a run; returns the Experiment or None (refused)."""
        try:
            if procedure is None:
                procedure = self.make_procedure()
            out = self._new_run_path(procedure.run_config.name)
        except (ConfigError, StorageError) as e:
            self._say_form(f"Not queued: {e}", error=True, kind="queue")
            self.statusBar().showMessage("not queued: see the message under the inputs", 8000)
            return None
        procedure.out = out
        bridge = StreamBridge(self)
        procedure.stream.subscribe(bridge.sink)
        pid = id(procedure)
        bridge.started.connect(lambda info, pid=pid: self._started(pid, info))
        bridge.sweepStarted.connect(lambda item, pid=pid: self._sweep_started(pid, item))
        bridge.rows.connect(lambda batch, pid=pid: self._rows(pid, batch))
        bridge.sweepDone.connect(lambda item, pid=pid: self._sweep_done(pid, item))
        bridge.message.connect(lambda text, pid=pid: self._message(pid, text))
        bridge.stopped.connect(lambda status, safe, pid=pid: self._stopped(pid, status, safe))
        results = Results(procedure, str(self._tmp / (out.stem + ".csv")))
        experiment = self.new_experiment(results)
        title = _describe(procedure)
        item = experiment.browser_item
        item.setText(1, out.name)
        item.setToolTip(1, str(out))
        item.setText(4, title)
        self._runs[pid] = {"bridge": bridge, "model": None, "experiment": experiment, "title": title, "out": out}
        self._say_form(f"Queued {out.name}", kind="queue")
        log.info("queued %s -> %s", title, out)
        if not self.manager.is_running() and not self.manager.experiments.has_next():
            # a fresh queue after an abort starts at once (pymeasure would wait for Resume)
            self.manager._start_on_add = True
            self.manager._is_continuous = True
            self._reset_abort_button()
        self.manager.queue(experiment)
        return experiment

    def _new_run_path(self, name: str) -> Path:
        folder = check_writable(self.out_dir / "x.h5").parent
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        cand = folder / f"{stamp}_{name}.h5"
        k = 1
        p = free_name(cand)
        while p in self._reserved:
            p = free_name(folder / f"{stamp}_{name}-{k}.h5")
            k += 1
        self._reserved.add(p)
        return p

    # ================================================================== stream events (GUI thread)
    def _run(self, pid) -> dict:
        return self._runs.get(pid, {})

    def _started(self, pid, info):
        run = self._run(pid)
        model = RunModel(name=run.get("title", ""), path=info.get("path"))
        model.simulated = self.sim
        model.start(info)
        run["model"] = model
        self.live_model = model
        rc = info.get("config")
        station_name = rc.station.get("name", "") if rc is not None else ""
        speed = SPEEDS[self.speed_box.currentData() or self.speed][0] if self.sim else ""
        self.progress_panel.clock_text = f"virtual clock ({speed})" if self.sim else "wall clock"
        self.station_panel.set_station(station_name, model.roles, self.sim)
        if self.form_message.property("kind") == "queue":  # "Queued ..." is no longer news
            self._say_form("")
        self._status_bar("")
        exp = run.get("experiment")
        if exp is not None and info.get("path"):
            exp.browser_item.setText(1, Path(info["path"]).name)
        self.fit_table.clear_fits()
        self.show_model(model)
        log.info("run started: %s", info.get("path"))

    def _sweep_started(self, pid, item):
        model = self._run(pid).get("model")
        if model is None:
            return
        model.sweep_started(item)
        self._dirty = True

    def _rows(self, pid, batch):
        model = self._run(pid).get("model")
        if model is None:
            return
        grown = model.add_rows(batch)
        if model.current is not None and model.current in grown:
            self._maybe_fit(model, model.current)
        self._dirty = True
        self._map_dirty = True

    def _sweep_done(self, pid, item):
        model = self._run(pid).get("model")
        if model is None:
            return
        model.sweep_finished(item)
        idx = int(getattr(item, "index", -1))
        if idx in model.spectra and (hasattr(item, "frequencies_hz") or hasattr(item, "fields_oe")):
            self._maybe_fit(model, idx, final=True)
        self._dirty = True

    def _message(self, pid, text):
        log.info(text)
        self.statusBar().showMessage(text, 10000)

    def _stopped(self, pid, status, safe_state):
        run = self._run(pid)
        model = run.get("model")
        if model is not None:
            model.stop(status, safe_state)
        exp = run.get("experiment")
        verdict = "bias 0 / RF off (verified)" if safe_state == "verified" else safe_state
        if exp is not None:
            exp.browser_item.setText(5, verdict)
            exp.browser_item.setToolTip(5, safe_state)
        if status == "aborted":
            text = f"Run aborted; ramped down safely: {verdict}" if safe_state == "verified" else f"Run aborted; safe state: {verdict}"
        elif status == "failed":
            text = f"Run failed; safe state: {verdict}"
        else:
            text = f"Run {status}; shut down: {verdict}"
        if is_unverified(safe_state):
            text = f"Run {status}: SAFE STATE NOT VERIFIED: {safe_state.removeprefix('NOT verified:').strip()}; {UNVERIFIED_CHECK}"
            if exp is not None:
                for col in (3, 5):
                    exp.browser_item.setForeground(col, QtGui.QBrush(QtGui.QColor("#d62728")))
        if safe_state == "verified":
            log.info(text)
        else:
            log.warning(text)
        self._status_bar(text, error=is_unverified(safe_state))
        self._dirty = True
        self._map_dirty = True
        self._refresh()
        self._refresh_map()
        self._update_title()

    def _status_bar(self, text: str, error: bool = False, timeout_ms: int = 0) -> None:
        """A status-bar message; red and bold for an unverified safe state or a failure."""
        self.statusBar().setStyleSheet("QStatusBar { color: #c00000; font-weight: bold; }" if error else "")
        if text:
            self.statusBar().showMessage(text, timeout_ms)
        else:
            self.statusBar().clearMessage()

    # ================================================================== fits
    def _maybe_fit(self, model: RunModel, idx: int, final: bool = False) -> None:
        info = model.spectra.get(idx)
        if info is None or info.n < MIN_POINTS:
            return
        step = max(5, (info.planned_points or info.n) // 10)
        if not final and info.n - info.fit_requested < step:
            return
        info.fit_requested = info.n
        x, v = model.spectrum_data(idx)
        self.fits.request(model, idx, model.fit_kind(idx), x, v, model.fit_timing(idx))

    def _fitted(self, model, idx, n, result):
        info = model.spectra.get(idx) if isinstance(model, RunModel) else None
        if info is None or n < info.fit_n:
            return
        info.fit = result
        info.fit_n = n
        if info.done and n >= info.n:
            self.fit_table.put(model, idx)
        if model is self.model:
            self._dirty = True

    # ================================================================== what the docks show
    def show_model(self, model: RunModel | None) -> None:
        self.model = model
        self.spectrum_panel.set_model(model)
        self.map_panel.set_model(model)
        self.kittel_panel.set_model(model)
        self.kittel_panel.setVisible(bool(model is not None and model.bilayer))
        if model is not None and not model.live:
            self.station_panel.set_station(model.station_name or "(not recorded)", model.roles, model.simulated)
            self.station_panel.header.setText(self.station_panel.header.text() + f"<br>run file {html_escape(model.path.name if model.path else model.name)} (read-only)")
        self.fit_table.clear_fits()
        if model is not None:
            for idx, info in sorted(model.spectra.items()):
                if info.fit is not None:
                    self.fit_table.put(model, idx)
        self._dirty = True
        self._refresh()
        self._update_title()

    def choose_spectrum(self, index: int) -> None:
        """Show spectrum ``index`` (from a map click or the fits table): the spectrum panel,
        the map's marked row and the fits table's selection follow."""
        self.spectrum_panel.show_spectrum(index)
        self.fit_table.select_spectrum(index)
        self.map_panel.mark(index)

    def show_live(self) -> None:
        if self.live_model is not None:
            self.show_model(self.live_model)

    def _refresh(self):
        if not self._dirty:
            return
        self._dirty = False
        m = self.model
        self.spectrum_panel.refresh()
        shown = self.spectrum_panel.shown
        self.map_panel.mark(shown[1] if shown is not None and shown[0] == "spectrum" else None)
        self.station_panel.refresh(m)
        self.progress_panel.refresh(m)
        if not self.kittel_panel.isHidden():
            self.kittel_panel.refresh()
        self._show_progress(self.live_model)

    def _show_progress(self, model: RunModel | None) -> None:
        """The runs list shows the progress panel's figure (the plan's points, I-V included)."""
        run = next((r for r in self._runs.values() if r.get("model") is model), None) if model is not None else None
        if run is not None and run.get("experiment") is not None:
            run["experiment"].browser_item.progressbar.setValue(int(100 * model.fraction))

    def _refresh_map(self):
        if self._map_dirty:
            self._map_dirty = False
            self.map_panel.refresh()

    # ================================================================== finished runs from files
    def open_run_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open run file", str(self.out_dir), "Run files (*.h5 *.hdf5 *.nxs)")
        if path:
            self.open_run(path)

    def open_experiment(self):  # pymeasure's browser "Open" button
        self.open_run_dialog()

    def open_run(self, path) -> RunModel | None:
        """Show a run file (read-only): its spectra, map, station and fits."""
        from stfmr_lab.storage import read_run

        try:
            data = read_run(path)
        except (OSError, ValueError, KeyError) as e:
            self._say_form(f"Cannot open {path}: {one_line(e)}", error=True, kind="file")
            return None
        model = RunModel.from_run_data(data)
        self.show_model(model)
        shown = self.spectrum_panel.target()
        order = sorted(model.spectra, key=lambda i: (i == shown, -i))  # the shown one last: fitted first
        for idx in order:
            info = model.spectra[idx]
            if info.n >= MIN_POINTS:
                x, v = model.spectrum_data(idx)
                self.fits.request(model, idx, model.fit_kind(idx), x, v, model.fit_timing(idx))
        self._map_dirty = True
        self._refresh_map()
        log.info("opened %s (%s, %d points, %d spectra)", path, model.status, model.n, len(model.spectra))
        self.statusBar().showMessage(f"{Path(path).name}: {model.status}, read-only", 10000)
        return model

    def _browser_double_clicked(self, item, _column):
        exp = self.manager.experiments.with_browser_item(item)
        if exp is None:
            return
        run = self._runs.get(id(exp.procedure), {})
        if run.get("model") is not None:
            self.show_model(run["model"])

    # ================================================================== abort, failure, close
    def abort(self):
        if not self.manager.is_running():
            return
        super().abort()
        text = "Abort requested: finishing the point in flight, then RF off and bias ramped to 0..."
        self.statusBar().showMessage(text)
        self.progress_panel.status.setText(f"<b style='color:#e8a317'>ABORTING</b> \u2014 {text}")
        log.info(text)

    def _reset_abort_button(self):
        try:
            self.abort_button.clicked.disconnect()
        except TypeError:
            pass
        self.abort_button.setText("Abort")
        self.abort_button.clicked.connect(self.abort)

    def abort_returned(self, experiment):
        super().abort_returned(experiment)
        if not self.manager.experiments.has_next():
            self._reset_abort_button()
            self.abort_button.setEnabled(False)
        self._after_run(experiment)

    def finished(self, experiment):
        super().finished(experiment)
        self._after_run(experiment)

    def failed(self, experiment):
        proc = experiment.procedure
        err = getattr(proc, "error", None)
        station = getattr(getattr(proc, "ctx", None), "station", None)
        reason = failure_text(err, getattr(station, "instruments", None)) if err is not None else "see the log"
        run = self._runs.get(id(proc), {})
        model = run.get("model")
        if model is None:  # it failed before it started (e.g. an instrument does not answer)
            model = RunModel(name=run.get("title", ""), path=None)
            model.simulated = self.sim
            model.status = "failed"
            model.safe_state = getattr(proc, "safe_state", "") or NOTHING_ON
            run["model"] = model
            self.live_model = model
            self.show_model(model)
        elif model.status == "running":  # no stop event came (shutdown could not run)
            model.stop("failed", getattr(proc, "safe_state", "") or "not verified (shutdown did not report)")
        model.error = reason
        self._dirty = True
        self._refresh()
        if is_unverified(model.safe_state):
            verdict = f"SAFE STATE NOT VERIFIED: {model.safe_state.removeprefix('NOT verified:').strip()}; {UNVERIFIED_CHECK}"
        else:
            verdict = f"safe state: {model.safe_state}"
        self._status_bar(f"Run failed: {reason}; {verdict}", error=True)
        log.error("run failed: %s", reason)
        experiment.browser_item.setText(5, getattr(proc, "safe_state", "") or "not started")
        if self.manager.experiments.has_next():
            self.abort_button.setText("Resume")
            try:
                self.abort_button.clicked.disconnect()
            except TypeError:
                pass
            self.abort_button.clicked.connect(self.resume)
            self.abort_button.setEnabled(True)
            self.manager._start_on_add = False
            self.manager._is_continuous = False
        else:
            self.abort_button.setEnabled(False)
        self.browser_widget.clear_button.setEnabled(True)
        self._after_run(experiment)

    def _after_run(self, experiment):
        self._update_title()
        if self._closing and not self.manager.is_running():
            QtCore.QTimer.singleShot(0, self.close)

    def confirm_close(self) -> bool:
        """Ask before closing during a run (tests replace this)."""
        reply = QtWidgets.QMessageBox.question(
            self,
            "A run is in progress",
            "A run is in progress. Abort it, ramp down safely (RF off, bias to 0) and close?",
            QtWidgets.QMessageBox.StandardButton.Yes | QtWidgets.QMessageBox.StandardButton.No,
            QtWidgets.QMessageBox.StandardButton.No,
        )
        return reply == QtWidgets.QMessageBox.StandardButton.Yes

    def closeEvent(self, event):
        if self.manager.is_running():
            if not self._closing:
                if not self.confirm_close():
                    event.ignore()
                    return
                self._closing = True
                # nothing else starts; the running one stops at its next point and ramps down
                self.manager._start_on_add = False
                self.manager._is_continuous = False
                self.abort()
                self.statusBar().showMessage("Closing: waiting for the safe shutdown (RF off, bias to 0)...")
            event.ignore()
            return
        self._cleanup()
        event.accept()

    def quit(self, evt=None):
        """The application is quitting: stop a run safely and wait for its shutdown."""
        if self.manager.is_running():
            self._closing = True
            try:
                self.manager.abort()
            except Exception:  # already stopping
                pass
            worker = getattr(self.manager, "_worker", None)
            if worker is not None:
                worker.join(120)
        self._cleanup()

    def _cleanup(self):
        if self._cleaned:
            return
        self._cleaned = True
        self._timer.stop()
        self._map_timer.stop()
        self.fits.close()
        self.log_widget.close_timer()
        logging.getLogger().removeHandler(self.log_widget.handler)
        self._tmpdir.cleanup()


def _scrolled(widget: QtWidgets.QWidget) -> QtWidgets.QScrollArea:
    """``widget`` in a frameless vertical scroll area (its text is never clipped unseen)."""
    area = QtWidgets.QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return area


def _describe(procedure) -> str:
    rc = procedure.run_config
    if isinstance(procedure, gp.RunConfigProcedure):
        return f"config {rc.name}"
    p = procedure
    if isinstance(p, gp.FrequencySweepProcedure):
        return f"f sweep {p.start_hz / 1e9:g}-{p.stop_hz / 1e9:g} GHz at {p.field_oe:g} Oe, {p.bias_current_a * 1e6:g} \u00b5A"
    if isinstance(p, gp.FieldSweepProcedure):
        return f"H sweep {p.start_oe:g}-{p.stop_oe:g} Oe at {p.frequency_hz / 1e9:g} GHz"
    if isinstance(p, gp.MapProcedure):
        return f"map: {len(rc.plan.spectra)} spectra"
    if isinstance(p, gp.FieldMapProcedure):
        return f"field map: {len(rc.plan.spectra)} sweeps {p.start_oe:g} to {p.stop_oe:g} Oe"
    if isinstance(p, gp.DvdiCalibrationProcedure):
        return f"dV/dI: {len(rc.plan.iv_sweeps)} sweeps"
    return rc.name



