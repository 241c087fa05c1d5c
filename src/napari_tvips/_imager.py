"""Virtual imaging of a scan: one streaming pass, then disks, rings and CoM without re-reading.

:class:`VirtualImager` reads the frames of an index map once, in blocks, and keeps per frame
what later images need: the sums of one-pixel rings about the beam centre (stored cumulatively,
so a disk is one row and a ring the difference of two), the first moments (centre of mass), and
the sum and maximum patterns of the whole scan. After :meth:`VirtualImager.run`, any disk or
annulus about the centre and the centre of mass cost a gather over the frames (well under a
millisecond per thousand frames). Rectangle, point and off-centre detectors, and patterns of a
region of the scan, stream the frames they need again, like the first pass.

Detector pixels follow one rule for every detector: a pixel at distance ``d`` from the centre
is in ring ``floor(d)``; the disk of radius ``r`` holds the rings ``k < r`` and the annulus
``inner <= k < outer`` (radii act in whole one-pixel rings). A rectangle ``(y0, x0, y1, x1)``
holds the pixels with ``y0 <= y < y1`` and ``x0 <= x < x1``; a point is the pixel nearest to it.
Sums are exact integers (``uint32``/``uint64`` accumulation), returned as float64.

Passes run in threads (numba kernels or NumPy release the GIL), or as tasks on a
``dask.distributed`` cluster when a client is active (a :class:`~napari_tvips.Series` pickles
to a few hundred bytes). Memory is the kept results (about ``4 * rings + 16`` bytes per frame)
plus one block of frames per thread. A pass can be interrupted (:meth:`VirtualImager.cancel`,
``KeyboardInterrupt``, or closing the generator of :meth:`VirtualImager.iter_run`); frames done
stay done. This module imports no Qt or napari.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Any

import numpy as np

from ._cluster import active_client
from ._errors import TvipsError
from ._kernels import BlockStats, acc_dtype, engine_name, label_sums, pattern_stats
from ._series import Series
from ._virtual import estimate_centre

__all__ = ["DETECTORS", "PassCancelled", "VirtualImager", "coarse_to_fine", "detector_mask"]

log = logging.getLogger(__name__)

#: Detector kinds understood by :meth:`VirtualImager.image`.
DETECTORS: tuple[str, ...] = ("disk", "annulus", "rectangle", "point")
#: Bytes of pixels per block and thread (64 frames of 256 x 256 u16 stay in cache).
BLOCK_BYTES = 8 << 20
#: Bytes of pixels per task on a dask.distributed cluster.
TASK_BYTES = 64 << 20
#: Mask-pass images kept per imager (keyed by detector).
_CACHE_SIZE = 16

Progress = Callable[[int, int], object]


class PassCancelled(TvipsError):
    """A pass over the frames was stopped by :meth:`VirtualImager.cancel`."""


# -- detectors -------------------------------------------------------------------------------
def _rings(shape: tuple[int, int], centre: tuple[float, float]) -> np.ndarray:
    """Ring index ``floor(distance)`` of every pixel (int32, ``shape``)."""
    yy, xx = np.indices(shape, dtype=np.float64)
    return np.floor(np.hypot(yy - centre[0], xx - centre[1])).astype(np.int32)


def _ring_index(radius: float) -> int:
    """Number of whole rings ``k`` with ``k < radius``."""
    return max(math.ceil(float(radius)), 0)


def _nearest_pixel(at: Sequence[float], shape: tuple[int, int]) -> tuple[int, int]:
    y, x = (math.floor(float(v) + 0.5) for v in at)
    if not (0 <= y < shape[0] and 0 <= x < shape[1]):
        raise ValueError(f"point {tuple(at)} is outside the {shape[0]} x {shape[1]} detector")
    return y, x


def detector_mask(
    shape: tuple[int, int],
    kind: str,
    *,
    centre: tuple[float, float] | None = None,
    radius: float | None = None,
    inner: float | None = None,
    outer: float | None = None,
    box: Sequence[float] | None = None,
    at: Sequence[float] | None = None,
) -> np.ndarray:
    """Boolean mask of a detector on frames of ``shape`` (rules in the module docstring).

    Parameters
    ----------
    shape : tuple of int
        ``(dimy, dimx)``.
    kind : {"disk", "annulus", "rectangle", "point"}
        Detector kind.
    centre : tuple of float
        ``(y, x)`` of a disk or annulus.
    radius : float
        Disk radius (pixels).
    inner, outer : float
        Annulus radii (pixels).
    box : sequence of float
        Rectangle ``(y0, x0, y1, x1)``.
    at : sequence of float
        Point ``(y, x)``.

    Raises
    ------
    ValueError
        For an unknown kind or missing / inconsistent parameters.
    """
    if kind in ("disk", "annulus"):
        if centre is None:
            raise ValueError(f"a {kind} detector needs a centre")
        k = _rings(shape, centre)
        if kind == "disk":
            if radius is None:
                raise ValueError("a disk detector needs radius=")
            return k < _ring_index(radius)
        if inner is None or outer is None:
            raise ValueError("an annulus detector needs inner= and outer=")
        if outer < inner:
            raise ValueError(f"annulus outer radius {outer} is smaller than inner radius {inner}")
        return (k >= _ring_index(inner)) & (k < _ring_index(outer))
    if kind == "rectangle":
        if box is None or len(box) != 4:
            raise ValueError("a rectangle detector needs box=(y0, x0, y1, x1)")
        y0, x0, y1, x1 = (float(v) for v in box)
        yy, xx = np.indices(shape)
        return (yy >= y0) & (yy < y1) & (xx >= x0) & (xx < x1)
    if kind == "point":
        if at is None or len(at) != 2:
            raise ValueError("a point detector needs at=(y, x)")
        mask = np.zeros(shape, dtype=bool)
        mask[_nearest_pixel(at, shape)] = True
        return mask
    raise ValueError(f"unknown detector {kind!r}; use one of {', '.join(DETECTORS)}")


def coarse_to_fine(shape: Sequence[int], first: int = 256) -> list[np.ndarray]:
    """Flat positions of a navigation grid in groups, coarse to fine.

    The first group is every ``s``-th row and column of the last two axes (``s`` a power of
    two chosen so that it holds about ``first`` positions per 2-D scan), the next every
    ``s / 2``-th not yet taken, and so on down to every position. A pass in this order shows a
    coarse but complete preview of the image after a fraction of the frames.

    Parameters
    ----------
    shape : sequence of int
        Navigation shape (at least two axes).
    first : int
        About how many positions of each 2-D scan the first group holds.

    Returns
    -------
    list of numpy.ndarray
        Disjoint groups of flat indices into ``shape`` covering every position.
    """
    shape = tuple(int(n) for n in shape)
    if len(shape) < 2:
        return [np.arange(math.prod(shape))]
    ny, nx = shape[-2:]
    ratio = math.sqrt(max(ny * nx, 1) / max(first, 1))
    s = 2 ** max(round(math.log2(ratio)), 0) if ratio > 1 else 1
    ii, jj = np.indices((ny, nx))
    taken = np.zeros((ny, nx), dtype=bool)
    groups = []
    lead = math.prod(shape[:-2])
    while s >= 1:
        sel = (ii % s == 0) & (jj % s == 0) & ~taken
        taken |= sel
        groups.append(np.flatnonzero(np.broadcast_to(sel, (lead, ny, nx))))
        s //= 2
    return [g for g in groups if g.size]


# -- what a pass computes ----------------------------------------------------------------------
@dataclass(frozen=True)
class _Plan:
    """A pass's reduction, small and hashable (sent to cluster workers as is).

    ``kind`` is ``"rings"`` (ring sums + moments + patterns about ``centre``), ``"mask"`` (the
    sum inside ``mask_key``'s detector) or ``"pattern"`` (sum and max patterns only).
    """

    kind: str
    shape: tuple[int, int]
    dtype: str
    centre: tuple[float, float] = (0.0, 0.0)
    mask_key: tuple[Any, ...] = ()


@lru_cache(maxsize=8)
def _labels(plan: _Plan) -> tuple[np.ndarray, int, np.dtype]:
    """Label image (flat int32), number of labels and accumulator dtype of a plan."""
    if plan.kind == "rings":
        labels = _rings(plan.shape, plan.centre).reshape(-1)
    else:
        kind, params = plan.mask_key
        labels = detector_mask(plan.shape, kind, **dict(params)).reshape(-1).astype(np.int32)
    n = int(labels.max()) + 1
    dt = acc_dtype(int(np.bincount(labels).max()), np.dtype(plan.dtype))
    return labels, n, dt


@dataclass
class _Result:
    sums: np.ndarray | None
    stats: BlockStats | None


def _reduce(frames: np.ndarray, plan: _Plan, engine: str) -> _Result:
    if plan.kind == "pattern":
        return _Result(None, pattern_stats(frames, engine))
    labels, n, dt = _labels(plan)
    sums = label_sums(frames, labels, n, dt, engine)
    if plan.kind == "mask":
        return _Result(sums[:, 1] if n > 1 else np.zeros(len(frames), dt), None)
    return _Result(sums, pattern_stats(frames, engine))


def _reduce_task(series: Series, frames: np.ndarray, plan: _Plan, engine: str) -> _Result:
    """One block on a cluster worker: read the frames and reduce them."""
    return _reduce(series.read_frames(frames), plan, engine)


# -- the imager ---------------------------------------------------------------------------------
class VirtualImager:
    """Virtual images of a scan from one streaming pass.

    Parameters
    ----------
    series : Series
        The recording.
    index_map : array_like of int, optional
        Frame index of every navigation position (from :meth:`ScanLayout.index_map
        <napari_tvips.ScanLayout.index_map>`); default: every frame, in order.
    centre : tuple of float, optional
        ``(y, x)`` of the beam centre in detector pixels; ``None`` estimates it from the data
        (:func:`~napari_tvips._virtual.estimate_centre`).
    engine : {"auto", "numba", "numpy"}
        Kernels: numba when installed (``napari-tvips[fast]``), else NumPy; results are equal.
    threads : int
        Blocks reduced concurrently on this machine.
    block_bytes : int
        Pixel bytes per block.

    Examples
    --------
    >>> imager = VirtualImager(series, layout.index_map(series.n_frames)).run()  # doctest: +SKIP
    >>> bf = imager.image("disk", radius=8)  # doctest: +SKIP
    >>> com_y, com_x = imager.com()  # doctest: +SKIP
    """

    def __init__(
        self,
        series: Series,
        index_map: np.ndarray | Sequence[int] | None = None,
        centre: tuple[float, float] | None = None,
        *,
        engine: str = "auto",
        threads: int = 2,
        block_bytes: int = BLOCK_BYTES,
    ) -> None:
        self.series: Series = series
        imap = np.arange(series.n_frames) if index_map is None else np.asarray(index_map)
        if imap.size == 0 or not np.issubdtype(imap.dtype, np.integer):
            raise ValueError(f"index_map must be a non-empty integer array, got {imap.dtype}")
        if imap.min() < 0 or imap.max() >= series.n_frames:
            raise ValueError(
                f"{series.paths[0]}: index_map refers to frame {int(imap.max())} (or "
                f"{int(imap.min())}), outside the recording's {series.n_frames} frames"
            )
        self.index_map: np.ndarray = imap.astype(np.int64)
        frames, inverse = np.unique(self.index_map.reshape(-1), return_inverse=True)
        self.frames: np.ndarray = frames  # the distinct frames, sorted: "positions" index these
        self._inverse: np.ndarray = inverse.reshape(-1)
        if engine not in ("auto", "numba", "numpy"):
            raise ValueError(f"unknown engine {engine!r}; use 'auto', 'numba' or 'numpy'")
        self.engine: str = engine
        self.threads: int = max(int(threads), 1)
        self.block: int = max(int(block_bytes) // max(series.header.frame_bytes, 1), 1)
        self.block = min(self.block, 65536)  # kernels accumulate a block's pattern in uint32
        self._cancel = threading.Event()
        self._mask_cache: OrderedDict[tuple[Any, ...], np.ndarray] = OrderedDict()
        self._partial: dict[tuple[Any, ...], np.ndarray] = {}
        if centre is None:
            centre = estimate_centre(series, frames=self.frames)
        self._set_centre(centre)

    # -- state ---------------------------------------------------------------------------------
    def _set_centre(self, centre: tuple[float, float]) -> None:
        cy, cx = (float(c) for c in centre)
        if not (math.isfinite(cy) and math.isfinite(cx)):
            raise ValueError(f"centre must be finite, got {centre!r}")
        self._centre = (cy, cx)
        shape = self.series.frame_shape
        self._plan = _Plan("rings", shape, self.series.dtype.str, self._centre)
        _labels_flat, n_rings, _ = _labels(self._plan)
        self.n_rings: int = n_rings
        n = self.frames.size
        cum_dt = acc_dtype(shape[0] * shape[1], self.series.dtype)
        # cumulative ring sums, ring-major: row k holds the sum of rings < k of every frame
        self._cum: np.ndarray = np.zeros((n_rings + 1, n), dtype=cum_dt)
        self._moments: np.ndarray = np.zeros((n, 2), dtype=np.int64)
        self._sum_pattern: np.ndarray = np.zeros(shape, dtype=np.uint64)
        self._max_pattern: np.ndarray = np.zeros(shape, dtype=self.series.dtype)
        self._done: np.ndarray = np.zeros(n, dtype=bool)
        self._patterns_ok: bool = True  # the kept patterns are those of every frame done

    @property
    def centre(self) -> tuple[float, float]:
        """``(y, x)`` beam centre in detector pixels; setting it discards the pass's results."""
        return self._centre

    @centre.setter
    def centre(self, value: tuple[float, float]) -> None:
        if tuple(float(v) for v in value) != self._centre:
            self._set_centre(value)

    @property
    def nav_shape(self) -> tuple[int, ...]:
        """Shape of the images (the index map's)."""
        return self.index_map.shape

    @property
    def complete(self) -> bool:
        """Whether the pass has covered every frame of the index map."""
        return bool(self._done.all())

    @property
    def done(self) -> np.ndarray:
        """Boolean image: positions whose frame has been through the pass."""
        return self._done[self._inverse].reshape(self.nav_shape)

    @property
    def nbytes(self) -> int:
        """Bytes of kept per-frame results."""
        return self._cum.nbytes + self._moments.nbytes + self._done.nbytes

    def cancel(self) -> None:
        """Stop the running pass after the blocks in flight (it raises :class:`PassCancelled`)."""
        self._cancel.set()

    def remap(self, index_map: np.ndarray) -> VirtualImager:
        """A new imager for another index map of the same recording, keeping the done frames.

        Re-slicing a scan (shape, start, winding, hysteresis) then needs no new pass for frames
        already reduced.
        """
        new = VirtualImager(
            self.series, index_map, self._centre, engine=self.engine, threads=self.threads
        )
        new.block = self.block
        common, mine, theirs = np.intersect1d(self.frames, new.frames, return_indices=True)
        keep = self._done[mine]
        mine, theirs = mine[keep], theirs[keep]
        new._cum[:, theirs] = self._cum[:, mine]
        new._moments[theirs] = self._moments[mine]
        new._done[theirs] = True
        # the scan's patterns cannot be split per frame: reuse them only for the same frames
        same = common.size == self.frames.size == new.frames.size
        if same and self.complete and self._patterns_ok:
            new._sum_pattern[...] = self._sum_pattern
            new._max_pattern[...] = self._max_pattern
        else:
            new._patterns_ok = False
        return new

    # -- streaming -----------------------------------------------------------------------------
    def _blocks(
        self, positions: np.ndarray, size: int, breaks: Sequence[int] = ()
    ) -> list[np.ndarray]:
        """``positions`` cut every ``size`` and at each index of ``breaks``."""
        bounds = sorted({0, positions.size, *(b for b in breaks if 0 < b < positions.size)})
        return [
            positions[i : min(i + size, hi)]
            for lo, hi in pairwise(bounds)
            for i in range(lo, hi, size)
        ]

    def _stream(
        self,
        positions: np.ndarray,
        plan: _Plan,
        sink: Callable[[np.ndarray, _Result], None],
        client: Any = None,
        breaks: Sequence[int] = (),
    ) -> Iterator[tuple[int, int]]:
        """Reduce the frames at ``positions`` block by block; yield ``(done, total)`` frames.

        Blocks also end at each index of ``breaks`` (so a group of positions is reported as
        soon as it is done); results arrive in the order of ``positions``.
        """
        self._cancel.clear()
        total = int(positions.size)
        done = 0
        yield done, total
        if total == 0:
            return
        engine = self.engine
        cluster = active_client(client)
        if cluster is not None:
            size = max(TASK_BYTES // max(self.series.header.frame_bytes, 1), 1)
            yield from self._stream_cluster(cluster, positions, plan, sink, min(size, 65536))
            return
        engine = engine_name(engine)  # imports numba once, outside the worker threads
        local = threading.local()
        frame_shape = self.series.frame_shape

        def work(pos: np.ndarray) -> tuple[np.ndarray, _Result]:
            buf = getattr(local, "buf", None)
            if buf is None:
                buf = local.buf = np.empty((self.block, *frame_shape), self.series.dtype)
            frames = self.series.read_frames(self.frames[pos], out=buf[: pos.size])
            return pos, _reduce(frames, plan, engine)

        blocks = iter(self._blocks(positions, self.block, breaks))
        with ThreadPoolExecutor(self.threads, thread_name_prefix="tvips-virtual") as pool:
            pending = [
                pool.submit(work, b) for _, b in zip(range(self.threads + 1), blocks, strict=False)
            ]
            try:
                while pending:
                    pos, result = pending.pop(0).result()
                    nxt = next(blocks, None)
                    if nxt is not None:
                        pending.append(pool.submit(work, nxt))
                    sink(pos, result)
                    done += pos.size
                    if self._cancel.is_set():
                        raise PassCancelled(f"{self.series.paths[0]}: pass cancelled")
                    yield done, total
            finally:
                for fut in pending:
                    fut.cancel()

    def _stream_cluster(
        self,
        client: Any,
        positions: np.ndarray,
        plan: _Plan,
        sink: Callable[[np.ndarray, _Result], None],
        size: int,
    ) -> Iterator[tuple[int, int]]:
        from distributed import as_completed

        blocks = self._blocks(positions, size)
        log.info("virtual pass: %d tasks on %s", len(blocks), client)
        futures = {
            client.submit(
                _reduce_task, self.series, self.frames[b], plan, self.engine, pure=False
            ): b
            for b in blocks
        }
        done, total = 0, int(positions.size)
        try:
            for fut in as_completed(futures):
                pos = futures[fut]
                sink(pos, fut.result())
                done += pos.size
                if self._cancel.is_set():
                    raise PassCancelled(f"{self.series.paths[0]}: pass cancelled")
                yield done, total
        finally:
            client.cancel(list(futures))

    @staticmethod
    def _drive(gen: Iterator[tuple[int, int]], progress: Progress | None) -> Any:
        """Run a progress generator to its end; return its return value."""
        while True:
            try:
                done, total = next(gen)
            except StopIteration as stop:
                return stop.value
            if progress is not None:
                progress(done, total)

    # -- the first pass ----------------------------------------------------------------------
    def iter_run(self, client: Any = None) -> Iterator[tuple[int, int]]:
        """The pass of :meth:`run` as a generator of ``(frames done, frames to do)``.

        Closing the generator (or a napari worker's ``quit()``) stops it between blocks.
        """
        todo = np.flatnonzero(~self._done)
        cum_dt = self._cum.dtype

        def sink(pos: np.ndarray, result: _Result) -> None:
            assert result.sums is not None and result.stats is not None
            self._cum[1:, pos] = np.cumsum(result.sums, axis=1, dtype=cum_dt).T
            self._moments[pos] = result.stats.moments
            self._sum_pattern += result.stats.sum_pattern
            np.maximum(self._max_pattern, result.stats.max_pattern, out=self._max_pattern)
            self._done[pos] = True

        yield from self._stream(todo, self._plan, sink, client)

    def run(self, progress: Progress | None = None, client: Any = None) -> VirtualImager:
        """Stream every frame not yet done once; keep ring sums, moments and patterns.

        Parameters
        ----------
        progress : callable, optional
            ``progress(frames_done, frames_total)``, called after each block.
        client : distributed.Client or False, optional
            Run the blocks on this cluster; ``None`` uses the active client if there is one,
            ``False`` always runs here.

        Returns
        -------
        VirtualImager
            ``self``, for chaining.
        """
        self._drive(self.iter_run(client), progress)
        return self

    # -- images --------------------------------------------------------------------------------
    def _per_position(self, values: np.ndarray, done: np.ndarray | None = None) -> np.ndarray:
        out = values.astype(np.float64)
        if done is not None and not done.all():
            out[~done] = np.nan
        return out[self._inverse].reshape(self.nav_shape)

    def _is_centre(self, centre: Sequence[float] | None) -> bool:
        return centre is None or tuple(float(c) for c in centre) == self._centre

    def image(
        self,
        kind: str,
        *,
        radius: float | None = None,
        inner: float | None = None,
        outer: float | None = None,
        box: Sequence[float] | None = None,
        at: Sequence[float] | None = None,
        centre: Sequence[float] | None = None,
        progress: Progress | None = None,
        client: Any = None,
    ) -> np.ndarray:
        """A virtual image: float64, of the navigation shape (NaN where not computed yet).

        Disks and annuli about the imager's centre come from the kept ring sums at once; other
        detectors stream their frames (see :meth:`iter_image`).

        Parameters
        ----------
        kind : {"disk", "annulus", "rectangle", "point"}
            Detector kind; see :func:`detector_mask` for the parameters.
        radius, inner, outer, box, at : optional
            Detector geometry in detector pixels.
        centre : tuple of float, optional
            Disk / annulus centre (default: the imager's).
        progress : callable, optional
            ``progress(done, total)`` during a pass.
        client : distributed.Client or False, optional
            As in :meth:`run`.
        """
        gen = self.iter_image(
            kind, radius=radius, inner=inner, outer=outer, box=box, at=at, centre=centre,
            client=client,
        )  # fmt: skip
        return self._drive(gen, progress)

    def iter_image(
        self,
        kind: str,
        *,
        client: Any = None,
        order: Sequence[np.ndarray] | None = None,
        **params: Any,
    ) -> Iterator[tuple[int, int]]:
        """:meth:`image` as a generator of progress; its return value is the image.

        ``order``: groups of positions (indices into :attr:`frames`) to reduce first, group by
        group (progress is reported at the end of each group; see :func:`coarse_to_fine`); the
        other positions follow in frame order. While the pass runs, :meth:`partial` holds the
        values done so far.
        """
        params = {k: v for k, v in params.items() if v is not None}
        centre = params.pop("centre", None)
        if kind in ("disk", "annulus") and self._is_centre(centre):
            detector_mask((1, 1), kind, centre=(0.0, 0.0), **params)  # validates the parameters
            return self._ring_image(kind, params)
        key = self._mask_key(kind, centre, params)
        cached = self._mask_cache.get(key)
        if cached is not None:
            self._mask_cache.move_to_end(key)
            return self._per_position(cached)
        plan = _Plan("mask", self.series.frame_shape, self.series.dtype.str, mask_key=key)
        values = np.full(self.frames.size, np.nan)

        def sink(pos: np.ndarray, result: _Result) -> None:
            values[pos] = result.sums

        positions, breaks = self._ordered(order)
        self._partial[key] = values  # readable while the pass runs (see partial())
        try:
            yield from self._stream(positions, plan, sink, client, breaks)
        finally:
            self._partial.pop(key, None)
        self._mask_cache[key] = values
        while len(self._mask_cache) > _CACHE_SIZE:
            self._mask_cache.popitem(last=False)
        return self._per_position(values)

    def _ordered(self, order: Sequence[np.ndarray] | None) -> tuple[np.ndarray, list[int]]:
        """Every position once: the groups of ``order`` first, then the rest; group ends."""
        n = self.frames.size
        if not order:
            return np.arange(n), []
        seen = np.zeros(n, dtype=bool)
        parts, breaks, count = [], [], 0
        for group in order:
            g = np.asarray(group, dtype=np.int64).reshape(-1)
            if g.size and (g.min() < 0 or g.max() >= n):
                raise ValueError(f"order refers to position {int(g.max())} of {n}")
            g = g[~seen[g]]
            g = g[np.sort(np.unique(g, return_index=True)[1])]  # first occurrences, in order
            seen[g] = True
            parts.append(g)
            count += g.size
            breaks.append(count)
        parts.append(np.flatnonzero(~seen))
        return np.concatenate(parts), breaks

    def _mask_key(
        self, kind: str, centre: Sequence[float] | None, params: dict[str, Any]
    ) -> tuple[Any, ...]:
        """Validated, hashable description of a detector that needs its own pass."""
        params = dict(params)
        if kind in ("disk", "annulus"):
            params["centre"] = tuple(float(c) for c in (centre or self._centre))
        detector_mask(self.series.frame_shape, kind, **params)  # validates before any read
        return (kind, tuple(sorted((k, _freeze(v)) for k, v in params.items())))

    def cached(self, kind: str, **params: Any) -> np.ndarray | None:
        """The image of a detector that needed its own pass, if it has been computed."""
        params = {k: v for k, v in params.items() if v is not None}
        centre = params.pop("centre", None)
        values = self._mask_cache.get(self._mask_key(kind, centre, params))
        return None if values is None else self._per_position(values)

    def partial(self, kind: str, **params: Any) -> np.ndarray | None:
        """The image of a detector whose pass is running (NaN where not done yet), else None."""
        params = {k: v for k, v in params.items() if v is not None}
        centre = params.pop("centre", None)
        values = self._partial.get(self._mask_key(kind, centre, params))
        return None if values is None else self._per_position(values)

    def _ring_image(self, kind: str, params: dict[str, Any]) -> np.ndarray:
        top = self.n_rings
        if kind == "disk":
            values = self._cum[min(_ring_index(params["radius"]), top)]
        else:
            lo = min(_ring_index(params["inner"]), top)
            hi = min(_ring_index(params["outer"]), top)
            values = self._cum[hi].astype(np.int64) - self._cum[lo]
        return self._per_position(values, self._done)

    def total(self) -> np.ndarray:
        """Sum of every frame (the image of a detector covering everything)."""
        return self._per_position(self._cum[self.n_rings], self._done)

    def com(self) -> tuple[np.ndarray, np.ndarray]:
        """Centre of mass of every frame, in pixels from the imager's centre.

        Returns
        -------
        tuple of numpy.ndarray
            ``(com_y, com_x)`` float64 images (NaN for empty or not yet computed frames).
        """
        total = self._cum[self.n_rings].astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            cy = np.where(total > 0, self._moments[:, 0] / total, np.nan) - self._centre[0]
            cx = np.where(total > 0, self._moments[:, 1] / total, np.nan) - self._centre[1]
        return self._per_position(cy, self._done), self._per_position(cx, self._done)

    # -- patterns ------------------------------------------------------------------------------
    def pattern(
        self,
        kind: str = "mean",
        region: Any = None,
        *,
        progress: Progress | None = None,
        client: Any = None,
    ) -> np.ndarray:
        """Mean or maximum diffraction pattern of the scan or of a region of it.

        Parameters
        ----------
        kind : {"mean", "max"}
            Statistic over the distinct frames.
        region : array_like, optional
            Anything that indexes the navigation shape (a boolean mask, slices, a tuple of
            index arrays); ``None`` is the whole scan and uses the pass's kept patterns.
        progress : callable, optional
            ``progress(done, total)`` when frames are read.
        client : distributed.Client or False, optional
            As in :meth:`run`.

        Returns
        -------
        numpy.ndarray
            float64 mean, or the maximum in the frames' dtype.
        """
        return self._drive(self.iter_pattern(kind, region, client=client), progress)

    def iter_pattern(
        self, kind: str = "mean", region: Any = None, *, client: Any = None
    ) -> Iterator[tuple[int, int]]:
        """:meth:`pattern` as a generator of progress; its return value is the pattern."""
        if kind not in ("mean", "max"):
            raise ValueError(f"unknown pattern {kind!r}; use 'mean' or 'max'")
        if region is None and not self.complete:
            yield from self.iter_run(client)
        if region is None and self._patterns_ok:
            total, peak, count = self._sum_pattern, self._max_pattern, self.frames.size
        else:
            picked = self.frames
            if region is not None:
                picked = np.unique(np.asarray(self.index_map[region]).reshape(-1))
            if picked.size == 0:
                raise ValueError("the region holds no scan position")
            plan = _Plan("pattern", self.series.frame_shape, self.series.dtype.str)
            total = np.zeros(self.series.frame_shape, dtype=np.uint64)
            peak = np.zeros(self.series.frame_shape, dtype=self.series.dtype)

            def sink(pos: np.ndarray, result: _Result) -> None:
                assert result.stats is not None
                np.add(total, result.stats.sum_pattern, out=total)
                np.maximum(peak, result.stats.max_pattern, out=peak)

            positions = np.searchsorted(self.frames, picked)
            yield from self._stream(positions, plan, sink, client)
            count = picked.size
        if kind == "max":
            return peak.copy()
        return total / count


def _freeze(value: Any) -> Any:
    if isinstance(value, (list, tuple, np.ndarray)):
        return tuple(float(v) for v in value)
    return float(value)
