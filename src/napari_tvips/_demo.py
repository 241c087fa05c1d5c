"""A synthetic 4D-STEM TVIPS recording with known scan parameters, for demos and tests.

:func:`write_demo` writes a snake ("winding" ``"x"``) scan of a polycrystalline specimen as an
EM-Konos camera would record it: a few frames with the beam parked (dimmer) before the scan,
``rotidx`` 0 for those and 1..N during the scan, and a known hysteresis (shift of the reversed
rows). Re-slicing with :data:`DEMO_PARAMETERS` gives a sensible 4D dataset (grains, a vacuum
hole, thickness fringes in the Bragg intensities); wrong parameters visibly comb the grain edges.

Frames are rendered with NumPy only (one matrix product per grain and beam shift) and carry
Poisson noise; the default recording (2311 frames of 128 x 128) takes about a second.
The files are written by :func:`napari_tvips.file_writer` (frame headers passed through
``original_metadata["frame_headers"]``). This module imports no Qt or napari and holds no format
knowledge.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._format import MAIN_HEADER_BYTES, RSCIIO_FRAME_HEADER_BYTES, part_data_offset
from ._scan import ScanLayout

__all__ = ["DEMO_PARAMETERS", "DemoTruth", "demo_frames", "demo_truth", "write_demo"]

#: The scan parameters of the default demo, in RosettaSciIO's argument names:
#: ``file_reader(write_demo(folder), **DEMO_PARAMETERS)`` gives the true 4D dataset.
DEMO_PARAMETERS: dict[str, Any] = {
    "scan_shape": (48, 48),
    "scan_start_frame": 7,
    "winding_scan_axis": "x",
    "hysteresis": 2,
}

#: Frame header bytes the writer uses (RosettaSciIO's size; holds ``rotidx``).
_FRAME_HEADER_BYTES = RSCIIO_FRAME_HEADER_BYTES
#: First frame's time stamp (seconds since the epoch, UTC) and the frame period in ms.
_T0 = 1_700_000_000
_FRAME_MS = 2
#: Mean counts per pixel in the central disk in vacuum, and the detector's dark level.
_DOSE = 40.0
_DARK = 0.15
#: Means at or above this are sampled with NumPy's Poisson sampler, below by inverse CDF.
_SPLIT_LAMBDA = 8.0


@dataclass(frozen=True)
class DemoTruth:
    """The true acquisition parameters of a demo recording.

    Attributes
    ----------
    scan_shape : tuple of int
        ``(scan_y, scan_x)``.
    start : int
        Index of the first scan frame (the number of parked-beam frames before it).
    winding : str
        Snake axis, always ``"x"`` (RosettaSciIO convention: even rows reversed).
    hysteresis : int
        Shift of the reversed rows, in scan points.
    n_frames : int
        Frames in the recording (pre-scan + scan + post-scan).
    frame_shape : tuple of int
        ``(dimy, dimx)``.
    frame_time : float
        Seconds between frames.
    """

    scan_shape: tuple[int, int]
    start: int
    winding: str
    hysteresis: int
    n_frames: int
    frame_shape: tuple[int, int]
    frame_time: float

    @property
    def layout(self) -> ScanLayout:
        """The :class:`~napari_tvips.ScanLayout` that reconstructs the scan."""
        return ScanLayout(self.scan_shape, self.start, self.winding, self.hysteresis)

    def reader_kwargs(self) -> dict[str, Any]:
        """Scan arguments for :func:`napari_tvips.file_reader` (RosettaSciIO names)."""
        return {
            "scan_shape": self.scan_shape,
            "scan_start_frame": self.start,
            "winding_scan_axis": self.winding,
            "hysteresis": self.hysteresis,
        }


def demo_truth(
    scan_shape: tuple[int, int] = (48, 48),
    frame_shape: tuple[int, int] = (128, 128),
    pre_frames: int = 7,
    hysteresis: int = 2,
    post_frames: int = 0,
) -> DemoTruth:
    """The :class:`DemoTruth` of a demo written with these arguments."""
    scan = (int(scan_shape[0]), int(scan_shape[1]))
    frame = (int(frame_shape[0]), int(frame_shape[1]))
    if min(scan) < 2 or min(frame) < 16:
        raise ValueError(f"demo needs a scan of at least 2 x 2 and frames of at least 16 x 16, "
                         f"got scan {scan} and frames {frame}")  # fmt: skip
    if pre_frames < 0 or post_frames < 0:
        raise ValueError("pre_frames and post_frames must be >= 0")
    n = int(pre_frames) + scan[0] * scan[1] + int(post_frames)
    return DemoTruth(scan, int(pre_frames), "x", int(hysteresis), n, frame, _FRAME_MS / 1000)


# -- specimen --------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Specimen:
    grain: np.ndarray  # (H, W) grain number; -1 is vacuum
    thickness: np.ndarray  # (H, W), in extinction-length-like units
    shift: np.ndarray  # (H, W, 2) beam (descan) shift of the pattern in pixels, quantised
    angles: np.ndarray  # (n_grains,) lattice rotation, radians
    excitation: np.ndarray  # (n_grains, n_reflections) thickness frequency of each reflection


def _specimen(scan: tuple[int, int], rng: np.random.Generator, n_refl: int) -> _Specimen:
    h, w = scan
    y, x = np.mgrid[0:h, 0:w] / np.array([h, w], dtype=float)[:, None, None]
    n_grains = 6
    seeds = rng.random((n_grains, 2))
    dist = (y[None] - seeds[:, 0, None, None]) ** 2 + (x[None] - seeds[:, 1, None, None]) ** 2
    grain = np.argmin(dist, axis=0)
    hole = (y - 0.82) ** 2 + (x - 0.18) ** 2 < 0.16**2
    grain = np.where(hole, -1, grain)
    thickness = 0.35 + 0.9 * x * (0.6 + 0.4 * y) + 0.08 * np.sin(2 * np.pi * (2.5 * y + x))
    thickness = np.where(hole, 0.0, thickness)
    shift = np.stack([1.5 * (x - 0.5), 2.0 * (y - 0.5)], axis=-1)  # pixels (dy, dx)
    shift = np.round(shift * 2) / 2
    angles = rng.uniform(0, np.pi / 3, n_grains)
    excitation = rng.uniform(0.6, 2.4, (n_grains, n_refl))
    return _Specimen(grain, thickness, shift, angles, excitation)


def _lattice(frame: tuple[int, int]) -> np.ndarray:
    """Hexagonal reciprocal lattice vectors g (pixels) inside the frame, excluding 0."""
    a = 0.17 * min(frame)
    ij = np.mgrid[-4:5, -4:5].reshape(2, -1).T
    b1, b2 = np.array([a, 0.0]), np.array([a / 2, a * math.sqrt(3) / 2])
    g = ij[:, :1] * b1 + ij[:, 1:] * b2
    r = np.hypot(g[:, 0], g[:, 1])
    return g[(r > 0) & (r < 0.44 * min(frame))]


def _disk(yy: np.ndarray, xx: np.ndarray, cy: float, cx: float, radius: float) -> np.ndarray:
    """A disk with a one-pixel soft edge (sub-pixel positions render smoothly)."""
    r = np.hypot(yy - cy, xx - cx)
    return np.clip(radius + 0.5 - r, 0.0, 1.0)


def _masks(frame: tuple[int, int], g: np.ndarray, angle: float, shift: np.ndarray) -> np.ndarray:
    """Component images (BF disk, each Bragg disk, diffuse halo, dark) as rows of a matrix."""
    dy, dx = frame
    yy, xx = np.mgrid[0:dy, 0:dx].astype(np.float32)
    cy, cx = dy / 2 + shift[0], dx / 2 + shift[1]
    radius = min(frame) / 16
    c, s = math.cos(angle), math.sin(angle)
    rows = [_disk(yy, xx, cy, cx, radius)]
    for gy, gx in g:
        ry, rx = c * gy - s * gx, s * gy + c * gx
        rows.append(_disk(yy, xx, cy + ry, cx + rx, radius))
    halo = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (0.22 * min(frame)) ** 2))
    rows.append(halo)
    rows.append(np.ones_like(yy))
    return np.stack(rows).reshape(len(rows), -1).astype(np.float32)


def _weights(spec: _Specimen, g: np.ndarray, pos: np.ndarray, size: int) -> np.ndarray:
    """Per-frame weights of the components of :func:`_masks` at scan positions ``pos``."""
    t = spec.thickness[pos[:, 0], pos[:, 1]]
    grain = spec.grain[pos[:, 0], pos[:, 1]]
    n_refl = g.shape[0]
    w = np.zeros((pos.shape[0], n_refl + 3), dtype=np.float32)
    w[:, 0] = _DOSE * np.exp(-0.9 * t)
    falloff = np.exp(-((np.hypot(g[:, 0], g[:, 1]) / (0.25 * size)) ** 2))  # weaker far out
    exc = spec.excitation[np.maximum(grain, 0)]
    bragg = 0.35 * _DOSE * falloff[None] * np.sin(np.pi * t[:, None] * exc) ** 2
    w[:, 1 : n_refl + 1] = np.where(grain[:, None] >= 0, bragg * np.exp(-0.5 * t[:, None]), 0)
    w[:, n_refl + 1] = 0.6 * t
    w[:, n_refl + 2] = _DARK
    return w


# -- noise -----------------------------------------------------------------------------------
def _poisson(lam: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Poisson samples of means ``lam`` (exact; fast for the mostly tiny means of a pattern).

    Large means use NumPy's sampler; small ones invert the CDF with one uniform each, looping
    only over the pixels that are still counting (most are 0 or 1).
    """
    flat = np.asarray(lam, dtype=np.float32).reshape(-1)
    out = np.zeros(flat.size, dtype=np.int64)
    big = np.flatnonzero(flat >= _SPLIT_LAMBDA)
    out[big] = rng.poisson(flat[big])
    u = rng.random(flat.size, dtype=np.float32)
    p = np.exp(-flat)
    p[big] = 1.0  # already sampled: u < 1 never passes
    idx = np.flatnonzero(u > p)  # most pixels stop at 0 here, without any compaction
    mean, u, p = flat[idx], u[idx], p[idx]
    cdf = p.copy()
    k = 0
    while idx.size and k < 200:
        k += 1
        out[idx] += 1
        p *= mean / k
        cdf += p
        more = u > cdf
        if not more.all():
            idx, mean, u, p, cdf = idx[more], mean[more], u[more], p[more], cdf[more]
    return out.reshape(lam.shape)


