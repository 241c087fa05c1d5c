"""Scan layouts: manual shape and start, winding and hysteresis, auto detection."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import napari_tvips as nt
from napari_tvips._scan import auto_layout, rotidx_index_map
from tvips_bytes import write_recording


def _stack(n: int, shape: tuple[int, int] = (2, 3)) -> np.ndarray:
    """Frames whose pixel values encode their frame index."""
    return (np.arange(n, dtype=np.uint16)[:, None, None] * 10 + np.arange(6, dtype=np.uint16)
            .reshape(shape)).astype(np.uint16)  # fmt: skip


def test_manual_shape_and_start() -> None:
    layout = nt.ScanLayout((3, 4), start=5)
    np.testing.assert_array_equal(layout.index_map(17), np.arange(5, 17).reshape(3, 4))
    np.testing.assert_array_equal(
        nt.ScanLayout((2, 2, 3), start=1).index_map(13), np.arange(1, 13).reshape(2, 2, 3)
    )
    np.testing.assert_array_equal(nt.ScanLayout().index_map(4), [0, 1, 2, 3])


@pytest.mark.parametrize("axis", ["x", 0])
def test_winding_x_reverses_even_rows(axis: object) -> None:
    # rsciio's documented 3 x 4 example
    got = nt.ScanLayout((3, 4), winding=axis).index_map(12)
    np.testing.assert_array_equal(got, [[3, 2, 1, 0], [4, 5, 6, 7], [11, 10, 9, 8]])


@pytest.mark.parametrize("axis", ["y", 1])
def test_winding_y_reverses_even_columns(axis: object) -> None:
    got = nt.ScanLayout((3, 4), winding=axis).index_map(12)
    np.testing.assert_array_equal(got, [[8, 1, 10, 3], [4, 5, 6, 7], [0, 9, 2, 11]])


def test_hysteresis_rolls_reversed_rows() -> None:
    got = nt.ScanLayout((3, 4), start=2, winding="x", hysteresis=1).index_map(14)
    np.testing.assert_array_equal(got, [[2, 5, 4, 3], [6, 7, 8, 9], [10, 13, 12, 11]])
    got = nt.ScanLayout((3, 4), winding="x", hysteresis=-1).index_map(12)
    np.testing.assert_array_equal(got, [[2, 1, 0, 3], [4, 5, 6, 7], [10, 9, 8, 11]])
    got = nt.ScanLayout((3, 2), winding="y", hysteresis=1).index_map(6)
    np.testing.assert_array_equal(got, [[0, 1], [4, 3], [2, 5]])


def test_hysteresis_without_winding_is_ignored() -> None:
    got = nt.ScanLayout((2, 3), hysteresis=2).index_map(6)
    np.testing.assert_array_equal(got, [[0, 1, 2], [3, 4, 5]])


def test_winding_applies_to_every_leading_slice() -> None:
    got = nt.ScanLayout((2, 2, 2), winding="x").index_map(8)
    np.testing.assert_array_equal(got, [[[1, 0], [2, 3]], [[5, 4], [6, 7]]])


def test_too_few_frames_says_how_many(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="has 12 frames"):
        nt.ScanLayout((3, 4), start=1).index_map(12)
    write_recording(tmp_path / "few", _stack(7))
    with pytest.raises(ValueError, match="7 frames"):
        nt.file_reader(tmp_path / "few_000.tvips", scan_shape=(2, 4))
    with pytest.raises(ValueError, match="7 frames"):
        nt.file_reader(tmp_path / "few_000.tvips", scan_shape=(2, 3), scan_start_frame=2, lazy=True)


@pytest.mark.parametrize("bad", [{"winding": "z"}, {"shape": (0, 3)}, {"shape": (-1,)},
                                 {"start": -1}, {"shape": ("a", 2)}])  # fmt: skip
def test_invalid_layouts(bad: dict) -> None:
    with pytest.raises(ValueError):
        nt.ScanLayout(**{"shape": (2, 2), **bad})


@pytest.mark.parametrize("lazy", [False, True])
def test_file_reader_scan_data(tmp_path: Path, lazy: bool) -> None:
    stack = _stack(15)
    write_recording(tmp_path / "s", stack, frames_per_part=[4, 11])
    data = nt.file_reader(
        tmp_path / "s_000.tvips", lazy=lazy, scan_shape=(3, 4), scan_start_frame=2,
        winding_scan_axis="x", hysteresis=1,
    )[0]["data"]  # fmt: skip
    expected = [[2, 5, 4, 3], [6, 7, 8, 9], [10, 13, 12, 11]]
    np.testing.assert_array_equal(np.asarray(data), stack[np.array(expected)])


# -- auto from rotidx ------------------------------------------------------------------------------


def test_rotidx_plain_square() -> None:
    rot = np.r_[0, 0, 0, np.arange(1, 10), 9, 9].astype(np.uint32)
    np.testing.assert_array_equal(rotidx_index_map(rot), np.arange(3, 12).reshape(3, 3))


@pytest.mark.parametrize("tail", [[0], [0, 0, 0, 0], [1], [0, 1, 2, 3], [2, 2]])
def test_rotidx_drop_after_scan_is_signed(tail: list[int]) -> None:
    """rsciio's uint32 diff wraps here (1x1 or empty scan); the scan is the 3 x 3 before it."""
    rot = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, *tail], dtype=np.uint32)
    np.testing.assert_array_equal(rotidx_index_map(rot), np.arange(1, 10).reshape(3, 3))


