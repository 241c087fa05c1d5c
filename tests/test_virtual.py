"""Per-frame virtual detector values against a NumPy reference."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from napari_tvips import Series
from napari_tvips._virtual import (
    Detector,
    FrameValues,
    detector_masks,
    estimate_centre,
    frame_values,
    iter_frame_values,
)
from tvips_bytes import write_recording


@pytest.fixture
def disk_series(tmp_path: Path) -> tuple[Series, np.ndarray]:
    rng = np.random.default_rng(1)
    frames = rng.poisson(3, (50, 32, 40)).astype(np.uint16)
    yy, xx = np.indices((32, 40))
    frames[:, (yy - 14) ** 2 + (xx - 22) ** 2 <= 16] += 200
    write_recording(tmp_path / "v", frames, frames_per_part=[20, 30])
    return Series(tmp_path / "v_000.tvips"), frames


def reference(frames: np.ndarray, det: Detector) -> np.ndarray:
    yy, xx = np.indices(frames.shape[1:])
    r = np.hypot(yy - det.centre[0], xx - det.centre[1])
    bf = r <= det.bf_radius
    adf = (r >= det.adf_inner) & (r < det.adf_outer)
    f = frames.astype(np.int64)
    return np.stack([f.sum((1, 2)), f[:, bf].sum(1), f[:, adf].sum(1)], axis=1).astype(float)


@pytest.mark.parametrize(("block", "threads"), [(None, 2), (7, 1), (7, 2), (1, 3)])
def test_frame_values_match_reference(disk_series, block, threads) -> None:
    series, frames = disk_series
    det = Detector((14.0, 22.0), 4.0, 8.0, 15.0)
    got = frame_values(series, det, block=block, threads=threads)
    np.testing.assert_allclose(got, reference(frames, det), rtol=1e-6)


def test_iter_in_order_and_partial_range(disk_series) -> None:
    series, _ = disk_series
    det = Detector.default(series.frame_shape)
    slices = [sl for sl, _ in iter_frame_values(series, det, start=5, block=8)]
    assert slices[0] == slice(5, 13) and slices[-1].stop == 50
    assert all(a.stop == b.start for a, b in pairwise(slices))


def test_progress_and_masks(disk_series) -> None:
    series, _ = disk_series
    calls = []
    frame_values(
        series,
        Detector.default(series.frame_shape),
        block=16,
        progress=lambda d, t: calls.append((d, t)),
    )
    assert calls[-1] == (50, 50) and len(calls) == 4
    masks = detector_masks((32, 40), Detector((14.0, 22.0), 4.0, 8.0, 15.0))
    assert masks.shape == (32 * 40, 3) and masks[:, 0].sum() == 32 * 40


def test_estimate_centre(disk_series) -> None:
    series, _ = disk_series
    cy, cx = estimate_centre(series)
    assert abs(cy - 14) < 0.5 and abs(cx - 22) < 0.5


def test_frame_values_cache_grows() -> None:
    fv = FrameValues(10, Detector.default((8, 8)))
    fv.store(slice(0, 4), np.ones((4, 3)))
    assert fv.done == 4 and not fv.complete
    fv.grow(12)
    assert fv.n_frames == 12 and np.isnan(fv.values[4:]).all()
    fv.store(slice(4, 12), np.ones((8, 3)))
    assert fv.complete
    assert fv.image("bf", np.arange(12).reshape(3, 4)).shape == (3, 4)
