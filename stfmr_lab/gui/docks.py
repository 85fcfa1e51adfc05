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

from stfmr_lab.errors import ROLE_TITLES
from stfmr_lab.gui.fitting import FitSummary, LinesFit
from stfmr_lab.gui.runmodel import RunModel, bias_text
from stfmr_lab.runner import fmt_duration

SYMBOLS_UP_TO = 400  # draw point symbols for spectra up to this many points
FIT_COLOUR = "#d62728"
DATA_COLOUR = "#1f5fa8"
OTHER_COLOUR = (150, 150, 150, 90)
RF_ON_COLOUR = "#e0610e"  # orange: power on the device (green is kept for "safe")


def fmt_pm(value: float, error: float, scale: float, unit: str) -> str:
    """'8.6058 ± 0.0012 GHz': value and 1-sigma error in ``unit`` (= SI / ``scale``); an error
    far below the unit gets its own SI prefix: '8.605812 GHz ± 5.6 kHz'."""
    if value is None or not math.isfinite(value):
        return "?"
    v = value / scale
    if error is None or not math.isfinite(error) or error <= 0:
        return f"{v:.4g} {unit}"
    e = error / scale
    digits = max(0, min(8, 1 - int(math.floor(math.log10(e)))))
    base = unit[1:] if len(unit) > 1 and unit[0] in "kMGµm\u00b5" else unit
    if digits > 3 and base in ("Hz", "V"):
        return f"{v:.{digits}f} {unit} \u00b1 {pg.siFormat(error, precision=2, suffix=base)}"
    return f"{v:.{digits}f} \u00b1 {e:.{digits}f} {unit}"


LEGEND_SPECTRUM = (
    f"<span style='color:{DATA_COLOUR}'>\u2501\u2501</span> Vmix measured &nbsp; "
    f"<span style='color:{FIT_COLOUR}'>\u2501\u2501</span> S + A fit &nbsp; "
    "<span style='color:#999'>\u2501\u2501</span> other spectra"
)
LEGEND_IV = (
    f"<span style='color:{DATA_COLOUR}'>\u25cf\u2501</span> V measured against I (RF off) &nbsp; "
    "<span style='color:#999'>\u2501\u2501</span> the run's other I-V sweeps"
)


