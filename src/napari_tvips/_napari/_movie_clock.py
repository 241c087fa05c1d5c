"""The recorded time of the frame on screen, shown in the canvas next to napari's time slider.

napari 0.9.2's slider shows only the frame index (``QtDimSliderWidget``'s label is an integer
``QLineEdit``; it has no hook for a value per step), and a layer's own canvas overlays are
private API. napari 0.9's canvas takes extra overlays (``viewer.canvas.overlays`` is an evented
dict the vispy canvas follows), so :class:`MovieClock` adds its own ``TextOverlay`` there (key
:data:`OVERLAY_KEY`, bottom left of the canvas, just above the slider; the user's
``viewer.text_overlay`` stays theirs) and writes the time into it whenever the step
(``viewer.dims.events.current_step``), the active layer, the layers or a movie layer's data
change: ``"t = 12.345 s, frame 617 (slider 617)"``, or for a sum ``"t = 1.200 s, frames 40-43
(slider 10)"``. The time is read lazily through :class:`~._movie_time.FrameClock` (a bounded
read per step for huge recordings).

It describes the active layer when that is a TVIPS frame stack (a reader stack or a
:class:`~napari_tvips._movie.MovieView`), else the top visible one; with none, it hides the text
it. :func:`attach_clock` installs one per viewer; the
layer builder calls it for the current viewer when it builds a stack layer, and the "TVIPS
movie" widget calls it for its viewer.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

import numpy as np

from .._lazy import FrameArray
from .._movie import MovieView
from .._record import record_of
from .._series import Series
from ._movie_time import FrameClock

__all__ = ["OVERLAY_KEY", "MovieClock", "attach_clock", "attach_to_current_viewer"]

#: Key of the time overlay in ``viewer.canvas.overlays``.
OVERLAY_KEY = "tvips_time"

log = logging.getLogger(__name__)

_CLOCKS: weakref.WeakKeyDictionary[Any, MovieClock] = weakref.WeakKeyDictionary()


def source_frames(layer: Any, index: int) -> tuple[Series, np.ndarray] | None:
    """The recording and source frames shown at slider position ``index`` of a movie layer."""
    record = record_of(layer)
    data = getattr(layer, "data", None)
    if record is None or getattr(layer, "ndim", 0) != 3:
        return None
    if isinstance(data, MovieView):
        members = data.members
    elif isinstance(data, FrameArray) and record.layout_source == "stack":
        members = np.asarray(data.index_map).reshape(-1, 1)
    else:
        return None
    if members.shape[0] == 0:
        return None
    return record.series, members[min(max(int(index), 0), members.shape[0] - 1)]


class MovieClock:
    """Keeps ``viewer.text_overlay`` showing the recorded time of the movie frame on screen.

    Parameters
    ----------
    viewer : napari.components.ViewerModel
        The viewer to follow.
    """

    def __init__(self, viewer: Any) -> None:
        self._viewer = weakref.ref(viewer)
        self._clocks: dict[int, FrameClock] = {}
        from napari.components.overlays import TextOverlay

        self.overlay: Any = TextOverlay(position="bottom_left", visible=False, box=True)
        viewer.canvas.overlays[OVERLAY_KEY] = self.overlay
        viewer.dims.events.current_step.connect(self.update)
        viewer.layers.events.inserted.connect(self._on_layers)
        viewer.layers.events.removed.connect(self._on_layers)
        viewer.layers.events.moved.connect(self.update)
        viewer.layers.selection.events.active.connect(self.update)
        for layer in viewer.layers:
            self._watch(layer)
        self.update()

    def _watch(self, layer: Any) -> None:
        if record_of(layer) is not None:
            layer.events.data.connect(self.update)
            layer.events.visible.connect(self.update)

    def _on_layers(self, event: Any = None) -> None:
        layer = getattr(event, "value", None)
        if layer is not None and getattr(event, "type", "") == "inserted":
            self._watch(layer)
        viewer = self._viewer()
        if viewer is not None:  # forget clocks of recordings no longer shown
            kept = {id(r.series) for r in map(record_of, viewer.layers) if r is not None}
            self._clocks = {k: v for k, v in self._clocks.items() if k in kept}
        self.update()

    def _movie_layer(self, viewer: Any) -> Any:
        active = viewer.layers.selection.active
        if active is not None and source_frames(active, 0) is not None:
            return active
        for layer in reversed(viewer.layers):
            if layer.visible and source_frames(layer, 0) is not None:
                return layer
        return None

    def text(self) -> str | None:
        """What the overlay should say now (``None``: no movie layer in the viewer)."""
        viewer = self._viewer()
        if viewer is None or not viewer.dims.ndim:
            return None
        layer = self._movie_layer(viewer)
        if layer is None:
            return None
        offset = viewer.dims.ndim - layer.ndim
        index = int(viewer.dims.current_step[offset])
        found = source_frames(layer, index)
        if found is None:
            return None
        series, frames = found
        clock = self._clocks.get(id(series))
        if clock is None or clock.series is not series:
            clock = self._clocks[id(series)] = FrameClock(series)
        return f"{clock.describe(frames)} (slider {index})"

    def update(self, _event: Any = None) -> None:
        """Show the time of the frame on screen (or hide the overlay without a movie layer)."""
        viewer = self._viewer()
        if viewer is None:
            return
        try:
            text = self.text()
        except Exception:  # a vanished or truncated file must not break the slider
            log.debug("no frame time to show", exc_info=True)
            text = None
        if text is None:
            self.overlay.visible = False
            return
        self.overlay.text = text
        self.overlay.visible = True


def attach_clock(viewer: Any) -> MovieClock:
    """The viewer's :class:`MovieClock` (created on first call)."""
    clock = _CLOCKS.get(viewer)
    if clock is None:
        clock = _CLOCKS[viewer] = MovieClock(viewer)
    return clock


def attach_to_current_viewer() -> None:
    """Attach a clock to napari's current viewer, if there is one (else nothing)."""
    try:
        from napari import current_viewer

        viewer = current_viewer()
    except Exception:  # no Qt application: nothing to show the time in
        return
    if viewer is not None:
        attach_clock(viewer)
