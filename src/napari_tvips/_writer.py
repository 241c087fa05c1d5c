"""Write TVIPS recordings: :func:`file_writer`, RosettaSciIO's writer arguments and signal dict.

This module turns an array (NumPy, dask, :class:`~napari_tvips.FrameArray` or any array-like with
``shape``, ``dtype`` and ``__getitem__``) plus RosettaSciIO-style ``axes`` / ``metadata`` /
``original_metadata`` into a plan (headers from :mod:`napari_tvips._headers`, part names from
:mod:`napari_tvips._format`), splits the frames into parts of at most ``max_file_size`` bytes,
and writes them safely:

1. every part is written to a hidden temporary file in the target folder with ``os.pwritev`` of
   (frame header, frame) iovec pairs, many frames per call, never interleaving copies
   (:mod:`napari_tvips._io`);
2. only when every byte is written are the temporaries renamed over the old parts and
   higher-numbered parts of an older recording of the same name removed, by
   :func:`napari_tvips._install.installing` (a failure while renaming restores the old set).

Any failure (exception, full disk, ``KeyboardInterrupt``) leaves the previous set untouched and no
temporary files behind. Because nothing is renamed before all data is written, the data may be
read lazily from the very files being replaced. Byte layouts come from :mod:`napari_tvips._format`;
this module holds no napari or Qt code.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._format import (
    RSCIIO_FRAME_HEADER_BYTES,
    SUPPORTED_BITS_PER_PIXEL,
    V1_FRAME_HEADER_BYTES,
    frame_fields_end,
    frame_header_dtype,
    part_data_offset,
    part_paths,
    split_part_name,
)
from ._headers import build_main_header, consistent_header, frame_columns, kept_frame_headers
from ._install import installing
from ._io import IOV_MAX, pwritev_all
from ._metadata import get_path, parse_time_zone
from ._series import numbered_parts
from ._units import convert as _convert  # noqa: F401  (imported from here by the exporters)
from ._units import unit_kind

__all__ = ["file_writer", "parse_time_zone", "part_paths"]

logger = logging.getLogger(__name__)

#: Frames per ``pwritev`` call (two iovecs each).
_FRAMES_PER_CALL = IOV_MAX // 2
#: Bytes fetched at once from lazy array-likes (two such blocks are in memory at most).
_BLOCK_BYTES = 32 << 20


# -- the plan: everything decided before the first byte is written -----------------------------
@dataclass
class _Plan:
    nav_shape: tuple[int, ...]
    frame_shape: tuple[int, int]
    dtype: np.dtype
    version: int
    frame_header_bytes: int
    main_header: bytes
    columns: dict[str, Any]
    part_frames: list[int]
    paths: list[str] = field(default_factory=list)

    @property
    def n_frames(self) -> int:
        return math.prod(self.nav_shape)

    @property
    def record_bytes(self) -> int:
        return (
            self.frame_header_bytes
            + self.frame_shape[0] * self.frame_shape[1] * self.dtype.itemsize
        )

    def headers(self, idx: np.ndarray) -> np.ndarray:
        """Frame headers of the frames ``idx`` (global indices) as a structured array."""
        dt = frame_header_dtype(self.frame_header_bytes)
        out = np.zeros(idx.size, dtype=dt)
        for name, col in self.columns.items():
            if name not in (dt.names or ()):
                continue
            if callable(col):
                out[name] = col(idx)
            elif isinstance(col, np.ndarray):
                out[name] = col[idx]
            else:
                out[name] = col
        return out


def _check_data(data: Any, axes: Sequence[Mapping[str, Any]]) -> tuple[tuple[int, ...], np.dtype]:
    shape = tuple(int(n) for n in data.shape)
    if axes and all("navigate" in a for a in axes):
        n_sig = sum(1 for a in axes if not a["navigate"])
    else:
        n_sig = min(len(shape), 2)
    if n_sig != 2 or len(shape) < 2:
        raise ValueError(
            "Only Signal2D supported for writing to TVIPS file: TVIPS stores stacks of 2-D "
            f"frames, but this signal has {n_sig} signal dimension(s) (data shape {shape})"
        )
    if axes and len(axes) != len(shape):
        raise ValueError(f"signal has {len(axes)} axes but its data has shape {shape}")
    dtype = np.dtype(data.dtype)
    if dtype.kind != "u" or dtype.itemsize * 8 not in SUPPORTED_BITS_PER_PIXEL:
        raise TypeError(
            f"TVIPS stores unsigned integer pixels (uint8, uint16, uint32, uint64), not {dtype}: "
            "convert first, e.g. np.clip(data, 0, 65535).astype(np.uint16), or for a signal "
            "s.change_dtype('uint16') after clipping; writing the raw bytes would read back as "
            "garbage"
        )
    return shape, dtype


def _split(n: int, record: int, max_file_size: int | None) -> list[int]:
    """Frames per part, as RosettaSciIO splits (at least one frame per part, with a warning)."""
    if max_file_size is None:
        return [n]
    minimum = part_data_offset(0) + record
    if max_file_size < minimum:
        warnings.warn(
            f"The minimum file size for this dataset is {minimum} bytes (main header and one "
            f"frame); max_file_size={max_file_size} raised to it",
            UserWarning,
            stacklevel=3,
        )
        max_file_size = minimum
    parts: list[int] = []
    left = n
    while left > 0:
        room = max_file_size - part_data_offset(len(parts))
        take = min(max(room // record, 1), left)
        parts.append(take)
        left -= take
    return parts


def _plan(
    filename: str | os.PathLike[str],
    signal: Mapping[str, Any],
    max_file_size: int | None,
    version: int,
    extra: int,
    mode: int | None,
) -> _Plan:
    if version not in (1, 2):
        raise ValueError(f"TVIPS file version must be 1 or 2, not {version!r}")
    if extra < 0:
        raise ValueError(f"frame_header_extra_bytes must be >= 0, not {extra}")
    if mode is not None and mode not in (1, 2):
        raise ValueError(f"mode must be 1 (imaging), 2 (diffraction) or None, not {mode!r}")
    data = signal["data"]
    axes = list(signal.get("axes") or [])
    shape, dtype = _check_data(data, axes)
    nav_shape, frame_shape = shape[:-2], (shape[-2], shape[-1])
    n = math.prod(nav_shape)
    om = signal.get("original_metadata") or {}
    orig = consistent_header(get_path(om, "tvips_header"), frame_shape, dtype)
    guessed = unit_kind(axes[-2].get("units")) if axes else None
    frame_mode = mode if mode is not None else (guessed or 2)
    kept, reference = kept_frame_headers(om, n)
    if version == 1:
        if extra:
            warnings.warn(
                "version 1 frame headers are 12 bytes; frame_header_extra_bytes ignored",
                UserWarning,
                stacklevel=3,
            )
        fhb = V1_FRAME_HEADER_BYTES
    else:
        fhb = max(RSCIIO_FRAME_HEADER_BYTES + extra, frame_fields_end(kept))
        if orig is not None and int(orig.get("version", 2)) == 2:
            fhb = max(fhb, int(orig["frameheaderbytes"]))
    scan_nx = nav_shape[1] if len(nav_shape) == 2 else None
    columns = frame_columns(signal, frame_mode, kept, reference, mode is not None, scan_nx)
    field_fhb = fhb
    if version == 1 and orig is not None and int(orig.get("version", 0)) == 1:
        field_fhb = int(orig["frameheaderbytes"])  # unused by readers; kept as read
    header = build_main_header(
        signal, orig, (*frame_shape, dtype, version, field_fhb), (mode or guessed, frame_mode),
        nav_shape,
    )  # fmt: skip
    plan = _Plan(nav_shape, frame_shape, dtype, version, fhb, header, columns, [])
    plan.part_frames = _split(n, plan.record_bytes, max_file_size)
    plan.paths = part_paths(filename, len(plan.part_frames))
    return plan


# -- writing -----------------------------------------------------------------------------------
class _RecordWriter:
    """Writes frames by global index into the temporary parts; also a ``dask.store`` target."""

    def __init__(self, plan: _Plan, fds: list[int], progress: Any) -> None:
        self.plan = plan
        self.fds: list[int] | None = fds
        self.progress = progress
        self.lock = threading.Lock()
        self.flat = np.arange(plan.n_frames, dtype=np.int64).reshape(plan.nav_shape)
        self.starts = np.concatenate([[0], np.cumsum(plan.part_frames)]).astype(np.int64)
        self.dtype = plan.dtype.newbyteorder("<")

    def __setitem__(self, key: tuple[slice, ...], value: np.ndarray) -> None:
        """Write a block at navigation ``key`` (the ``dask.array.store`` target protocol)."""
        nav = tuple(key[: len(self.plan.nav_shape)])
        self.write(np.ravel(self.flat[nav]), value)

    def write(self, idx: np.ndarray, frames: Any) -> None:
        """Write ``frames`` (anything reshapeable to ``(len(idx), dimy, dimx)``) at ``idx``."""
        block = np.ascontiguousarray(np.asarray(frames), dtype=self.dtype)
        block = block.reshape(idx.size, -1).view(np.uint8)
        record, fhb = self.plan.record_bytes, self.plan.frame_header_bytes
        # runs of consecutive frames in one part, at most _FRAMES_PER_CALL long
        breaks = np.flatnonzero(np.diff(idx) != 1) + 1
        for run in np.split(np.arange(idx.size), breaks):
            pos = 0
            while pos < run.size:
                first = int(idx[run[pos]])
                part = int(np.searchsorted(self.starts, first, side="right")) - 1
                room = int(self.starts[part + 1]) - first
                take = min(run.size - pos, room, _FRAMES_PER_CALL)
                rows = run[pos : pos + take]
                heads = self.plan.headers(idx[rows]).view(np.uint8).reshape(take, fhb)
                buffers: list[memoryview] = []
                for j, r in enumerate(rows):
                    buffers.append(memoryview(heads[j]))
                    buffers.append(memoryview(block[r]))
                offset = part_data_offset(part) + (first - int(self.starts[part])) * record
                with self.lock:
                    if self.fds is None:
                        raise RuntimeError("writing was aborted")
                    pwritev_all(self.fds[part], buffers, offset)
                    self.progress.update(take)
                pos += take

    def close(self) -> None:
        """Close the files (waits for a write in progress in another thread)."""
        with self.lock:
            fds, self.fds = self.fds, None
        for fd in fds or ():
            os.close(fd)


def _is_dask(data: Any) -> bool:
    return type(data).__module__.startswith("dask") and hasattr(data, "chunks")


def _tiles(nav_shape: tuple[int, ...], per_block: int) -> Iterator[tuple[slice, ...]]:
    """Blocks of the navigation space in C order, each at most ``per_block`` frames."""
    if not nav_shape:
        yield ()
        return
    inner, axis = 1, len(nav_shape)
    while axis > 0 and inner * nav_shape[axis - 1] <= per_block:
        axis -= 1
        inner *= nav_shape[axis]
    if axis == 0:
        yield tuple(slice(0, n) for n in nav_shape)
        return
    axis -= 1
    step = max(1, per_block // inner)
    rest = tuple(slice(0, n) for n in nav_shape[axis + 1 :])
    for lead in np.ndindex(*nav_shape[:axis]):
        for s in range(0, nav_shape[axis], step):
            head = tuple(slice(i, i + 1) for i in lead)
            yield (*head, slice(s, min(s + step, nav_shape[axis])), *rest)


def _write_eager(writer: _RecordWriter, data: Any, plan: _Plan) -> None:
    """NumPy input: views of up to 512 frames, no copies (unless non-contiguous)."""
    for key in _tiles(plan.nav_shape, _FRAMES_PER_CALL):
        writer.write(np.ravel(writer.flat[key]), data[key])


def _write_lazy(writer: _RecordWriter, data: Any, plan: _Plan) -> None:
    """Array-likes: blocks of about 32 MiB, the next one read while the current one is written."""
    frame_bytes = plan.record_bytes - plan.frame_header_bytes
    keys = list(_tiles(plan.nav_shape, max(1, _BLOCK_BYTES // max(frame_bytes, 1))))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tvips-read") as pool:
        pending: Future[np.ndarray] | None = None
        try:
            for i, key in enumerate(keys):
                block = pending.result() if pending is not None else np.asarray(data[key])
                pending = (
                    pool.submit(lambda k: np.asarray(data[k]), keys[i + 1])
                    if i + 1 < len(keys)
                    else None
                )
                writer.write(np.ravel(writer.flat[key]), block)
                del block
        finally:
            if pending is not None:
                pending.cancel()


def _distributed(scheduler: Any) -> bool:
    """True when ``scheduler`` (dask's active ``get``) belongs to a ``dask.distributed`` client."""
    owner = getattr(scheduler, "__self__", None)
    return owner is not None and type(owner).__module__.startswith("distributed")


def _write_dask(writer: _RecordWriter, data: Any, plan: _Plan) -> None:
    """Dask input: blocks of whole frames, at most ``4 * _BLOCK_BYTES`` each, in parallel.

    With the local scheduler, ``dask.array.store`` writes each block from the thread that
    computed it (memory: about one block per thread). The record writer holds open files and
    cannot travel to ``dask.distributed`` workers, so with a cluster the workers compute blocks
    of about ``2 * _BLOCK_BYTES`` per batch and this process writes them in file order while
    the next batch computes (memory: two batches).
    """
    import dask
    import dask.array as da

    nnav = len(plan.nav_shape)
    frame_bytes = plan.record_bytes - plan.frame_header_bytes
    spec: dict[int, Any] = {nnav: -1, nnav + 1: -1}
    largest = math.prod(max(c, default=0) for c in data.chunks[:nnav])
    if largest * frame_bytes > 4 * _BLOCK_BYTES:
        spec.update(dict.fromkeys(range(nnav), "auto"))
    data = data.rechunk(spec, block_size_limit=_BLOCK_BYTES)
    if not _distributed(dask.base.get_scheduler()):
        da.store(data, writer, lock=False, compute=True)
        return
    block_bytes = max(math.prod(max(c, default=0) for c in data.chunks[:nnav]) * frame_bytes, 1)
    per_batch = max(1, 2 * _BLOCK_BYTES // block_bytes)
    blocks = data.to_delayed(optimize_graph=True).reshape(data.numblocks[:nnav])
    edges = [np.cumsum((0, *c)) for c in data.chunks[:nnav]]
    cells = list(np.ndindex(*data.numblocks[:nnav]))
    batches = [cells[i : i + per_batch] for i in range(0, len(cells), per_batch)]

    def compute(batch: list[tuple[int, ...]]) -> tuple[Any, ...]:
        return dask.compute(*(blocks[cell] for cell in batch))

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tvips-dask") as pool:
        pending: Future[tuple[Any, ...]] | None = pool.submit(compute, batches[0])
        try:
            for i, batch in enumerate(batches):
                assert pending is not None
                results = pending.result()
                pending = pool.submit(compute, batches[i + 1]) if i + 1 < len(batches) else None
                for cell, block in zip(batch, results, strict=True):
                    key = tuple(slice(e[j], e[j + 1]) for e, j in zip(edges, cell, strict=True))
                    writer[key] = block
                del results
        finally:
            if pending is not None:
                pending.cancel()


def _stale_parts(paths: list[str]) -> list[str]:
    """Parts numbered beyond the new set's last part, with the same base name."""
    folder, first = os.path.split(paths[0])
    base, _number = split_part_name(first)
    try:
        found = numbered_parts(folder or ".", base)
    except OSError:
        return []
    return sorted(
        os.path.join(folder, name)
        for number, names in found.items()
        if number >= len(paths)
        for name in names
    )


def file_writer(
    filename: str | os.PathLike[str],
    signal: Mapping[str, Any],
    max_file_size: int | None = None,
    version: int = 2,
    frame_header_extra_bytes: int = 0,
    mode: int | None = None,
    show_progressbar: bool = True,
) -> list[str]:
    """Write a signal to a TVIPS recording, as ``rsciio.tvips.file_writer`` does.

    Parameters
    ----------
    filename : str or os.PathLike
        Name of the recording; parts are ``<name>_000.tvips, <name>_001.tvips ...`` (a trailing
        ``_000`` is dropped, ``.tvips`` added when missing).
    signal : dict
        RosettaSciIO signal dict: ``data`` (NumPy, dask or array-like of unsigned integers,
        shape ``nav_shape + (dimy, dimx)``), ``axes``, ``metadata``, and optionally
        ``original_metadata`` (``tvips_header`` and ``frame_headers`` from our reader are kept
        when they fit the data) and ``attributes``.
    max_file_size : int, optional
        Largest size of one part in bytes (at least one frame per part); one part by default.
    version : {1, 2}
        File format version: 1 writes 12-byte frame headers (counter, time, ms).
    frame_header_extra_bytes : int
        Zero bytes added to each version 2 frame header after its 60 known bytes.
    mode : {None, 1, 2}
        1 imaging, 2 diffraction; guessed from the signal axis units when ``None``.
    show_progressbar : bool
        Show a tqdm progress bar.

    Returns
    -------
    list of str
        The written parts.

    Raises
    ------
    ValueError
        For signals that are not stacks of 2-D frames, bad arguments or unknown time zones.
    TypeError
        For pixel types TVIPS cannot store (floats, signed integers).
    """
    plan = _plan(filename, signal, max_file_size, version, frame_header_extra_bytes, mode)
    from tqdm import tqdm

    progress = tqdm(
        total=plan.n_frames, unit="frame", disable=not show_progressbar, desc="Writing TVIPS"
    )
    try:
        with installing(plan.paths, stale=_stale_parts(plan.paths)) as temps:
            _write_parts(plan, signal["data"], temps, progress)
    finally:
        progress.close()
    return plan.paths


def _write_parts(plan: _Plan, data: Any, temps: list[str], progress: Any) -> None:
    """Create the parts at ``temps`` and write the main header and every record into them."""
    fds: list[int] = []
    writer: _RecordWriter | None = None
    try:
        for temp in temps:
            fds.append(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666))
        os.pwrite(fds[0], plan.main_header, 0)
        writer = _RecordWriter(plan, fds, progress)
        if isinstance(data, np.ndarray):
            _write_eager(writer, data, plan)
        elif _is_dask(data):
            _write_dask(writer, data, plan)
        else:
            _write_lazy(writer, data, plan)
    finally:
        if writer is not None:
            writer.close()
        else:
            for fd in fds:
                os.close(fd)