# -- frames ----------------------------------------------------------------------------------
def demo_frames(
    scan_shape: tuple[int, int] = (48, 48),
    frame_shape: tuple[int, int] = (128, 128),
    pre_frames: int = 7,
    hysteresis: int = 2,
    seed: int = 0,
    post_frames: int = 0,
) -> tuple[np.ndarray, dict[str, np.ndarray], DemoTruth]:
    """Render the demo in memory (see :func:`write_demo` for the arguments).

    Returns
    -------
    frames : numpy.ndarray
        ``(n_frames, dimy, dimx)`` uint16 counts, in acquisition order.
    headers : dict of str to numpy.ndarray
        Frame header fields per frame (``num``, ``timestamp``, ``ms``, ``mode``, ``rotidx``, ...).
    truth : DemoTruth
        The true acquisition parameters.
    """
    truth = demo_truth(scan_shape, frame_shape, pre_frames, hysteresis, post_frames)
    rng = np.random.default_rng(seed)
    g = _lattice(truth.frame_shape)
    spec = _specimen(truth.scan_shape, rng, g.shape[0])
    h, w = truth.scan_shape
    n_scan = h * w
    # scan position shown by each frame: invert the reader's own index map, so the demo follows
    # exactly the convention (even rows reversed, then rolled by the hysteresis) used to re-slice.
    imap = truth.layout.index_map(truth.n_frames)
    pos = np.zeros((truth.n_frames, 2), dtype=np.int64)
    pos[imap.reshape(-1)] = np.stack(np.unravel_index(np.arange(n_scan), (h, w)), axis=-1)
    scanning = np.zeros(truth.n_frames, dtype=bool)
    scanning[imap.reshape(-1)] = True
    # parked beam before and after the scan: at the first / last scan point
    pos[: truth.start] = [0, w - 1]
    pos[truth.start + n_scan :] = [h - 1, 0 if h % 2 == 0 else w - 1]

    weights = _weights(spec, g, pos, min(truth.frame_shape))
    weights[~scanning, :-1] *= 0.3  # beam partly blanked while parked
    grain = spec.grain[pos[:, 0], pos[:, 1]]
    shift = spec.shift[pos[:, 0], pos[:, 1]]
    key = np.column_stack([np.maximum(grain, 0), shift * 2]).astype(np.int64)
    groups, which = np.unique(key, axis=0, return_inverse=True)
    frames = np.empty((truth.n_frames, *truth.frame_shape), dtype=np.uint16)
    flat = frames.reshape(truth.n_frames, -1)
    for k, (gr, sy, sx) in enumerate(groups):
        sel = np.flatnonzero(which.reshape(-1) == k)
        masks = _masks(truth.frame_shape, g, float(spec.angles[gr]), np.array([sy, sx]) / 2)
        lam = weights[sel] @ masks
        flat[sel] = np.minimum(_poisson(lam, rng), np.iinfo(np.uint16).max)

    i = np.arange(truth.n_frames, dtype=np.int64)
    ms_total = i * _FRAME_MS
    rotidx = np.zeros(truth.n_frames, dtype=np.int64)
    rotidx[truth.start : truth.start + n_scan] = np.arange(1, n_scan + 1)
    headers = {
        "num": i,
        "timestamp": _T0 + ms_total // 1000,
        "ms": ms_total % 1000,
        "mode": np.full(truth.n_frames, 2),
        "rotidx": rotidx,
        "mag": np.full(truth.n_frames, 80),
        "fcurrent": np.full(truth.n_frames, 0.05),
    }
    return frames, headers, truth


