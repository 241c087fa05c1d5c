"""The time axis of a movie layer: the median frame interval, and a warning naming the gaps.

Called by the layer builder (:mod:`napari_tvips._napari._layers`) for frame stacks. RosettaSciIO
(and :func:`napari_tvips.file_reader`, for parity) uses ``t[1] - t[0]``, which one late second
frame skews; the layer uses the median interval instead. Reads the frame headers (cached on the
series), never pixels.
"""

from __future__ import annotations

import warnings

from .._series import Series
from .._time import frame_times, gap_message

__all__ = ["stack_time_step"]


def stack_time_step(series: Series, *, warn: bool = True) -> float:
    """Median frame interval of ``series`` in seconds (0.0 when the headers hold no time).

    With ``warn``, a :class:`UserWarning` (shown by napari as a notification) names the gaps
    (dropped frames) when there are any.
    """
    if series.n_frames < 2:
        return 0.0
    times = frame_times(series)
    if warn:
        message = gap_message(series.name, times)
        if message:
            warnings.warn(message, UserWarning, stacklevel=3)
    return 1.0 / times["rate"] if times["rate"] > 0 else 0.0