def iv_label(index: int, entry: dict) -> str:
    """'dV/dI sweep #4: hard, 1000 Oe' for an I-V sweep of the model."""
    field = entry.get("field_oe", math.nan)
    where = f", {field:.0f} Oe" if field is not None and math.isfinite(field) else ""
    return f"dV/dI sweep #{index}: {entry.get('label', '?')}{where}"


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
        # the unit in the text (a disabled SI prefix would stay at the one of the former range)
        pi.setLabel("bottom", "Field H (Oe)", units=None, **{"color": "#222", "font-size": "10pt"})
    else:
        pi.setLabel("bottom", "Frequency f", units="Hz", **{"color": "#222", "font-size": "10pt"})


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
        # the legend sits above the plot, never over a resonance
        self.legend = QtWidgets.QLabel(LEGEND_SPECTRUM)
        self.legend.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)
        self.others = pg.PlotDataItem(pen=pg.mkPen(OTHER_COLOUR, width=1), connect="finite")
        # a 1-pixel (cosmetic) pen: Qt's raster engine draws wider lines ~4x slower (100k points)
        self.curve = pg.PlotDataItem(pen=pg.mkPen(DATA_COLOUR, width=1))
        self.fit_curve = pg.PlotDataItem(pen=pg.mkPen(FIT_COLOUR, width=2.5))
        # a bilayer's field sweep: the -H line's fit (the +H line's is ``fit_curve``)
        self.fit_curve_minus = pg.PlotDataItem(pen=pg.mkPen(FIT_COLOUR, width=2.5))
        # the plot's own settings are applied to every curve added: downsample and clip there
        pi.setDownsampling(auto=True, mode="peak")
        pi.setClipToView(True)
        pi.addItem(self.others)
        pi.addItem(self.curve)
        pi.addItem(self.fit_curve)
        pi.addItem(self.fit_curve_minus)
        for item in (self.others, self.curve):
            # one peak-mode bin per pixel (its min and max) draws the same envelope as the
            # default five, with a fifth of the points to draw (no setter in pyqtgraph 0.13)
            item.opts["autoDownsampleFactor"] = 1.0
        self.fit_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(FIT_COLOUR, width=1, style=QtCore.Qt.PenStyle.DashLine))
        self.fit_line.setVisible(False)
        pi.addItem(self.fit_line)

        self.chooser = QtWidgets.QSpinBox()
        self.chooser.setMinimum(0)
        self.chooser.setPrefix("#")
        self.chooser.setToolTip("Spectrum to show (index in the run)")
        self.chooser.valueChanged.connect(self._chosen)
        self.follow = QtWidgets.QCheckBox("Follow live")
        self.follow.setToolTip("Show the spectrum (or I-V sweep) being measured")
        self.follow.setChecked(True)
        self.follow.toggled.connect(lambda on: self.refresh())
        self.show_all = QtWidgets.QCheckBox("Others")
        self.show_all.setToolTip("Draw the run's other spectra (or I-V sweeps) in grey")
        self.show_all.setChecked(True)
        self.show_all.toggled.connect(lambda on: self.refresh())
        # the run's I-V sweeps (dV/dI calibration), live or finished, from a run or a file
        self.iv_chooser = QtWidgets.QComboBox()
        self.iv_chooser.setToolTip("Show an I-V sweep of the dV/dI calibration (RF off)")
        self.iv_chooser.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.iv_chooser.setMaximumWidth(230)
        self.iv_chooser.activated.connect(self._iv_chosen)
        self.iv_chooser.setVisible(False)
        self.iv_shown: int | None = None  # the I-V sweep chosen (not following)
        self._title_text = "Live spectrum"
        self.shown: tuple | None = None  # ("spectrum" | "iv", index) drawn last
        self._iv_key = None
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
        top.addWidget(self.iv_chooser)
        top.addWidget(self.show_all)
        top.addStretch(1)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.what)
        lay.addWidget(self.legend)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.fit_label)
        self._sweep = "frequency"
        self._needs_scale = False
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
        self._iv_key = None
        self.iv_shown = None
        self.follow.blockSignals(True)
        self.follow.setChecked(bool(model is not None and model.live))
        self.follow.blockSignals(False)
        self.refresh()

    def _chosen(self, value: int) -> None:
        if self.model is None:
            return
        live = self.model.current
        self.iv_shown = None
        if self.follow.isChecked() and value != live:
            self.follow.setChecked(False)
        self.refresh()
        self.spectrumChosen.emit(value)

    def show_spectrum(self, index: int) -> None:
        self.iv_shown = None
        self.follow.setChecked(False)
        self.chooser.setValue(index)
        self.refresh()

    def show_iv(self, index: int) -> None:
        """Show I-V sweep ``index`` (stops following the live sweep)."""
        self.iv_shown = index
        self.follow.setChecked(False)
        self.refresh()

    def _iv_chosen(self, row: int) -> None:
        index = self.iv_chooser.itemData(row)
        if index is not None:
            self.show_iv(int(index))

    def _fill_iv_chooser(self) -> None:
        m = self.model
        key = (id(m), tuple(sorted(m.iv)) if m is not None else ())
        if key == self._iv_key:
            return
        self._iv_key = key
        self.iv_chooser.blockSignals(True)
        self.iv_chooser.clear()
        if m is not None and m.iv:
            self.iv_chooser.addItem(f"I-V sweeps ({len(m.iv)})", None)  # shown while a spectrum is
            for k, entry in sorted(m.iv.items()):
                self.iv_chooser.addItem(iv_label(k, entry), k)
        self.iv_chooser.blockSignals(False)
        self.iv_chooser.setVisible(self.iv_chooser.count() > 0)

    def _iv_to_draw(self) -> int | None:
        """The I-V sweep to draw instead of a spectrum, or None."""
        m = self.model
        if m is None or not m.iv:
            return None
        if not self.follow.isChecked():
            return self.iv_shown if self.iv_shown in m.iv else None
        if m.live and m.current is None and m.iv_current in m.iv:
            return m.iv_current  # being measured
        if not any(s.n for s in m.spectra.values()):  # a calibration only (or before the spectra)
            with_data = [k for k, e in m.iv.items() if e["i"]]
            return max(with_data) if with_data else None
        return None

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

    def _draw_iv(self, k: int) -> None:
        """I-V sweep ``k`` (dV/dI calibration, RF off): V in mV against I in µA, the run's
        other I-V sweeps in grey; autoscaled whenever the panel switches to I-V sweeps."""
        m = self.model
        entry = m.iv[k]
        pi = self.plot.getPlotItem()
        if self._sweep != "iv":
            self._sweep = "iv"
            # the unit in the label's text: pyqtgraph's SI prefix would be taken from the range
            # the axis had before (GHz: "GµA"), and frozen there if disabled
            pi.setLabel("bottom", "Bias current I (\u00b5A)", units=None, **{"color": "#222", "font-size": "10pt"})
            pi.setLabel("left", "Bias voltage V (mV)", units=None, **{"color": "#222", "font-size": "10pt"})
            self.legend.setText(LEGEND_IV)
        i, v = np.asarray(entry["i"], dtype=float) * 1e6, np.asarray(entry["v"], dtype=float) * 1e3
        order = np.argsort(i, kind="stable")  # measured from zero outwards, branch by branch
        i, v = i[order], v[order]
        if self.shown != ("iv", k) or not self._in_view(i, v):
            self._autoscale(i, v)
        self.shown = ("iv", k)
        self.curve.setSymbol("o" if len(i) <= SYMBOLS_UP_TO else None)
        self.curve.setSymbolSize(5)
        self.curve.setSymbolBrush(DATA_COLOUR)
        self.curve.setSymbolPen(None)
        self.curve.setData(i, v)
        xs, vs = [], []
        if self.show_all.isChecked():
            for j, other in sorted(m.iv.items()):
                if j != k and other["i"]:
                    xs += [np.asarray(other["i"], dtype=float) * 1e6, [np.nan]]
                    vs += [np.asarray(other["v"], dtype=float) * 1e3, [np.nan]]
        self.others.setData(np.concatenate(xs) if xs else [], np.concatenate(vs) if vs else [], connect="finite")
        self._others_key = None
        self._no_fit_curve()
        self.fit_line.setVisible(False)
        self.placeholder.setVisible(False)
        measuring = m.live and k == m.iv_current
        state = "measuring" if measuring else ("read-only" if not m.live else "complete")
        self._title(f"I-V sweep #{k} (dV/dI calibration, RF off)")
        self.what.setText(f"{iv_label(k, entry)} \u2014 {len(i)} points ({state})")
        self.fit_label.setText("no lineshape fit for I-V sweeps (the analysis differentiates them)")
        row = self.iv_chooser.findData(k)
        if row >= 0 and row != self.iv_chooser.currentIndex():
            self.iv_chooser.blockSignals(True)
            self.iv_chooser.setCurrentIndex(row)
            self.iv_chooser.blockSignals(False)

    def _title(self, text: str) -> None:
        """Set the plot's title when it changes (pyqtgraph re-lays the text out on every set)."""
        if text != self._title_text:
            self._title_text = text
            self.plot.setTitle(text, color="#222", size="11pt")

    def _no_fit_curve(self) -> None:
        for curve in (self.fit_curve, self.fit_curve_minus):
            if curve.xData is not None and len(curve.xData):
                curve.setData([], [])

    def _in_view(self, x, y) -> bool:
        """Whether every finite point (x, y) is inside the plot's view."""
        good = np.isfinite(x) & np.isfinite(y)
        if not good.any():
            return True
        (x0, x1), (y0, y1) = self.plot.getPlotItem().viewRange()
        return bool(x0 <= x[good].min() and x[good].max() <= x1 and y0 <= y[good].min() and y[good].max() <= y1)

    def _autoscale(self, x=None, y=None) -> None:
        """Show the data, then follow it: the view is clipped to itself (``setClipToView``),
        so auto-range alone cannot find data outside the current view (another axis' range)."""
        pi = self.plot.getPlotItem()
        if x is not None and len(x):
            good = np.isfinite(x) & np.isfinite(y)
            if good.any():
                x0, x1, y0, y1 = x[good].min(), x[good].max(), y[good].min(), y[good].max()
                pi.setRange(xRange=(x0, x1 if x1 > x0 else x0 + 1), yRange=(y0, y1 if y1 > y0 else y0 + 1), padding=0.05)
        pi.enableAutoRange()

    def _restore_axes(self, sweep: str) -> None:
        pi = self.plot.getPlotItem()
        pi.setLabel("left", "Vmix", units="V", **{"color": "#222", "font-size": "10pt"})
        _set_x_axis(pi, sweep)
        self.legend.setText(LEGEND_SPECTRUM)
        self._sweep = sweep

    def refresh(self) -> None:
        m = self.model
        self._fill_iv_chooser()
        k = self._iv_to_draw()
        if k is not None:
            self._draw_iv(k)
            return
        idx = self.target()
        self.shown = ("spectrum", idx) if idx is not None else None
        if self.iv_chooser.currentIndex() > 0:
            self.iv_chooser.blockSignals(True)
            self.iv_chooser.setCurrentIndex(0)
            self.iv_chooser.blockSignals(False)
        if m is None or idx is None:
            self._title("Live spectrum" if m is None or m.live else "No spectra")
            self.curve.setData([], [])
            self.others.setData([], [])
            self._no_fit_curve()
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
            self._needs_scale = True  # the empty view's range may be far from the data
        self.chooser.blockSignals(True)
        self.chooser.setMaximum(max(max(m.spectra), 0))
        self.chooser.setValue(idx)
        self.chooser.blockSignals(False)
        info = m.spectra[idx]
        rescale = info.sweep != self._sweep
        if rescale:
            self._restore_axes(info.sweep)
        x, v = m.spectrum_data(idx)
        order = np.argsort(x, kind="stable") if len(x) > 1 and np.any(np.diff(x) < 0) else slice(None)
        x, v = x[order], v[order]
        if rescale:  # from I-V sweeps (or the other sweep kind) back to spectra
            self._needs_scale = True
        if self._needs_scale and len(x):  # once there are points: auto-range alone cannot find them (clipped view)
            self._needs_scale = False
            self._autoscale(x, v)
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
        self._title(title)
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

    def _draw_lines(self, fit: LinesFit, x) -> None:
        """Each polarity's fitted line over its half of the sweep, and both lines' values."""
        texts = []
        for p in (1.0, -1.0):
            line = fit.line(p)
            curve = self.fit_curve if p > 0 else self.fit_curve_minus
            drawn = line is not None and (line.ok or line.structured)
            if not drawn and curve.xData is not None and len(curve.xData):
                curve.setData([], [])
            if line is None:
                continue
            side = x[p * x > 0]
            sign = "+" if p > 0 else "−"
            if not drawn or len(side) < 2:
                why = html_escape(line.message.split(";")[0].strip())
                texts.append(f"<span style='color:#555'>{sign}H line ({line.n_points} points): not converged ({why})</span>")
                continue
            xf = np.linspace(float(side.min()), float(side.max()), 400)
            curve.setData(xf, line.model(xf))
            e = line.errors
            texts.append(
                f"<b>{sign}H line</b> ({line.n_points} points): <b>H<sub>0</sub> = {fmt_pm(line.centre, e.get('centre'), 1.0, 'Oe')}</b>"
                f" &nbsp; <b>ΔH = {fmt_pm(line.width, e.get('width'), 1.0, 'Oe')}</b>"
                f" &nbsp; V<sub>S</sub> = {fmt_pm(line.v_sym, e.get('v_sym'), 1e-6, 'µV')}"
                f" &nbsp; V<sub>A</sub> = {fmt_pm(line.v_asym, e.get('v_asym'), 1e-6, 'µV')}"
                + (" &nbsp; <span style='color:#b60'>(residuals structured)</span>" if line.structured else "")
            )
        self.fit_line.setVisible(False)
        self.fit_label.setText("<br>".join(texts) or "<span style='color:#555'>line fits: none yet</span>")

    def _draw_fit(self, fit: FitSummary | None, x) -> None:
        if isinstance(fit, LinesFit) and len(x) >= 2:
            self._draw_lines(fit, x)
            return
        if fit is None or len(x) < 2 or not (fit.ok or fit.structured):
            # a fit that did not converge is not drawn (early in a sweep the resonance is not in yet)
            self._no_fit_curve()
            self.fit_line.setVisible(False)
            if len(x) < 8:
                text = "S + A fit: waiting for points"
            elif fit is None:
                text = "S + A fit: none yet"
            else:
                why = fit.message.split(";")[0].strip()
                text = f"S + A fit ({fit.n_points}/{len(x)} points): not converged ({html_escape(why)})"
            self.fit_label.setText(f"<span style='color:#555'>{text}</span>")
            return
        lo, hi = float(np.nanmin(x)), float(np.nanmax(x))
        xf = np.linspace(lo, hi, 600)
        self.fit_curve.setData(xf, fit.model(xf))
        if self.fit_curve_minus.xData is not None and len(self.fit_curve_minus.xData):
            self.fit_curve_minus.setData([], [])
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
        of = f"{fit.n_points}" if fit.n_points >= len(x) else f"{fit.n_points}/{len(x)}"
        note = " &nbsp; <span style='color:#b60'>(residuals structured: the model misses something)</span>" if fit.structured else ""
        self.fit_label.setText(f"<b>S + A fit</b> ({of} points): <b>{centre}</b> &nbsp; <b>{width}</b> &nbsp; {vs} &nbsp; {va}{note}")


