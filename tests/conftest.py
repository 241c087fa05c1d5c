"""Shared fixtures: small recordings built byte by byte (see tvips_bytes.py)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from tvips_bytes import write_recording


@pytest.fixture(autouse=True, scope="session")
def _utc() -> None:
    """RosettaSciIO labels machine-local time as UTC; run in UTC so parity tests compare."""
    os.environ["TZ"] = "UTC"
    time.tzset()


@pytest.fixture
def frames() -> np.ndarray:
    """30 frames of 5 x 7 uint16 with distinct values."""
    return np.arange(30 * 5 * 7, dtype=np.uint16).reshape(30, 5, 7)


@pytest.fixture
def recording(tmp_path: Path, frames: np.ndarray) -> Path:
    """A v2 recording of 30 frames split 10 + 12 + 8, 60-byte frame headers; returns _000."""
    write_recording(tmp_path / "rec", frames, frames_per_part=[10, 12, 8])
    return tmp_path / "rec_000.tvips"
