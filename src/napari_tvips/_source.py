"""What exporters read: :class:`ExportSource` (frames in scan order plus their calibration).

An export source is built from a recording's path (through :func:`~napari_tvips.file_reader`, so
scan arguments, axes and metadata are exactly the reader's) or from a RosettaSciIO-style signal
dict (our reader's, a napari layer's, or any other with unsigned or float frames). When the data
are a recording's frames (a :class:`~napari_tvips.FrameArray`, or the dask array our reader
wraps around one), blocks are read straight from the files with few system calls, and the
:class:`TileReader` sent to ``dask.distributed`` workers pickles to a few hundred bytes.

:func:`run_tiles` streams tiles of the navigation space through a worker function on a small
thread pool (reads, transforms, compression and ``pwrite`` release the GIL), keeping at most a
few tiles in memory. No napari, no file writing here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from ._lazy import FrameArray
from ._transform import Transform

__all__ = ["ExportSource", "TileReader", "frame_array_of", "run_tiles", "tiles"]

T = TypeVar("T")
Key = tuple[slice, ...]
#: Threads streaming tiles (2 cores here; reads, blosc and pwrite release the GIL).
DEFAULT_THREADS = 2


def frame_array_of(data: Any) -> FrameArray | None:
    """The :class:`FrameArray` behind ``data`` (itself, or our reader's untouched dask array)."""
    if isinstance(data, FrameArray):
        return data
    graph_of = getattr(data, "__dask_graph__", None)
    if graph_of is None:
        return None
    graph = graph_of()
    layers = getattr(graph, "layers", {})
    name = getattr(data, "name", None)
    if len(layers) != 2 or f"original-{name}" not in layers:
        return None  # sliced, rechunked or computed on: not the plain frames any more
    original = graph.get(f"original-{name}")
    if isinstance(original, FrameArray) and original.shape == tuple(data.shape):
        return original
    return None


@dataclass(frozen=True)
class TileReader:
    """Reads a navigation tile and transforms it; small and picklable (for cluster workers)."""

    data: Any
    transform: Transform

    def __call__(self, key: Key) -> np.ndarray:
        """The transformed patterns of ``key``: ``tile shape + output frame shape``."""
        block = self.data[key]
        if not isinstance(block, np.ndarray):
            block = np.asarray(block.compute() if hasattr(block, "compute") else block)
        return self.transform.apply(block)


@dataclass
class ExportSource:
    """Frames in scan order with RosettaSciIO-style axes and metadata.

    Attributes
    ----------
    data : array-like
        ``nav_shape + (dimy, dimx)``: a FrameArray, dask or NumPy array.
    axes : list of dict
        One RosettaSciIO axis dict per data axis (``name``, ``units``, ``scale``, ``offset``,
        ``size``, ``navigate``).
    metadata, original_metadata : dict
        RosettaSciIO-style trees (``original_metadata`` may hold ``tvips_header``,
        ``frame_headers`` and ``frame_index``).
    name : str
        Title of the data (the recording's name).
    frames : FrameArray or None
        The recording's frames when ``data`` are exactly those.
    """

    data: Any
    axes: list[dict[str, Any]]
    metadata: dict[str, Any] = field(default_factory=dict)
    original_metadata: dict[str, Any] = field(default_factory=dict)
    name: str = ""
    frames: FrameArray | None = None

    @classmethod
    def from_signal(cls, signal: Mapping[str, Any]) -> ExportSource:
        """Wrap a RosettaSciIO signal dict (``data``, ``axes``, ``metadata``, ...).

        Raises
        ------
        ValueError
            If the data are not stacks of 2-D frames or the axes do not match them.
        """
        data = signal["data"]
        shape = tuple(int(n) for n in data.shape)
        if len(shape) < 2:
            raise ValueError(f"export needs 2-D frames, but the data have shape {shape}")
        axes = [dict(a) for a in signal.get("axes") or []] or [
            {"name": "", "units": "", "scale": 1.0, "offset": 0.0, "navigate": i < len(shape) - 2}
            for i in range(len(shape))
        ]
        if len(axes) != len(shape):
            raise ValueError(f"signal has {len(axes)} axes but its data have shape {shape}")
        n_sig = sum(1 for a in axes if not a.get("navigate", True))
        if n_sig != 2 or any(not a.get("navigate", True) for a in axes[:-2]):
            raise ValueError(
                f"export needs the last two axes to be the pattern (signal) axes; these axes "
                f"have navigate = {[bool(a.get('navigate')) for a in axes]}"
            )
        for ax, n in zip(axes, shape, strict=True):
            ax["size"] = n
        metadata = dict(signal.get("metadata") or {})
        original = dict(signal.get("original_metadata") or {})
        title = (metadata.get("General") or {}).get("title") or ""
        if not title:
            filename = (metadata.get("General") or {}).get("original_filename") or ""
            title = filename.rsplit(".", 1)[0].removesuffix("_000")
        return cls(data, axes, metadata, original, str(title), frame_array_of(data))

    # -- shape -------------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        """Data shape."""
        return tuple(int(n) for n in self.data.shape)

    @property
    def nav_shape(self) -> tuple[int, ...]:
        """Navigation shape (``()`` for one frame)."""
        return self.shape[:-2]

    @property
    def frame_shape(self) -> tuple[int, int]:
        """Input frame shape."""
        return self.shape[-2], self.shape[-1]

    @property
    def dtype(self) -> np.dtype:
        """Input pixel dtype."""
        return np.dtype(self.data.dtype)

    @property
    def n_frames(self) -> int:
        """Number of patterns."""
        return math.prod(self.nav_shape)

    def reader(self, transform: Transform) -> TileReader:
        """A picklable tile reader applying ``transform``."""
        return TileReader(self.frames if self.frames is not None else self.data, transform)

    def output_axes(self, transform: Transform) -> list[dict[str, Any]]:
        """The axes after ``transform`` (signal axes cropped and binned)."""
        axes = [dict(a) for a in self.axes]
        axes[-2] = transform.signal_axis(axes[-2], 0)
        axes[-1] = transform.signal_axis(axes[-1], 1)
        return axes


def nav_chunks(
    nav_shape: tuple[int, ...], frame_bytes: int, target: int, *, square: bool
) -> tuple[int, ...]:
    """Navigation chunk shape holding about ``target`` bytes of whole frames.

    ``square=False`` gives runs contiguous in scan order (last axes first); ``square=True``
    gives tiles as square as powers of two allow in the last two axes (for 2-D access).
    """
    budget = max(target // max(frame_bytes, 1), 1)
    if not nav_shape:
        return ()
    if square and len(nav_shape) >= 2:
        side = 1 << int(math.log2(math.isqrt(budget) or 1))
        cx = min(nav_shape[-1], max(budget // side, 1))
        cy = min(nav_shape[-2], max(budget // cx, 1))
        return (1,) * (len(nav_shape) - 2) + (cy, cx)
    out = []
    for n in reversed(nav_shape):
        take = max(min(n, budget), 1)
        out.append(take)
        budget = max(budget // n, 1) if take == n else 1
    return tuple(reversed(out))


def tiles(nav_shape: tuple[int, ...], chunks: tuple[int, ...]) -> Iterator[Key]:
    """Keys of the chunk grid of ``nav_shape`` in C order (``()`` once for a single frame)."""
    counts = [math.ceil(n / c) for n, c in zip(nav_shape, chunks, strict=True)]
    for index in np.ndindex(*counts):
        yield tuple(
            slice(i * c, min((i + 1) * c, n))
            for i, c, n in zip(index, chunks, nav_shape, strict=True)
        )


def tile_size(key: Key) -> int:
    """Frames in a tile."""
    return math.prod(s.stop - s.start for s in key)


def run_tiles(
    work: Callable[[Key], T],
    keys: Sequence[Key],
    *,
    threads: int = DEFAULT_THREADS,
    progress: Callable[[int], None] | None = None,
) -> list[T]:
    """``[work(k) for k in keys]`` on ``threads`` threads, at most ``threads + 1`` in flight.

    ``progress(n)`` is called with each finished tile's frame count, in order. The first
    exception stops the run (pending tiles are cancelled) and is raised.
    """
    if threads <= 1:
        out = []
        for key in keys:
            out.append(work(key))
            if progress is not None:
                progress(tile_size(key))
        return out
    results: list[T] = []
    with ThreadPoolExecutor(threads, thread_name_prefix="tvips-export") as pool:
        pending: list[tuple[Key, Future[T]]] = []
        it = iter(keys)
        try:
            for key in it:
                pending.append((key, pool.submit(work, key)))
                if len(pending) > threads:
                    done_key, fut = pending.pop(0)
                    results.append(fut.result())
                    if progress is not None:
                        progress(tile_size(done_key))
            while pending:
                done_key, fut = pending.pop(0)
                results.append(fut.result())
                if progress is not None:
                    progress(tile_size(done_key))
        except BaseException:
            for _key, fut in pending:
                fut.cancel()
            raise
    return results
