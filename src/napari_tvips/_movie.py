"""Lazy movie views of a recording: frame range, bad frames, summing, binning, drift correction.

:class:`MovieView` is a NumPy-like array of shape ``(n_out, dimy // k, dimx // k)`` over a
:class:`~napari_tvips._series.Series`, like :class:`~napari_tvips._lazy.FrameArray` for scans:
indexing it reads only the source frames the selected output frames are made of, so napari can
display it directly and a change of settings builds a new view without reading anything.

An output frame is made from source frames in four steps, in this order:

1. **select**: the frames of ``frames`` (a slice of the recording), minus the ``bad`` frames;
2. **shift**: each source frame moved by its drift correction ``shifts[i] = (dy, dx)`` (the
   shift that registers it onto the reference; see :mod:`napari_tvips._drift`), by whole pixels
   or, with ``subpixel``, by linear interpolation; pixels shifted in from outside are 0;
3. **sum**: every ``sum_frames`` consecutive selected frames are summed (or averaged), trailing
   frames that do not fill a group are left out;
4. **bin**: ``binning x binning`` pixel blocks are summed (or averaged); rows and columns that do
   not fill a block are cropped.

With ``read_ahead=k``, reading one frame starts reading the next ``k`` in a background thread,
so forward playback finds them ready (``benchmarks/bench_movie.py``: napari's play of 2k frames
drew 18 instead of 14 frames/s here; at 4k, napari's display, not the read, is the limit).

Sums of integer frames stay integers (``uint32``, or ``uint64`` where ``uint32`` could
overflow); averages and sub-pixel shifts give ``float32``. This module imports no Qt or napari.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ._lazy import ArrayLike
from ._series import Series

__all__ = ["MovieSettings", "MovieView", "bin_frames", "shift_frame"]


@dataclass(frozen=True)
class MovieSettings:
    """How a movie is derived from a recording (see the module docstring for the order).

    Attributes
    ----------
    frames : slice
        Source frames to use (``slice(None)``: all).
    sum_frames : int
        Consecutive (good) frames summed into one output frame.
    binning : int
        Side of the square pixel blocks summed into one output pixel.
    average : bool
        Average instead of summing (both over frames and pixel blocks).
    bad : tuple of int
        Source frames left out (e.g. frames hit by a flash, or a range picked on a plot).
    shifts : numpy.ndarray or None
        ``(n_frames, 2)`` drift corrections ``(dy, dx)`` in source pixels, one per source frame.
    subpixel : bool
        Apply fractional shifts by linear interpolation (else shifts are rounded).
    """

    frames: slice = field(default_factory=lambda: slice(None))
    sum_frames: int = 1
    binning: int = 1
    average: bool = False
    bad: tuple[int, ...] = ()
    shifts: np.ndarray | None = field(default=None, compare=False)
    subpixel: bool = False

    def with_(self, **changes: Any) -> MovieSettings:
        """A copy with ``changes`` applied."""
        return replace(self, **changes)


def bin_frames(
    block: np.ndarray, k: int, *, average: bool = False, dtype: Any = None
) -> np.ndarray:
    """Sum (or average) ``k x k`` pixel blocks of the last two axes, cropping the remainder."""
    if k == 1:
        return block if dtype is None else block.astype(dtype, copy=False)
    h, w = block.shape[-2] // k, block.shape[-1] // k
    view = block[..., : h * k, : w * k].reshape(*block.shape[:-2], h, k, w, k)
    out = view.sum(axis=(-3, -1), dtype=dtype if dtype is not None else None)
    if average:
        out = (out / (k * k)).astype(np.float32, copy=False)
    return out


def shift_frame(frame: np.ndarray, shift: Sequence[float], *, subpixel: bool) -> np.ndarray:
    """``frame`` moved by ``shift = (dy, dx)`` pixels; pixels from outside the frame are 0.

    Whole-pixel shifts copy a slice (exact, any dtype); with ``subpixel`` fractional shifts use
    linear interpolation (``scipy.ndimage.shift``, ``order=1``) and return ``float32``.
    """
    dy, dx = (float(s) for s in shift)
    if subpixel and (dy != int(dy) or dx != int(dx)):
        from scipy.ndimage import shift as nd_shift

        return nd_shift(
            frame.astype(np.float32, copy=False), (dy, dx), order=1, mode="constant", cval=0.0
        )
    iy, ix = math.floor(dy + 0.5), math.floor(dx + 0.5)  # half away from -inf, not to even
    if iy == 0 and ix == 0:
        return frame
    out = np.zeros_like(frame)
    h, w = frame.shape
    if abs(iy) >= h or abs(ix) >= w:
        return out
    src_y = slice(max(-iy, 0), h - max(iy, 0))
    dst_y = slice(max(iy, 0), h - max(-iy, 0))
    src_x = slice(max(-ix, 0), w - max(ix, 0))
    dst_x = slice(max(ix, 0), w - max(-ix, 0))
    out[dst_y, dst_x] = frame[src_y, src_x]
    return out


def _sum_dtype(dtype: np.dtype, count: int) -> np.dtype:
    """Integer dtype that holds sums of ``count`` values of ``dtype`` without overflow."""
    if dtype.kind == "f":
        return np.dtype(np.float64)
    top = float(np.iinfo(dtype).max) * count
    return np.dtype(np.uint32) if top <= np.iinfo(np.uint32).max else np.dtype(np.uint64)


class MovieView(ArrayLike):
    """A read-on-index movie derived from ``series`` by ``settings`` (see module docstring).

    Parameters
    ----------
    series : Series
        The recording.
    settings : MovieSettings, optional
        Frame range, bad frames, summing, binning, drift correction.

    Attributes
    ----------
    members : numpy.ndarray
        ``(n_out, sum_frames)`` source frame indices of each output frame.
    """

    def __init__(
        self, series: Series, settings: MovieSettings | None = None, *, read_ahead: int = 0
    ) -> None:
        s = settings or MovieSettings()
        if s.sum_frames < 1 or s.binning < 1:
            raise ValueError(
                f"sum_frames and binning must be >= 1, got {s.sum_frames} and {s.binning}"
            )
        n = series.n_frames
        selected = np.arange(n, dtype=np.int64)[s.frames]
        if s.bad:
            selected = selected[~np.isin(selected, np.asarray(s.bad, dtype=np.int64))]
        n_out = selected.size // s.sum_frames
        if n_out == 0:
            raise ValueError(
                f"{series.parts[0].path}: {selected.size} usable frames in {s.frames} cannot make "
                f"one sum of {s.sum_frames}"
            )
        if s.shifts is not None and np.shape(s.shifts) != (n, 2):
            raise ValueError(f"shifts must have shape ({n}, 2), one (dy, dx) per frame")
        if s.shifts is not None and not np.all(np.isfinite(s.shifts)):
            raise ValueError("shifts must be finite numbers (no NaN or infinity)")
        dimy, dimx = series.frame_shape
        if s.binning > min(dimy, dimx):
            raise ValueError(f"binning {s.binning} is larger than the frame ({dimy} x {dimx})")
        self.series: Series = series
        self.settings: MovieSettings = s
        self.members: np.ndarray = selected[: n_out * s.sum_frames].reshape(n_out, s.sum_frames)
        self.shape: tuple[int, int, int] = (n_out, dimy // s.binning, dimx // s.binning)
        self.ndim: int = 3
        self.dtype: np.dtype = self._result_dtype()
        self.read_ahead: int = max(int(read_ahead), 0)
        self._pool: ThreadPoolExecutor | None = None
        self._pending: dict[int, Future[np.ndarray]] = {}
        self._lock = threading.Lock()

    def _result_dtype(self) -> np.dtype:
        s = self.settings
        fractional = (
            s.subpixel and s.shifts is not None and bool(np.any(s.shifts != np.round(s.shifts)))
        )
        if s.average or fractional:
            return np.dtype(np.float32)
        count = s.sum_frames * s.binning**2
        return self.series.dtype if count == 1 else _sum_dtype(self.series.dtype, count)

    # -- array protocol (size, nbytes and len() from ArrayLike) ------------------------------
    def __repr__(self) -> str:
        return f"MovieView(shape={self.shape}, dtype={self.dtype}, settings={self.settings})"

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        data = self.read(range(self.shape[0]))
        return data if dtype is None else data.astype(dtype, copy=False)

    def __getitem__(self, key: Any) -> np.ndarray:
        if not isinstance(key, tuple):
            key = (key,)
        if any(k is None or k is Ellipsis for k in key):
            key = tuple(k for k in key if k is not Ellipsis)
            if any(k is None for k in key):
                raise IndexError("MovieView does not support np.newaxis; index the result")
        first, rest = (key[0], key[1:]) if key else (slice(None), ())
        n = self.shape[0]
        if isinstance(first, (int, np.integer)):
            if not -n <= first < n:
                raise IndexError(f"index {first} is out of bounds for {n} movie frames")
            return self.read([int(first) % n])[0][rest]
        idx = np.arange(n)[first if isinstance(first, slice) else np.asarray(first)]
        return self.read(idx)[(slice(None), *rest)]

    # -- reading ---------------------------------------------------------------------------
    def source_frames(self, out_index: int) -> np.ndarray:
        """Source frame indices summed into output frame ``out_index``."""
        return self.members[out_index]

    def read(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """Compute the output frames ``indices`` (reads only their source frames)."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        if idx.size == 1 and self.read_ahead:
            return self._read_ahead(int(idx[0]))[None]
        s = self.settings
        if s.sum_frames * s.binning == 1 and s.shifts is None:  # plain frames: read in place
            if idx.size and (idx.min() < 0 or idx.max() >= self.shape[0]):
                raise IndexError(f"movie frame index out of range for {self.shape[0]} frames")
            return self.series.read_frames(self.members[idx, 0])
        out = np.empty((idx.size, *self.shape[1:]), dtype=self.dtype)
        for j, i in enumerate(idx):
            out[j] = self._frame(int(i))
        return out

    def _read_ahead(self, i: int) -> np.ndarray:
        """Frame ``i`` (from the prefetch if it was read ahead); then read the next frames.

        One background thread reads the ``read_ahead`` frames after ``i`` (wrapping around, as
        napari's looping playback does) while the caller displays ``i``; frames outside that
        window are dropped, so at most ``read_ahead`` extra frames are held.
        """
        with self._lock:
            future = self._pending.pop(i, None)
        frame = future.result() if future is not None else self._frame(i)
        n = self.shape[0]
        wanted = [(i + k) % n for k in range(1, self.read_ahead + 1)]
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="tvips-read-ahead")
            for stale in set(self._pending) - set(wanted):
                self._pending.pop(stale).cancel()
            for k in wanted:
                if k not in self._pending and k != i:
                    self._pending[k] = self._pool.submit(self._frame, k)
        return frame

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.update(_pool=None, _pending={}, _lock=None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __del__(self) -> None:
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def _frame(self, i: int) -> np.ndarray:
        s = self.settings
        members = self.members[i]
        raw = self.series.read_frames(members)
        count = s.sum_frames * s.binning**2
        if s.shifts is not None:
            frames = [
                shift_frame(f, s.shifts[m], subpixel=s.subpixel)
                for f, m in zip(raw, members, strict=True)
            ]
        else:
            frames = list(raw)
        if self.dtype.kind == "f":
            acc = np.zeros(self.series.frame_shape, dtype=np.float64)
            for f in frames:
                acc += f
            total = bin_frames(acc, s.binning)
            if s.average:
                total = total / count
            return total.astype(self.dtype, copy=False)
        if count == 1:
            return frames[0]
        acc = np.zeros(self.series.frame_shape, dtype=self.dtype)
        for f in frames:
            acc += f
        return bin_frames(acc, s.binning, dtype=self.dtype)

    # -- time ------------------------------------------------------------------------------
    def times(self) -> np.ndarray:
        """Seconds since the recording's first frame of each output frame (mean of its members)."""
        from ._time import frame_times

        t = frame_times(self.series)["time"]
        return t[self.members].mean(axis=1)

    def __dask_tokenize__(self) -> tuple[object, ...]:
        import hashlib

        s = self.settings
        shifts = b"" if s.shifts is None else np.ascontiguousarray(s.shifts).tobytes()
        digest = hashlib.sha1(self.members.tobytes() + shifts).hexdigest()
        return (
            "napari-tvips.MovieView",
            self.series.fingerprint(),
            s.binning,
            s.average,
            s.subpixel,
            digest,
        )
