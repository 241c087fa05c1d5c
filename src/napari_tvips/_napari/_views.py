"""Two small clickable Qt views for the "TVIPS scan" widget: a navigator image and a trace plot.

Both are plain ``QWidget`` subclasses painted with ``QPainter`` (no matplotlib, no vispy, no
napari), so they live inside the dock widget without clashing with the viewer's axes. They only
display arrays they are given and report clicks through callbacks in data coordinates; they hold
no scan logic and must not read the recording or touch napari layers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from qtpy.QtCore import QPointF, QRectF, Qt
from qtpy.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QPolygonF
from qtpy.QtWidgets import QSizePolicy, QWidget

__all__ = ["ImageView", "TraceView"]

_COLOURS = ("#e0e0e0", "#ffd54f", "#4fc3f7", "#ef5350", "#81c784", "#ba68c8")


def to_grey8(image: np.ndarray) -> np.ndarray:
    """Scale a float image (NaN = not computed yet, shown black) to uint8 with 1-99% limits."""
    img = np.asarray(image, dtype=np.float64)
    finite = np.isfinite(img)
    out = np.zeros(img.shape, dtype=np.uint8)
    if not finite.any():
        return out
    lo, hi = np.percentile(img[finite], [1, 99])
    if hi <= lo:
        lo, hi = float(img[finite].min()), float(img[finite].max())
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    out[finite] = np.clip((img[finite] - lo) * scale, 0, 255).astype(np.uint8)
    return out


class ImageView(QWidget):
    """A greyscale image scaled to fit, with a cross marker; clicks report ``(row, col)``."""

    def __init__(self, on_click: Callable[[int, int], None] | None = None) -> None:
        super().__init__()
        self.on_click: Callable[[int, int], None] | None = on_click
        self.image: np.ndarray | None = None
        self.marker: tuple[int, int] | None = None
        self._qimage: QImage | None = None
        self._buffer: np.ndarray | None = None
        self.setMinimumSize(160, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_image(self, image: np.ndarray | None) -> None:
        """Show a 2-D float array (``None`` clears the view)."""
        self.image = None if image is None else np.asarray(image)
        if self.image is None or self.image.ndim != 2 or self.image.size == 0:
            self._qimage = self._buffer = None
        else:
            self._buffer = np.ascontiguousarray(to_grey8(self.image))
            h, w = self._buffer.shape
            self._qimage = QImage(self._buffer.data, w, h, w, QImage.Format.Format_Grayscale8)
        self.update()

    def set_marker(self, marker: tuple[int, int] | None) -> None:
        """Mark the scan position ``(row, col)`` (``None`` removes the mark)."""
        self.marker = marker
        self.update()

    def _target(self) -> QRectF | None:
        if self._buffer is None:
            return None
        h, w = self._buffer.shape
        scale = min(self.width() / w, self.height() / h)
        return QRectF(
            (self.width() - w * scale) / 2, (self.height() - h * scale) / 2, w * scale, h * scale
        )

    def paintEvent(self, event: QPaintEvent) -> None:
        """Draw the image and the marker."""
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#262930"))
        target = self._target()
        if target is not None and self._qimage is not None and self._buffer is not None:
            painter.drawImage(target, self._qimage)
            if self.marker is not None:
                h, w = self._buffer.shape
                sy, sx = target.height() / h, target.width() / w
                y = target.top() + (self.marker[0] + 0.5) * sy
                x = target.left() + (self.marker[1] + 0.5) * sx
                painter.setPen(QPen(QColor("#ff4040"), 1.5))
                r = max(4.0, min(sx, sy))
                painter.drawLine(QPointF(x - 2 * r, y), QPointF(x + 2 * r, y))
                painter.drawLine(QPointF(x, y - 2 * r), QPointF(x, y + 2 * r))
        painter.end()

    def position_at(self, x: float, y: float) -> tuple[int, int] | None:
        """Image ``(row, col)`` under widget pixel ``(x, y)``, or ``None`` outside the image."""
        target = self._target()
        if target is None or self._buffer is None or not target.contains(QPointF(x, y)):
            return None
        h, w = self._buffer.shape
        row = int((y - target.top()) / target.height() * h)
        col = int((x - target.left()) / target.width() * w)
        return min(max(row, 0), h - 1), min(max(col, 0), w - 1)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        """Report the clicked image position."""
        pos = event.position()
        hit = self.position_at(pos.x(), pos.y())
        if hit is not None and self.on_click is not None:
            self.on_click(*hit)


class TraceView(QWidget):
    """Per-frame curves (each scaled to the height), with vertical marks; clicks report a frame."""

    def __init__(self, on_click: Callable[[int], None] | None = None) -> None:
        super().__init__()
        self.on_click: Callable[[int], None] | None = on_click
        self.traces: dict[str, np.ndarray] = {}
        self.marks: dict[str, int] = {}
        self.n_frames: int = 0
        self.setMinimumSize(160, 80)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def set_traces(self, traces: Mapping[str, np.ndarray], n_frames: int) -> None:
        """Curves by name (NaN gaps are skipped) over ``n_frames`` frames."""
        self.traces = {k: np.asarray(v, dtype=np.float64) for k, v in traces.items()}
        self.n_frames = int(n_frames)
        self.update()

    def set_marks(self, marks: Mapping[str, int]) -> None:
        """Vertical lines at frames, by name (e.g. scan start and end)."""
        self.marks = dict(marks)
        self.update()

    def _curve(self, values: np.ndarray, width: int) -> QPolygonF | None:
        n = values.size
        if n == 0:
            return None
        idx = np.unique(np.linspace(0, n - 1, min(n, 4 * max(width, 1))).astype(np.int64))
        v = values[idx]
        ok = np.isfinite(v)
        if not ok.any():
            return None
        lo, hi = float(v[ok].min()), float(v[ok].max())
        span = hi - lo if hi > lo else 1.0
        h = self.height() - 4
        xs = idx[ok] / max(self.n_frames - 1, 1) * (self.width() - 1)
        ys = 2 + h - (v[ok] - lo) / span * h
        return QPolygonF([QPointF(float(x), float(y)) for x, y in zip(xs, ys, strict=True)])

    def paintEvent(self, event: QPaintEvent) -> None:
        """Draw the curves, the marks and a legend."""
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#262930"))
        for i, (name, values) in enumerate(self.traces.items()):
            colour = QColor(_COLOURS[i % len(_COLOURS)])
            curve = self._curve(values, self.width())
            painter.setPen(QPen(colour, 1))
            if curve is not None:
                painter.drawPolyline(curve)
            painter.drawText(4 + 60 * i, 12, name)
        painter.setPen(QPen(QColor("#ff4040"), 1, Qt.PenStyle.DashLine))
        for frame in self.marks.values():
            x = frame / max(self.n_frames - 1, 1) * (self.width() - 1)
            painter.drawLine(QPointF(x, 0), QPointF(x, self.height()))
        painter.end()

    def frame_at(self, x: float) -> int:
        """Frame under widget x coordinate ``x``."""
        frac = min(max(x / max(self.width() - 1, 1), 0.0), 1.0)
        return round(frac * max(self.n_frames - 1, 0))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        """Report the clicked frame."""
        if self.on_click is not None and self.n_frames:
            self.on_click(self.frame_at(event.position().x()))
