"""A TVIPS recording on disk: its parts, frame count, frame headers, and frame reads.

:class:`Series` is opened from any path of a recording (``x_000.tvips``, ``x_002.tvips``, ``x`` or
``x_000.TVIPS``) and describes the whole set. It holds no open files: every read opens the part
it needs, so a ``Series`` pickles to a few hundred bytes (paths, sizes, offsets) and works on
``dask.distributed`` workers. Frames are read with ``os.preadv`` straight into the caller's
buffer, one system call per run of consecutive frames; frame headers are read with one small
``pread`` per frame that never touches pixel pages.

This module knows where records are; what the bytes mean is :mod:`napari_tvips._format`'s job.
"""

from __future__ import annotations

import logging
import os
import stat
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._errors import TvipsFormatError, TvipsReadError
from ._format import (
    MAIN_HEADER_BYTES,
    MainHeader,
    ScanCalibration,
    checked_record_count,
    frame_header_dtype,
    parse_calibration,
    parse_main_header,
    part_data_offset,
    part_name,
    part_suffix,
    split_part_name,
)
from ._io import IOV_MAX, preadv_all
from ._memory import check_memory

__all__ = [
    "Part",
    "Series",
    "TruncatedPartWarning",
    "find_parts",
    "numbered_parts",
    "open_series",
]

logger = logging.getLogger(__name__)

#: Reads larger than this are split between two threads in eager loads.
_PARALLEL_BYTES = 64 << 20


class TruncatedPartWarning(UserWarning):
    """A part that is not the last ends inside a frame: later frames are shifted."""


@dataclass(frozen=True)
class Part:
    """One file of a recording.

    Attributes
    ----------
    path : str
        Absolute path of the part.
    data_offset : int
        Byte offset of the first record (256 in the ``_000`` part, else 0).
    n_frames : int
        Whole records in the part.
    leftover : int
        Bytes after the last whole record (a stopped or still-running recording).
    """

    path: str
    data_offset: int
    n_frames: int
    leftover: int


def _split_name(path: Path) -> tuple[Path, str, int | None]:
    """Return ``(folder, base name, part number or None)`` for a path of a recording."""
    base, number = split_part_name(path.name)
    return path.parent, base, number


def numbered_parts(folder: str | os.PathLike[str], base: str) -> dict[int, list[str]]:
    """Names of the files ``<base>_NNN.tvips`` (extension in any case) in ``folder``, by number.

    Raises
    ------
    OSError
        If the folder cannot be listed.
    """
    found: dict[int, list[str]] = {}
    for name in os.listdir(folder):
        name_base, number = split_part_name(name)
        if number is not None and name_base == base:
            found.setdefault(number, []).append(name)
    return found


def find_parts(path: str | os.PathLike[str]) -> list[Path]:
    """Find the parts of the recording that ``path`` belongs to.

    Parameters
    ----------
    path : str or os.PathLike
        Any part (``x_003.tvips``), the base name (``x``) or a single unnumbered ``x.tvips``.

    Returns
    -------
    list of pathlib.Path
        ``x_000 ... x_NNN`` in order, stopping at the first gap (a warning names the parts
        beyond it), or ``[x.tvips]`` for an unnumbered single file.

    Raises
    ------
    TvipsFormatError
        If there is no ``_000`` part (the message names what was looked for).
    """
    given = Path(os.fspath(path)).absolute()
    folder, base, _num = _split_name(given)
    try:
        found = numbered_parts(folder, base)
    except OSError as exc:
        raise TvipsFormatError(f"{given}: cannot list its folder ({exc.strerror})") from exc
    numbered: dict[int, Path] = {}
    for number, names in found.items():
        # prefer the exact spelling of the extension the user gave, else the first seen
        exact = [n for n in names if n.endswith(given.suffix)]
        numbered[number] = folder / (exact[-1] if exact else names[0])
    if 0 not in numbered:
        if _num is None and given.is_file():
            return [given]
        raise TvipsFormatError(
            f"{given}: no first part {part_name(base, 0)} in {folder}; a TVIPS recording starts "
            f"with part {part_suffix(0)}"
        )
    parts: list[Path] = []
    while len(parts) in numbered:
        parts.append(numbered[len(parts)])
    skipped = sorted(n for n in numbered if n >= len(parts))
    if skipped:
        warnings.warn(
            f"{parts[0]}: part {part_suffix(len(parts))} is missing, so parts "
            + ", ".join(numbered[n].name for n in skipped)
            + " were not read",
            UserWarning,
            stacklevel=3,
        )
    return parts


