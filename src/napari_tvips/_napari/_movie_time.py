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
import warnings

from .._series import Series
from .._time import frame_times, gap_message

__all__ = ["FULL_TABLE_FRAMES", "SAMPLE_FRAMES", "stack_time_step"]

logger = logging.getLogger(__name__)

#: Longest recording whose whole frame-header table is read when a layer is built.
FULL_TABLE_FRAMES = 16384
#: Frames whose headers give the interval of longer recordings.
SAMPLE_FRAMES = 512


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
    return 1.0 / times["rate"] if times["rate"] > 0 else 0.0