# ---------------------------------------------------------------------- map
#: the map's row orders: key -> text of the choice
ROW_ORDERS = {"field": "by field, then bias", "bias": "by bias, then field", "index": "in measurement order"}
MAX_ROW_LABELS = 16
ROW_LABEL_PX = 15  # pixels a row label needs
class MapPanel(QtWidgets.QWidget):
    """The run's spectra as an image: one row per spectrum, colour = Vmix."""

    rowChosen = QtCore.Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model: RunModel | None = None
        self.plot = _plot("Vmix map (one row per spectrum)")
        pi = self.plot.getPlotItem()
        pi.setLabel("left", "Field, bias", **{"color": "#222", "font-size": "10pt"})
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
        # the row being measured (dotted) and the row the spectrum panel shows (solid, with a tag)
        self.row_line = pg.InfiniteLine(angle=0, pen=pg.mkPen("#111", width=1, style=QtCore.Qt.PenStyle.DotLine))
        pi.addItem(self.row_line)
        self.row_line.setVisible(False)
        self.shown_line = pg.InfiniteLine(
            angle=0, pen=pg.mkPen("#111", width=2)
        )
        pi.addItem(self.shown_line)
        self.shown_line.setVisible(False)
        self.shown: int | None = None  # spectrum index shown in the spectrum panel
        self.order_box = QtWidgets.QComboBox()
        for key, text in ROW_ORDERS.items():
            self.order_box.addItem(text, key)
        self.order_box.setToolTip("Order of the map's rows")
        # narrows (eliding its text) when the map shares its dock (a bilayer's frequency-vs-field plot)
        full = self.order_box.sizeHint().width()
        self.order_box.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.order_box.setMinimumContentsLength(7)
        self.order_box.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)
        self.order_box.setMaximumWidth(full + 16)  # the elision leaves room for the arrow
        self.order_box.currentIndexChanged.connect(lambda _i: self._reorder())
        self.order: list[int] = []  # spectrum index of each image row, bottom up
        self.note = QtWidgets.QLabel("")
        self.note.setWordWrap(True)
        self.plot.setMinimumWidth(300)
        self.subtract = QtWidgets.QCheckBox("Subtract row medians")
        self.subtract.setToolTip("Subtract each spectrum's median: shows the resonances under the bias background")
        self.subtract.setChecked(True)
        self.subtract.toggled.connect(lambda on: self.refresh())
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.plot, 1)
        opts = QtWidgets.QHBoxLayout()
        opts.addWidget(QtWidgets.QLabel("Rows:"))
        opts.addWidget(self.order_box, 1)
        opts.addWidget(self.subtract)
        lay.addLayout(opts)
        lay.addWidget(self.note)
        self._sweep = "frequency"
        self._shape = None
        self._label = "Vmix"
        self.image.mouseClickEvent = self._click

    def _click(self, ev):
        if self.model is None or self.model.map is None:
            return
        pos = ev.pos()  # the image's pixel coordinates: row r spans [r, r + 1)
        row = int(math.floor(pos.y()))
        if 0 <= row < len(self.order):
            self.rowChosen.emit(self.order[row])
            ev.accept()

    def set_model(self, model: RunModel | None) -> None:
        self.model = model
        self._shape = None
        self.shown = None
        self.refresh()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.model is not None:
            self.refresh()  # as many row labels as fit

    def _reorder(self) -> None:
        self._shape = None
        self.refresh()

    def row_of(self, index: int | None) -> int | None:
        """The image row of spectrum ``index`` (None when it is not in the map)."""
        try:
            return self.order.index(index)
        except ValueError:
            return None

    def mark(self, index: int | None) -> None:
        """Mark the row of the spectrum shown in the spectrum panel."""
        self.shown = index
        row = self.row_of(index)
        self.shown_line.setVisible(row is not None)
        if row is not None:
            self.shown_line.setValue(row)

    def _row_order(self, m: RunModel) -> list[int]:
        sweep = m.map.sweep
        idx = [i for i, s in m.spectra.items() if s.sweep == sweep and i < m.map.n_rows]
        mode = self.order_box.currentData()
        if mode == "index":
            return sorted(idx)

        def where(i):
            s = m.spectra[i]
            return s.field_oe if sweep == "frequency" else s.frequency_hz

        def bias(i):
            b = m.spectra[i].bias_value
            return b if math.isfinite(b) else -math.inf

        if mode == "bias":
            return sorted(idx, key=lambda i: (bias(i), where(i), i))
        return sorted(idx, key=lambda i: (where(i), bias(i), i))

    def _row_label(self, m: RunModel, index: int) -> str:
        s = m.spectra[index]
        where = f"{s.field_oe:.0f} Oe" if s.sweep == "frequency" else f"{s.frequency_hz / 1e9:.3g} GHz"
        bias = bias_text(s.bias_value, s.bias_is_voltage) if math.isfinite(s.bias_value) else "?"
        return f"{where}, {bias}"

    def refresh(self) -> None:
        m = self.model
        grid = m.map if m is not None else None
        if grid is None or grid.image.size == 0:
            self.image.clear()
            self.row_line.setVisible(False)
            self.shown_line.setVisible(False)
            self.order = []
            self.plot.getPlotItem().getAxis("left").setTicks(None)
            self.note.setText("no spectra in this run" if m is not None else "the map builds up here, one row per spectrum")
            self.plot.getPlotItem().setRange(xRange=(7e9, 10e9), yRange=(-0.5, 9.5), padding=0)
            self._shape = None
            return
        if grid.sweep != self._sweep:
            self._sweep = grid.sweep
            _set_x_axis(self.plot.getPlotItem(), grid.sweep)
        self.order = self._row_order(m)
        img = grid.image[self.order] if self.order else grid.image[:0]
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
        shape = (img.shape, grid.x_range, tuple(self.order), int(self.plot.getPlotItem().vb.height()) // ROW_LABEL_PX)
        if shape != self._shape:
            x0, x1 = grid.x_range
            n = img.shape[0]
            self.image.setRect(QtCore.QRectF(x0, -0.5, x1 - x0, float(n)))
            self.plot.getPlotItem().setRange(xRange=(x0, x1), yRange=(-0.5, n - 0.5), padding=0.02)
            # rows labelled by their set points (every k-th when there are more than fit)
            fit = max(2, min(MAX_ROW_LABELS, self.plot.getPlotItem().vb.height() // ROW_LABEL_PX))
            step = max(1, math.ceil(n / fit))
            labels = [(r, self._row_label(m, i)) for r, i in enumerate(self.order) if r % step == 0]
            self.plot.getPlotItem().getAxis("left").setTicks([labels, []])
            self._shape = shape
        live_row = self.row_of(m.current) if m.live else None
        self.row_line.setVisible(live_row is not None)
        if live_row is not None:
            self.row_line.setValue(live_row)
        self.mark(self.shown)
        done = sum(1 for i in self.order if m.spectra[i].n)
        self.note.setText(
            f"{done} of {len(self.order)} spectra; colour scale \u00b1{amp * 1e6:.3g} \u00b5V"
            " \u00b7 click a row to show that spectrum (solid line: shown, dotted: being measured)"
        )


# ---------------------------------------------------------------------- frequency vs field (bilayer)
PLUS_COLOUR = FIT_COLOUR
MINUS_COLOUR = DATA_COLOUR


class KittelPanel(QtWidgets.QWidget):
    """A bilayer's frequency-vs-field map: |H0| of each fitted line (+H filled circles, -H
    open squares) against the sweep's frequency, and the in-plane Kittel curve fitted to them
    (``stfmr_lab.analysis.sot.kittel_in_plane``) once lines at ``MIN_FREQUENCIES`` frequencies are in."""

    MIN_FREQUENCIES = 3

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model: RunModel | None = None
        self.plot = _plot("Frequency vs resonance field")
        pi = self.plot.getPlotItem()
        pi.setLabel("bottom", "Resonance field |H₀| (Oe)", units=None, **{"color": "#222", "font-size": "10pt"})
        pi.setLabel("left", "Frequency f (GHz)", units=None, **{"color": "#222", "font-size": "10pt"})
        self.curve = pg.PlotDataItem(pen=pg.mkPen("#222", width=1.5))
        self.plus = pg.ScatterPlotItem(symbol="o", size=9, brush=pg.mkBrush(PLUS_COLOUR), pen=pg.mkPen("#fff", width=0.5))
        self.minus = pg.ScatterPlotItem(symbol="s", size=11, brush=pg.mkBrush(None), pen=pg.mkPen(MINUS_COLOUR, width=1.8))
        for item in (self.curve, self.minus, self.plus):
            pi.addItem(item)
        self.legend = QtWidgets.QLabel(
            f"<span style='color:{PLUS_COLOUR}'>●</span> +H line &nbsp; "
            f"<span style='color:{MINUS_COLOUR}'>□</span> −H line &nbsp; "
            "<span style='color:#222'>━━</span> Kittel fit"
        )
        self.legend.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)  # the panel shares the map's dock: it must narrow on small screens
        self.note = QtWidgets.QLabel("")
        self.note.setWordWrap(True)
        self.note.setTextFormat(QtCore.Qt.TextFormat.RichText)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.legend)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.note)
        self.plot.setMinimumWidth(120)
        #: the lines drawn: arrays h0_oe (signed), frequency_hz, dc_current_a, spectrum
        self.points: dict[str, np.ndarray] = {}
        self.kittel = None  # the InPlaneKittelFit drawn, or None
        self._key = None
        self.refresh()

    def set_model(self, model: RunModel | None) -> None:
        self.model = model
        self._key = None
        self.refresh()

    def _lines(self, m: RunModel) -> list[tuple]:
        """(spectrum, signed H0, its error, frequency, DC current) of every converged line."""
        out = []
        for idx, info in sorted(m.spectra.items()):
            fit = info.fit
            if not isinstance(fit, LinesFit):
                continue
            for line in fit.lines:
                if line.ok and math.isfinite(line.centre):
                    out.append((idx, line.centre, line.errors.get("centre", math.nan), info.frequency_hz, info.bias_value))
        return out

    def refresh(self) -> None:
        m = self.model
        lines = self._lines(m) if m is not None else []
        key = (id(m), tuple(lines))
        if key == self._key:
            return
        self._key = key
        cols = list(zip(*lines, strict=True)) if lines else [()] * 5
        idx, h0, h0_err, f, i_dc = (np.asarray(c, dtype=float) for c in cols)
        self.points = {"spectrum": idx.astype(int), "h0_oe": h0, "frequency_hz": f, "dc_current_a": i_dc}
        plus, minus = h0 > 0, h0 < 0
        self.plus.setData(np.abs(h0[plus]), f[plus] / 1e9)
        self.minus.setData(np.abs(h0[minus]), f[minus] / 1e9)
        self.kittel = None
        n_freq = int(np.unique(f).size)
        if n_freq >= self.MIN_FREQUENCIES:
            good = np.isfinite(h0_err) & (h0_err > 0)
            try:
                from stfmr_lab.analysis.sot import kittel_in_plane

                self.kittel = kittel_in_plane(f[good], np.abs(h0[good]), h0_err[good])
            except Exception as e:  # too few good lines, or no analysis: no curve
                self.note.setText(f"Kittel fit: none ({html_escape(str(e))})")
        if self.kittel is not None:
            k = self.kittel
            hs = np.linspace(0.0, 1.1 * float(np.abs(h0).max()), 300)
            self.curve.setData(hs, k.gamma_2pi_hz_per_oe * np.sqrt(hs * (hs + k.meff_4pi_oe)) / 1e9)
            g = f"g = {k.g:.4g} ± {k.g_err:.2g}" if k.g_fitted else f"g held at {k.g:g}"
            self.note.setText(
                f"{len(h0)} lines at {n_freq} frequencies; Kittel: <b>4πM<sub>eff</sub> = "
                f"{fmt_pm(k.meff_4pi_oe, k.meff_4pi_err_oe, 1.0, 'Oe')}</b>, {g}"
            )
        else:
            self.curve.setData([], [])
            if n_freq < self.MIN_FREQUENCIES:
                self.note.setText(
                    f"{len(h0)} lines at {n_freq} frequencies; the Kittel curve is fitted once lines at "
                    f"{self.MIN_FREQUENCIES} frequencies are in"
                    if m is not None
                    else "each fitted line's |H₀| against its frequency builds up here"
                )
        pi = self.plot.getPlotItem()
        if len(h0):
            hmax = 1.1 * float(np.abs(h0).max())
            fmax = 1.1 * float(f.max()) / 1e9
            pi.setRange(xRange=(0.0, hmax), yRange=(0.0, fmax), padding=0.02)
        else:
            pi.setRange(xRange=(0.0, 3000.0), yRange=(0.0, 15.0), padding=0)


