"""The scriptable state behind the "TVIPS movie" dock widget (no Qt): what the movie view is.

:class:`MovieModel` holds, for one recording, the frame range, the sum and binning, the bad
frames and the drift table, and turns them into a :class:`~napari_tvips._movie.MovieView` (the
layer's data), the layer's scale, the per-frame fields to plot, and the mapping between source
frames (the plot's x axis) and output frames (the slider). It emits ``changed`` (psygnal) when
any setting changes. Drift estimation and export are generators/functions the widget runs in
workers; this module never touches napari layers or Qt.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Mapping
from typing import Any

import numpy as np
from psygnal import Signal

from .._drift import iter_drift
from .._movie import MovieSettings, MovieView
from .._movie_export import export_movie
from .._series import Series
from .._time import FrameTimes, frame_times
from ._movie_time import FrameClock, exact_step

__all__ = ["MOVIE_METADATA_KEY", "MovieModel"]

#: Key of the movie state in ``layer.metadata`` (settings and the drift table, saved with it).
MOVIE_METADATA_KEY = "tvips_movie"

#: Frame header fields that are bookkeeping rather than measurements (not offered as plots).
_NOT_PLOTTED = frozenset({"timestamp", "ms", "LUTidx", "mode", "rotidx"})


class MovieModel:
    """Movie settings of one recording and what follows from them.

    Parameters
    ----------
    series : Series
        The recording.
    state : mapping, optional
        A state saved in a layer's metadata (:meth:`state`), restored here.
    """

    changed = Signal()

    def __init__(self, series: Series, state: Mapping[str, Any] | None = None) -> None:
        self.series: Series = series
        self.first: int = 0
        self.last: int = series.n_frames - 1
        self.sum_frames: int = 1
        self.binning: int = 1
        self.average: bool = False
        self.bad: set[int] = set()
        self.shifts: np.ndarray | None = None
        self.subpixel: bool = True
        self.totals: np.ndarray | None = None
        self._times: FrameTimes | None = None
        self._clock: FrameClock | None = None
        if state:
            self.first = int(state.get("first", self.first))
            self.last = int(state.get("last", self.last))
            self.sum_frames = int(state.get("sum_frames", 1))
            self.binning = int(state.get("binning", 1))
            self.average = bool(state.get("average", False))
            self.bad = {int(b) for b in state.get("bad", ())}
            shifts = state.get("shifts")
            self.shifts = None if shifts is None else np.asarray(shifts, dtype=np.float64)

    # -- settings --------------------------------------------------------------------------
    def settings(self) -> MovieSettings:
        """The settings as a :class:`MovieSettings`."""
        return MovieSettings(
            frames=slice(self.first, self.last + 1),
            sum_frames=self.sum_frames,
            binning=self.binning,
            average=self.average,
            bad=tuple(sorted(self.bad)),
            shifts=self.shifts,
            subpixel=self.subpixel,
        )

    def view(self, read_ahead: int = 0) -> MovieView:
        """The movie these settings describe (raises ``ValueError`` when they make no movie).

        ``read_ahead`` frames after each one shown are read in a background thread.
        """
        return MovieView(self.series, self.settings(), read_ahead=read_ahead)

    def update(self, **changes: Any) -> MovieView:
        """Change settings and return the new view; on a ``ValueError`` nothing changes.

        Keywords: ``first``, ``last``, ``sum_frames``, ``binning``, ``average``, ``subpixel``.
        """
        old = {k: getattr(self, k) for k in changes}
        for k, v in changes.items():
            setattr(self, k, v)
        try:
            view = self.view()
        except ValueError:
            for k, v in old.items():
                setattr(self, k, v)
            raise
        self.changed.emit()
        return view

    def mark_bad(self, first: int, last: int) -> None:
        """Leave source frames ``first .. last`` (inclusive) out of the movie and its sums."""
        lo, hi = sorted((int(first), int(last)))
        self.bad.update(range(max(lo, 0), min(hi, self.series.n_frames - 1) + 1))
        self.changed.emit()

    def clear_bad(self) -> None:
        """Use every frame again."""
        self.bad.clear()
        self.changed.emit()

    def set_shifts(self, shifts: np.ndarray | None) -> None:
        """Use a drift table (``(n_frames, 2)``), or none."""
        self.shifts = None if shifts is None else np.asarray(shifts, dtype=np.float64)
        self.changed.emit()

    def state(self) -> dict[str, Any]:
        """What to save with the layer (plain values and the drift table)."""
        return {
            "first": self.first,
            "last": self.last,
            "sum_frames": self.sum_frames,
            "binning": self.binning,
            "average": self.average,
            "bad": sorted(self.bad),
            "shifts": self.shifts,
        }

    # -- what follows ----------------------------------------------------------------------
    def times(self) -> FrameTimes:
        """Per-frame times of the recording (read once)."""
        if self._times is None:
            self._times = frame_times(self.series)
        return self._times

    def time_step(self) -> float:
        """Seconds between output frames (median interval x sum), 0.0 when unknown."""
        rate = self.times()["rate"]
        return exact_step(self.sum_frames / rate) if rate > 0 else 0.0

    def fields(self) -> dict[str, np.ndarray]:
        """Per-frame values worth plotting: varying fields, time steps, drift once estimated."""
        out: dict[str, np.ndarray] = {}
        t = self.times()["time"]
        if t.size > 1:
            out["time step (s)"] = np.r_[np.diff(t), np.nan]
        for name, values in self.series.frame_headers().items():
            if name in _NOT_PLOTTED or values.size == 0:
                continue
            if np.ptp(values.astype(np.float64)) > 0:
                out[name] = values.astype(np.float64)
        if self.totals is not None:
            out["frame total"] = self.totals
        if self.shifts is not None:
            out["drift dy (px)"] = self.shifts[:, 0]
            out["drift dx (px)"] = self.shifts[:, 1]
        return out

    def output_index(self, source_frame: int) -> int:
        """The output frame holding ``source_frame`` (or the nearest one)."""
        members = self.view().members
        centres = members.mean(axis=1)
        return int(np.argmin(np.abs(centres - source_frame)))

    def describe(self, output_index: int) -> str:
        """The recorded time (of a sum's first frame) and source frames of ``output_index``.

        The same text as the canvas's time overlay (:mod:`._movie_clock`).
        """
        members = self.view().members
        group = members[min(max(output_index, 0), members.shape[0] - 1)]
        if self._clock is None:
            self._clock = FrameClock(self.series)
        return self._clock.describe(group)

    def source_frame(self, output_index: int) -> int:
        """The first source frame of output frame ``output_index``."""
        members = self.view().members
        return int(members[min(max(output_index, 0), members.shape[0] - 1), 0])

    # -- long work (run in workers by the widget) -------------------------------------------
    def drift_steps(self, **kwargs: Any) -> Generator[tuple[int, int], None, np.ndarray]:
        """:func:`napari_tvips._drift.iter_drift` over the current sums/binning (no shifts)."""
        view = MovieView(self.series, self.settings().with_(shifts=None))
        return iter_drift(view, **kwargs)

    def totals_steps(
        self, block_bytes: int = 16 << 20
    ) -> Generator[tuple[int, int], None, np.ndarray]:
        """Sum every source frame's pixels, a block at a time; yield ``(done, total)``.

        Returns the ``(n_frames,)`` float64 totals (also kept as :attr:`totals` by
        :meth:`set_totals`). Memory: one block of frames.
        """
        n = self.series.n_frames
        per = max(1, block_bytes // max(self.series.header.frame_bytes, 1))
        totals = np.empty(n, dtype=np.float64)
        for lo in range(0, n, per):
            hi = min(lo + per, n)
            block = self.series.read_frames(np.arange(lo, hi))
            totals[lo:hi] = block.reshape(hi - lo, -1).sum(axis=1, dtype=np.float64)
            yield hi, n
        return totals

    def set_totals(self, totals: np.ndarray | None) -> None:
        """Keep per-frame totals for the plot."""
        self.totals = totals
        self.changed.emit()

    def export(
        self,
        path: str | os.PathLike[str],
        progress: Callable[[int, int], None] | None = None,
        **options: Any,
    ) -> list[str]:
        """Write the current movie (as viewed) to ``path`` (``.tif``/``.tiff``/``.mp4``)."""
        return export_movie(self.view(), path, progress=progress, **options)
