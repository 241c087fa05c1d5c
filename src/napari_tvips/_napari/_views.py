"""A small clickable Qt trace plot for the "TVIPS scan" and movie widgets.

A plain ``QWidget`` painted with ``QPainter`` (no matplotlib, no vispy, no napari), so it lives
inside the dock widget without clashing with the viewer's axes. It only displays arrays it is
given and reports clicks through a callback in frame numbers; it holds no scan logic and must not
read the recording or touch napari layers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np
from qtpy.QtCore import QPointF, QRectF, QSize, Qt
from qtpy.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen, QPolygonF
from qtpy.QtWidgets import QSizePolicy, QWidget

__all__ = ["TraceView"]

_COLOURS = ("#e0e0e0", "#ffd54f", "#4fc3f7", "#ef5350", "#81c784", "#ba68c8")


class TraceView(QWidget):
    """Per-frame curves, one named row each, over a frame (or time) axis; clicks report a frame.

    Marks are vertical lines at frames (scan start and end); ``current`` is the frame on screen
    (a solid line) and ``selected`` the last clicked frame (a dotted line). With per-frame
    ``times`` (seconds) the x axis is the recorded time, so dropped frames show as jumps; marks,
    curves and clicks still speak in frames.
    """

    _AXIS = 18  # pixels under the rows for the frame axis
    _LEFT = 44  # pixels left of the rows for the curve names

    def __init__(self, on_click: Callable[[int], None] | None = None) -> None:
        super().__init__()
        self.on_click: Callable[[int], None] | None = on_click
        self.traces: dict[str, np.ndarray] = {}
        self.marks: dict[str, int] = {}
        self.current: int | None = None
        self.selected: int | None = None
        self.n_frames: int = 0
        self.frame_time: float | None = None
        self.times: np.ndarray | None = None
        self.setMinimumSize(160, 90)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def sizeHint(self) -> QSize:
        """Room for a few rows of curves."""
        return QSize(240, self._AXIS + 26 * max(len(self.traces), 3))

    def set_traces(
        self,
        traces: Mapping[str, np.ndarray],
        n_frames: int,
        frame_time: float | None = None,
        times: np.ndarray | None = None,
    ) -> None:
        """Curves by name (NaN gaps are skipped) over ``n_frames`` frames of ``frame_time`` s.

        ``times`` (one per frame, seconds) puts the frames at their recorded times instead.
        """
        rows = len(self.traces)
        self.traces = {k: np.asarray(v, dtype=np.float64) for k, v in traces.items()}
        self.n_frames = int(n_frames)
        self.frame_time = frame_time
        t = None if times is None else np.asarray(times, dtype=np.float64)
        usable = t is not None and t.size == self.n_frames and np.ptp(t) > 0
        self.times = t if usable else None
        if len(self.traces) != rows:
            self.updateGeometry()
        self.update()

    def set_marks(self, marks: Mapping[str, int]) -> None:
        """Vertical lines at frames, by name (e.g. scan start and end)."""
        self.marks = dict(marks)
        self.update()

    def set_current(self, frame: int | None) -> None:
        """Mark the frame on screen."""
        if frame != self.current:
            self.current = frame
            self.update()

    def _fraction(self, frame: float) -> float:
        """Where ``frame`` sits along the x axis, from 0 to 1."""
        if self.times is None:
            return frame / max(self.n_frames - 1, 1)
        t = self.times
        i = min(max(round(frame), 0), t.size - 1)
        return float((t[i] - t.min()) / np.ptp(t))

    def _x(self, frame: float) -> float:
        width = max(self.width() - self._LEFT - 4, 1)
        return self._LEFT + self._fraction(frame) * width

    def _curve(self, values: np.ndarray, top: float, height: float) -> QPolygonF | None:
        n = values.size
        if n == 0:
            return None
        idx = np.unique(np.linspace(0, n - 1, min(n, 4 * max(self.width(), 1))).astype(np.int64))
        v = values[idx]
        ok = np.isfinite(v)
        if not ok.any():
            return None
        lo, hi = float(v[ok].min()), float(v[ok].max())
        span = hi - lo if hi > lo else 1.0
        ys = top + height - (v[ok] - lo) / span * height
        xs = [self._x(float(i)) for i in idx[ok]]
        return QPolygonF([QPointF(x, float(y)) for x, y in zip(xs, ys, strict=True)])

    def _ticks(self) -> list[int]:
        n = max(self.n_frames - 1, 1)
        raw = n / 4
        step = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
        for mult in (1, 2, 5, 10):
            if raw <= mult * step:
                step *= mult
                break
        return list(range(0, n + 1, max(int(step), 1)))

    def _axis(self) -> tuple[str, list[tuple[float, str]]]:
        """The x axis's name and its ticks as ``(x, label)``."""
        if self.times is None:
            ticks = self._ticks()
            if self.frame_time is None:
                return "frame", [(self._x(t), f"{t}") for t in ticks]
            return "time", [(self._x(t), f"{t * self.frame_time:.3g} s") for t in ticks]
        lo, span = float(self.times.min()), float(np.ptp(self.times))
        step = 10 ** math.floor(math.log10(span / 4))
        step *= next(m for m in (1, 2, 5, 10) if span / 4 <= m * step)
        width = max(self.width() - self._LEFT - 4, 1)
        values = np.arange(math.ceil(lo / step), math.floor((lo + span) / step) + 1) * step
        return "time", [(self._LEFT + (v - lo) / span * width, f"{v:.3g} s") for v in values]

    def paintEvent(self, event: QPaintEvent) -> None:
        """Draw the rows, the frame axis, the marks and the current frame."""
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#262930"))
        rows = max(len(self.traces), 1)
        height = (self.height() - self._AXIS) / rows
        for i, (name, values) in enumerate(self.traces.items()):
            colour = QColor(_COLOURS[i % len(_COLOURS)])
            top = i * height
            painter.setPen(QPen(QColor("#3b3f48"), 1))
            painter.drawLine(QPointF(self._LEFT, top + height), QPointF(self.width(), top + height))
            curve = self._curve(values, top + 3, max(height - 6, 1))
            painter.setPen(QPen(colour, 1))
            if curve is not None:
                painter.drawPolyline(curve)
            painter.drawText(QRectF(2, top, self._LEFT - 4, height), Qt.AlignmentFlag.AlignVCenter,
                             name)  # fmt: skip
        if not self.traces:
            painter.setPen(QPen(QColor("#a0a0a0"), 1))
            area = QRectF(0, 0, self.width(), self.height() - self._AXIS)
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter, "per-frame values appear here")
        axis_y = self.height() - self._AXIS
        painter.setPen(QPen(QColor("#a0a0a0"), 1))
        painter.drawLine(QPointF(self._LEFT, axis_y), QPointF(self.width(), axis_y))
        if self.n_frames:
            name, ticks = self._axis()
            for x, label in ticks:
                painter.drawLine(QPointF(x, axis_y), QPointF(x, axis_y + 3))
                painter.drawText(QPointF(x + 2, self.height() - 3), label)
            painter.drawText(QPointF(2, self.height() - 3), name)
        painter.setPen(QPen(QColor("#ff4040"), 1, Qt.PenStyle.DashLine))
        for frame in self.marks.values():
            x = self._x(frame)
            painter.drawLine(QPointF(x, 0), QPointF(x, axis_y))
        if self.selected is not None:
            painter.setPen(QPen(QColor("#ffd54f"), 1, Qt.PenStyle.DotLine))
            x = self._x(self.selected)
            painter.drawLine(QPointF(x, 0), QPointF(x, axis_y))
        if self.current is not None:
            painter.setPen(QPen(QColor("#ffffff"), 1.5))
            x = self._x(self.current)
            painter.drawLine(QPointF(x, 0), QPointF(x, axis_y))
        painter.end()

    def frame_at(self, x: float) -> int:
        """Frame under widget x coordinate ``x``."""
        width = max(self.width() - self._LEFT - 4, 1)
        frac = min(max((x - self._LEFT) / width, 0.0), 1.0)
        if self.times is not None:  # the frame recorded nearest to the clicked time
            target = self.times.min() + frac * np.ptp(self.times)
            return int(np.argmin(np.abs(self.times - target)))
        return round(frac * max(self.n_frames - 1, 0))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        """Select the clicked frame and report it."""
        if self.n_frames:
            self.selected = self.frame_at(event.position().x())
            self.update()
            if self.on_click is not None:
                self.on_click(self.selected)
