"""The bench window's panels: live spectrum with fit, map, station, progress, fits.

Each panel draws a ``RunModel`` (stfmr_lab.gui.runmodel) when asked (``refresh``); none
reads files or talks to instruments. Plots are pyqtgraph with downsampling and clipping to
the view, so 100k points on screen stay responsive.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pyqtgraph as pg
from qtpy import QtCore, QtGui, QtWidgets

from stfmr_lab.gui.fitting import FitSummary
from stfmr_lab.gui.runmodel import RunModel
from stfmr_lab.runner import fmt_duration

SYMBOLS_UP_TO = 400  # draw point symbols for spectra up to this many points
FIT_COLOUR = "#d62728"
DATA_COLOUR = "#1f5fa8"
OTHER_COLOUR = (150, 150, 150, 90)


def fmt_pm(value: float, error: float, scale: float, unit: str) -> str:
    """'8.6058 ± 0.0012 GHz': value and 1-sigma error in ``unit`` (= SI / ``scale``)."""
    if value is None or not math.isfinite(value):
        return "?"
    v = value / scale
    if error is None or not math.isfinite(error) or error <= 0:
        return f"{v:.4g} {unit}"
    e = error / scale
    digits = max(0, min(8, 1 - int(math.floor(math.log10(e)))))
    return f"{v:.{digits}f} \u00b1 {e:.{digits}f} {unit}"


def _light(colour: str) -> str:
    return f"<span style='color:{colour}; font-size:15pt;'>\u25cf</span>"


def _plot(title: str) -> pg.PlotWidget:
    w = pg.PlotWidget(background="w")
    w.setTitle(title, color="#222", size="11pt")
    pi = w.getPlotItem()
    pi.showGrid(x=True, y=True, alpha=0.25)
    for name in ("left", "bottom"):
        ax = pi.getAxis(name)
        ax.setPen(pg.mkPen("#444"))
        ax.setTextPen(pg.mkPen("#222"))
        font = QtGui.QFont()
        font.setPointSize(9)
        ax.setStyle(tickFont=font)
    return w


def _set_x_axis(pi: pg.PlotItem, sweep: str) -> None:
    if sweep == "field":
        pi.setLabel("bottom", "Field H", units="Oe", **{"color": "#222", "font-size": "10pt"})
        pi.getAxis("bottom").enableAutoSIPrefix(False)
    else:
        pi.setLabel("bottom", "Frequency f", units="Hz", **{"color": "#222", "font-size": "10pt"})
        pi.getAxis("bottom").enableAutoSIPrefix(True)


# ---------------------------------------------------------------------- spectrum
class SpectrumPanel(QtWidgets.QWidget):
    """Vmix of one spectrum (the live one, or a chosen one) with its S + A fit."""

    spectrumChosen = QtCore.Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model: RunModel | None = None
        self.plot = _plot("Live spectrum")
        pi = self.plot.getPlotItem()
        pi.setLabel("left", "Vmix", units="V", **{"color": "#222", "font-size": "10pt"})
        _set_x_axis(pi, "frequency")
        self.legend = pi.addLegend(offset=(-10, 10), labelTextColor="#222", brush=(255, 255, 255, 200))
        self.others = pg.PlotDataItem(pen=pg.mkPen(OTHER_COLOUR, width=1), connect="finite", name="other spectra")
        self.curve = pg.PlotDataItem(pen=pg.mkPen(DATA_COLOUR, width=1.5), name="Vmix measured")
        self.fit_curve = pg.PlotDataItem(pen=pg.mkPen(FIT_COLOUR, width=2.5), name="S + A fit (+ linear background)")
        # the plot's own settings are applied to every curve added: downsample and clip there
        pi.setDownsampling(auto=True, mode="peak")
        pi.setClipToView(True)
        pi.addItem(self.others)
        pi.addItem(self.curve)
        pi.addItem(self.fit_curve)
        self.legend.removeItem(self.others)
        self.fit_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(FIT_COLOUR, width=1, style=QtCore.Qt.PenStyle.DashLine))
        self.fit_line.setVisible(False)
        pi.addItem(self.fit_line)

        self.chooser = QtWidgets.QSpinBox()
        self.chooser.setMinimum(0)
        self.chooser.setPrefix("#")
        self.chooser.setToolTip("Spectrum to show (index in the run)")
        self.chooser.valueChanged.connect(self._chosen)
        self.follow = QtWidgets.QCheckBox("Follow the live spectrum")
        self.follow.setChecked(True)
        self.follow.toggled.connect(lambda on: self.refresh())
        self.show_all = QtWidgets.QCheckBox("Other spectra in grey")
        self.show_all.setChecked(True)
        self.show_all.toggled.connect(lambda on: self.refresh())
        self.what = QtWidgets.QLabel("no run yet")
        self.what.setStyleSheet("font-weight: bold;")
        self.fit_label = QtWidgets.QLabel("")
        self.fit_label.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.fit_label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fit_label.setWordWrap(True)
        # two lines reserved: the plot does not jump when the fit's text wraps
        self.fit_label.setMinimumHeight(2 * self.fit_label.fontMetrics().lineSpacing() + 6)
        self.fit_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignTop)

        self.what.setWordWrap(True)
        top = QtWidgets.QHBoxLayout()
        top.addWidget(QtWidgets.QLabel("Spectrum"))
        top.addWidget(self.chooser)
        top.addWidget(self.follow)
        top.addWidget(self.show_all)
        top.addStretch(1)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.what)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.fit_label)
        self._sweep = "frequency"
        self._others_key = None
        self.placeholder = pg.TextItem("Queue a run, or open a run file (File \u203a Open run file)", color="#666", anchor=(0.5, 0.5))
        pi.addItem(self.placeholder, ignoreBounds=True)
        self._empty_view()

    def _empty_view(self) -> None:
        """Nominal ranges (so the axes show their units) and the placeholder text."""
        pi = self.plot.getPlotItem()
        pi.setRange(xRange=(7e9, 10e9), yRange=(-1e-3, 1e-3), padding=0)
        self.placeholder.setPos(8.5e9, 0.0)
        self.placeholder.setVisible(True)

    def set_model(self, model: RunModel | None) -> None:
        self.model = model
        self._others_key = None
        self.follow.setChecked(bool(model is not None and model.live))
        self.refresh()

    def _chosen(self, value: int) -> None:
        if self.model is None:
            return
        live = self.model.current
        if self.follow.isChecked() and live is not None and value != live:
            self.follow.setChecked(False)
        self.refresh()
        self.spectrumChosen.emit(value)

    def show_spectrum(self, index: int) -> None:
        self.follow.setChecked(False)
        self.chooser.setValue(index)
        self.refresh()

    def target(self) -> int | None:
        """The spectrum to draw: the live one when following, else the chosen one."""
        m = self.model
        if m is None or not m.spectra:
            return None
        if self.follow.isChecked():
            if m.current is not None:
                return m.current
            with_data = [i for i, s in m.spectra.items() if s.n]
            return max(with_data) if with_data else min(m.spectra)
        return self.chooser.value() if self.chooser.value() in m.spectra else min(m.spectra)

    def _draw_iv(self) -> None:
        """The I-V sweep being measured (dV/dI calibration, RF off): V against I."""
        m = self.model
        entry = m.iv[m.iv_current]
        if self._sweep != "iv":
            self._sweep = "iv"
            pi = self.plot.getPlotItem()
            pi.setLabel("bottom", "Bias current I", units="A", **{"color": "#222", "font-size": "10pt"})
            pi.getAxis("bottom").enableAutoSIPrefix(True)
            pi.setLabel("left", "Bias voltage V", units="V", **{"color": "#222", "font-size": "10pt"})
        i, v = np.asarray(entry["i"]), np.asarray(entry["v"])
        order = np.argsort(i, kind="stable")  # measured from zero outwards, branch by branch
        i, v = i[order], v[order]
        self.legend.setVisible(False)
        self.curve.setSymbol("o" if len(i) <= SYMBOLS_UP_TO else None)
        self.curve.setData(i, v)
        self.others.setData([], [])
        self.fit_curve.setData([], [])
        self.fit_line.setVisible(False)
        if self.placeholder.isVisible():
            self.placeholder.setVisible(False)
            self.plot.getPlotItem().enableAutoRange()
        self.plot.setTitle(f"I-V sweep #{m.iv_current} (dV/dI calibration, RF off)", color="#222", size="11pt")
        self.what.setText(f"dV/dI sweep #{m.iv_current}: {entry.get('label', '?')}, {entry.get('field_oe', math.nan):.0f} Oe — {len(i)} points")
        self.fit_label.setText("no lineshape fit for I-V sweeps (the analysis differentiates them)")

    def _restore_axes(self, sweep: str) -> None:
        pi = self.plot.getPlotItem()
        pi.setLabel("left", "Vmix", units="V", **{"color": "#222", "font-size": "10pt"})
        _set_x_axis(pi, sweep)
        self.legend.setVisible(True)
        self._sweep = sweep

    def refresh(self) -> None:
        m = self.model
        if m is not None and m.live and self.follow.isChecked() and m.current is None and m.iv_current in m.iv:
            self._draw_iv()
            return
        idx = self.target()
        if m is None or idx is None:
            self.curve.setData([], [])
            self.others.setData([], [])
            self.fit_curve.setData([], [])
            self.fit_line.setVisible(False)
            self.what.setText("no spectra" if m is not None else "no run yet")
            self.fit_label.setText("")
            if self._sweep != "frequency":
                self._restore_axes("frequency")
            self._empty_view()
            return
        if self.placeholder.isVisible():
            self.placeholder.setVisible(False)
            self.plot.getPlotItem().enableAutoRange()
        self.chooser.blockSignals(True)
        self.chooser.setMaximum(max(max(m.spectra), 0))
        self.chooser.setValue(idx)
        self.chooser.blockSignals(False)
        info = m.spectra[idx]
        if info.sweep != self._sweep:
            self._restore_axes(info.sweep)
        x, v = m.spectrum_data(idx)
        order = np.argsort(x, kind="stable") if len(x) > 1 and np.any(np.diff(x) < 0) else slice(None)
        x, v = x[order], v[order]
        if len(x) <= SYMBOLS_UP_TO:
            self.curve.setSymbol("o")
            self.curve.setSymbolSize(5)
            self.curve.setSymbolBrush(DATA_COLOUR)
            self.curve.setSymbolPen(None)
        else:
            self.curve.setSymbol(None)
        self.curve.setData(x, v)
        self._draw_others(idx, info.sweep)
        state = "measuring" if (m.live and idx == m.current) else ("complete" if info.done else "partial")
        if info.adaptive:
            budget = f", at most {info.planned_points}" if info.planned_points and not info.done else ""
            self.what.setText(f"{info.label} \u2014 {info.n} points, adaptive{budget} ({state})")
        else:
            self.what.setText(f"{info.label} \u2014 {info.n}/{info.planned_points or info.n} points ({state})")
        title = "Live spectrum" if (m.live and idx == m.current) else f"Spectrum #{idx}" + ("" if m.live else " (read-only)")
        self.plot.setTitle(title, color="#222", size="11pt")
        self._draw_fit(info.fit, x)

    def _draw_others(self, idx: int, sweep: str) -> None:
        m = self.model
        if not self.show_all.isChecked():
            self.others.setData([], [])
            self._others_key = None
            return
        key = (id(m), idx, m.n - m.spectra[idx].n)  # the rows outside the shown spectrum
        if key == self._others_key:
            return
        self._others_key = key
        xs, vs = [], []
        for j, s in sorted(m.spectra.items()):
            if j == idx or not s.n or s.sweep != sweep:
                continue
            x, v = m.spectrum_data(j)
            xs += [x, [np.nan]]
            vs += [v, [np.nan]]
        if xs:
            self.others.setData(np.concatenate(xs), np.concatenate(vs), connect="finite")
        else:
            self.others.setData([], [])

    def _draw_fit(self, fit: FitSummary | None, x) -> None:
        if fit is None or len(x) < 2 or not (fit.ok or fit.structured):
            # a fit that did not converge is not drawn (early in a sweep the resonance is not in yet)
            self.fit_curve.setData([], [])
            self.fit_line.setVisible(False)
            if len(x) < 8:
                text = "S + A fit: waiting for points"
            elif fit is None:
                text = "S + A fit: none yet"
            else:
                why = fit.message.split(";")[0].strip()
                text = f"S + A fit of {fit.n_points} of {len(x)} points: not converged ({html_escape(why)})"
            self.fit_label.setText(f"<span style='color:#555'>{text}</span>")
            return
        lo, hi = float(np.nanmin(x)), float(np.nanmax(x))
        xf = np.linspace(lo, hi, 600)
        self.fit_curve.setData(xf, fit.model(xf))
        self.fit_line.setValue(fit.centre)
        self.fit_line.setVisible(lo <= fit.centre <= hi)
        e = fit.errors
        if fit.sweep == "field":
            centre = "H<sub>0</sub> = " + fmt_pm(fit.centre, e.get("centre"), 1.0, "Oe")
            width = "\u0394H = " + fmt_pm(fit.width, e.get("width"), 1.0, "Oe")
        else:
            centre = "f<sub>0</sub> = " + fmt_pm(fit.centre, e.get("centre"), 1e9, "GHz")
            width = "HWHM = " + fmt_pm(fit.width, e.get("width"), 1e6, "MHz")
        vs = "V<sub>S</sub> = " + fmt_pm(fit.v_sym, e.get("v_sym"), 1e-6, "\u00b5V")
        va = "V<sub>A</sub> = " + fmt_pm(fit.v_asym, e.get("v_asym"), 1e-6, "\u00b5V")
        of = f"{fit.n_points}" if fit.n_points >= len(x) else f"{fit.n_points} of {len(x)}"
        note = " &nbsp; <span style='color:#b60'>(residuals structured: the model misses something)</span>" if fit.structured else ""
        self.fit_label.setText(f"<b>S + A fit</b> of {of} points: <b>{centre}</b> &nbsp; <b>{width}</b> &nbsp; {vs} &nbsp; {va}{note}")


# ---------------------------------------------------------------------- map
class MapPanel(QtWidgets.QWidget):
    """The run's spectra as an image: one row per spectrum, colour = Vmix."""

    rowChosen = QtCore.Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model: RunModel | None = None
        self.plot = _plot("Vmix map (one row per spectrum, in measurement order)")
        pi = self.plot.getPlotItem()
        pi.setLabel("left", "Spectrum index", **{"color": "#222", "font-size": "10pt"})
        pi.getAxis("left").enableAutoSIPrefix(False)
        _set_x_axis(pi, "frequency")
        self.image = pg.ImageItem(axisOrder="row-major")
        pi.addItem(self.image)
        self.cmap = pg.colormap.get("CET-D1A")
        self.image.setColorMap(self.cmap)
        self.bar = pg.ColorBarItem(values=(-1e-6, 1e-6), colorMap=self.cmap, interactive=False, pen="#444")
        self.bar.setImageItem(self.image, insert_in=pi)
        self.bar.getAxis("right").setTextPen(pg.mkPen("#222"))
        self.bar.getAxis("right").setLabel("Vmix", units="V", **{"color": "#222", "font-size": "10pt"})
        self.bar.getAxis("right").setWidth(64)
        font = QtGui.QFont()
        font.setPointSize(9)
        self.bar.getAxis("right").setStyle(tickFont=font)
        self.row_line = pg.InfiniteLine(angle=0, pen=pg.mkPen("#111", width=1, style=QtCore.Qt.PenStyle.DotLine))
        pi.addItem(self.row_line)
        self.row_line.setVisible(False)
        self.note = QtWidgets.QLabel("")
        self.note.setWordWrap(True)
        self.plot.setMinimumWidth(300)
        self.subtract = QtWidgets.QCheckBox("Subtract each spectrum's median (shows the resonances under the bias background)")
        self.subtract.setChecked(True)
        self.subtract.toggled.connect(lambda on: self.refresh())
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.subtract)
        lay.addWidget(self.note)
        self._sweep = "frequency"
        self._shape = None
        self._label = "Vmix"
        self.image.mouseClickEvent = self._click

    def _click(self, ev):
        if self.model is None or self.model.map is None:
            return
        pos = ev.pos()  # image coordinates: row-major, y = row
        row = int(math.floor(pos.y() + 0.5))
        if 0 <= row < self.model.map.n_rows and row in self.model.spectra:
            self.rowChosen.emit(row)
            ev.accept()

    def set_model(self, model: RunModel | None) -> None:
        self.model = model
        self._shape = None
        self.refresh()

    def refresh(self) -> None:
        m = self.model
        grid = m.map if m is not None else None
        if grid is None or grid.image.size == 0:
            self.image.clear()
            self.row_line.setVisible(False)
            self.note.setText("no spectra in this run" if m is not None else "the map builds up here, one row per spectrum")
            self.plot.getPlotItem().setRange(xRange=(7e9, 10e9), yRange=(-0.5, 9.5), padding=0)
            self._shape = None
            return
        if grid.sweep != self._sweep:
            self._sweep = grid.sweep
            _set_x_axis(self.plot.getPlotItem(), grid.sweep)
        img = grid.image
        if self.subtract.isChecked():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # rows not measured yet are all NaN
                img = img - np.nanmedian(img, axis=1, keepdims=True)
        label = "Vmix − median" if self.subtract.isChecked() else "Vmix"
        if label != self._label:
            self._label = label
            self.bar.getAxis("right").setLabel(label, units="V", **{"color": "#222", "font-size": "10pt"})
        finite = img[np.isfinite(img)]
        amp = float(np.percentile(np.abs(finite), 99.5)) if finite.size else 1e-6
        amp = amp if amp > 0 else 1e-6
        self.image.setImage(img, autoLevels=False, levels=(-amp, amp))
        self.bar.setLevels((-amp, amp))
        shape = (img.shape, grid.x_range)
        if shape != self._shape:
            x0, x1 = grid.x_range
            n = img.shape[0]
            self.image.setRect(QtCore.QRectF(x0, -0.5, x1 - x0, float(n)))
            self.plot.getPlotItem().setRange(xRange=(x0, x1), yRange=(-0.5, n - 0.5), padding=0.02)
            left = self.plot.getPlotItem().getAxis("left")
            if n <= 12:  # whole spectra only
                left.setTicks([[(k, str(k)) for k in range(n)]])
            else:
                left.setTicks(None)
            self._shape = shape
        if m.live and m.current is not None:
            self.row_line.setValue(m.current)
            self.row_line.setVisible(True)
        else:
            self.row_line.setVisible(False)
        done = sum(1 for s in m.spectra.values() if s.n)
        self.note.setText(
            f"{done} of {max(grid.n_rows, len(m.spectra))} spectra; colour scale \u00b1{amp * 1e6:.3g} \u00b5V"
            " \u00b7 click a row to show that spectrum"
        )


