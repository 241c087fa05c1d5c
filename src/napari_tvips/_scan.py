"""Scan reconstruction: which frame of the recording goes to which scan position.

A :class:`ScanLayout` (shape, first scan frame, winding axis, hysteresis) turns into an *index map*:
an integer array of the navigation shape whose values are frame indices. Everything that
re-slices a recording (the Python API, the dask arrays, the napari widget) goes through an index
map, so changing a layout never reads or copies pixels.

The conventions are RosettaSciIO's, for identical results: winding ``"x"`` reverses the even rows
(0, 2, ...) of the last two navigation axes, ``"y"`` the even columns, and hysteresis rolls
(wraps) those reversed rows. ``"auto"`` detection uses header evidence only: ``rotidx`` with
signed arithmetic, or the ``scan_x``/``scan_y`` positions of EM-Scan frame headers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "HeaderScan",
    "ScanLayout",
    "auto_layout",
    "header_scan",
    "rotidx_index_map",
    "scan_positions_map",
]

_WINDINGS = {None: None, "x": "x", 0: "x", "y": "y", 1: "y"}


@dataclass(frozen=True)
class ScanLayout:
    """How a flat stack of frames maps onto a scan.

    Parameters
    ----------
    shape : tuple of int or None
        Navigation shape, e.g. ``(scan_y, scan_x)`` or ``(n, scan_y, scan_x)``; ``None`` is the
        plain frame stack.
    start : int
        Index of the first scan frame.
    winding : {None, "x", "y"}
        Snake-scan axis (RosettaSciIO's ``winding_scan_axis``; ``0`` and ``1`` are accepted).
    hysteresis : int
        Shift of the reversed rows (or columns) in scan points; only used with winding.
    """

    shape: tuple[int, ...] | None = None
    start: int = 0
    winding: str | None = None
    hysteresis: int = 0

    def __post_init__(self) -> None:
        if self.winding not in _WINDINGS:
            raise ValueError(f"Invalid winding scan axis {self.winding!r}; use None, 'x' or 'y'")
        object.__setattr__(self, "winding", _WINDINGS[self.winding])
        if self.shape is not None:
            try:
                shape = tuple(int(s) for s in self.shape)
            except (TypeError, ValueError):
                raise ValueError(f"Invalid scan shape {self.shape!r}: expected integers") from None
            if not shape or any(s <= 0 for s in shape):
                raise ValueError(f"Invalid scan shape {self.shape!r}: sizes must be positive")
            object.__setattr__(self, "shape", shape)
        if int(self.start) < 0:
            raise ValueError(f"Invalid scan start frame {self.start}: must be >= 0")
        object.__setattr__(self, "start", int(self.start))
        object.__setattr__(self, "hysteresis", int(self.hysteresis))

    @property
    def is_stack(self) -> bool:
        """Whether this is the plain frame stack."""
        return self.shape is None

    def index_map(self, n_frames: int) -> np.ndarray:
        """Return the frame index of every navigation position.

        Parameters
        ----------
        n_frames : int
            Frames in the recording.

        Raises
        ------
        ValueError
            If the layout needs more frames than exist (the message says how many there are).
        """
        if self.shape is None:
            return np.arange(n_frames, dtype=np.int64)
        total = math.prod(self.shape)
        final = self.start + total
        if final > n_frames:
            raise ValueError(
                f"Shape {self.shape} starting at frame {self.start} requires image index "
                f"{final - 1}, which is out of bounds: the recording has {n_frames} frames "
                f"(final frame index {n_frames - 1})."
            )
        indices = np.arange(self.start, final, dtype=np.int64).reshape(self.shape)
        return apply_winding(indices, self.winding, self.hysteresis)


def apply_winding(indices: np.ndarray, winding: str | None, hysteresis: int) -> np.ndarray:
    """Reverse (and roll by ``hysteresis``) the even rows or columns of the last two axes."""
    winding = _WINDINGS.get(winding, winding)
    if winding is None:
        return indices
    if indices.ndim < 2:
        raise ValueError(f"Winding needs at least 2 scan dimensions, got shape {indices.shape}")
    out = indices.copy()
    if winding == "x":
        out[..., ::2, :] = np.roll(out[..., ::2, ::-1], hysteresis, axis=-1)
    elif winding == "y":
        out[..., :, ::2] = np.roll(out[..., ::-1, ::2], hysteresis, axis=-2)
    else:
        raise ValueError(f"Invalid winding scan axis {winding!r}; use None, 'x' or 'y'")
    return out


def rotidx_index_map(rotidx: np.ndarray) -> np.ndarray | None:
    """Square scan index map from EM-Konos ``rotidx`` values, as RosettaSciIO builds it.

    Differences from RosettaSciIO: signed arithmetic, so a ``rotidx`` that drops back after the
    scan does not wrap around.

    Returns
    -------
    numpy.ndarray or None
        ``(n, n)`` frame indices, or ``None`` when ``rotidx`` never increases.

    Raises
    ------
    ValueError
        If the number of scan points is not a square.
    """
    rot = np.asarray(rotidx, dtype=np.int64)
    diff = np.diff(rot)
    rising = np.flatnonzero(diff > 0)
    if rising.size == 0:
        return None
    # the scan ends at the first drop after it started (rotidx falls back to 0 or 1 and may
    # count again for a next scan); rsciio's uint32 diff wraps there instead
    drops = np.flatnonzero(diff[rising[0] :] < 0)
    if drops.size:
        rising = rising[rising < rising[0] + drops[0]]
    start = int(rising[0]) + (1 if rot[rising[0]] == 0 else 0)
    stop = int(rising[-1]) + 1
    total = int(rot[stop])
    side = math.isqrt(max(total, 0))
    if total <= 0 or side * side != total:
        raise ValueError(
            f"Scan was not square ({total} scan points from rotidx), please supply a "
            "scan_shape and start_frame."
        )
    seg = rot[start : stop + 1]
    # a crafted or corrupt rotidx (e.g. 0, 4294836225) must not allocate a huge scan of
    # repeated frames: refuse when more than half of the scan points would have no frame
    if total > 2 * seg.size:
        raise ValueError(
            f"Scan of {total} points from rotidx has only {seg.size} frames; rotidx is not a "
            "scan index here, please supply a scan_shape and start_frame."
        )
    # runs of equal rotidx (seg never decreases): run r holds value v[r] from frame b[r] on, for
    # L[r] frames, and covers positions v[r] - 1 .. v[r + 1] - 2; its frames take them in turn and
    # the last of them fills whatever positions remain (a gap: positions without a frame)
    b = np.flatnonzero(np.r_[True, seg[1:] != seg[:-1]])
    v = seg[b]
    length = np.diff(np.r_[b, seg.size])
    lo = np.maximum(v - 1, 0)
    gaps = np.r_[np.diff(v), 1]  # the final run covers its own position only
    used = np.minimum(length, gaps)
    p = np.arange(total, dtype=np.int64)
    run = np.searchsorted(lo, p, side="right") - 1
    r = np.maximum(run, 0)  # positions before the first run's (none in practice) show frame 0
    positions = np.where(run >= 0, b[r] + np.minimum(p - lo[r], used[r] - 1), 0)
    return (positions + start).reshape(side, side)


#: Largest EM-Scan position taken as one (float32 holds every integer below it exactly).
_MAX_POSITION = 2**24


@dataclass(frozen=True)
class _PositionsMap:
    """An index map built from EM-Scan positions, with its frame counts (see below)."""

    index_map: np.ndarray
    start: int
    stop: int
    repeated: int
    missing: int
    invalid: int


def scan_positions_map(headers: Mapping[str, np.ndarray]) -> _PositionsMap | None:
    """Index map from EM-Scan ``scan_x``/``scan_y`` frame header values, if they describe a scan.

    The positions themselves place the frames, so repeated and lost frames do not shift the scan:

    - frames without a usable position (NaN, infinite, negative, not an integer, >= 2**24) are
      skipped (``invalid``);
    - the scan starts at the last frame of the first run at (0, 0) that the beam leaves (frames
      before it, parked or elsewhere, are not part of the scan);
    - it ends before the beam next comes back to (0, 0) (a next scan; those frames are after it);
    - its shape is the largest ``scan_y`` and ``scan_x`` inside it, plus one;
    - each position takes its first frame; later frames at a taken position are ``repeated``;
    - a position without a frame shows the frame of the position before it in raster order
      (``missing``), as the ``rotidx`` map fills gaps.

    Returns
    -------
    _PositionsMap or None
        ``None`` when the headers carry no positions or the beam never leaves (0, 0).

    Raises
    ------
    ValueError
        If the positions span far more scan points than the scan has frames (corrupt positions
        must not allocate a huge map of repeated frames).
    """
    if "scan_x" not in headers or "scan_y" not in headers:
        return None
    sx = np.asarray(headers["scan_x"], dtype=np.float64)
    sy = np.asarray(headers["scan_y"], dtype=np.float64)
    with np.errstate(invalid="ignore"):
        valid = (
            np.isfinite(sx) & np.isfinite(sy) & (sx >= 0) & (sy >= 0)
            & (sx < _MAX_POSITION) & (sy < _MAX_POSITION)
            & (sx == np.floor(sx)) & (sy == np.floor(sy))
        )  # fmt: skip
    frames = np.flatnonzero(valid)
    x, y = sx[frames].astype(np.int64), sy[frames].astype(np.int64)
    origin = (x == 0) & (y == 0)
    leaves = np.flatnonzero(origin[:-1] & ~origin[1:])
    if leaves.size == 0:
        return None
    first = int(leaves[0])
    back = np.flatnonzero(origin[first + 1 :] & ~origin[first:-1])
    last = first + 1 + int(back[0]) if back.size else frames.size  # exclusive, in valid frames
    x, y, frames = x[first:last], y[first:last], frames[first:last]
    width, height = int(x.max()) + 1, int(y.max()) + 1
    total = width * height
    if total > 2 * frames.size:
        raise ValueError(
            f"Scan of {height} x {width} points from Scan_x/Scan_y has only {frames.size} frames "
            f"(largest position x {width - 1}, y {height - 1}); the positions do not describe a "
            "scan here, please supply a scan_shape and start_frame."
        )
    taken, first_frame = np.unique(y * width + x, return_index=True)
    positions = np.full(total, -1, dtype=np.int64)
    positions[taken] = frames[first_frame]
    # a position without a frame shows the one before it (position 0 always has one)
    filled = np.maximum.accumulate(np.where(positions >= 0, np.arange(total), 0))
    start, stop = int(frames[0]), int(frames[-1])
    return _PositionsMap(
        positions[filled].reshape(height, width),
        start,
        stop,
        repeated=int(frames.size - taken.size),
        missing=int(total - taken.size),
        invalid=int(stop - start + 1 - frames.size),
    )


def scan_positions_layout(found: _PositionsMap) -> ScanLayout | None:
    """The regular raster of a positions map (``None`` when it repeats, skips or reorders)."""
    if found.repeated or found.missing or found.invalid:
        return None
    layout = ScanLayout(found.index_map.shape, found.start)
    if not np.array_equal(layout.index_map(found.stop + 1), found.index_map):
        return None
    return layout


def auto_layout(
    headers: Mapping[str, np.ndarray], winding: str | None = None, hysteresis: int = 0
) -> tuple[np.ndarray, ScanLayout | None]:
    """Detect the scan from frame headers, as ``scan_shape="auto"`` does.

    ``rotidx`` is used when it increases anywhere (RosettaSciIO's rule, made signed); else the
    EM-Scan positions (:func:`scan_positions_map`). Winding and hysteresis are applied to the
    result.

    Returns
    -------
    tuple
        The index map and, when the scan is a regular raster, its :class:`ScanLayout`
        (``None`` for maps that repeat or skip frames, and for every rotidx map).

    Raises
    ------
    ValueError
        If the headers do not describe a scan.
    """
    found = header_scan(headers)
    layout = found.layout
    if layout is not None:
        layout = ScanLayout(layout.shape, layout.start, winding, hysteresis)
    return apply_winding(found.index_map, winding, hysteresis), layout


def as_shape(scan_shape: Sequence[int] | int) -> tuple[int, ...]:
    """Normalise a user's scan shape (an int is a 1-D scan)."""
    if isinstance(scan_shape, (int, np.integer)):
        return (int(scan_shape),)
    return tuple(int(s) for s in scan_shape)


@dataclass(frozen=True, eq=False)
class HeaderScan:
    """A scan found in the frame headers, with what was done to the frames to get it.

    Attributes
    ----------
    index_map : numpy.ndarray
        Frame index of every scan position (winding not applied).
    source : {"rotidx", "scan_x/scan_y"}
        The header field(s) that describe the scan.
    start, stop : int
        First and last frame of the scan in the recording.
    repeated : int
        Frames inside the scan that repeat a scan position already taken, and are skipped.
    missing : int
        Scan positions without a frame of their own (they show the previous frame).
    after : int
        Frames after the scan (``rotidx`` dropped back, or the positions ended).
    layout : ScanLayout or None
        The regular layout, when the scan is one (EM-Scan positions).
    invalid : int
        Frames inside the scan without a usable position (EM-Scan), skipped.
    """

    index_map: np.ndarray
    source: str
    start: int
    stop: int
    repeated: int
    missing: int
    after: int
    layout: ScanLayout | None = None
    invalid: int = 0

    @property
    def shape(self) -> tuple[int, ...]:
        """The scan shape."""
        return tuple(int(s) for s in self.index_map.shape)

    def text(self) -> str:
        """What was found, in words ("48 x 48 from rotidx; 24 repeated frames skipped, ...")."""
        shape = " x ".join(str(s) for s in self.shape)
        words = (
            f"{shape} from {self.source}, first scan frame {self.start}; "
            f"{self.repeated} repeated frame{'s' * (self.repeated != 1)} skipped, "
            f"{self.missing} missing"
        )
        if self.invalid:
            words += f"; {self.invalid} frame{'s' * (self.invalid != 1)} without a position skipped"
        if self.after:
            words += f"; {self.after} frame{'s' * (self.after != 1)} after the scan"
        return words


def header_scan(headers: Mapping[str, np.ndarray]) -> HeaderScan:
    """The scan the frame headers describe (as ``scan_shape="auto"``), with its frame counts.

    Raises
    ------
    ValueError
        If the headers do not describe a scan (the message says why).
    """
    n = len(next(iter(headers.values()), ()))
    rot = headers.get("rotidx")
    found = None
    try:
        grid = rotidx_index_map(rot) if rot is not None else None
    except ValueError:  # not a scan index; EM-Scan positions may still describe the scan
        found = scan_positions_map(headers)
        if found is None:
            raise
        grid = None
    if grid is not None:
        flat = np.sort(grid, axis=None)  # already sorted: fast (np.unique hashes, ~1 s per 1M)
        used = int(np.count_nonzero(flat[1:] != flat[:-1])) + 1
        start, stop = int(grid.min()), int(grid.max())
        rot = np.asarray(rot, dtype=np.int64)
        # the scan's last frame is the last frame of the final position's run of equal rotidx
        last = stop
        while last + 1 < n and rot[last + 1] == rot[stop]:
            last += 1
        frames = last - start + 1
        return HeaderScan(
            grid, "rotidx", start, last, frames - used, grid.size - used, n - last - 1
        )
    if found is None:
        found = scan_positions_map(headers)
    if found is None:
        raise ValueError(
            "Scan start and stop information could not be automatically determined. "
            "Please supply a scan_shape and scan_start_frame."
        )
    return HeaderScan(
        found.index_map,
        "scan_x/scan_y",
        found.start,
        found.stop,
        found.repeated,
        found.missing,
        n - found.stop - 1,
        scan_positions_layout(found),
        found.invalid,
    )
