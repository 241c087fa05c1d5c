"""Playback that shows every frame in order, and says when the chosen rate cannot be kept.

napari's own play button (``QtDims.play``) runs a timer in a worker thread that requests the next
frame every ``1 / fps`` seconds whether or not the last one was drawn. When reading a frame takes
longer than that (lazy 4k frames), several requests reach the main thread between two paints;
each is sliced (read) but only the last is painted, so frames are skipped (napari issue 2559;
``benchmarks/bench_movie.py`` counts them).

Why frames are skipped even though napari slices synchronously: the slice (read) runs when the
step is requested, but the paint is scheduled by Qt (on X11 ``QWindow.requestUpdate`` is a 5 ms
timer). When the step took longer than the interval, the next request is already due and is
served before that paint, so the canvas never shows the frame in between. In-memory frames step
well within the interval, so they are not skipped; lazy 4k frames (read + contrast + texture
upload ~80 ms here) are.

:class:`MoviePlayer` is a play control of our own for the "TVIPS movie" widget: a single-shot
``QTimer`` in the main thread steps the slider by exactly one frame per tick, and a tick does
not step until the canvas has drawn the previous frame (it listens to the vispy canvas's draw
event; without one, it leaves :data:`_PAINT_MS` between steps). When a step (read + draw) takes
longer than the interval, the movie plays slower instead of skipping, and the rate reached over
the last ticks is reported through ``on_rate(measured, chosen)``.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

from qtpy.QtCore import QObject, Qt, QTimer

__all__ = ["MoviePlayer"]

#: Ticks over which the rate reached is measured.
_WINDOW = 32
#: Milliseconds left between steps when the canvas's draw event cannot be followed.
_PAINT_MS = 10
#: Longest wait for a draw (ms) before stepping anyway (a hidden canvas never draws).
_DRAW_WAIT_MS = 500


class MoviePlayer(QObject):
    """Step ``viewer.dims`` axis ``axis`` one frame per tick at ``fps`` (looping).

    Parameters
    ----------
    viewer : napari.components.ViewerModel
        The viewer whose slider to move.
    on_rate : callable, optional
        Called about once a second while playing with ``(measured_fps, chosen_fps)``.
    """

    def __init__(self, viewer: Any, on_rate: Callable[[float, float], None] | None = None) -> None:
        super().__init__()
        self.viewer: Any = viewer
        self.on_rate: Callable[[float, float], None] | None = on_rate
        self.fps: float = 0.0
        self.axis: int = 0
        self.shown: int = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)
        self._due = 0.0
        self._stamps: deque[float] = deque(maxlen=_WINDOW)
        self._reported = 0.0
        self._drawn = True
        self._stepped = 0.0
        self._draw_event, self._canvas = _draw_event(viewer)
        if self._draw_event is not None:
            self._draw_event.connect(self._on_draw)

    def _on_draw(self, _event: Any = None) -> None:
        self._drawn = True

    @property
    def playing(self) -> bool:
        """Whether the movie is playing."""
        return self.fps > 0

    def play(self, fps: float, axis: int = 0) -> None:
        """Start playing axis ``axis`` at ``fps`` frames per second."""
        if fps <= 0:
            raise ValueError(f"frames per second must be > 0, not {fps}")
        self.fps, self.axis, self.shown = float(fps), int(axis), 0
        self._stamps.clear()
        self._due = self._reported = time.perf_counter()
        self._timer.start(0)

    def stop(self) -> None:
        """Stop playing (the frame on screen stays)."""
        self.fps = 0.0
        self._timer.stop()

    def measured(self) -> float:
        """Frames per second reached over the last ticks (0.0 before two ticks)."""
        if len(self._stamps) < 2:
            return 0.0
        span = self._stamps[-1] - self._stamps[0]
        return (len(self._stamps) - 1) / span if span > 0 else 0.0

    def _tick(self) -> None:
        if not self.playing:
            return
        if self._draw_event is not None and not self._drawn and self._canvas.isVisible():
            waited = (time.perf_counter() - self._stepped) * 1000
            if waited < _DRAW_WAIT_MS:  # the last frame is not on screen yet
                self._timer.start(1)
                return
        dims = self.viewer.dims
        if self.axis >= dims.ndim:
            self.stop()
            return
        n = int(dims.nsteps[self.axis])
        dims.set_current_step(self.axis, (int(dims.current_step[self.axis]) + 1) % max(n, 1))
        self.shown += 1
        now = self._stepped = time.perf_counter()
        self._drawn = False
        self._stamps.append(now)
        interval = 1.0 / self.fps
        # the next frame is due one interval after this one was; a late frame does not make the
        # next ones come in a burst (never catch up by showing frames faster than the rate)
        self._due = max(self._due + interval, now)
        if self.on_rate is not None and now - self._reported >= 1.0:
            self._reported = now
            self.on_rate(self.measured(), self.fps)
        wait = round((self._due - time.perf_counter()) * 1000)
        self._timer.start(max(wait, 0 if self._draw_event is not None else _PAINT_MS))


def _draw_event(viewer: Any) -> tuple[Any, Any]:
    """The vispy canvas's draw event and Qt widget of a napari viewer, or ``(None, None)``.

    napari has no public "frame drawn" signal; this reaches the vispy ``SceneCanvas`` through
    the window's private ``_qt_viewer`` (napari 0.5 - 0.9) and degrades to ``(None, None)``.
    A hidden canvas never draws, so the player only waits for draws while it is visible.
    """
    try:
        scene = viewer.window._qt_viewer.canvas._scene_canvas
        return scene.events.draw, scene.native
    except AttributeError:
        return None, None
