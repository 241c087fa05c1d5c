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
not step until the canvas has painted the previous frame (a Qt event filter on the viewer's
OpenGL canvas widget, found in the window of the widget that owns the player, sees its paint
events; napari has no public "frame drawn" signal and warns on its private attributes; without
a canvas, the player leaves :data:`_PAINT_MS` between steps). When a step (read + draw) takes
longer than the interval, the movie plays slower instead of skipping, and the rate reached over
the last ticks is reported through ``on_rate(measured, chosen)``.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

from qtpy.QtCore import QEvent, QObject, Qt, QTimer
from qtpy.QtOpenGLWidgets import QOpenGLWidget
from qtpy.QtWidgets import QWidget

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
    host : QWidget, optional
        A widget in the viewer's window (the dock widget), to find the canvas by.
    """

    def __init__(
        self,
        viewer: Any,
        on_rate: Callable[[float, float], None] | None = None,
        host: QWidget | None = None,
    ) -> None:
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
        self._host = host
        self._canvas: QWidget | None = None

    def _find_canvas(self) -> None:
        """Follow the paint events of the largest visible OpenGL widget of the host's window."""
        if self._canvas is not None or self._host is None:
            return
        found = [w for w in self._host.window().findChildren(QOpenGLWidget) if w.isVisible()]
        if found:
            self._canvas = max(found, key=lambda w: w.width() * w.height())
            self._canvas.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Note that the canvas paints (the frame on screen is the one last stepped to)."""
        if watched is self._canvas and event.type() == QEvent.Type.Paint:
            self._drawn = True
        return False

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
        self._find_canvas()
        self._drawn = True
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
        if self._canvas is not None and not self._drawn and self._canvas.isVisible():
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
        self._timer.start(max(wait, 0 if self._canvas is not None else _PAINT_MS))
