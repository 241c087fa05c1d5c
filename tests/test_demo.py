"""The synthetic demo recording: deterministic, fast, readable by rsciio, with known parameters."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from napari_tvips import ScanLayout, file_reader, open_series
from napari_tvips._demo import DEMO_PARAMETERS, demo_frames, demo_truth, write_demo

SMALL = {"scan_shape": (24, 24), "frame_shape": (64, 64), "pre_frames": 5, "hysteresis": 3}


def _misalignment(data: np.ndarray) -> float:
    """Mean step between neighbouring scan rows of a dark-field image (combing raises it)."""
    total = data.sum(axis=(-2, -1), dtype=np.float64)
    cy, cx = data.shape[-2] // 2, data.shape[-1] // 2
    r = data.shape[-1] // 10
    bright = data[..., cy - r : cy + r, cx - r : cx + r].sum(axis=(-2, -1), dtype=np.float64)
    dark = total - bright
    return float(np.abs(np.diff(dark, axis=0)).mean())


def test_default_demo(tmp_path: Path) -> None:
    t0 = time.perf_counter()
    path = write_demo(tmp_path)
    elapsed = time.perf_counter() - t0
    assert elapsed < 10, f"writing the default demo took {elapsed:.1f} s (target < 3 s, unloaded)"
    assert path == tmp_path / "demo_000.tvips"
    series = open_series(path)
    truth = demo_truth()
    assert truth.reader_kwargs() == DEMO_PARAMETERS
    assert series.n_frames == truth.n_frames == 7 + 48 * 48
    assert series.frame_shape == (128, 128) and series.dtype == np.uint16
    assert len(series.parts) > 1  # shows that any part opens the whole recording
    rot = series.frame_headers()["rotidx"]
    np.testing.assert_array_equal(rot[:7], 0)
    np.testing.assert_array_equal(rot[7:], np.arange(1, 48 * 48 + 1))
    assert int(series.frame_headers()["mode"][0]) == 2  # diffraction


def test_deterministic(tmp_path: Path) -> None:
    for name in "abc":
        (tmp_path / name).mkdir()
    a = write_demo(tmp_path / "a", **SMALL)
    b = write_demo(tmp_path / "b", **SMALL)
    c = write_demo(tmp_path / "c", seed=1, **SMALL)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_auto_detection_and_true_parameters(tmp_path: Path) -> None:
    path = write_demo(tmp_path, **SMALL)
    truth = demo_truth(**SMALL)
    explicit = file_reader(path, **truth.reader_kwargs())[0]["data"]
    auto = file_reader(path, scan_shape="auto", winding_scan_axis="x", hysteresis=3)[0]["data"]
    np.testing.assert_array_equal(auto, explicit)
    assert explicit.shape == (24, 24, 64, 64)
    assert truth.layout == ScanLayout((24, 24), 5, "x", 3)


def test_right_parameters_look_right(tmp_path: Path) -> None:
    """The true (start, hysteresis) gives the least combed image; wrong ones visibly comb."""
    path = write_demo(tmp_path, post_frames=2, **SMALL)
    scores = {}
    for start in (4, 5, 6):
        for hyst in range(-1, 6):
            data = file_reader(
                path, scan_shape=(24, 24), scan_start_frame=start, winding_scan_axis="x",
                hysteresis=hyst,
            )[0]["data"]  # fmt: skip
            scores[start, hyst] = _misalignment(data)
    best = min(scores, key=scores.__getitem__)
    assert best == (5, 3)
    assert scores[5, 0] > 1.3 * scores[5, 3]  # no hysteresis correction: visibly combed


def test_parked_beam_is_dimmer() -> None:
    frames, headers, truth = demo_frames(**SMALL)
    pre = frames[: truth.start].mean()
    scan = frames[truth.start :].mean()
    assert pre < 0.6 * scan
    assert headers["rotidx"][truth.start - 1] == 0 and headers["rotidx"][truth.start] == 1


def test_post_frames_and_parts(tmp_path: Path) -> None:
    path = write_demo(tmp_path, post_frames=4, frames_per_part=100, **SMALL)
    series = open_series(tmp_path / "demo_003.tvips")
    assert series.n_frames == 5 + 24 * 24 + 4
    assert len(series.parts) == 6
    auto = file_reader(path, scan_shape="auto")[0]["data"]
    assert auto.shape[:2] == (24, 24)


def test_rsciio_reads_the_demo_identically(tmp_path: Path) -> None:
    tvips = pytest.importorskip("rsciio.tvips")
    path = write_demo(tmp_path, **SMALL)
    kwargs = demo_truth(**SMALL).reader_kwargs()
    theirs = tvips.file_reader(str(path), **kwargs)[0]["data"]
    np.testing.assert_array_equal(theirs, file_reader(path, **kwargs)[0]["data"])


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="scan"):
        write_demo(tmp_path, scan_shape=(1, 4))
    with pytest.raises(ValueError, match="pre_frames"):
        write_demo(tmp_path, pre_frames=-1)


def test_demo_module_is_pure() -> None:
    code = (
        "import sys, napari_tvips._demo\n"
        "bad = [m for m in sys.modules if m == 'napari' or m.startswith(('napari.', 'qtpy', "
        "'PyQt', 'PySide', 'magicgui', 'vispy'))]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