def test_rotidx_repeats_and_gaps() -> None:
    rot = np.array([0, 1, 1, 1, 2, 4, 5, 5, 6, 7, 9, 0], dtype=np.uint32)
    # position p takes the first frame with rotidx p + 1; a gap repeats the previous frame
    np.testing.assert_array_equal(rotidx_index_map(rot), [[1, 4, 4], [5, 6, 8], [9, 9, 10]])


def test_rotidx_not_square_or_absent() -> None:
    with pytest.raises(ValueError, match="not square"):
        rotidx_index_map(np.arange(0, 7))
    assert rotidx_index_map(np.zeros(5, np.uint32)) is None
    with pytest.raises(ValueError, match="could not be automatically determined"):
        auto_layout({"rotidx": np.ones(9, np.uint32)})


# -- auto from EM-Scan scan_x / scan_y (108-byte frame headers) ------------------------------------


def _em_scan(tmp_path: Path, height: int, width: int, before: int, after: int) -> Path:
    n = before + height * width + after
    x = [0.0] * before + [float(i % width) for i in range(height * width)] + [0.0] * after
    y = [0.0] * before + [float(i // width) for i in range(height * width)] + [0.0] * after
    write_recording(tmp_path / "ems", _stack(n), fhb=108, frames_per_part=[n // 3, n - n // 3],
                    headers={"rotidx": [0] * n, "scan_x": x, "scan_y": y})  # fmt: skip
    return tmp_path / "ems_000.tvips"


@pytest.mark.parametrize(("height", "width", "before"), [(3, 5, 4), (4, 2, 1), (2, 7, 0)])
def test_auto_from_scan_positions(tmp_path: Path, height: int, width: int, before: int) -> None:
    path = _em_scan(tmp_path, height, width, before, after=3)
    stack = nt.file_reader(path)[0]["data"]
    for lazy in (False, True):
        out = nt.file_reader(path, scan_shape="auto", lazy=lazy)[0]
        assert out["data"].shape == (height, width, 2, 3)
        expected = stack[before : before + height * width].reshape(height, width, 2, 3)
        np.testing.assert_array_equal(np.asarray(out["data"]), expected)
        assert [a["name"] for a in out["axes"]] == ["y", "x", "dy", "dx"]


def test_auto_from_scan_positions_with_winding(tmp_path: Path) -> None:
    path = _em_scan(tmp_path, 3, 4, 2, after=0)
    stack = nt.file_reader(path)[0]["data"]
    out = nt.file_reader(path, scan_shape="auto", winding_scan_axis="x", hysteresis=1)[0]["data"]
    expected = np.array([[3, 2, 1, 0], [4, 5, 6, 7], [11, 10, 9, 8]])
    expected[::2] = np.roll(expected[::2], 1, axis=-1)
    np.testing.assert_array_equal(out, stack[expected + 2])


def test_auto_without_evidence_fails(tmp_path: Path) -> None:
    write_recording(tmp_path / "none", _stack(9), headers={"rotidx": [0] * 9})
    with pytest.raises(ValueError, match="could not be automatically determined"):
        nt.file_reader(tmp_path / "none_000.tvips", scan_shape="auto")
