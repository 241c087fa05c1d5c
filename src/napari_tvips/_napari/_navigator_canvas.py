"""The navigator as a napari canvas: a second viewer inside the dock widget.

napari has one set of dims per viewer, so the scan's virtual image cannot live in the main
viewer beside the 4-D data; napari's answer (``examples/multiple_viewer_widget.py``) is a second
``ViewerModel`` drawn by its own ``QtViewer``. :class:`NavigatorCanvas` holds one with three
layers: the virtual image (``"virtual image"``, scan step and unit as scale), the scan position
(``"scan position"``, a cross), and ``"region"`` (rectangles drawn with napari's shape tools;
their scan positions give a mean pattern). Zoom, contrast, colormaps and scale bar are
napari's. Pressing or dragging on the image moves the scan position, and so do the arrow keys;
the widget is told through ``on_move(row, col)`` and moves the main viewer.

It only displays what it is given and reports positions and regions; no scan logic.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import numpy as np
from napari.components import ViewerModel
from napari.qt import QtViewer
from qtpy.QtCore import QEvent, QSize, QTimer
from qtpy.QtWidgets import QSizePolicy, QVBoxLayout, QWidget

__all__ = ["NavigatorCanvas"]


class _QtNavigator(QtViewer):
    """A QtViewer whose drag-and-drop opens files in the main viewer."""

    def __init__(self, main_viewer: Any, model: ViewerModel) -> None:
        super().__init__(model)
        self.main_viewer = main_viewer

    def _qt_open(self, filenames: list, stack: bool, *args: Any, **kwargs: Any) -> None:
        window = getattr(self.main_viewer, "window", None)
        if window is not None:
            window._qt_viewer._qt_open(filenames, stack, *args, **kwargs)


class NavigatorCanvas(QWidget):
    """Virtual image, scan position marker and region layers in a second napari viewer.

    Parameters
    ----------
    main_viewer : napari.components.ViewerModel
        The main viewer (drag-and-drop goes there).
    on_move : callable
        Called with ``(row, col)`` when the position is clicked, dragged or moved by keys.
    on_region : callable
        Called with a boolean mask of the scan (or ``None``) when the region changes.
    """

    def __init__(
        self,
        main_viewer: Any,
        on_move: Callable[[int, int], None],
        on_region: Callable[[np.ndarray | None], None],
    ) -> None:
        super().__init__()
        self.on_move: Callable[[int, int], None] = on_move
        self.on_region: Callable[[np.ndarray | None], None] = on_region
        self.viewer: ViewerModel = ViewerModel(title="TVIPS navigator")
        self.main_viewer: Any = main_viewer
        # the QtViewer (vispy canvas) exists while the canvas is on screen: created when first
        # shown, closed with the main window (napari counts live QtViewers as leaks)
        self.qt_viewer: QtViewer | None = None
        self._window: QWidget | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.setMinimumHeight(260)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.position: tuple[int, int] | None = None
        self.image = self.viewer.add_image(
            np.zeros((1, 1)), name="virtual image", colormap="gray", visible=False
        )
        self.marker = self.viewer.add_points(
            np.zeros((0, 2)), name="scan position", symbol="cross", size=2.5,
            face_color="#ef5350", border_width=0,
        )  # fmt: skip
        self.region = self.viewer.add_shapes(
            name="region", edge_color="#ffd54f", face_color="transparent", edge_width=0.3
        )
        self.region.events.data.connect(self._on_region)
        self.image.mouse_drag_callbacks.append(self._drag)
        self.viewer.layers.selection.active = self.image
        self.image.mouse_pan = False  # a drag moves the position; the wheel still zooms
        for key, step in (("Up", (-1, 0)), ("Down", (1, 0)), ("Left", (0, -1)),
                          ("Right", (0, 1))):  # fmt: skip
            self.viewer.bind_key(key, self._stepper(step), overwrite=True)
        # fit the image whenever the drawing surface changes size (dock resized or undocked)
        canvas = getattr(self.viewer, "canvas", None)
        if canvas is not None and hasattr(canvas, "events"):
            canvas.events.size.connect(self._fit)
        overlays = getattr(canvas, "overlays", None)
        self._scale_bar = overlays.scale_bar if overlays is not None else self.viewer.scale_bar
        self._scale_bar.visible = False  # shown with the image (an empty canvas has no scale)

    def sizeHint(self) -> QSize:
        """A square that fits a dock (a QtViewer alone asks for a window's size)."""
        return QSize(300, 300)

    def showEvent(self, event: Any) -> None:
        """Create the napari canvas when first shown."""
        super().showEvent(event)
        if self.qt_viewer is None:
            self.qt_viewer = _QtNavigator(self.main_viewer, self.viewer)
            self.qt_viewer.setMinimumSize(120, 120)
            self.qt_viewer.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
            self.layout().addWidget(self.qt_viewer)
            window = self.window()
            if window is not self and self._window is None:
                window.installEventFilter(self)
                self._window = window

    def eventFilter(self, obj: Any, event: Any) -> bool:
        """Close the canvas with the main window."""
        if obj is self._window and event.type() == QEvent.Type.Close:
            self.release()
        return False

    def release(self) -> None:
        """Close the napari canvas (it is created again when shown)."""
        if self._window is not None:
            self._window.removeEventFilter(self)
            self._window = None
        if self.qt_viewer is not None:
            qt_viewer, self.qt_viewer = self.qt_viewer, None
            qt_viewer.close()
            qt_viewer.setParent(None)
            qt_viewer.deleteLater()

    def _fit(self, _event: Any = None) -> None:
        if self.image.visible:
            self.viewer.reset_view()

    # -- display ----------------------------------------------------------------------------------
    def show(self, image: np.ndarray | None, scale: tuple[float, float], unit: str) -> None:
        """Show the virtual image (``None`` hides it); NaN (not computed yet) shows as 0."""
        if image is None or image.ndim != 2:
            self.image.visible = False
            self._scale_bar.visible = False
            return
        self._scale_bar.visible = True
        first = not self.image.visible or self.image.data.shape != image.shape
        data = np.nan_to_num(np.asarray(image, dtype=np.float32), nan=0.0)
        if not self.image.visible:  # before the data: napari skips updates of hidden layers
            self.image.visible = True  # (and setting it redraws: not on every update)
        self.image.data = data
        if tuple(self.image.scale) != tuple(scale):
            for lay in (self.image, self.marker, self.region):
                lay.scale = scale
            first = True
        units = (unit, unit) if unit and unit != "pixel" else ("pixel", "pixel")
        for lay in (self.image, self.marker, self.region):
            lay.units = units
        finite = data[np.isfinite(image)] if np.isfinite(image).any() else data.reshape(-1)
        lo, hi = np.percentile(finite, [1, 99]) if finite.size else (0.0, 1.0)
        if hi <= lo:
            lo, hi = float(finite.min(initial=0)), float(finite.max(initial=0)) + 1.0
        self.image.contrast_limits_range = (min(float(data.min()), lo), max(float(data.max()), hi))
        self.image.contrast_limits = (float(lo), float(hi))
        if first:
            QTimer.singleShot(0, self.viewer.reset_view)

    def set_marker(self, position: tuple[int, int] | None) -> None:
        """Mark the scan position ``(row, col)`` (``None`` hides the marker)."""
        self.position = position
        data = np.zeros((0, 2)) if position is None else np.array([position], dtype=float)
        if self.marker.data.shape != data.shape or not np.array_equal(self.marker.data, data):
            self.marker.data = data

    # -- interaction ------------------------------------------------------------------------------
    def _cell(self, world: Any) -> tuple[int, int] | None:
        if not self.image.visible:
            return None
        y, x = np.round(self.image.world_to_data(world)[-2:]).astype(int)
        h, w = self.image.data.shape
        return (min(max(int(y), 0), h - 1), min(max(int(x), 0), w - 1))

    def move_to(self, row: int, col: int) -> None:
        """Move the position (clipped to the image) and report it."""
        if not self.image.visible:
            return
        h, w = self.image.data.shape
        pos = (min(max(int(row), 0), h - 1), min(max(int(col), 0), w - 1))
        self.set_marker(pos)
        self.on_move(*pos)

    def _drag(self, layer: Any, event: Any) -> Generator[None, None, None]:
        """Press and drag on the image: the position follows the cursor."""
        cell = self._cell(event.position)
        if cell is not None:
            self.move_to(*cell)
        yield
        while event.type == "mouse_move":
            cell = self._cell(event.position)
            if cell is not None and cell != self.position:
                self.move_to(*cell)
            yield

    def _stepper(self, step: tuple[int, int]) -> Callable[[Any], None]:
        def move(_viewer: Any) -> None:
            if self.position is not None:
                self.move_to(self.position[0] + step[0], self.position[1] + step[1])

        return move

    def region_mask(self) -> np.ndarray | None:
        """Scan positions inside the region's rectangles (``None`` without a region)."""
        if not self.image.visible or len(self.region.data) == 0:
            return None
        h, w = self.image.data.shape
        mask = np.zeros((h, w), dtype=bool)
        for vertices in self.region.data:
            v = np.asarray(vertices)[:, -2:]
            (y0, x0), (y1, x1) = v.min(axis=0), v.max(axis=0)
            ys = slice(max(int(np.ceil(y0)), 0), min(int(np.floor(y1)) + 1, h))
            xs = slice(max(int(np.ceil(x0)), 0), min(int(np.floor(x1)) + 1, w))
            mask[ys, xs] = True
        return mask if mask.any() else None

    def _on_region(self, event: Any) -> None:
        if str(getattr(event, "action", "")) in ("added", "changed", "removed"):
            self.on_region(self.region_mask())