# ---------------------------------------------------------------------- station
ROLE_NAMES = ROLE_TITLES


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
            address = str(info.get("address", "?"))
            cells = (ROLE_NAMES.get(role, role), str(info.get("model", "?")), address.removesuffix("::INSTR"))
            for c, text in enumerate(cells):
                item = QtWidgets.QTableWidgetItem(text)
                item.setToolTip("\n".join(x for x in (address, str(info.get("identification") or "")) if x))
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
            light = _light(RF_ON_COLOUR) + f" <b style='color:{RF_ON_COLOUR}'>RF ON</b>" if on else _light("#777") + " off"
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
    return _light("#d62728") + f" <span style='color:#d62728'>{unverified_html(ss)}</span>"


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
        # a long file name (one word) must not widen the panel past its dock: it is cut instead
        self.file.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        self.file.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        for w in (self.status, self.bar, self.counts, self.times, self.file):  # the verdict first
            if isinstance(w, QtWidgets.QLabel):
                w.setWordWrap(True)
            lay.addWidget(w)
        lay.addStretch(1)
        # room for every line (two for the times, two for the verdict): the docks do not squeeze it
        self.setMinimumHeight(7 * self.fontMetrics().lineSpacing() + 24)
        self.clock_text = ""

    def refresh(self, model: RunModel | None) -> None:
        if model is None:
            self.bar.setValue(0)
            self.counts.setText("no run yet")
            self.times.setText("")
            self.status.setText("")
            self.file.setText("")
            return
        self.bar.setValue(int(round(1000 * model.fraction)))  # an aborted run's file is not 100 %
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
        clock = f"<br><span style='color:#555'>{self.clock_text}</span>" if self.clock_text and model.live else ""
        if model.live and model.status == "running":
            self.times.setText(f"Bench time <b>{bench}</b> \u00b7 left \u2248 <b>{fmt_duration(model.remaining_s)}</b>{clock}")
        else:
            self.times.setText(f"Bench time {bench}{clock}")
        self.status.setText(status_html(model))
        self.file.setText(f"Run file: {model.path.name}" if model.path else "")
        self.file.setToolTip(str(model.path) if model.path else "")


