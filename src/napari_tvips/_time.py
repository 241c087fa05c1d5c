"""Time as recorded: per-frame times, frame rate, dropped frames and duplicates of a movie.

TVIPS frame headers carry a time stamp (whole seconds since the epoch plus milliseconds) and an
image counter. :func:`frame_times` turns them into seconds since the first frame and finds

- **gaps** (dropped frames): a jump of the counter by more than one, or, when the counter is of
  no use, a time step well above the median interval (the number missing is then estimated from
  the step);
- **duplicates**: frames that repeat the previous frame's counter (and time).

The counter is trusted only where it behaves like one: RosettaSciIO's writer leaves it 0, and it
"tends to cycle" (wraps or restarts) on real recordings, so a step of the counter that is not
positive, or that the time step contradicts, falls back to the time evidence. Reads frame headers
only (one small read per frame), never pixels; imports no Qt or napari.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, TypedDict

import numpy as np

from ._series import Series

__all__ = ["FrameTimes", "frame_times", "median_interval", "summary"]

#: A time step this many times the median interval (and at least half a median more) is a gap.
GAP_FACTOR = 1.5
#: A counter step and the time step agree if the time step is within this factor of
#: ``counter_step * median``; otherwise the counter is not used for that step.
_COUNTER_TOLERANCE = 0.5


class FrameTimes(TypedDict):
    """What :func:`frame_times` returns."""

    time: np.ndarray
    counter: np.ndarray
    rate: float
    gaps: list[tuple[int, int]]
    duplicates: list[int]
    start: float | None


def _fields(
    source: str | os.PathLike[str] | Series | Mapping[str, np.ndarray],
) -> Mapping[str, Any]:
    if isinstance(source, Mapping):
        return source
    series = source if isinstance(source, Series) else Series(source)
    return series.frame_headers()


def median_interval(time: np.ndarray) -> float:
    """Median of the positive steps of ``time`` (seconds); 0.0 when there is none."""
    steps = np.diff(np.asarray(time, dtype=np.float64))
    steps = steps[steps > 0]
    return float(np.median(steps)) if steps.size else 0.0


def frame_times(
    source: str | os.PathLike[str] | Series | Mapping[str, np.ndarray],
) -> FrameTimes:
    """Per-frame times, frame rate, dropped frames and duplicates of a recording.

    Parameters
    ----------
    source : str, os.PathLike, Series or mapping
        Any path of the recording, an open :class:`~napari_tvips.Series`, or its frame header
        fields (``Series.frame_headers()``).

    Returns
    -------
    dict
        ``time``: float64 seconds since the first frame, one per frame (zeros when the headers
        hold no time, as in version 1 files without one); ``counter``: the frame counter as
        int64 (zeros when absent); ``rate``: median frames per second (0.0 when unknown, e.g.
        one frame or all frames stamped with the same time); ``gaps``: list of
        ``(frame_index_before_gap, frames_missing)``; ``duplicates``: indices of frames that
        repeat the previous frame's counter and time; ``start``: seconds since the epoch of
        the first frame (``None`` without time stamps).

    Notes
    -----
    A counter step ``c > 1`` whose time step agrees (within 50% of ``c`` median intervals, or
    without usable times) counts ``c - 1`` missing frames. Otherwise a time step above
    1.5 median intervals counts ``round(step / median) - 1`` missing frames. Steps backwards in
    time are neither gaps nor duplicates (they are logged by ``napari-tvips info`` as such).
    """
    fields = _fields(source)
    n = len(next(iter(fields.values()))) if fields else 0
    if "timestamp" in fields:
        ts = np.asarray(fields["timestamp"], dtype=np.int64)
        ms = np.asarray(fields.get("ms", np.zeros(n)), dtype=np.int64)
        # whole seconds and milliseconds relative to the first frame: exact in float64
        time = (ts - ts[0]).astype(np.float64) + (ms - ms[0]).astype(np.float64) / 1000.0
        start: float | None = float(ts[0]) + float(ms[0]) / 1000.0
    else:
        time = np.zeros(n, dtype=np.float64)
        start = None
    counter = (
        np.asarray(fields["num"], dtype=np.int64) if "num" in fields else np.zeros(n, np.int64)
    )
    dt = np.diff(time)
    dc = np.diff(counter)
    median = median_interval(time)
    has_time = median > 0
    counter_used = bool(np.any(dc != 0))

    gaps: list[tuple[int, int]] = []
    duplicates: list[int] = []
    for i in range(n - 1):
        step_c = int(dc[i])
        step_t = float(dt[i])
        if counter_used and step_c == 0 and (not has_time or step_t <= 0):
            duplicates.append(i + 1)
            continue
        if not counter_used and has_time and step_t == 0 and n > 1:
            # no counter: a frame stamped with exactly the previous time repeats it
            duplicates.append(i + 1)
            continue
        if counter_used and step_c > 1:
            expected = step_c * median
            if not has_time or abs(step_t - expected) <= _COUNTER_TOLERANCE * expected:
                gaps.append((i, step_c - 1))
                continue
        if has_time and step_t > GAP_FACTOR * median and step_t - median > 0.5 * median:
            missing = max(round(step_t / median) - 1, 1)
            gaps.append((i, int(missing)))
    rate = 1.0 / median if has_time else 0.0
    return {
        "time": time,
        "counter": counter,
        "rate": rate,
        "gaps": gaps,
        "duplicates": duplicates,
        "start": start,
    }


def summary(times: FrameTimes, limit: int = 10) -> list[str]:
    """Lines describing duration, rate, gaps and duplicates (for ``napari-tvips info``)."""
    t = times["time"]
    n = t.size
    lines = []
    if times["rate"] > 0:
        lines.append(f"duration    {t[-1] - t[0]:.3f} s ({n} frames)")
        lines.append(f"rate        {times['rate']:.4g} frames/s (median interval "
                     f"{1000.0 / times['rate']:.4g} ms)")  # fmt: skip
    else:
        lines.append(f"duration    unknown ({n} frames; no time steps in the headers)")
    gaps = times["gaps"]
    if gaps:
        missing = sum(m for _, m in gaps)
        shown = ", ".join(f"after frame {i} ({m} missing)" for i, m in gaps[:limit])
        more = f", and {len(gaps) - limit} more" if len(gaps) > limit else ""
        lines.append(f"gaps        {len(gaps)} ({missing} frames dropped): {shown}{more}")
    else:
        lines.append("gaps        none")
    dup = times["duplicates"]
    if dup:
        shown = ", ".join(str(i) for i in dup[:limit])
        more = f", and {len(dup) - limit} more" if len(dup) > limit else ""
        lines.append(f"duplicates  {len(dup)}: frames {shown}{more}")
    backwards = int(np.count_nonzero(np.diff(t) < 0))
    if backwards:
        lines.append(f"time steps backwards: {backwards}")
    return lines


def gap_message(name: str, times: FrameTimes, limit: int = 5) -> str | None:
    """A one-line warning naming the gaps of recording ``name``, or ``None`` without gaps."""
    gaps = times["gaps"]
    if not gaps:
        return None
    missing = sum(m for _, m in gaps)
    shown = ", ".join(f"after frame {i} ({m})" for i, m in gaps[:limit])
    more = f" and {len(gaps) - limit} more" if len(gaps) > limit else ""
    return (
        f"{name}: {missing} frames dropped in {len(gaps)} gaps ({shown}{more}); the time axis "
        "uses the median frame interval, so frames after a gap are shown earlier than recorded"
    )
