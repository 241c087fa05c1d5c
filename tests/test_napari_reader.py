"""The napari reader contribution: get_reader, the layer it builds, and napari end to end."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from napari_tvips._errors import TvipsFormatError
from napari_tvips._lazy import FrameArray
from napari_tvips._napari._reader import napari_get_reader, read_tvips
from napari_tvips._record import TvipsRecord, record_of
from tvips_bytes import write_recording

FRAME_BYTES = 5 * 7 * 2  # the conftest recording: 30 frames of 5 x 7 uint16


@pytest.fixture
def count_reads(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Count the calls and bytes of every os.preadv (all pixel reads go through it)."""
    counts = {"calls": 0, "bytes": 0}
    original = os.preadv

    def preadv(fd: int, buffers: list, offset: int) -> int:
        counts["calls"] += 1
        counts["bytes"] += sum(memoryview(b).nbytes for b in buffers)
        return original(fd, buffers, offset)

    monkeypatch.setattr(os, "preadv", preadv)
    return counts


# -- get_reader ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["rec_000.tvips", "rec_001.tvips", "rec_002.tvips"])
def test_get_reader_any_part(recording: Path, name: str) -> None:
    assert napari_get_reader(str(recording.parent / name)) is read_tvips


def test_get_reader_any_case(tmp_path: Path, frames: np.ndarray) -> None:
    write_recording(tmp_path / "Up", frames)
    os.rename(tmp_path / "Up_000.tvips", tmp_path / "Up_000.TVIPS")
    assert napari_get_reader(str(tmp_path / "Up_000.TVIPS")) is read_tvips
    assert read_tvips(str(tmp_path / "Up_000.TVIPS"))[0][0].shape == frames.shape


def test_tvips_names_are_claimed_and_refused_with_a_reason(tmp_path: Path) -> None:
    bad = tmp_path / "bad_000.tvips"
    bad.write_bytes(b"\x01" * 1000)  # .tvips, wrong header
    short = tmp_path / "short_000.tvips"
    short.write_bytes(b"\x00\x01")
    missing = tmp_path / "missing_000.tvips"
    for path, reason in ((bad, "header size field is 16843009"), (short, "2 bytes is too short"),
                         (missing, "no first part")):  # fmt: skip
        reader = napari_get_reader(str(path))
        assert reader is read_tvips
        with pytest.raises(TvipsFormatError, match=f"{path.name}.*{reason}|{reason}.*{path.name}"):
            reader(str(path))


def test_get_reader_none(tmp_path: Path, recording: Path) -> None:
    other = tmp_path / "image.tif"
    other.write_bytes(recording.read_bytes())
    assert napari_get_reader(str(other)) is None  # right bytes, wrong extension
    assert napari_get_reader(str(tmp_path)) is None
    assert napari_get_reader([]) is None
    assert napari_get_reader([str(recording), str(other)]) is None
    assert napari_get_reader(12345) is None  # type: ignore[arg-type]


def test_parts_of_one_recording_open_once(recording: Path) -> None:
    parts = sorted(str(p) for p in recording.parent.glob("rec_*.tvips"))
    assert len(parts) == 3
    reader = napari_get_reader(parts)
    assert reader is read_tvips
    layers = reader(parts)
    assert len(layers) == 1
    assert layers[0][0].shape == (30, 5, 7)


def test_two_recordings_two_layers(tmp_path: Path, frames: np.ndarray) -> None:
    write_recording(tmp_path / "a", frames)
    write_recording(tmp_path / "b", frames[:4])
    layers = read_tvips([str(tmp_path / "a_000.tvips"), str(tmp_path / "b_000.tvips")])
    assert [kw["name"] for _, kw, _ in layers] == ["a", "b"]


