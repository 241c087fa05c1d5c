"""Lazy arrays over a recording: :class:`FrameArray` and the dask arrays built on it.

:class:`FrameArray` is a NumPy-like view of shape ``nav_shape + (dimy, dimx)`` over a
:class:`~napari_tvips._series.Series` through an index map (see :mod:`napari_tvips._scan`).
Indexing it reads only the frames the key selects, so napari can display it directly: moving a
slider reads one frame. :func:`to_dask` wraps it with ``dask.array.from_array``; dask fuses
``x[i]`` into ``FrameArray[i]``, so one frame still reads one frame, while passes over the data
read block-sized runs. The array holds paths, offsets and the index map only (no open files or
memory maps), so it pickles small and computes on ``dask.distributed`` workers.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ._series import Series

__all__ = ["DEFAULT_BLOCK_BYTES", "ArrayLike", "FrameArray", "block_chunks", "to_dask"]

#: Target size of one dask block. Measured on a 2 GiB recording (sum pass): 16 MiB blocks stay
#: in cache between read and reduction; 32 MiB was 20-35% slower, 4 MiB and less pay dask overhead.
DEFAULT_BLOCK_BYTES = 16 << 20


def _is_advanced(k: object) -> bool:
    return isinstance(k, (np.ndarray, list))


class ArrayLike:
    """``size``, ``nbytes`` and ``len()`` of a NumPy-like view from its ``shape`` and ``dtype``.

    Shared by the read-on-index views (:class:`FrameArray`, ``_movie.MovieView``); a subclass
    sets ``shape`` and ``dtype``.
    """

    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def size(self) -> int:
        """Number of pixels."""
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        """Bytes if read in full."""
        return self.size * self.dtype.itemsize

    def __len__(self) -> int:
        return self.shape[0]


class FrameArray(ArrayLike):
    """A read-on-index array of the frames of ``series`` arranged by ``index_map``.

    Parameters
    ----------
    series : Series
        The recording.
    index_map : numpy.ndarray
        Integer array of the navigation shape; values are frame indices.
    """

    def __init__(self, series: Series, index_map: np.ndarray) -> None:
        self.series: Series = series
        self.index_map: np.ndarray = np.ascontiguousarray(index_map, dtype=np.int64)
        if self.index_map.size and (
            self.index_map.min() < 0 or self.index_map.max() >= series.n_frames
        ):
            raise ValueError(
                f"index map refers to frames outside 0..{series.n_frames - 1} of {series}"
            )
        self.dtype: np.dtype = series.dtype
        self.shape: tuple[int, ...] = self.index_map.shape + series.frame_shape
        self.ndim: int = len(self.shape)

    @property
    def nav_shape(self) -> tuple[int, ...]:
        """Shape of the navigation axes."""
        return self.index_map.shape

    def __repr__(self) -> str:
        return f"FrameArray(shape={self.shape}, dtype={self.dtype}, series={self.series!r})"

    def __dask_tokenize__(self) -> tuple[object, ...]:
        digest = hashlib.sha1(self.index_map.tobytes()).hexdigest()
        return ("napari-tvips.FrameArray", self.series.fingerprint(), self.shape, digest)

    def read(self, threads: int = 2) -> np.ndarray:
        """Read everything into one new array (allocated once, filled in place).

        Raises
        ------
        MemoryError
            Before allocating, when the array would not fit in the available memory.
        """
        frames = self.series.read_frames(self.index_map.reshape(-1), threads=threads)
        return frames.reshape(self.shape)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        data = self.read()
        return data if dtype is None else data.astype(dtype, copy=False)

    def __getitem__(self, key: Any) -> np.ndarray:
        key = self._normalize(key)
        nnav = self.index_map.ndim
        nav, sig = key[:nnav], key[nnav:]
        if not any(_is_advanced(k) for k in sig):
            frames = self.index_map[nav]
            block = self.series.read_frames(np.ravel(frames)).reshape(
                np.shape(frames) + self.series.frame_shape
            )
            return block[(Ellipsis, *sig)] if sig else block
        return self._fancy(key)

    def _normalize(self, key: Any) -> tuple[Any, ...]:
        if not isinstance(key, tuple):
            key = (key,)
        if any(k is None for k in key):
            raise IndexError("FrameArray does not support np.newaxis; index the result instead")
        if any(k is Ellipsis for k in key):
            i = next(i for i, k in enumerate(key) if k is Ellipsis)
            fill = (slice(None),) * (self.ndim - len(key) + 1)
            key = key[:i] + fill + key[i + 1 :]
        if len(key) > self.ndim:
            raise IndexError(f"too many indices for an array of {self.ndim} dimensions")
        key = key + (slice(None),) * (self.ndim - len(key))
        out = []
        for k, n in zip(key, self.shape, strict=True):
            if isinstance(k, (list, np.ndarray)):
                k = np.asarray(k)
                if k.dtype == bool:
                    if k.ndim != 1:
                        raise IndexError("only 1-D boolean masks are supported")
                    k = np.flatnonzero(k)
                k = k.astype(np.int64)
                if k.size and (k.min() < -n or k.max() >= n):
                    raise IndexError(f"index out of range for axis of size {n}")
                k = np.where(k < 0, k + n, k)
            elif isinstance(k, (int, np.integer)):
                if not -n <= k < n:
                    raise IndexError(f"index {k} is out of bounds for axis of size {n}")
                k = int(k) % n
            out.append(k)
        return tuple(out)

    def _fancy(self, key: tuple[Any, ...]) -> np.ndarray:
        """General case: read the bounding navigation region, then apply ``key`` with NumPy."""
        nnav = self.index_map.ndim
        region, inner = [], []
        for k in key[:nnav]:
            if isinstance(k, np.ndarray):
                lo = int(k.min()) if k.size else 0
                hi = int(k.max()) + 1 if k.size else 0
                region.append(slice(lo, hi))
                inner.append(k - lo)
            elif isinstance(k, int):
                region.append(slice(k, k + 1))
                inner.append(0)
            else:
                region.append(k)
                inner.append(slice(None))
        block = self[tuple(region)]
        return block[(*inner, *key[nnav:])]


def block_chunks(
    shape: tuple[int, ...], itemsize: int, limit: int = DEFAULT_BLOCK_BYTES
) -> tuple[int, ...]:
    """Chunks of whole frames, contiguous in the file (last navigation axes first), <= ``limit``.

    The two signal axes are never split.
    """
    frame = shape[-2] * shape[-1] * itemsize
    chunks = list(shape[-2:])
    budget = max(limit // max(frame, 1), 1)
    nav = []
    for n in reversed(shape[:-2]):
        take = max(min(n, budget), 1)
        nav.append(take)
        budget = max(budget // n, 1) if take == n else 1
    return (*reversed(nav), *chunks)


def resolve_chunks(
    rechunking: bool | str | Mapping[int, Any] | tuple[Any, ...] | int,
    shape: tuple[int, ...],
    dtype: np.dtype,
) -> tuple[tuple[int, ...], ...]:
    """Turn RosettaSciIO's ``rechunking`` argument into explicit dask chunks.

    ``"auto"``/``True``/``False`` use :func:`block_chunks` (whole frames, contiguous runs);
    a dict maps axes to dask chunk specs (``None`` keeps our default for that axis); anything
    else is handed to :func:`dask.array.core.normalize_chunks`.
    """
    from dask.array.core import normalize_chunks

    default = block_chunks(shape, dtype.itemsize)
    if rechunking is True or rechunking is False or rechunking == "auto" or rechunking is None:
        spec: Any = default
    elif isinstance(rechunking, Mapping):
        spec = list(default)
        for axis, value in rechunking.items():
            axis = int(axis) % len(shape)
            spec[axis] = default[axis] if value is None else value
        spec = tuple(spec)
    else:
        spec = rechunking
    return normalize_chunks(spec, shape, dtype=dtype, limit=DEFAULT_BLOCK_BYTES * 4)


def to_dask(frames: FrameArray, rechunking: Any = "auto") -> Any:
    """Wrap ``frames`` in a dask array whose blocks are read with few system calls.

    Parameters
    ----------
    frames : FrameArray
        The view to wrap.
    rechunking : bool, str, dict or chunks
        See :func:`resolve_chunks`.

    Returns
    -------
    dask.array.Array
    """
    import dask.array as da

    chunks = resolve_chunks(rechunking, frames.shape, frames.dtype)
    return da.from_array(
        frames, chunks=chunks, asarray=False, meta=np.empty((0,) * frames.ndim, frames.dtype)
    )