NOTHING_ON = "nothing was switched on"
STATUS_COLOURS = {"running": "#1f5fa8", "complete": "#1a9e1a", "aborted": "#e8a317", "failed": "#d62728"}


def status_html(model: RunModel) -> str:
    st = model.status or "?"
    colour = "#d62728" if st != "running" and is_unverified(model.safe_state) else STATUS_COLOURS.get(st, "#555")
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
            text += f" \u2014 <span style='color:#d62728'>{unverified_html(model.safe_state)}</span>"
    return text


def is_unverified(safe_state: str) -> bool:
    """A shutdown verdict that says the safe state could not be verified."""
    return bool(safe_state) and safe_state != "verified" and not safe_state.startswith(NOTHING_ON)


UNVERIFIED_CHECK = "check on the bench that the DC bias is 0 and the RF is off"


def unverified_html(safe_state: str) -> str:
    """The red verdict of a run whose safe state could not be verified: what, and what to check."""
    what = safe_state.removeprefix("NOT verified:").strip()
    return f"<b>SAFE STATE NOT VERIFIED</b>: {html_escape(what)} \u2014 <b>{UNVERIFIED_CHECK}</b>"


# ---------------------------------------------------------------------- fits
class FitTable(QtWidgets.QTableWidget):
    """One row per fitted spectrum: set points, the S + A fit's parameters and their 1-sigma
    errors (red: not converged). Follows the spectrum chosen elsewhere (``select_spectrum``)."""

    spectrumChosen = QtCore.Signal(int)
    HEADERS = {
        "frequency": ["#", "H (Oe)", "Bias", "f\u2080 (GHz)", "\u00b1", "HWHM (MHz)", "\u00b1", "V_S (\u00b5V)", "\u00b1",
                      "V_A (\u00b5V)", "\u00b1"],
        "field": ["#", "f (GHz)", "Bias", "H\u2080 (Oe)", "\u00b1", "\u0394H (Oe)", "\u00b1", "V_S (\u00b5V)", "\u00b1",
                  "V_A (\u00b5V)", "\u00b1"],
        # a bilayer's field sweeps: one row per line (the sign of H0 is the polarity), DC current in mA
        "field_lines": ["#", "f (GHz)", "I_dc", "H\u2080 (Oe)", "\u00b1", "\u0394H (Oe)", "\u00b1", "V_S (\u00b5V)", "\u00b1",
                        "V_A (\u00b5V)", "\u00b1"],
    }
    SAMPLES = ("888", "1200", "+0.50 V", "10.0000", "0.0012", "1000.0", "0.12", "-1888", "0.12", "-1888", "0.12")
    #: (FitSummary attribute, its key in ``errors``) of the value columns
    PARAMS = (("centre", "centre"), ("width", "width"), ("v_sym", "v_sym"), ("v_asym", "v_asym"))

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
        self._rows: dict[int, int] = {}  # spectrum -> its (first) row
        self._line_rows: dict[tuple, int] = {}  # (spectrum, polarity) -> row of a bilayer's line
        self._sweep = "frequency"

    def clear_fits(self) -> None:
        self.setRowCount(0)
        self._rows = {}
        self._line_rows = {}

    def select_spectrum(self, index: int) -> None:
        """Select (and scroll to) the row of spectrum ``index``; clear the selection if it has none."""
        row = self._rows.get(index)
        self.blockSignals(True)
        if row is None:
            self.clearSelection()
        else:
            self.selectRow(row)
            self.scrollToItem(self.item(row, 0))
        self.blockSignals(False)

    @staticmethod
    def _pm(value: float, error: float, scale: float, digits: int) -> tuple[str, str]:
        """(value, error) in the column's unit: the value to the error's second significant digit."""
        if value is None or not math.isfinite(value):
            return "?", ""
        v = value / scale
        if error is None or not math.isfinite(error) or error <= 0:
            return f"{v:.{digits}f}", "?"
        e = error / scale
        d = max(0, min(8, 1 - int(math.floor(math.log10(e)))))
        return f"{v:.{d}f}", f"{e:.{d}f}"

    def _put_lines(self, info, index: int, fit: LinesFit) -> None:
        """One row per polarity's line of a bilayer's field sweep."""
        if self._sweep != "field_lines":
            self._sweep = "field_lines"
            self.setHorizontalHeaderLabels(self.HEADERS["field_lines"])
        current = f"{info.bias_value * 1e3:+.3g} mA" if math.isfinite(info.bias_value) else "?"
        for p in (1.0, -1.0):
            line = fit.line(p)
            if line is None:
                continue
            row = self._line_rows.get((index, p))
            if row is None:
                row = self.rowCount()
                self.insertRow(row)
                self._line_rows[(index, p)] = row
                self._rows.setdefault(index, row)
            cells = [str(index), f"{info.frequency_hz / 1e9:.3f}", current]
            for (attr, key), (scale, digits) in zip(self.PARAMS, ((1.0, 1), (1.0, 2), (1e-6, 2), (1e-6, 2)), strict=True):
                cells += self._pm(getattr(line, attr), line.errors.get(key), scale, digits)
            for c, text in enumerate(cells):
                item = QtWidgets.QTableWidgetItem(text)
                if not line.ok:
                    item.setForeground(QtGui.QBrush(QtGui.QColor("#b00")))
                    item.setToolTip(f"fit not converged: {line.message}")
                self.setItem(row, c, item)

    def put(self, model: RunModel, index: int) -> None:
        info = model.spectra.get(index)
        if info is None or info.fit is None:
            return
        fit = info.fit
        if isinstance(fit, LinesFit):
            self._put_lines(info, index, fit)
            return
        row = self._rows.get(index)
        if row is None:
            row = self.rowCount()
            self.insertRow(row)
            self._rows[index] = row
        if fit.sweep != self._sweep:
            self._sweep = fit.sweep
            self.setHorizontalHeaderLabels(self.HEADERS[fit.sweep])
        if fit.sweep == "field":
            scales, where = ((1.0, 1), (1.0, 2), (1e-6, 1), (1e-6, 1)), f"{info.frequency_hz / 1e9:.3f}"
        else:
            scales, where = ((1e9, 4), (1e6, 1), (1e-6, 1), (1e-6, 1)), f"{info.field_oe:.0f}"
        if not math.isfinite(info.bias_value):
            bias = "?"
        elif info.bias_is_voltage:
            bias = f"{info.bias_value:+.2f} V"
        else:
            bias = f"{info.bias_value * 1e6:+.1f} \u00b5A"
        cells = [str(index), where, bias]
        for (attr, key), (scale, digits) in zip(self.PARAMS, scales, strict=True):
            cells += self._pm(getattr(fit, attr), fit.errors.get(key), scale, digits)
        for c, text in enumerate(cells):
            item = QtWidgets.QTableWidgetItem(text)
            if not fit.ok:
                item.setForeground(QtGui.QBrush(QtGui.QColor("#b00")))
                item.setToolTip(f"fit not converged: {fit.message}")
            self.setItem(row, c, item)