def _part_size(path: Path) -> int:
    try:
        info = path.stat()
    except OSError as exc:
        raise TvipsFormatError(f"{path}: cannot be read ({exc.strerror})") from exc
    if not stat.S_ISREG(info.st_mode):
        raise TvipsFormatError(f"{path}: is not a regular file")
    return info.st_size


class Series:
    """A TVIPS recording: main header, parts and frame access.

    Parameters
    ----------
    path : str or os.PathLike
        Any path of the recording (see :func:`find_parts`).

    Attributes
    ----------
    header : MainHeader
        The validated main header of the ``_000`` part.
    parts : tuple of Part
        The parts with their frame counts.
    """

    header: MainHeader
    parts: tuple[Part, ...]

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._given = os.fspath(path)
        self._frame_table: dict[str, np.ndarray] | None = None
        self._load()

    # -- construction ----------------------------------------------------------------------
    def _load(self) -> None:
        paths = find_parts(self._given)
        sizes = [_part_size(p) for p in paths]
        first = paths[0]
        try:
            with open(first, "rb") as fh:
                raw = fh.read(MAIN_HEADER_BYTES)
        except OSError as exc:
            raise TvipsFormatError(f"{first}: cannot be read ({exc.strerror})") from exc
        header = parse_main_header(raw, str(first), sum(sizes))
        parts = []
        record = header.record_bytes
        for i, (p, size) in enumerate(zip(paths, sizes, strict=True)):
            offset = part_data_offset(i)
            count, leftover = checked_record_count(record, size - offset)
            if leftover and i < len(paths) - 1:
                warnings.warn(
                    f"{p}: this part is truncated ({leftover} bytes after its last complete "
                    f"frame, records are {record} bytes) but parts follow it, so part of a "
                    "frame is lost: every frame after it is shifted by one, and a scan laid "
                    "out by frame count is off from there. A header index map recovers the "
                    "scan (scan_shape='auto', or 'layout from: from headers' in the widget).",
                    TruncatedPartWarning,
                    stacklevel=4,
                )
            elif leftover:
                warnings.warn(
                    f"{p}: {leftover} bytes after its last complete frame were ignored "
                    f"(records are {record} bytes; recording stopped or still being written?)",
                    UserWarning,
                    stacklevel=4,
                )
            parts.append(Part(str(p), offset, count, leftover))
        if getattr(self, "header", None) != header:
            self._calibration = parse_calibration(header.dummy, str(first))
        self.header = header
        self.parts = tuple(parts)
        counts = np.array([p.n_frames for p in parts], dtype=np.int64)
        self._starts = np.concatenate([[0], np.cumsum(counts)])
        if self.n_frames == 0:
            raise TvipsFormatError(f"{first}: the recording holds no complete frame")

    def refresh(self) -> int:
        """Re-scan the parts of a recording that is still being written.

        Returns
        -------
        int
            Number of frames added since the last scan.
        """
        before = self.n_frames
        self._frame_table = None
        self._load()
        return self.n_frames - before

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        state["_frame_table"] = None  # recomputed on demand; keeps pickles small
        return state

    # -- description -----------------------------------------------------------------------
    @property
    def truncated_parts(self) -> list[str]:
        """Parts, other than the last, that end inside a frame (later frames are shifted)."""
        return [p.path for p in self.parts[:-1] if p.leftover]

    @property
    def n_frames(self) -> int:
        """Total number of complete frames in all parts."""
        return int(self._starts[-1])

    @property
    def frame_shape(self) -> tuple[int, int]:
        """``(dimy, dimx)`` of each frame."""
        return self.header.frame_shape

    @property
    def dtype(self) -> np.dtype:
        """Pixel dtype."""
        return self.header.dtype

    @property
    def paths(self) -> list[str]:
        """Paths of the parts, in order."""
        return [p.path for p in self.parts]

    @property
    def name(self) -> str:
        """The recording's name: the first part's file name without ``_000.tvips``."""
        return _split_name(Path(self.parts[0].path))[1]

    @property
    def calibration(self) -> ScanCalibration | None:
        """Scan shape, scan step and exact pixel size napari-tvips recorded, if any.

        Read from the calibration block in the main header's unused bytes (see
        :func:`napari_tvips._format.parse_calibration`); ``None`` for files of other writers.
        """
        return self._calibration

    @property
    def nbytes(self) -> int:
        """Bytes of all frames' pixels."""
        return self.n_frames * self.header.frame_bytes

    def __repr__(self) -> str:
        return (
            f"Series({self.parts[0].path!r}, parts={len(self.parts)}, frames={self.n_frames}, "
            f"frame_shape={self.frame_shape}, dtype={self.dtype})"
        )

    def fingerprint(self) -> tuple[object, ...]:
        """A cheap identity of the files' current state (paths, sizes, mtimes) for tokenizing."""
        out: list[object] = []
        for p in self.parts:
            try:
                info = os.stat(p.path)
                out.append((p.path, info.st_size, info.st_mtime_ns))
            except OSError:
                out.append((p.path, None, None))
        return tuple(out)

    # -- frame headers ---------------------------------------------------------------------
    def frame_headers(self) -> dict[str, np.ndarray]:
        """Every known field of every frame header, as 1-D arrays of length :attr:`n_frames`.

        Read with one small read per frame (header bytes only); cached after the first call.
        """
        if self._frame_table is None:
            dt = frame_header_dtype(self.header.frame_header_bytes)
            table = np.zeros(self.n_frames, dtype=dt)
            for i, part in enumerate(self.parts):
                if part.n_frames and dt.itemsize:
                    table[self._starts[i] : self._starts[i + 1]] = self._read_part_headers(part, dt)
            self._frame_table = {name: table[name].copy() for name in dt.names or ()}
        return self._frame_table

    def headers_at(self, frames: Sequence[int]) -> dict[str, np.ndarray]:
        """Frame header fields of a few frames (one small read each; no table is built)."""
        dt = frame_header_dtype(self.header.frame_header_bytes)
        out = np.zeros(len(frames), dtype=dt)
        for j, frame in enumerate(frames):
            part, pixels = self.locate(int(frame))
            if dt.itemsize == 0:
                continue
            try:
                with open(part.path, "rb") as fh:
                    raw = os.pread(fh.fileno(), dt.itemsize, pixels - dt.itemsize)
            except OSError as exc:
                raise TvipsReadError(f"{part.path}: cannot read a frame header ({exc})") from exc
            if len(raw) != dt.itemsize:
                raise TvipsReadError(f"{part.path}: file ended inside the header of frame {frame}")
            out[j] = np.frombuffer(raw, dtype=dt)[0]
        return {name: out[name] for name in dt.names or ()}

    def _read_part_headers(self, part: Part, dt: np.dtype) -> np.ndarray:
        # one small pread per frame: a strided view on a memory map would fault in (and count
        # in RSS) the pixel pages around every header, about half the file for 256 x 256 frames
        record = self.header.record_bytes
        size = dt.itemsize
        try:
            fd = os.open(part.path, os.O_RDONLY)
        except OSError as exc:
            raise TvipsReadError(f"{part.path}: cannot read frame headers ({exc})") from exc
        try:
            offsets = range(part.data_offset, part.data_offset + part.n_frames * record, record)
            raw = b"".join(os.pread(fd, size, off) for off in offsets)
        except OSError as exc:
            raise TvipsReadError(f"{part.path}: cannot read frame headers ({exc})") from exc
        finally:
            os.close(fd)
        if len(raw) != part.n_frames * size:
            raise TvipsReadError(f"{part.path}: file ended inside a frame header (truncated?)")
        return np.frombuffer(raw, dtype=dt).copy()

    # -- frames ----------------------------------------------------------------------------
    def locate(self, frame: int) -> tuple[Part, int]:
        """Return the part holding ``frame`` and the byte offset of its pixels there."""
        p = int(np.searchsorted(self._starts, frame, side="right")) - 1
        part = self.parts[p]
        local = frame - int(self._starts[p])
        offset = part.data_offset + local * self.header.record_bytes
        offset += self.header.frame_header_bytes
        return part, offset

    def read_frames(
        self, indices: Sequence[int] | np.ndarray, out: np.ndarray | None = None, threads: int = 1
    ) -> np.ndarray:
        """Read frames by index into a new or given array.

        Parameters
        ----------
        indices : sequence of int
            Frame indices in any order; repeats allowed (each distinct frame is read once).
        out : numpy.ndarray, optional
            C-contiguous array of shape ``(len(indices), dimy, dimx)`` and the pixel dtype.
        threads : int
            Split large reads over this many threads.

        Returns
        -------
        numpy.ndarray
            The frames, in the order of ``indices``.

        Raises
        ------
        MemoryError
            Before allocating (``out`` not given), when the frames would not fit in the
            available memory.
        """
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        shape = (idx.size, *self.frame_shape)
        if out is None:
            need = idx.size * self.header.frame_bytes
            check_memory(need, self.parts[0].path, f"{idx.size} frames {shape}")
            out = np.empty(shape, dtype=self.dtype)
        elif out.shape != shape or out.dtype != self.dtype or not out.flags.c_contiguous:
            raise ValueError(f"out must be a C-contiguous {self.dtype} array of shape {shape}")
        if idx.size == 0:
            return out
        if idx.min() < 0 or idx.max() >= self.n_frames:
            bad = idx[(idx < 0) | (idx >= self.n_frames)][0]
            raise IndexError(f"frame {bad} is out of range for {self.n_frames} frames")
        runs = self._plan(idx)
        if threads > 1 and idx.size * self.header.frame_bytes > _PARALLEL_BYTES and len(runs) > 1:
            flat = out.reshape(idx.size, -1)
            # repeated frames are copied only once every thread has read its runs
            reads = [r for r in runs if r[0] >= 0]
            halves = np.array_split(np.arange(len(reads)), threads)
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(lambda h: self._read_runs([reads[i] for i in h], flat), halves))
            for p, _local, dst, src in runs:
                if p < 0:
                    flat[dst] = flat[src]
        else:
            self._read_runs(runs, out.reshape(idx.size, -1))
        return out

    def _plan(self, idx: np.ndarray) -> list[tuple[int, int, np.ndarray, np.ndarray]]:
        """Group the requested frames into runs of consecutive frames within one part.

        Returns a list of ``(part number, first local frame, output slots, duplicate slots)``
        where duplicates are ``(dst, src)`` pairs of slots to copy after the read.
        """
        order = np.argsort(idx, kind="stable")
        srt = idx[order]
        first = np.ones(srt.size, dtype=bool)
        first[1:] = srt[1:] != srt[:-1]
        uniq = srt[first]
        uniq_slot = order[first]
        group = np.cumsum(first) - 1
        dup_dst = order[~first]
        dup_src = uniq_slot[group[~first]]
        part_of = np.searchsorted(self._starts, uniq, side="right") - 1
        breaks = np.flatnonzero((np.diff(uniq) != 1) | (np.diff(part_of) != 0)) + 1
        runs = []
        for lo, hi in zip(np.r_[0, breaks], np.r_[breaks, uniq.size], strict=True):
            p = int(part_of[lo])
            local = int(uniq[lo] - self._starts[p])
            # split long runs so one preadv stays under IOV_MAX iovecs (two per frame)
            step = IOV_MAX // 2
            for s in range(lo, hi, step):
                e = min(s + step, hi)
                runs.append((p, local + (s - lo), uniq_slot[s:e], np.empty(0, np.int64)))
        if dup_dst.size:
            runs.append((-1, 0, dup_dst, dup_src))
        return runs

    def _read_runs(
        self, runs: list[tuple[int, int, np.ndarray, np.ndarray]], flat: np.ndarray
    ) -> None:
        fhb = self.header.frame_header_bytes
        record = self.header.record_bytes
        scratch = bytearray(fhb)
        fds: dict[int, int] = {}
        try:
            for p, local, slots, _src in runs:
                if p < 0:  # copies of frames that were requested more than once
                    continue
                part = self.parts[p]
                if p not in fds:
                    try:
                        fds[p] = os.open(part.path, os.O_RDONLY)
                    except OSError as exc:
                        raise TvipsReadError(
                            f"{part.path}: cannot be opened ({exc.strerror})"
                        ) from exc
                offset = part.data_offset + local * record
                contiguous = fhb == 0 and slots.size > 1 and np.all(np.diff(slots) == 1)
                if contiguous:
                    buffers = [memoryview(flat[slots[0] : slots[-1] + 1]).cast("B")]
                else:
                    buffers = []
                    for j, slot in enumerate(slots):
                        if fhb and j:
                            buffers.append(memoryview(scratch))
                        buffers.append(memoryview(flat[slot]).cast("B"))
                    offset += fhb
                preadv_all(fds[p], buffers, offset, part.path)
            for p, _local, dst, src in runs:
                if p < 0:
                    flat[dst] = flat[src]
        finally:
            for fd in fds.values():
                os.close(fd)


def open_series(path: str | os.PathLike[str]) -> Series:
    """Open the TVIPS recording that ``path`` belongs to (see :class:`Series`)."""
    return Series(path)
