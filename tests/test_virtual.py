"""The beam-centre estimate shared by the virtual imager and the navigator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from napari_tvips import Series
from napari_tvips._virtual import estimate_centre
from tvips_bytes import write_recording


@pytest.fixture
def disk_series(tmp_path: Path) -> tuple[Series, np.ndarray]:
    rng = np.random.default_rng(1)
    frames = rng.poisson(3, (50, 32, 40)).astype(np.uint16)
    yy, xx = np.indices((32, 40))
    frames[:, (yy - 14) ** 2 + (xx - 22) ** 2 <= 16] += 200
    write_recording(tmp_path / "v", frames, frames_per_part=[20, 30])
    return Series(tmp_path / "v_000.tvips"), frames


def test_estimate_centre(disk_series) -> None:
    series, _ = disk_series
    cy, cx = estimate_centre(series)
    assert abs(cy - 14) < 0.5 and abs(cx - 22) < 0.5
