"""Byte-built scan recordings whose rotidx repeats, skips or drops, with their true scan.

The frames are the synthetic demo's (:func:`napari_tvips._demo.demo_frames`, rendered in memory);
the files are written by :func:`tvips_bytes.write_recording`, not by our writer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from napari_tvips._demo import demo_frames
from tvips_bytes import write_recording


@dataclass(frozen=True)
class ScanFile:
    """A written recording and the truth about it."""

    path: Path
    truth: np.ndarray  # (scan_y, scan_x, dimy, dimx): the true scan
    repeated: int
    missing: int
    after: int
    hysteresis: int


def scan_file(
    folder: Path,
    name: str = "combed",
    *,
    scan: tuple[int, int] = (24, 24),
    frame: tuple[int, int] = (32, 32),
    pre: int = 5,
    post: int = 3,
    hysteresis: int = 2,
    repeat_every: int = 0,
    drop: tuple[int, ...] = (),
) -> ScanFile:
    """A snake scan with repeated and lost scan frames.

    The camera repeated every ``repeat_every``-th scan frame (0: none) while the scan generator
    waited, and lost the frames of scan positions ``drop``.

    rotidx is 0 before the scan, the scan position + 1 during it (repeated for repeats) and 0
    after it (``post`` parked frames), as EM-Konos writes it.
    """
    frames, headers, truth = demo_frames(scan, frame, pre, hysteresis, seed=3, post_frames=post)
    n_scan = scan[0] * scan[1]
    order = list(range(pre))
    for pos in range(n_scan):
        if pos in drop:
            continue
        order.append(pre + pos)
        if repeat_every and pos % repeat_every == repeat_every - 1:
            order.append(pre + pos)  # the same position again
    order += list(range(pre + n_scan, truth.n_frames))
    idx = np.array(order)
    # per acquisition position; a missing position shows the frame before it (as rsciio's and
    # our rotidx maps do), then onto the grid through the true layout
    acq = frames[pre : pre + n_scan].copy()
    for pos in sorted(drop):
        acq[pos] = acq[pos - 1]
    grid = acq[truth.layout.index_map(truth.n_frames) - pre]
    write_recording(
        folder / name,
        frames[idx],
        headers={
            "rotidx": headers["rotidx"][idx],
            "num": np.arange(idx.size),
            "timestamp": headers["timestamp"][idx],
            "ms": headers["ms"][idx],
        },
        frames_per_part=[idx.size // 2, idx.size - idx.size // 2],
    )
    repeated = sum(
        1 for pos in range(n_scan)
        if repeat_every and pos not in drop and pos % repeat_every == repeat_every - 1
    )  # fmt: skip
    return ScanFile(
        folder / f"{name}_000.tvips",
        grid,
        repeated,
        len(drop),
        post,
        hysteresis,
    )


@dataclass(frozen=True)
class PositionsFile:
    """A written EM-Scan recording (Scan_x/Scan_y positions) and the truth about it."""

    path: Path
    frames: np.ndarray  # (n, dimy, dimx) in acquisition order; pixels encode the frame index
    truth: np.ndarray  # (scan_y, scan_x): the frame shown at each position
    start: int
    stop: int
    repeated: int
    missing: int
    invalid: int
    after: int


def positions_file(
    folder: Path,
    name: str = "emscan",
    *,
    scan: tuple[int, int] = (5, 7),
    pre: int = 3,
    post: int = 2,
    repeat: tuple[int, ...] = (),
    drop: tuple[int, ...] = (),
    invalid: tuple[int, ...] = (),
    post_at: tuple[float, float] = (0.0, 0.0),
    frame: tuple[int, int] = (4, 6),
) -> PositionsFile:
    """A fly-back raster EM-Scan recording (108-byte frame headers, ``rotidx`` 0 throughout).

    The beam is parked at (0, 0) for ``pre`` frames, then visits the positions in raster order:
    the camera takes a second frame at the positions ``repeat``, none at ``drop``, and writes a
    NaN position for the frame of the positions ``invalid`` (taken again right after, valid).
    After the scan, ``post`` frames at ``post_at`` (x, y); (0, 0) starts a next scan.
    """
    height, width = scan
    assert 0 not in drop and 0 not in invalid, "the scan's first position must have its frame"
    xs: list[float] = [0.0] * pre
    ys: list[float] = [0.0] * pre
    first: dict[int, int] = {}
    repeated = n_invalid = 0
    for pos in range(height * width):
        if pos in drop:
            continue
        y, x = divmod(pos, width)
        if pos in invalid:
            xs.append(float("nan"))
            ys.append(float(y))
            n_invalid += 1
        first[pos] = len(xs)
        for _ in range(2 if pos in repeat else 1):
            xs.append(float(x))
            ys.append(float(y))
        repeated += pos in repeat and pos != 0
    # the scan starts at the last frame of the first run at (0, 0): the parked frames and a
    # repeat of position 0 are before the scan
    start = first[0] = pre + (0 in repeat)
    stop = len(xs) - 1
    after = post
    if post and not (post_at == (0.0, 0.0) or math.isnan(post_at[0])):
        repeated, stop, after = repeated + post, stop + post, 0  # parked inside the scan
    xs += [post_at[0]] * post
    ys += [post_at[1]] * post
    truth = np.empty(height * width, dtype=np.int64)
    for pos in range(height * width):
        truth[pos] = first[pos] if pos in first else truth[pos - 1]
    n = len(xs)
    frames = np.broadcast_to(np.arange(n, dtype=np.uint16)[:, None, None], (n, *frame)).copy()
    frames[:, 0, : frame[1]] = np.arange(frame[1], dtype=np.uint16)  # not a constant frame
    write_recording(
        folder / name,
        frames,
        fhb=108,
        headers={"rotidx": [0] * n, "scan_x": xs, "scan_y": ys},
        frames_per_part=[n // 2, n - n // 2],
    )
    return PositionsFile(
        folder / f"{name}_000.tvips",
        frames,
        truth.reshape(height, width),
        start,
        stop,
        repeated,
        len(drop),
        n_invalid,
        after,
    )
