"""Scan parameter suggestions on synthetic recordings with known shape, start and hysteresis."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from napari_tvips import ScanLayout, Series
from napari_tvips._suggest import (
    suggest_from_headers,
    suggest_hysteresis,
    suggest_layout,
    suggest_row_width,
    suggest_start,
    suggest_winding,
)
from tvips_bytes import write_recording


def specimen(shape: tuple[int, int], seed: int) -> np.ndarray:
    """A random specimen: Gaussian blobs ("grains") of random size and contrast, around 100."""
    rng = np.random.default_rng(seed)
    yy, xx = np.indices(shape)
    img = np.full(shape, 100.0)
    for _ in range(shape[0] * shape[1] // 40):
        cy, cx = rng.uniform(0, shape[0]), rng.uniform(0, shape[1])
        r = rng.uniform(1.5, 4)
        img += rng.uniform(-30, 30) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))
    return img


def scan_trace(
    shape: tuple[int, int],
    start: int,
    hysteresis: int,
    winding: str | None,
    seed: int = 0,
    post: int = 3,
) -> np.ndarray:
    """Per-frame values of a scan (known parameters) with parked-beam frames and noise."""
    layout = ScanLayout(shape, start, winding, hysteresis)
    n = start + shape[0] * shape[1] + post
    imap = layout.index_map(n)
    spec = specimen(shape, seed)
    trace = np.full(n, 40.0)  # parked, partly blanked beam
    trace[imap.reshape(-1)] = spec.reshape(-1)
    return trace + np.random.default_rng(seed + 1).normal(0, 0.5, n)


CASES = [
    ((24, 30), 5, 2, "x"),
    ((20, 40), 11, -3, "x"),
    ((32, 32), 0, 0, None),
    ((16, 50), 9, 1, "x"),
]


@pytest.mark.parametrize(("shape", "start", "hyst", "winding"), CASES)
def test_trace_suggestions_recover_truth(shape, start, hyst, winding) -> None:
    trace = scan_trace(shape, start, hyst, winding, seed=shape[1])
    if start:
        assert suggest_start(trace).start == start
    else:
        assert suggest_start(trace) is None
    width = suggest_row_width(trace, start)
    assert width.shape[-1] == shape[1]
    assert width.shape[0] == shape[0]
    assert width.winding == (winding or "none")
    if winding:
        sug = suggest_hysteresis(trace, ScanLayout(shape, start, winding))
        assert sug.hysteresis == hyst
    full = suggest_layout(None, trace, winding=winding)
    assert full.shape == shape and (full.start or 0) == start


def test_winding_for_known_shape() -> None:
    trace = scan_trace((24, 30), 5, 2, "x")
    assert suggest_winding(trace, ScanLayout((24, 30), 5)).winding == "x"
    plain = scan_trace((24, 30), 5, 0, None)
    assert suggest_winding(plain, ScanLayout((24, 30), 5)).winding == "none"


def test_hysteresis_winding_y() -> None:
    trace = scan_trace((30, 24), 4, -2, "y", seed=3)
    assert suggest_hysteresis(trace, ScanLayout((30, 24), 4, "y")).hysteresis == -2


def test_header_suggestions(tmp_path: Path) -> None:
    n_pre, side = 3, 6
    rot = [0] * n_pre + list(range(1, side * side + 1)) + [0, 0]
    frames = np.zeros((len(rot), 4, 4), np.uint16)
    write_recording(tmp_path / "h", frames, headers={"rotidx": rot})
    sug = suggest_from_headers(Series(tmp_path / "h_000.tvips").frame_headers())
    assert sug.shape == (side, side) and sug.start == n_pre
    assert "rotidx" in sug.reasons[0]
    # scan_x / scan_y of EM-Scan, non-square
    xs = [0] * 2 + [i % 5 for i in range(15)]
    ys = [0] * 2 + [i // 5 for i in range(15)]
    frames = np.zeros((17, 4, 4), np.uint16)
    write_recording(
        tmp_path / "s", frames, fhb=108, headers={"rotidx": [0] * 17, "scan_x": xs, "scan_y": ys}
    )
    sug = suggest_from_headers(Series(tmp_path / "s_000.tvips").frame_headers())
    assert (sug.shape == (3, 5) and sug.start == 1 + 1) or sug.start == 2


def test_no_header_evidence(tmp_path: Path) -> None:
    frames = np.zeros((10, 4, 4), np.uint16)
    write_recording(tmp_path / "n", frames, headers={"rotidx": [0] * 10})
    assert suggest_from_headers(Series(tmp_path / "n_000.tvips").frame_headers()) is None
    assert (
        suggest_layout(Series(tmp_path / "n_000.tvips").frame_headers()).text() == "no suggestion"
    )


def test_demo_recording_end_to_end(tmp_path: Path) -> None:
    demo = pytest.importorskip("napari_tvips._demo")
    from napari_tvips._imager import VirtualImager

    path = demo.write_demo(
        tmp_path, scan_shape=(24, 40), pre_frames=9, hysteresis=-2, post_frames=4
    )
    series = Series(path)
    # per-frame bright field: a disk of a tenth of the frame about the estimated centre
    bf = VirtualImager(series).run().image("disk", radius=min(series.frame_shape) / 10)
    sug = suggest_layout(None, bf)
    assert (sug.shape, sug.start, sug.winding, sug.hysteresis) == ((24, 40), 9, "x", -2)
    with_headers = suggest_layout(series.frame_headers(), bf)
    assert (with_headers.shape, with_headers.start, with_headers.hysteresis) == ((24, 40), 9, -2)
