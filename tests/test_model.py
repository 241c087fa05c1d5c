"""The scan model without a window: parameters, re-slices, header maps, suggestions, values."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import napari_tvips as nt
from napari_tvips._model import Reslice, ScanModel
from napari_tvips._napari._layers import layer_kwargs
from napari_tvips._record import TvipsRecord, record_of
from napari_tvips._scan import apply_winding
from napari_tvips._series import Series
from scan_files import scan_file
from tvips_bytes import write_recording


class Layer:
    """What napari does with a re-slice, without napari: rebuild the record, tell the model."""

    def __init__(self, model: ScanModel, record: TvipsRecord) -> None:
        self.model, self.record, self.reslices = model, record, []
        model.events.resliced.connect(self.apply)
        model.select(record)

    def apply(self, r: Reslice) -> None:
        _, kw = layer_kwargs(
            self.record.series, r.layout,
            index_map=r.index_map if r.source == "headers" else None, source=r.source,
            scan_step=r.scan_step, scan_unit=r.scan_unit, signal_scale=r.signal_scale,
            signal_unit=r.signal_unit, limits=(0, 1),
        )  # fmt: skip
        self.record = record_of(kw["metadata"])
        self.reslices.append(r)
        self.model.applied(self.record)


def opened(path: Path) -> tuple[ScanModel, Layer]:
    _, kw = layer_kwargs(Series(path), limits=(0, 1))
    model = ScanModel()
    return model, Layer(model, record_of(kw["metadata"]))


def run_pass(model: ScanModel) -> None:
    for item in model.iter_pass():
        model.receive(item)


@pytest.fixture
def plain(tmp_path: Path) -> Path:
    frames = np.arange(53 * 20, dtype=np.uint16).reshape(53, 4, 5)
    write_recording(tmp_path / "p", frames)
    return tmp_path / "p_000.tvips"


def test_model_imports_no_qt_or_napari() -> None:
    code = (
        "import sys, napari_tvips._model; "
        "bad = [m for m in ('qtpy', 'PyQt6', 'napari', 'magicgui') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_one_reslice_per_change_and_reasons(plain: Path) -> None:
    model, layer = opened(plain)
    assert model.source == "stack" and model.shape == (7, 7) and not model.is_scan
    messages: list[str] = []
    model.events.message.connect(messages.append)
    assert model.update(shape=(6, 8), start=3)  # two parameters, one re-slice
    assert len(layer.reslices) == 1 and model.source == "manual" and model.is_scan
    np.testing.assert_array_equal(layer.record.index_map, np.arange(3, 51).reshape(6, 8))
    assert not model.update(shape=(6, 8))  # unchanged: nothing happens
    assert len(layer.reslices) == 1
    assert not model.update(shape=(7, 8))  # 3 + 56 > 53 frames
    assert len(layer.reslices) == 1 and layer.record.index_map.shape == (6, 8)
    assert "p_000.tvips" in messages[-1] and "53 frames" in messages[-1]
    assert model.update(winding="x", hysteresis=1, shape=(6, 8))
    assert messages[-1] == "" and layer.record.layout.winding == "x"
    assert model.update(source="stack") and layer.record.index_map.shape == (53,)
    with pytest.raises(TypeError, match="colour"):
        model.update(colour="red")
    # headers without a scan: the message says so and names the file
    assert not model.update(source="headers")
    assert "p_000.tvips" in model.message and "no scan" in model.message


def test_selecting_a_layer_resets_its_parameters(plain: Path, tmp_path: Path) -> None:
    model, layer = opened(plain)
    model.update(shape=(6, 8), start=3, winding="x", hysteresis=2, scan_step=0.5, scan_unit="nm")
    scan_record = layer.record
    frames = np.zeros((10, 4, 4), np.uint16)
    write_recording(tmp_path / "other", frames)
    _, kw = layer_kwargs(Series(tmp_path / "other_000.tvips"), limits=(0, 1))
    model.select(record_of(kw["metadata"]))
    assert (model.winding, model.hysteresis, model.source) == (None, 0, "stack")
    assert model.scan_step == 0 and model.scan_unit == "pixel"
    model.select(scan_record)  # back to the scan: its own parameters again
    assert (model.shape, model.start, model.winding, model.hysteresis) == ((6, 8), 3, "x", 2)
    assert (model.scan_step, model.scan_unit, model.source) == (0.5, "nm", "manual")


def test_combed_scan_opens_clean_with_the_header_map(tmp_path: Path) -> None:
    """rotidx repeats ~1% of the scan frames: the header map skips them; a regular layout combs."""
    f = scan_file(tmp_path, repeat_every=97, drop=(40,))
    model, layer = opened(f.path)
    run_pass(model)
    assert model.values() is not None and model.values().complete
    sug = model.suggest()
    assert sug.header_scan is not None and sug.shape == (24, 24) and sug.start == 5
    assert (sug.winding, sug.hysteresis) == ("x", f.hysteresis)
    text = model.suggestion_text()
    assert "24 x 24 from rotidx, first scan frame 5" in text
    assert f"{f.repeated} repeated frames skipped, 1 missing; 3 frames after the scan" in text
    assert model.can_accept and model.accept() and not model.can_accept
    assert len(layer.reslices) == 1 and model.source == "headers"
    rec = layer.record
    assert rec.layout_source == "headers" and rec.layout is None
    expected = apply_winding(sug.header_scan.index_map, "x", f.hysteresis)
    np.testing.assert_array_equal(rec.index_map, expected)
    np.testing.assert_array_equal(rec.series.read_frames(rec.index_map.reshape(-1)),
                                  f.truth.reshape(-1, 32, 32))  # fmt: skip
    # the navigator is the header map's virtual image
    bf = model.values().channel("bf")
    np.testing.assert_array_equal(model.navigator_image(), bf[expected])
    # selecting this layer again finds its winding and hysteresis on the header map
    headers_record = layer.record
    model.select(None)
    model.select(headers_record)
    assert (model.source, model.winding, model.hysteresis) == ("headers", "x", f.hysteresis)
    # the same parameters as a regular layout comb the scan after the first repeat
    assert model.update(source="manual", shape=(24, 24), start=5)
    assert not np.array_equal(layer.record.index_map, expected)
    # the header map equals what scan_shape="auto" reads
    auto = nt.file_reader(f.path, scan_shape="auto", winding_scan_axis="x", hysteresis=2)
    np.testing.assert_array_equal(auto[0]["data"], f.truth)


@pytest.mark.parametrize(
    ("repeat_every", "drop", "words"),
    [
        (0, (), "0 repeated frames skipped, 0 missing; 3 frames after the scan"),
        (50, (), "11 repeated frames skipped, 0 missing"),
        (0, (7, 300), "0 repeated frames skipped, 2 missing"),
    ],
)
def test_header_map_counts(tmp_path: Path, repeat_every: int, drop: tuple, words: str) -> None:
    f = scan_file(tmp_path, repeat_every=repeat_every, drop=drop, hysteresis=0)
    model, layer = opened(f.path)
    sug = model.suggest()
    assert sug.header_scan.repeated == f.repeated and sug.header_scan.missing == f.missing
    assert words in model.suggestion_text() and "compute the navigator" in model.suggestion_text()
    assert model.accept() and model.winding is None  # no trace yet: no winding suggested
    assert model.update(winding="x")  # the snake, on the header map
    assert model.source == "headers" and len(layer.reslices) == 2
    data = layer.record.series.read_frames(layer.record.index_map.reshape(-1))
    np.testing.assert_array_equal(data, f.truth.reshape(-1, 32, 32))


def test_values_traces_and_refresh(tmp_path: Path) -> None:
    frames = np.random.default_rng(1).integers(0, 100, (30, 8, 8)).astype(np.uint16)
    write_recording(tmp_path / "g", frames[:20], headers={"rotidx": np.arange(1, 21)})
    model, _layer = opened(tmp_path / "g_000.tvips")
    assert model.pass_needed
    progress: list[tuple[int, int]] = []
    model.events.progress.connect(lambda d, n: progress.append((d, n)))
    run_pass(model)
    assert progress[-1] == (20, 20) and not model.pass_needed
    assert list(model.traces()) == ["total", "bf", "rotidx"]
    np.testing.assert_allclose(model.traces()["total"], frames[:20].sum(axis=(1, 2)))
    model.update(shape=(4, 5), start=0)
    assert model.scan_frames() == (0, 19)
    write_recording(tmp_path / "g", frames, headers={"rotidx": np.arange(1, 31)})
    assert model.refresh() == 10 and model.pass_needed
    run_pass(model)  # resumes at frame 20
    np.testing.assert_allclose(model.traces()["total"], frames.sum(axis=(1, 2)))
    model.set_detector(channel="adf")
    assert list(model.traces())[:2] == ["total", "adf"]


def test_em_scan_positions_give_a_non_square_header_map(tmp_path: Path) -> None:
    """EM-Scan Scan_x/Scan_y (108-byte frame headers): a 4 x 6 scan after 2 parked frames."""
    n = 2 + 24 + 1
    frames = np.arange(n * 9, dtype=np.uint16).reshape(n, 3, 3)
    sx = [0, 0] + [i % 6 for i in range(24)] + [5]
    sy = [0, 0] + [i // 6 for i in range(24)] + [3]
    write_recording(tmp_path / "em", frames, fhb=108,
                    headers={"rotidx": [0] * n, "scan_x": sx, "scan_y": sy})  # fmt: skip
    model, layer = opened(tmp_path / "em_000.tvips")
    sug = model.suggest()
    assert sug.header_scan.source == "scan_x/scan_y" and sug.shape == (4, 6)
    assert "4 x 6 from scan_x/scan_y, first scan frame 2" in model.suggestion_text()
    assert model.accept()
    np.testing.assert_array_equal(layer.record.index_map, np.arange(2, 26).reshape(4, 6))


def test_frame_time_from_timestamp_and_ms(tmp_path: Path) -> None:
    ms_total = 40 * np.arange(60)  # 25 frames per second, across second boundaries
    frames = np.zeros((60, 4, 4), np.uint16)
    headers = {"timestamp": 1_700_000_000 + ms_total // 1000, "ms": ms_total % 1000}
    write_recording(tmp_path / "t", frames, fhb=64, headers=headers)
    model, _ = opened(tmp_path / "t_000.tvips")
    assert model.frame_time() is None  # headers not read yet
    run_pass(model)
    assert model.frame_time() == pytest.approx(0.04)


def test_suggestion_trace_ignores_an_off_centre_detector(tmp_path: Path) -> None:
    """The trace is the BF disk about the beam centre: moving the detector needs no new pass."""
    f = scan_file(tmp_path, repeat_every=97)
    model, _layer = opened(f.path)
    run_pass(model)
    model.set_detector(centre=(9.0, 9.0))  # its own disk pass has not run
    assert model.pass_needed
    sug = model.suggest()
    assert (sug.winding, sug.hysteresis) == ("x", f.hysteresis)
    assert "compute the navigator" not in model.suggestion_text()
