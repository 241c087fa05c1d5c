"""Per-frame virtual detector values (total, bright field, annular dark field), streamed.

A virtual image of a scan is one number per frame, so it is computed once per recording and
detector geometry and then only re-indexed by an index map when the scan shape, start, winding or
hysteresis change. :func:`iter_frame_values` streams over the frames in blocks read with
:meth:`Series.read_frames <napari_tvips._series.Series.read_frames>` into reused buffers and
reduces each block with one product against the detector masks (``uint -> float32`` copy plus
``einsum``, faster here than BLAS or masked integer sums). :class:`FrameValues` keeps
the results of one recording and knows which frames are done.

The scan widget's navigator now uses :class:`~napari_tvips._imager.VirtualImager` (one pass, then
any radius at once); :func:`estimate_centre` and :class:`Detector` serve both, and the per-frame
values here remain a small, dependency-free reference (suggestion tests and benchmarks use them).

This module must not import Qt, napari or magicgui, must not hold more than ``threads`` blocks of
pixels at a time, and never modifies the recording.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ._series import Series

__all__ = [
    "CHANNELS",
    "Detector",
    "FrameValues",
    "detector_masks",
    "estimate_centre",
    "frame_values",
    "iter_frame_values",
]

log = logging.getLogger(__name__)

#: Names of the value columns, in order.
CHANNELS: tuple[str, ...] = ("total", "bf", "adf")
#: Bytes of pixels per block: 64 frames of 256 x 256 u16 (small blocks stay in cache).
DEFAULT_BLOCK_BYTES = 8 << 20


@dataclass(frozen=True)
class Detector:
    """Virtual detector geometry in detector pixels.

    Parameters
    ----------
    centre : tuple of float
        ``(y, x)`` of the pattern centre.
    bf_radius : float
        Radius of the bright-field disk.
    adf_inner, adf_outer : float
        Radii of the annular dark-field ring (inner inclusive, outer exclusive).
    """

    centre: tuple[float, float]
    bf_radius: float
    adf_inner: float
    adf_outer: float

    @classmethod
    def default(
        cls, frame_shape: tuple[int, int], centre: tuple[float, float] | None = None
    ) -> Detector:
        """Radii scaled to the frame: BF 1/10 of the smaller side, ADF from 1/6 to 1/2."""
        side = float(min(frame_shape))
        c = centre if centre is not None else ((frame_shape[0] - 1) / 2, (frame_shape[1] - 1) / 2)
        return cls((float(c[0]), float(c[1])), side / 10, side / 6, side / 2)


def detector_masks(frame_shape: tuple[int, int], detector: Detector) -> np.ndarray:
    """Weights of shape ``(dimy * dimx, 3)`` (float32): ones, BF disk, ADF ring."""
    yy, xx = np.indices(frame_shape, dtype=np.float64)
    r = np.hypot(yy - detector.centre[0], xx - detector.centre[1]).reshape(-1)
    weights = np.empty((r.size, len(CHANNELS)), dtype=np.float32)
    weights[:, 0] = 1
    weights[:, 1] = r <= detector.bf_radius
    weights[:, 2] = (r >= detector.adf_inner) & (r < detector.adf_outer)
    return weights


def estimate_centre(
    series: Series, n: int = 8, frames: np.ndarray | None = None
) -> tuple[float, float]:
    """Pattern centre from the mean of ``n`` frames spread over the recording (or ``frames``).

    The centre of mass of the pixels above the midpoint between the mean frame's median and
    maximum (the bright disk); the frame centre when the mean frame is flat.
    """
    dimy, dimx = series.frame_shape
    pool = np.arange(series.n_frames) if frames is None else np.asarray(frames).reshape(-1)
    picks = np.unique(pool[np.linspace(0, pool.size - 1, min(n, pool.size)).astype(int)])
    mean = series.read_frames(picks).mean(axis=0, dtype=np.float64)
    lo, hi = float(np.median(mean)), float(mean.max())
    if hi <= lo:
        return (dimy - 1) / 2, (dimx - 1) / 2
    weight = np.clip(mean - (lo + hi) / 2, 0, None)
    total = weight.sum()
    yy, xx = np.indices(mean.shape)
    return float((weight * yy).sum() / total), float((weight * xx).sum() / total)


def _block_frames(series: Series, block: int | None) -> int:
    if block:
        return max(int(block), 1)
    frame = max(series.header.frame_bytes, 1)
    return max(DEFAULT_BLOCK_BYTES // frame, 1)


def iter_frame_values(
    series: Series,
    detector: Detector,
    *,
    start: int = 0,
    stop: int | None = None,
    block: int | None = None,
    threads: int = 1,
) -> Iterator[tuple[slice, np.ndarray]]:
    """Yield ``(frame_slice, values)`` for consecutive blocks of frames, in order.

    Parameters
    ----------
    series : Series
        The recording.
    detector : Detector
        Virtual detector geometry.
    start, stop : int
        Frame range (default: all frames).
    block : int, optional
        Frames per block (default: about 32 MiB of pixels).
    threads : int
        Blocks read and reduced concurrently (NumPy and BLAS release the GIL).

    Yields
    ------
    tuple
        The frames of the block as a slice, and ``(n, 3)`` float64 values (see :data:`CHANNELS`).
    """
    stop = series.n_frames if stop is None else min(stop, series.n_frames)
    nblock = _block_frames(series, block)
    weights = detector_masks(series.frame_shape, detector)
    npix = weights.shape[0]
    weights_t = np.ascontiguousarray(weights.T)
    local = threading.local()

    def work(lo: int) -> tuple[slice, np.ndarray]:
        hi = min(lo + nblock, stop)
        if getattr(local, "raw", None) is None:
            local.raw = np.empty((nblock, *series.frame_shape), dtype=series.dtype)
            local.flt = np.empty((nblock, npix), dtype=np.float32)
        raw = series.read_frames(np.arange(lo, hi), out=local.raw[: hi - lo])
        flt = local.flt[: hi - lo]
        np.copyto(flt, raw.reshape(hi - lo, npix), casting="unsafe")
        # einsum beats BLAS here: a (k, npix) @ (npix, 3) product is a skinny, memory-bound GEMM
        return slice(lo, hi), np.einsum("kp,cp->kc", flt, weights_t).astype(np.float64)

    starts = range(start, stop, nblock)
    if threads <= 1:
        for lo in starts:
            yield work(lo)
        return
    with ThreadPoolExecutor(threads) as pool:
        pending = []
        it = iter(starts)
        for lo in it:
            pending.append(pool.submit(work, lo))
            if len(pending) >= threads:
                break
        while pending:
            result = pending.pop(0).result()
            nxt = next(it, None)
            if nxt is not None:
                pending.append(pool.submit(work, nxt))
            yield result


def frame_values(
    series: Series,
    detector: Detector,
    *,
    block: int | None = None,
    threads: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """All per-frame values at once: ``(n_frames, 3)`` float64 (see :func:`iter_frame_values`).

    ``progress(done, total)`` is called after each block.
    """
    out = np.empty((series.n_frames, len(CHANNELS)), dtype=np.float64)
    for sl, values in iter_frame_values(series, detector, block=block, threads=threads):
        out[sl] = values
        if progress is not None:
            progress(sl.stop, series.n_frames)
    return out


class FrameValues:
    """Cached per-frame values of one recording and detector, filled block by block.

    Parameters
    ----------
    n_frames : int
        Frames in the recording.
    detector : Detector
        The geometry the values belong to.
    """

    def __init__(self, n_frames: int, detector: Detector) -> None:
        self.detector: Detector = detector
        self.values: np.ndarray = np.full((n_frames, len(CHANNELS)), np.nan)
        self.done: int = 0  # frames [0, done) are complete

    @property
    def n_frames(self) -> int:
        """Frames covered (done or not)."""
        return self.values.shape[0]

    @property
    def complete(self) -> bool:
        """Whether every frame has its values."""
        return self.done >= self.n_frames

    def grow(self, n_frames: int) -> None:
        """Make room for frames added to a recording still being written (keeps done values)."""
        if n_frames > self.n_frames:
            extra = np.full((n_frames - self.n_frames, len(CHANNELS)), np.nan)
            self.values = np.concatenate([self.values, extra])

    def store(self, frames: slice, values: np.ndarray) -> None:
        """Store a block's values (blocks arrive in order)."""
        self.values[frames] = values
        self.done = max(self.done, frames.stop)

    def channel(self, name: str) -> np.ndarray:
        """One column by name (``"total"``, ``"bf"``, ``"adf"``)."""
        return self.values[:, CHANNELS.index(name)]

    def image(self, name: str, index_map: np.ndarray) -> np.ndarray:
        """The virtual image of ``index_map`` (NaN where frames are not done yet)."""
        return self.channel(name)[index_map]
