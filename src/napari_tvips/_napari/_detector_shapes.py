"""The virtual detector drawn on the diffraction pattern in the main viewer, edited with napari.

:class:`DetectorShapes` keeps two layers on top of a TVIPS scan layer: a Shapes layer
``"virtual detector"`` (a disk for BF, two circles for the ADF ring, a rectangle, or a one-pixel
square for a point) and a Points layer ``"beam centre"`` (a cross). Both are 2-D, so napari shows
them over the pattern at every scan position, with the layer's pixel size as scale.

Editing them with napari's own tools writes back to the scan model's detector: resizing a disk
or ring keeps it about its centre and updates the navigator while dragging (no pass); moving it
also updates while dragging: every move sets the detector centre and calls ``on_live`` (the
widget restarts a cancellable pass, coarse to fine, throttled). Editing a rectangle or point
applies on release (those need a pass of their own); moving the beam centre starts a new first
pass about it. Geometry only; the model decides what to compute.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from napari.layers import Points, Shapes

from .._model import ScanModel

__all__ = ["DetectorShapes"]

_EDGE = "#ffd54f"
_CENTRE = "#ef5350"


def _circle(centre: tuple[float, float], r: float) -> np.ndarray:
    cy, cx = centre
    r = max(float(r), 0.5)
    return np.array([[cy - r, cx - r], [cy - r, cx + r], [cy + r, cx + r], [cy + r, cx - r]])


def _box(y0: float, x0: float, y1: float, x1: float) -> np.ndarray:
    # pixel centres y0 <= y < y1 are covered by edges half a pixel before each bound
    return np.array([[y0, x0], [y0, x1], [y1, x1], [y1, x0]]) - 0.5


def _bounds(vertices: np.ndarray) -> tuple[float, float, float, float]:
    v = np.asarray(vertices)[:, -2:]
    (y0, x0), (y1, x1) = v.min(axis=0), v.max(axis=0)
    return float(y0), float(x0), float(y1), float(x1)


class DetectorShapes:
    """Detector and beam-centre layers of one scan layer, bound to the model.

    Parameters
    ----------
    viewer : napari.components.ViewerModel
        The main viewer.
    model : ScanModel
        Holds the detector.
    on_edit : callable
        Called after an edit that needs a pass (off-centre disk/ring, rectangle, point, beam
        centre): the widget starts the navigator pass.
    on_live : callable, optional
        Called on every move of a disk or ring while it is dragged, just before the model's
        centre changes (default: nothing; the release calls ``on_edit``).
    """

    def __init__(
        self,
        viewer: Any,
        model: ScanModel,
        on_edit: Callable[[], object],
        on_live: Callable[[], object] | None = None,
    ) -> None:
        self.viewer: Any = viewer
        self.model: ScanModel = model
        self.on_edit: Callable[[], object] = on_edit
        self.on_live: Callable[[], object] = on_live or (lambda: None)
        self.shapes: Shapes | None = None
        self.centre: Points | None = None
        self._drawn: list[tuple[float, float, float, float]] = []
        self._kind: str | None = None
        self._syncing: bool = False
        self._editing: bool = False  # a drag is updating the model: do not redraw under it
        self._drag_start: tuple[float, float] | None = None  # detector centre as last drawn
        model.events.params.connect(self.sync)
        model.events.values.connect(self._sync_centre)

    # -- layers ----------------------------------------------------------------------------------
    def attach(self, layer: Any) -> None:
        """Draw over ``layer`` (a TVIPS image layer); ``None`` removes the layers."""
        if layer is None or self.model.values() is None:
            self.remove()
            return
        scale, translate = tuple(layer.scale[-2:]), tuple(layer.translate[-2:])
        units = tuple(layer.units[-2:])
        if self.shapes is None or self.shapes not in self.viewer.layers:
            self.shapes = Shapes(
                ndim=2, name="virtual detector", edge_color=_EDGE, face_color="transparent",
                edge_width=1.5, opacity=0.9, scale=scale, translate=translate, units=units,
            )  # fmt: skip
            self.shapes.events.set_data.connect(self._on_live)
            self.shapes.events.data.connect(self._on_data)
            self.viewer.layers.append(self.shapes)
        if self.centre is None or self.centre not in self.viewer.layers:
            self.centre = Points(
                np.zeros((1, 2)), ndim=2, name="beam centre", symbol="cross", size=6,
                face_color=_CENTRE, border_width=0, scale=scale, translate=translate,
                units=units,
            )  # fmt: skip
            self.centre.events.data.connect(self._on_centre)
            self.viewer.layers.append(self.centre)
        for lay in (self.shapes, self.centre):
            lay.scale, lay.translate = scale, translate
        self.viewer.layers.selection.active = layer  # adding layers selected them
        self.sync()

    def remove(self) -> None:
        """Take the layers out of the viewer."""
        for lay in (self.shapes, self.centre):
            if lay is not None and lay in self.viewer.layers:
                self.viewer.layers.remove(lay)
        self.shapes = self.centre = None

    # -- model -> layers ------------------------------------------------------------------------
    def geometry(self) -> tuple[str, dict[str, Any]] | None:
        """Kind and parameters of the detector the navigator's channel uses."""
        values = self.model.values()
        return None if values is None else values.geometry(self.model.channel)

    def sync(self) -> None:
        """Draw the model's detector."""
        if self.shapes is None or self._editing:
            return
        geom = self.geometry()
        data: list[np.ndarray] = []
        types: list[str] = []
        if geom is not None:
            kind, p = geom
            if kind == "disk":
                data, types = [_circle(p["centre"], p["radius"])], ["ellipse"]
            elif kind == "annulus":
                data = [_circle(p["centre"], p["inner"]), _circle(p["centre"], p["outer"])]
                types = ["ellipse", "ellipse"]
            elif kind == "rectangle":
                data, types = [_box(*p["box"])], ["rectangle"]
            else:
                y, x = (np.floor(np.asarray(p["at"], float) + 0.5)).tolist()
                data, types = [_box(y, x, y + 1, x + 1)], ["rectangle"]
        self._kind = None if geom is None else geom[0]
        self._syncing = True
        try:
            self.shapes.data = []
            if data:
                self.shapes.add(data, shape_type=types)
        finally:
            self._syncing = False
        self._drawn = [_bounds(d) for d in data]
        self._drag_start = None
        self._sync_centre()

    def _sync_centre(self) -> None:
        values = self.model.values()
        if self.centre is None or values is None:
            return
        want = np.array([values.beam_centre()])
        if not np.allclose(self.centre.data, want):
            self._syncing = True
            try:
                self.centre.data = want
            finally:
                self._syncing = False

    # -- layers -> model ------------------------------------------------------------------------
    def _shapes_bounds(self) -> list[tuple[float, float, float, float]]:
        assert self.shapes is not None
        return [_bounds(v) for v in self.shapes.data]

    def _on_live(self, _event: Any = None) -> None:
        """While dragging a disk or ring: a resize sets its radii, a move its centre, at once."""
        if self._syncing or self.shapes is None or self._kind not in ("disk", "annulus"):
            return
        now = self._shapes_bounds()
        if len(now) != len(self._drawn):
            return
        radii = self._radii_if_resized(now)
        centre = None if radii is not None else self._centre_if_moved(now)
        if radii is None and centre is None:
            return
        if centre is not None:
            self.on_live()  # before the change: the widget keeps the image until the new pass
        self._editing = True
        try:
            if radii is not None:
                self.model.set_detector(radii=radii)
            else:
                self.model.set_detector(centre=centre)
        finally:
            self._editing = False

    def _centre_if_moved(
        self, now: list[tuple[float, float, float, float]]
    ) -> tuple[float, float] | None:
        """The detector centre after a move of its shapes (``None``: not moved)."""
        moved = [((d[0] + d[2]) / 2, (d[1] + d[3]) / 2) for d in now]
        old = [((d[0] + d[2]) / 2, (d[1] + d[3]) / 2) for d in self._drawn]
        shift = next((np.subtract(m, o) for m, o in zip(moved, old, strict=True)
                      if not np.allclose(m, o)), None)  # fmt: skip
        geom = self.geometry()
        if shift is None or geom is None or "centre" not in geom[1]:
            return None
        start = self._drag_start if self._drag_start is not None else geom[1]["centre"]
        self._drag_start = start
        return (start[0] + float(shift[0]), start[1] + float(shift[1]))

    def _radii_if_resized(
        self, now: list[tuple[float, float, float, float]]
    ) -> tuple[float, float, float] | None:
        # half the mean side, rounded: float noise must not tip a radius into the next ring
        sizes = [round(((b[2] - b[0]) + (b[3] - b[1])) / 4, 3) for b in now]
        before = [round(((b[2] - b[0]) + (b[3] - b[1])) / 4, 3) for b in self._drawn]
        if np.allclose(sizes, before):
            return None
        bf, inner, outer = self.model.radii
        if self._kind == "disk":
            return (sizes[0], inner, outer)
        lo, hi = sorted(sizes)
        return (bf, lo, hi)

    def _on_data(self, event: Any) -> None:
        """On release: apply moves, rectangles and points; redraw resized disks centred."""
        if self._syncing or self.shapes is None or str(getattr(event, "action", "")) != "changed":
            return
        now = self._shapes_bounds()
        if not now:
            self.sync()
            return
        b = now[0]
        centre = ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)
        if self._kind in ("disk", "annulus") and len(now) == len(self._drawn):
            radii = self._radii_if_resized(now)
            if radii is not None:  # resized: stays about its centre
                self.model.set_detector(radii=radii)
                self.sync()
                return
            moved = self._centre_if_moved(now)
            self._drag_start = None
            if moved is None:
                return
            self.model.set_detector(centre=moved)
        elif self._kind == "rectangle":
            self.model.set_detector(box=(b[0] + 0.5, b[1] + 0.5, b[2] + 0.5, b[3] + 0.5))
        elif self._kind == "point":
            self.model.set_detector(point=centre)
        else:
            return
        self.sync()
        self.on_edit()

    def _on_centre(self, event: Any) -> None:
        if self._syncing or self.centre is None or str(getattr(event, "action", "")) != "changed":
            return
        if len(self.centre.data) != 1:
            self._sync_centre()
            return
        y, x = (float(v) for v in self.centre.data[0])
        values = self.model.values()
        if values is not None and (y, x) != values.beam_centre():
            self.model.set_beam_centre((y, x))
            self.sync()
            self.on_edit()