# ---------------------------------------------------------------------- station
ROLE_NAMES = {
    "source": "Microwave source",
    "dc": "DC source-meter",
    "lockin": "Lock-in",
    "magnet_supply": "Magnet supply",
    "gaussmeter": "Gaussmeter",
}


class StationPanel(QtWidgets.QWidget):
    """Each role's model and address, and the bench state as the stream last reported it."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.header = QtWidgets.QLabel("Station")
        self.header.setStyleSheet("font-weight: bold;")
        self.header.setWordWrap(True)
        self.table = QtWidgets.QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Role", "Model", "Address"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.NoSelection)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setSizeAdjustPolicy(QtWidgets.QAbstractScrollArea.SizeAdjustPolicy.AdjustToContents)
        self.table.setVerticalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.verticalHeader().setMinimumSectionSize(18)
        self.values: dict[str, QtWidgets.QLabel] = {}
        form = QtWidgets.QFormLayout()
        form.setLabelAlignment(QtCore.Qt.AlignmentFlag.AlignRight)
        for key, text in (
            ("field", "Field"),
            ("bias", "Bias"),
            ("rf", "RF"),
            ("lockin", "Lock-in"),
            ("activity", "Now"),
            ("safe", "Safe state"),
        ):
            lab = QtWidgets.QLabel("-")
            lab.setTextFormat(QtCore.Qt.TextFormat.RichText)
            lab.setWordWrap(True)
            self.values[key] = lab
            form.addRow(f"<b>{text}</b>", lab)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.header)
        lay.addWidget(self.table)
        lay.addLayout(form)
        lay.addStretch(1)
        self._roles_key = None

    def set_station(self, name: str, roles: dict, simulated: bool) -> None:
        where = " · simulated (pyvisa-sim twins)" if simulated else ""
        self.header.setText(f"Station {name}{where}")
        self._fill_roles(roles)

    def _fill_roles(self, roles: dict) -> None:
        key = tuple(sorted((r, v.get("model"), v.get("address")) for r, v in roles.items()))
        if key == self._roles_key:
            return
        self._roles_key = key
        order = [r for r in ROLE_NAMES if r in roles] + [r for r in roles if r not in ROLE_NAMES]
        self.table.setRowCount(len(order))
        for k, role in enumerate(order):
            info = roles[role]
            cells = (ROLE_NAMES.get(role, role), str(info.get("model", "?")), str(info.get("address", "?")))
            for c, text in enumerate(cells):
                item = QtWidgets.QTableWidgetItem(text)
                if info.get("identification"):
                    item.setToolTip(str(info["identification"]))
                self.table.setItem(k, c, item)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        # rows are not sized before the table is first shown: use the default row height
        rows = self.table.verticalHeader().defaultSectionSize() * len(order)
        h = self.table.horizontalHeader().sizeHint().height() + rows + 2 * self.table.frameWidth() + 2
        self.table.setFixedHeight(h)

    def refresh(self, model: RunModel | None) -> None:
        if model is None:
            for lab in self.values.values():
                lab.setText("-")
            return
        if model.roles:
            self._fill_roles(model.roles)
        s = model.state
        f = s["field_oe"]
        self.values["field"].setText(f"{f:.1f} Oe" if math.isfinite(f) else "-")
        i, v = s["bias_current_a"], s["bias_voltage_v"]
        if math.isfinite(i) or math.isfinite(v):
            it = f"{i * 1e6:+.3f} \u00b5A" if math.isfinite(i) else "? \u00b5A"
            vt = f"{v * 1e3:+.2f} mV" if math.isfinite(v) else "? mV"
            self.values["bias"].setText(f"{it} &nbsp;·&nbsp; {vt} measured")
        else:
            self.values["bias"].setText("-")
        p, fr, on = s["rf_power_dbm"], s["frequency_hz"], s["rf_on"]
        if on is None:
            light = _light("#999") + " unknown"
        else:
            light = _light("#1a9e1a") + " <b>ON</b>" if on else _light("#777") + " off"
        parts = [light]
        if math.isfinite(p):
            parts.append(f"{p:.1f} dBm")
        if math.isfinite(fr) and on:
            parts.append(f"at {fr / 1e9:.4f} GHz")
        self.values["rf"].setText(" &nbsp;".join(parts))
        sens = s["sensitivity_v"]
        sens_t = f"{_si(sens, 'V')} full scale" if math.isfinite(sens) else "sensitivity -"
        if s["last_overload"]:
            over = _light("#d62728") + " <b>OVERLOAD</b>"
        elif s["overloads"]:
            over = _light("#e8a317") + f" {s['overloads']} overload(s) re-ranged"
        else:
            over = _light("#1a9e1a") + " no overload"
        self.values["lockin"].setText(f"{sens_t} &nbsp;{over}")
        self.values["activity"].setText(s.get("activity") or ("-" if model.live else "read-only file"))
        self.values["safe"].setText(safe_state_html(model))


def _si(value: float, unit: str) -> str:
    for scale, prefix in ((1, ""), (1e-3, "m"), (1e-6, "\u00b5"), (1e-9, "n")):
        if abs(value) >= scale * 0.999:
            return f"{value / scale:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def safe_state_html(model: RunModel) -> str:
    """The shutdown's verdict for people: 'bias 0 / RF off' when verified."""
    if model.status == "running":
        return "run in progress"
    ss = model.safe_state
    if not ss:
        return "-"
    if ss == "verified":
        return _light("#1a9e1a") + " <b>bias 0 / RF off</b> (verified by read-back)"
    if ss.startswith(NOTHING_ON):
        return _light("#999") + f" {html_escape(ss)}"
    return _light("#d62728") + f" <b>{html_escape(ss)}</b>"


