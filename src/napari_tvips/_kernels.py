"""Per-block reductions of virtual imaging: labelled pixel sums, first moments, sum/max patterns.

Two interchangeable engines compute the same exact integers:

- ``"numba"`` (optional extra ``napari-tvips[fast]``): compiled loops that release the GIL. The
  labelled sums process eight frames per pass over the label image, so each label lookup serves
  eight independent accumulators (about 3x a NumPy per-frame sum on this machine, where NumPy's
  best formulation, ``bincount``, is 30x).
- ``"numpy"``: the fallback, with ``bincount`` for many labels and gathered sums for few.

A *label image* gives each detector pixel a bin number in ``[0, n_labels)``: one-pixel rings about
the beam centre for the radial profiles, or 0/1 (outside/inside) for a single detector. The
sums of one frame are accumulated in ``acc_dtype`` (``uint32`` whenever no bin can overflow it).

This module holds no state, reads no files and imports numba only on first use.
"""

from __future__ import annotations

import logging
import os
import time
from functools import cache
from typing import Any, Literal

import numpy as np

__all__ = ["ENGINES", "BlockStats", "acc_dtype", "engine_name", "label_sums", "pattern_stats"]

log = logging.getLogger(__name__)

Engine = Literal["auto", "numba", "numpy"]
#: Engine names accepted by :func:`engine_name` (``"auto"`` picks numba when installed).
ENGINES: tuple[str, ...] = ("auto", "numba", "numpy")


def acc_dtype(max_count: int, dtype: np.dtype) -> np.dtype:
    """``uint32`` if ``max_count`` pixels of ``dtype`` cannot overflow it, else ``uint64``."""
    top = int(np.iinfo(dtype).max) if np.issubdtype(dtype, np.integer) else 2**32
    return np.dtype(np.uint32) if max_count * top < 2**32 else np.dtype(np.uint64)


@cache
def _numba_kernels() -> Any:
    """The compiled kernels module (loaded from numba's cache if there); ``None`` without numba."""
    if os.environ.get("NAPARI_TVIPS_NO_NUMBA"):
        return None
    try:
        t0 = time.perf_counter()
        from . import _kernels_numba
    except ImportError:
        return None
    log.debug("numba kernels imported in %.2f s", time.perf_counter() - t0)
    return _kernels_numba


def engine_name(engine: str = "auto") -> str:
    """The engine that will run: ``"numba"`` or ``"numpy"``.

    Raises
    ------
    ValueError
        For an unknown engine name.
    ImportError
        If ``"numba"`` is asked for and numba is not installed.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")
    if engine == "numpy":
        return "numpy"
    if _numba_kernels() is not None:
        return "numba"
    if engine == "numba":
        raise ImportError("engine='numba' needs numba: pip install 'napari-tvips[fast]'")
    return "numpy"


def label_sums(
    frames: np.ndarray, labels: np.ndarray, n_labels: int, dtype: np.dtype, engine: str = "auto"
) -> np.ndarray:
    """Sum every frame's pixels per label.

    Parameters
    ----------
    frames : numpy.ndarray
        ``(k, dimy, dimx)`` unsigned integer frames.
    labels : numpy.ndarray
        ``(dimy * dimx,)`` int32 bin of each pixel, in ``[0, n_labels)``.
    n_labels : int
        Number of bins.
    dtype : numpy.dtype
        Accumulator and output dtype (see :func:`acc_dtype`).
    engine : str
        ``"auto"``, ``"numba"`` or ``"numpy"``.

    Returns
    -------
    numpy.ndarray
        ``(k, n_labels)`` sums of ``dtype``.
    """
    k = frames.shape[0]
    flat = frames.reshape(k, -1)
    out = np.empty((k, n_labels), dtype=dtype)
    if engine_name(engine) == "numba":
        _numba_kernels().label_sums(flat, labels, out)
        return out
    if n_labels <= 4:
        for i in range(n_labels):
            out[:, i] = flat[:, labels == i].sum(axis=1, dtype=np.uint64)
        return out
    keys = (np.arange(k, dtype=np.int64)[:, None] * n_labels + labels).reshape(-1)
    sums = np.bincount(keys, weights=flat.reshape(-1), minlength=k * n_labels)
    out[...] = sums.reshape(k, n_labels)  # float64 holds these integers exactly (< 2**53)
    return out


class BlockStats:
    """First moments and sum/max patterns of a block of frames (see :func:`pattern_stats`).

    Attributes
    ----------
    moments : numpy.ndarray
        ``(k, 2)`` int64: ``sum(y * I)`` and ``sum(x * I)`` of each frame (pixel indices).
    sum_pattern : numpy.ndarray
        ``(dimy, dimx)`` uint64 sum of the block's frames.
    max_pattern : numpy.ndarray
        ``(dimy, dimx)`` maximum of the block's frames (their dtype).
    """

    def __init__(self, moments: np.ndarray, sum_pattern: np.ndarray, max_pattern: np.ndarray):
        self.moments: np.ndarray = moments
        self.sum_pattern: np.ndarray = sum_pattern
        self.max_pattern: np.ndarray = max_pattern


def pattern_stats(frames: np.ndarray, engine: str = "auto") -> BlockStats:
    """First moments of every frame and the block's sum and maximum patterns.

    Parameters
    ----------
    frames : numpy.ndarray
        ``(k, dimy, dimx)`` unsigned integer frames of at most 16 bits, ``k < 65537``.
    engine : str
        ``"auto"``, ``"numba"`` or ``"numpy"``.
    """
    k, ny, nx = frames.shape
    if engine_name(engine) == "numba":
        moments = np.empty((k, 2), dtype=np.int64)
        total = np.zeros((ny, nx), dtype=np.uint64)
        peak = np.zeros((ny, nx), dtype=frames.dtype)
        _numba_kernels().pattern_stats(frames, moments, total, peak)
        return BlockStats(moments, total, peak)
    rows = frames.sum(axis=2, dtype=np.uint64).astype(np.int64)
    cols = frames.sum(axis=1, dtype=np.uint64).astype(np.int64)
    moments = np.stack([rows @ np.arange(ny), cols @ np.arange(nx)], axis=1)
    if k == 0:
        return BlockStats(moments, np.zeros((ny, nx), np.uint64), np.zeros((ny, nx), frames.dtype))
    return BlockStats(moments, frames.sum(axis=0, dtype=np.uint64), frames.max(axis=0))
