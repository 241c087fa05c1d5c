"""Byte-built scan recordings whose rotidx repeats, skips or drops, with their true scan.

The frames are the synthetic demo's (:func:`napari_tvips._demo.demo_frames`, rendered in memory);
the files are written by :func:`tvips_bytes.write_recording`, not by our writer.
"""

from __future__ import annotations

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
