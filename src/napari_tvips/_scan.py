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

__all__ = ["HeaderScan", "ScanLayout", "auto_layout", "header_scan", "rotidx_index_map"]

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
    positions = np.zeros(total, dtype=np.int64)
    value_at = 0  # index (in seg) where the current run of equal rotidx starts
    for i in range(seg.size):
        if seg[value_at] != seg[i]:
            lo, hi = max(int(seg[value_at]) - 1, 0), int(seg[i]) - 1
            frames = np.arange(value_at, i)[: hi - lo]
            if frames.size:
                positions[lo:hi] = frames[-1]
                positions[lo : lo + frames.size] = frames
            value_at = i
    positions[max(int(seg[value_at]) - 1, 0) :] = value_at
    return (positions + start).reshape(side, side)


def scan_positions_layout(headers: Mapping[str, np.ndarray]) -> ScanLayout | None:
    """Layout from EM-Scan ``scan_x``/``scan_y`` frame header values, if they describe a scan.

    The first scan frame is the first frame at position (0, 0) that is followed by (x=1, y=0) or,
    for one-column scans, (0, 1); the shape is the largest position seen after it, plus one.
    """
    if "scan_x" not in headers or "scan_y" not in headers:
        return None
    sx, sy = headers["scan_x"], headers["scan_y"]
    ok = np.isfinite(sx) & np.isfinite(sy) & (sx >= 0) & (sy >= 0) & (sx < 2**20) & (sy < 2**20)
    if not ok.any() or (sx[ok].max() == 0 and sy[ok].max() == 0):
        return None
    if not np.array_equal(sx[ok], np.round(sx[ok])) or not np.array_equal(sy[ok], np.round(sy[ok])):
        return None
    x = np.where(ok, sx, -1).astype(np.int64)
    y = np.where(ok, sy, -1).astype(np.int64)
    origin = (x[:-1] == 0) & (y[:-1] == 0)
    nxt = ((x[1:] == 1) & (y[1:] == 0)) | ((x[1:] == 0) & (y[1:] == 1))
    candidates = np.flatnonzero(origin & nxt)
    if candidates.size == 0:
        return None
    start = int(candidates[0])
    width = int(x[start:].max()) + 1
    height = int(y[start:].max()) + 1
    available = (x.size - start) // width
    height = min(height, available)
    if height <= 0:
        return None
    return ScanLayout((height, width), start)


def auto_layout(
    headers: Mapping[str, np.ndarray], winding: str | None = None, hysteresis: int = 0
) -> tuple[np.ndarray, ScanLayout | None]:
    """Detect the scan from frame headers, as ``scan_shape="auto"`` does.

    ``rotidx`` is used when it increases anywhere (RosettaSciIO's rule, made signed); else EM-Scan
    positions. Winding and hysteresis are applied to the result.

    Returns
    -------
    tuple
        The index map and, when the scan is a regular raster, its :class:`ScanLayout`
        (``None`` for rotidx maps, which may repeat or skip frames).

    Raises
    ------
    ValueError
        If the headers do not describe a scan.
    """
    rot = headers.get("rotidx")
    if rot is not None:
        grid = rotidx_index_map(rot)
        if grid is not None:
            return apply_winding(grid, winding, hysteresis), None
    layout = scan_positions_layout(headers)
    if layout is not None:
        layout = ScanLayout(layout.shape, layout.start, winding, hysteresis)
        return layout.index_map(len(next(iter(headers.values())))), layout
    raise ValueError(
        "Scan start and stop information could not be automatically determined. "
        "Please supply a scan_shape and scan_start_frame."
    )


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
    """

    index_map: np.ndarray
    source: str
    start: int
    stop: int
    repeated: int
    missing: int
    after: int
    layout: ScanLayout | None = None

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
    grid, layout = auto_layout(headers)
    n = len(next(iter(headers.values())))
    used = int(np.unique(grid).size)
    if layout is not None:
        start, stop = layout.start, layout.start + grid.size - 1
        return HeaderScan(grid, "scan_x/scan_y", start, stop, 0, 0, n - stop - 1, layout)
    start, stop = int(grid.min()), int(grid.max())
    rot = np.asarray(headers["rotidx"], dtype=np.int64)
    # the scan's last frame is the last frame of the final position's run of equal rotidx
    last = stop
    while last + 1 < n and rot[last + 1] == rot[stop]:
        last += 1
    frames = last - start + 1
    return HeaderScan(grid, "rotidx", start, last, frames - used, grid.size - used, n - last - 1)