# -- the layer tuple -------------------------------------------------------------------------
def test_layer_tuple(recording: Path, frames: np.ndarray) -> None:
    [(data, kwargs, kind)] = read_tvips(str(recording.parent / "rec_002.tvips"))
    assert kind == "image"
    assert isinstance(data, FrameArray)
    assert data.shape == frames.shape and data.dtype == frames.dtype
    np.testing.assert_array_equal(data[[0, 11, 29]], frames[[0, 11, 29]])
    assert kwargs["name"] == "rec"
    assert kwargs["scale"] == pytest.approx([0.01, 1.0, 1.0])  # 10 ms frames, pixelsize 1
    assert kwargs["units"] == ["s", "1/nm", "1/nm"]
    assert kwargs["axis_labels"] == ["time", "ky", "kx"]
    lo, hi = kwargs["contrast_limits"]
    assert frames.min() <= lo < hi <= frames.max()
    assert kwargs["translate"] == [0.0, 0.0, 0.0]  # the time axis starts at 0
    rec = record_of(kwargs["metadata"])
    assert isinstance(rec, TvipsRecord) and rec.layout_source == "stack" and not rec.is_scan
    assert [Path(p).name for p in rec.paths] == [f"rec_00{i}.tvips" for i in range(3)]
    assert rec.start_time == pytest.approx(1_700_000_000)
    np.testing.assert_array_equal(rec.index_map, np.arange(30))
    assert rec.header["dimx"] == 7 and rec.frame_headers["num"].size == 30
    assert rec.signal_scale == (1.0, 1.0) and rec.signal_unit == "1/nm"
    assert rec.scan_step is None and rec.layout is not None and rec.layout.is_stack
    np.testing.assert_array_equal(rec.frame_headers["rotidx"], np.arange(1, 31))


def test_layer_image_mode_and_pixelsize(tmp_path: Path, frames: np.ndarray) -> None:
    n = frames.shape[0]
    write_recording(tmp_path / "img", frames, pixelsize=3, headers={"mode": [1] * n})
    [(_, kwargs, _)] = read_tvips(str(tmp_path / "img_000.tvips"))
    assert kwargs["scale"][1:] == [3.0, 3.0]
    assert kwargs["units"][1:] == ["nm", "nm"]
    assert kwargs["axis_labels"][1:] == ["y", "x"]


def test_opening_reads_a_few_frames_only(tmp_path: Path, count_reads: dict[str, int]) -> None:
    big = np.zeros((500, 32, 32), dtype=np.uint16)
    write_recording(tmp_path / "big", big, frames_per_part=[200, 300])
    [(data, _, _)] = read_tvips(str(tmp_path / "big_000.tvips"))
    assert count_reads["bytes"] <= 5 * 32 * 32 * 2  # contrast limits from 5 frames
    count_reads.update(calls=0, bytes=0)
    data[321]
    assert count_reads == {"calls": 1, "bytes": 32 * 32 * 2}


# -- napari end to end -----------------------------------------------------------------------
def _process(qtbot: object, ms: int = 50) -> None:
    from qtpy.QtWidgets import QApplication

    for _ in range(5):
        QApplication.processEvents()
    qtbot.wait(ms)  # type: ignore[attr-defined]


@pytest.mark.napari
def test_viewer_open(
    make_napari_viewer, qtbot, recording: Path, frames: np.ndarray, count_reads
) -> None:
    viewer = make_napari_viewer(show=True)
    layers = viewer.open(str(recording.parent / "rec_001.tvips"), plugin="napari-tvips")
    _process(qtbot)
    assert len(layers) == 1 and len(viewer.layers) == 1
    layer = viewer.layers[0]
    assert layer.name == "rec"
    assert layer.data.shape == (30, 5, 7)
    np.testing.assert_allclose(layer.scale, [0.01, 1.0, 1.0])
    assert [str(u) for u in layer.units] == ["second", "1 / nanometer", "1 / nanometer"]
    assert tuple(layer.axis_labels) == ("time", "ky", "kx")
    np.testing.assert_array_equal(layer.translate, [0, 0, 0])
    assert record_of(layer) is not None and record_of(layer).series.n_frames == 30
    # moving the slider reads the frame shown, and only that frame
    count_reads.update(calls=0, bytes=0)
    viewer.dims.set_current_step(0, 17)
    _process(qtbot)
    assert count_reads["bytes"] == FRAME_BYTES
    np.testing.assert_array_equal(np.asarray(layer._slice.image.raw), frames[17])
    shot = viewer.screenshot(canvas_only=True, flash=False)
    assert shot[..., :3].max() > 0 and shot[..., :3].std() > 1  # not blank


@pytest.mark.napari
def test_viewer_sample_data(make_napari_viewer, qtbot) -> None:
    from napari_tvips._demo import DEMO_PARAMETERS

    viewer = make_napari_viewer(show=True)
    viewer.open_sample("napari-tvips", "demo")
    _process(qtbot)
    assert len(viewer.layers) == 1
    layer = viewer.layers[0]
    assert layer.name == "demo"
    h, w = DEMO_PARAMETERS["scan_shape"]
    assert layer.data.shape == (DEMO_PARAMETERS["scan_start_frame"] + h * w, 128, 128)
    assert tuple(layer.axis_labels) == ("time", "ky", "kx")
    assert isinstance(layer.data, FrameArray)
    shot = viewer.screenshot(canvas_only=True, flash=False)
    assert shot[..., :3].std() > 1