def _signal(frames: np.ndarray, headers: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """The RosettaSciIO signal dict of the demo (frame headers kept as written)."""
    n, dimy, dimx = frames.shape
    axes = [
        {"name": "time", "size": n, "scale": _FRAME_MS / 1000, "offset": 0.0, "units": "s",
         "navigate": True},
        {"name": "dy", "size": dimy, "scale": 1.0, "offset": 0.0, "units": "1/nm",
         "navigate": False},
        {"name": "dx", "size": dimx, "scale": 1.0, "offset": 0.0, "units": "1/nm",
         "navigate": False},
    ]  # fmt: skip
    tvips_header = {
        "dimx": dimx, "dimy": dimy, "bitsperpixel": frames.dtype.itemsize * 8, "binx": 1,
        "biny": 1, "ht": 200, "magtotal": 80, "dummy": b"napari-tvips demo",
        "size": MAIN_HEADER_BYTES, "version": 2, "offsetx": 0, "offsety": 0, "pixelsize": 1,
        "frameheaderbytes": _FRAME_HEADER_BYTES,
    }  # fmt: skip
    return {
        "data": frames,
        "axes": axes,
        "metadata": {"Acquisition_instrument": {"TEM": {"beam_energy": 200, "camera_length": 80}}},
        "original_metadata": {"tvips_header": tvips_header, "frame_headers": dict(headers)},
    }


def write_demo(
    folder: str | os.PathLike[str],
    name: str = "demo",
    scan_shape: tuple[int, int] = (48, 48),
    frame_shape: tuple[int, int] = (128, 128),
    pre_frames: int = 7,
    hysteresis: int = 2,
    seed: int = 0,
    *,
    post_frames: int = 0,
    frames_per_part: int = 1000,
) -> Path:
    """Write a synthetic 4D-STEM recording and return the path of its ``_000`` part.

    Parameters
    ----------
    folder : str or os.PathLike
        Existing folder to write into (parts of an older demo of the same name are replaced).
    name : str
        Recording name: parts are ``name_000.tvips``, ``name_001.tvips``, ...
    scan_shape : tuple of int
        ``(scan_y, scan_x)`` of the snake scan.
    frame_shape : tuple of int
        ``(dimy, dimx)`` of each diffraction pattern.
    pre_frames : int
        Parked-beam frames before the scan (the true ``scan_start_frame``).
    hysteresis : int
        True shift of the reversed (even) rows, in scan points.
    seed : int
        Seed of the specimen and the noise; equal arguments write identical bytes.
    post_frames : int
        Parked-beam frames after the scan (``rotidx`` drops back to 0 there).
    frames_per_part : int
        Frames per file, to show that any part opens the whole recording.

    Returns
    -------
    pathlib.Path
        ``folder / f"{name}_000.tvips"``. The true parameters are :func:`demo_truth` of the same
        arguments (:data:`DEMO_PARAMETERS` for the defaults).
    """
    frames, headers, _truth = demo_frames(
        scan_shape, frame_shape, pre_frames, hysteresis, seed, post_frames
    )
    from ._writer import file_writer

    record = _FRAME_HEADER_BYTES + frames[0].nbytes
    paths = file_writer(
        Path(folder) / name,
        _signal(frames, headers),
        max_file_size=part_data_offset(0) + max(int(frames_per_part), 1) * record,
        mode=2,
        show_progressbar=False,
    )
    return Path(paths[0])
