"""The time axis of a movie layer: the median frame interval, and a warning naming the gaps.

Called by the layer builder (:mod:`napari_tvips._napari._layers`) for frame stacks. RosettaSciIO
(and :func:`napari_tvips.file_reader`, for parity) uses ``t[1] - t[0]``, which one late second
frame skews; the layer uses the median interval instead. Recordings of up to
:data:`FULL_TABLE_FRAMES` frames have all their frame headers read (one small read each, cached
on the series); longer ones open without that pass (a lazy open of a huge recording must stay
instant), so their interval and gaps come from the first :data:`SAMPLE_FRAMES` frames and the
"TVIPS movie" widget or ``napari-tvips info`` give the whole picture. Never reads pixels.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence

import numpy as np

from .._series import Series
from .._time import frame_times, gap_message

__all__ = ["FULL_TABLE_FRAMES", "SAMPLE_FRAMES", "FrameClock", "exact_step", "stack_time_step"]

logger = logging.getLogger(__name__)

#: Longest recording whose whole frame-header table is read when a layer is built.
FULL_TABLE_FRAMES = 16384
#: Frames whose headers give the interval of longer recordings.
SAMPLE_FRAMES = 512
#: Frame times a :class:`FrameClock` of a long recording keeps.
_CACHED = 4096


#: Time steps are rounded to multiples of 2**-STEP_BITS s (about 1 ns; see :func:`exact_step`).
STEP_BITS = 30


def exact_step(step: float) -> float:
    """``step`` rounded to a multiple of 2**-30 (about 1 ns), so napari reaches the last frame.

    napari 0.9.2 counts an axis's steps as ``int(stop / step) + 1`` with ``stop = (n - 1) *
    step``; for a step such as 0.04999999999999999 s (the median of 50 ms frames computed from
    seconds + milliseconds) that quotient is 10.999... for 12 frames, so the slider and play
    never reach the last frame (the "skipped" frames of lazy playback). A dyadic step makes the
    product and the quotient exact.
    """
    if not step > 0 or not math.isfinite(step):
        return step
    return math.ldexp(max(round(math.ldexp(step, STEP_BITS)), 1), -STEP_BITS)


def stack_time_step(series: Series, *, warn: bool = True) -> float:
    """Median frame interval of ``series`` in seconds (0.0 when the headers hold no time).

    With ``warn``, a :class:`UserWarning` (shown by napari as a notification) names the gaps
    (dropped frames) when there are any.
    """
    n = series.n_frames
    if n < 2:
        return 0.0
    if n <= FULL_TABLE_FRAMES:
        times = frame_times(series)
        name = series.name
    else:
        times = frame_times(series.headers_at(range(SAMPLE_FRAMES)))
        name = f"{series.name} (first {SAMPLE_FRAMES} of {n} frames)"
        logger.info("%s: frame interval from the first %d frames", series.name, SAMPLE_FRAMES)
    if warn:
        message = gap_message(name, times)
        if message:
            warnings.warn(message, UserWarning, stacklevel=3)
    return exact_step(1.0 / times["rate"]) if times["rate"] > 0 else 0.0


class FrameClock:
    """Recorded time of any frame of a recording, read as bounded as the recording needs.

    Recordings of up to :data:`FULL_TABLE_FRAMES` frames use the whole frame-header table (read
    once and cached on the series, as the layer builder already did); longer ones read the
    header of the first frame once and then only the headers of the frames asked for (one small
    read each, the last :data:`_CACHED` kept), so stepping through a huge recording never reads
    all its headers.

    Parameters
    ----------
    series : Series
        The recording.
    """

    def __init__(self, series: Series) -> None:
        self.series: Series = series
        self._table: np.ndarray | None = None
        self._origin: tuple[int, int] | None = None
        self._cache: dict[int, float] = {}
        n = series.n_frames
        if n <= FULL_TABLE_FRAMES:
            fields = series.frame_headers()
            self.has_time = "timestamp" in fields and n > 0
            if self.has_time:
                self._table = frame_times(fields)["time"]
                self.has_time = bool(n < 2 or np.any(self._table != 0))
        else:
            first = series.headers_at([0, n - 1])
            self.has_time = "timestamp" in first
            if self.has_time:
                self._origin = (int(first["timestamp"][0]), int(first["ms"][0]))
                self.has_time = bool(
                    first["timestamp"][1] != first["timestamp"][0]
                    or first["ms"][1] != first["ms"][0]
                )

    def times(self, frames: Sequence[int]) -> np.ndarray:
        """Seconds since the first frame of source ``frames`` (zeros without time stamps)."""
        idx = [int(f) for f in frames]
        if not self.has_time:
            return np.zeros(len(idx))
        if self._table is not None:
            return self._table[idx]
        missing = [f for f in dict.fromkeys(idx) if f not in self._cache]
        if missing:
            assert self._origin is not None
            got = self.series.headers_at(missing)
            ts0, ms0 = self._origin
            for j, f in enumerate(missing):
                t = int(got["timestamp"][j]) - ts0 + (int(got["ms"][j]) - ms0) / 1000.0
                self._cache[f] = float(t)
            while len(self._cache) > _CACHED:
                self._cache.pop(next(iter(self._cache)))
        return np.array([self._cache[f] for f in idx])

    def describe(self, frames: Sequence[int] | np.ndarray) -> str:
        """``"t = 1.230 s, frame 41"`` or, for a sum, ``"t = 1.200 s, frames 40-43"``.

        The time is that of the first frame (the start of a sum).
        """
        group = np.atleast_1d(np.asarray(frames, dtype=np.int64))
        label = f"frame {group[0]}" if group.size == 1 else f"frames {group[0]}-{group[-1]}"
        if not self.has_time:
            return label
        return f"t = {float(self.times(group[:1])[0]):.3f} s, {label}"