def html_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ---------------------------------------------------------------------- progress
class ProgressPanel(QtWidgets.QWidget):
    """Points and spectra done, bench time and bench time left, the run's outcome."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.bar = QtWidgets.QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setFormat("%p%")
        self.counts = QtWidgets.QLabel("no run yet")
        self.times = QtWidgets.QLabel("")
        self.times.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.status = QtWidgets.QLabel("")
        self.status.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.status.setWordWrap(True)
        self.file = QtWidgets.QLabel("")
        self.file.setWordWrap(True)
        self.file.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        for w in (self.bar, self.counts, self.times, self.status, self.file):
            if isinstance(w, QtWidgets.QLabel):
                w.setWordWrap(True)
            lay.addWidget(w)
        lay.addStretch(1)
        self.clock_text = ""

    def refresh(self, model: RunModel | None) -> None:
        if model is None:
            self.bar.setValue(0)
            self.counts.setText("no run yet")
            self.times.setText("")
            self.status.setText("")
            self.file.setText("")
            return
        self.bar.setValue(int(round(1000 * (model.fraction if model.live else 1.0))))
        spectra_done = sum(1 for s in model.spectra.values() if s.done)
        adaptive = any(s.adaptive for s in model.spectra.values())
        if not adaptive:
            points = f"{model.points_done} / {model.planned_points} points"
        elif model.live and model.status == "running":
            points = f"{model.points_done} of at most {model.planned_points} points"
        else:
            points = f"{model.points_done} points (adaptive)"
        self.counts.setText(f"{points} \u00b7 {spectra_done} / {model.planned_spectra} spectra")
        self.counts.setToolTip(f"{model.sweeps_done} of {model.sweeps_total or model.sweeps_done} sweeps (I-V included)")
        bench = fmt_duration(model.time_s)
        clock = f" <span style='color:#555'>\u00b7 {self.clock_text}</span>" if self.clock_text and model.live else ""
        if model.live and model.status == "running":
            self.times.setText(f"Bench time <b>{bench}</b>, left \u2248 <b>{fmt_duration(model.remaining_s)}</b>{clock}")
        else:
            self.times.setText(f"Bench time {bench}{clock}")
        self.status.setText(status_html(model))
        self.file.setText(f"Run file: {model.path.name}" if model.path else "")
        self.file.setToolTip(str(model.path) if model.path else "")


NOTHING_ON = "nothing was switched on"
STATUS_COLOURS = {"running": "#1f5fa8", "complete": "#1a9e1a", "aborted": "#e8a317", "failed": "#d62728"}


def status_html(model: RunModel) -> str:
    st = model.status or "?"
    colour = STATUS_COLOURS.get(st, "#555")
    text = f"<b style='color:{colour}'>{st.upper()}</b>"
    if not model.live:
        text += " (read-only file)"
    if model.error:
        text += f": {html_escape(model.error)}"
    if st != "running" and model.safe_state:
        if model.safe_state == "verified":
            what = "ramped down safely" if st in ("aborted", "failed") else "shut down safely"
            text += f" \u2014 {what}: <b>bias 0 / RF off</b> (verified)"
        elif model.safe_state.startswith(NOTHING_ON):
            text += f" \u2014 {html_escape(model.safe_state)}"
        else:
            text += f" \u2014 safe state: <b style='color:#d62728'>{html_escape(model.safe_state)}</b>"
    return text


# ---------------------------------------------------------------------- fits
class FitTable(QtWidgets.QTableWidget):
    """One row per fitted spectrum: set points and the S + A fit's parameters (red: not converged)."""

    spectrumChosen = QtCore.Signal(int)
    HEADERS = {
        "frequency": ["#", "H (Oe)", "Bias", "f\u2080 (GHz)", "HWHM (MHz)", "V_S (\u00b5V)", "V_A (\u00b5V)"],
        "field": ["#", "f (GHz)", "Bias", "H\u2080 (Oe)", "\u0394H (Oe)", "V_S (\u00b5V)", "V_A (\u00b5V)"],
    }
    SAMPLES = ("888", "1200", "+0.50 V", "10.0000", "1000.0", "-1888", "-1888")

    def __init__(self, parent=None):
        super().__init__(0, len(self.HEADERS["frequency"]), parent)
        self.setHorizontalHeaderLabels(self.HEADERS["frequency"])
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(22)
        self.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.horizontalHeader().setStretchLastSection(True)
        self.horizontalHeader().setMinimumSectionSize(20)
        font = self.font()
        font.setPointSizeF(max(7.0, font.pointSizeF() - 1.5))  # a dense table: every column in view
        self.setFont(font)
        self.horizontalHeader().setFont(font)
        fm = QtGui.QFontMetrics(font)
        for c, (head, sample) in enumerate(zip(self.HEADERS["frequency"], self.SAMPLES, strict=True)):
            self.setColumnWidth(c, max(fm.horizontalAdvance(head), fm.horizontalAdvance(sample)) + 10)
        self.cellClicked.connect(lambda r, c: self.spectrumChosen.emit(int(self.item(r, 0).text())))
        self._rows: dict[int, int] = {}
        self._sweep = "frequency"

    def clear_fits(self) -> None:
        self.setRowCount(0)
        self._rows = {}

    def put(self, model: RunModel, index: int) -> None:
        info = model.spectra.get(index)
        if info is None or info.fit is None:
            return
        fit = info.fit
        row = self._rows.get(index)
        if row is None:
            row = self.rowCount()
            self.insertRow(row)
            self._rows[index] = row
        if fit.sweep != self._sweep:
            self._sweep = fit.sweep
            self.setHorizontalHeaderLabels(self.HEADERS[fit.sweep])
        if fit.sweep == "field":
            centre, width, where = f"{fit.centre:.1f}", f"{fit.width:.2f}", f"{info.frequency_hz / 1e9:.3f}"
        else:
            centre, width, where = f"{fit.centre / 1e9:.4f}", f"{fit.width / 1e6:.1f}", f"{info.field_oe:.0f}"
        if not math.isfinite(info.bias_value):
            bias = "?"
        elif info.bias_is_voltage:
            bias = f"{info.bias_value:+.2f} V"
        else:
            bias = f"{info.bias_value * 1e6:+.1f} \u00b5A"
        cells = [str(index), where, bias, centre, width, f"{fit.v_sym * 1e6:.4g}", f"{fit.v_asym * 1e6:.4g}"]
        for c, text in enumerate(cells):
            item = QtWidgets.QTableWidgetItem(text)
            if not fit.ok:
                item.setForeground(QtGui.QBrush(QtGui.QColor("#b00")))
                item.setToolTip(f"fit not converged: {fit.message}")
            self.setItem(row, c, item)
