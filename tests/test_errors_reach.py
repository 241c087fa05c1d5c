"""Errors reach the person: truncated middle parts, scan-layout errors, memory for eager reads."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest

import napari_tvips as nt
from napari_tvips import _memory
from napari_tvips._model import ScanModel
from napari_tvips._napari._layers import layer_kwargs
from napari_tvips._record import record_of
from napari_tvips._scan import ScanLayout
from napari_tvips._series import Series, TruncatedPartWarning
from scan_files import scan_file
from tvips_bytes import main_header, write_recording


def test_truncated_middle_part_warns_and_headers_recover(tmp_path: Path) -> None:
    f = scan_file(tmp_path, hysteresis=2)
    first = f.path
    part0 = Series(first).parts[0]
    lost = part0.n_frames - 1  # the camera lost the end of this frame, then went on in _001
    os.truncate(first, first.stat().st_size - 1000)
    with pytest.warns(TruncatedPartWarning) as rec:
        series = Series(first)
    text = str(rec[0].message)
    assert "combed_000.tvips" in text and "shifted by one" in text and "scan_shape='auto'" in text
    assert series.truncated_parts == [str(first)]
    # the header map recovers every scan position but the lost one (shown as the one before)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncatedPartWarning)
        auto = nt.file_reader(first, scan_shape="auto", winding_scan_axis="x", hysteresis=2)
        manual = nt.file_reader(
            first, scan_shape=(24, 24), scan_start_frame=5, winding_scan_axis="x", hysteresis=2
        )
    grid = ScanLayout((24, 24), 5, "x", 2).index_map(10**6)
    lost_pos = tuple(int(i) for i in np.argwhere(grid == lost)[0])
    same = np.all(auto[0]["data"] == f.truth, axis=(-2, -1))
    assert not same[lost_pos] and same.sum() == 24 * 24 - 1
    # a layout by frame count is off after the lost frame
    wrong = ~np.all(manual[0]["data"] == f.truth, axis=(-2, -1))
    assert wrong.sum() > 100
    # the widget's model says so when the recording is selected
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncatedPartWarning)
        _, kw = layer_kwargs(Series(first), limits=(0, 1))
    model = ScanModel()
    model.select(record_of(kw["metadata"]))
    assert "combed_000.tvips" in model.message and "from headers" in model.message


def test_scan_layout_errors_name_the_file(tmp_path: Path) -> None:
    frames = np.zeros((30, 4, 4), np.uint8)
    write_recording(tmp_path / "named", frames)
    path = tmp_path / "named_000.tvips"
    cases = [
        ({"scan_shape": (10, 10)}, "out of bounds"),
        ({"scan_shape": "auto"}, "Scan was not square"),
        ({"scan_shape": "diagonal"}, "Invalid scan_shape"),
        ({"scan_shape": (5, 5), "winding_scan_axis": "z"}, "winding"),
        ({"scan_shape": (5, 5), "scan_start_frame": -1}, "start"),
    ]
    for kwargs, words in cases:
        with pytest.raises(ValueError, match=words) as info:
            nt.file_reader(path, **kwargs)
        assert "named_000.tvips" in str(info.value), str(info.value)


def test_eager_read_refuses_before_allocating(tmp_path: Path, monkeypatch) -> None:
    """A sparse recording larger than the machine's available memory: MemoryError, not OOM."""
    available = _memory.available_memory()
    if available is None:
        pytest.skip("this system reports no available memory")
    dim = 1024
    record = 60 + dim * dim * 2
    n = int(available * 1.25) // record + 1
    path = tmp_path / "huge_000.tvips"
    with open(path, "wb") as fh:
        fh.write(main_header(dim, dim))
    os.truncate(path, 256 + n * record)  # sparse: no disk space, no page cache
    with pytest.raises(MemoryError) as info:
        nt.file_reader(path)
    text = str(info.value)
    assert "huge_000.tvips" in text and "GiB" in text and "lazy=True" in text
    assert f"{_memory.human_bytes(n * dim * dim * 2)}" in text
    lazy = nt.file_reader(path, lazy=True)[0]["data"]
    assert lazy.shape == (n, dim, dim) and int(lazy[3].sum().compute()) == 0
    # the napari layer reads frames on demand but refuses np.asarray of everything
    data, _ = layer_kwargs(Series(path), limits=(0, 1))
    assert data[5].shape == (dim, dim)
    with pytest.raises(MemoryError, match=r"huge_000\.tvips"):
        np.asarray(data)


def test_memory_check_uses_the_available_figure(tmp_path: Path, monkeypatch) -> None:
    frames = np.ones((40, 1024, 1024), np.uint16)  # 80 MiB
    write_recording(tmp_path / "m", frames)
    monkeypatch.setattr(_memory, "available_memory", lambda: 50 << 20)
    with pytest.raises(MemoryError, match=r"needs 80\.0 MiB, but only 50\.0 MiB is available"):
        nt.file_reader(tmp_path / "m_000.tvips")
    monkeypatch.setattr(_memory, "available_memory", lambda: 500 << 20)
    assert nt.file_reader(tmp_path / "m_000.tvips")[0]["data"].sum() == 40 * 1024 * 1024
    monkeypatch.setattr(_memory, "available_memory", lambda: None)  # unknown: not checked
    assert nt.file_reader(tmp_path / "m_000.tvips")[0]["data"].shape == (40, 1024, 1024)


def test_truncated_saved_scan_opens_as_stack_with_a_reason(tmp_path: Path) -> None:
    from napari_tvips._napari._reader import read_tvips

    data = np.arange(4 * 5 * 9, dtype=np.uint16).reshape(4, 5, 3, 3)
    axes = [
        {"name": n, "size": s, "scale": 1.0, "offset": 0.0, "units": u, "navigate": nav}
        for n, s, u, nav in (("y", 4, "nm", True), ("x", 5, "nm", True),
                             ("ky", 3, "1/nm", False), ("kx", 3, "1/nm", False))
    ]  # fmt: skip
    (path,) = nt.file_writer(tmp_path / "s.tvips", {"data": data, "axes": axes})
    ((layer, _kw, _),) = read_tvips(path)
    assert layer.shape == (4, 5, 3, 3)
    os.truncate(path, Path(path).stat().st_size - 3 * (60 + 18))  # the last 3 frames gone
    with pytest.warns(UserWarning, match=r"s_000\.tvips.*saved as a 4 x 5 scan.*frame stack"):
        ((layer, _kw, _),) = read_tvips(path)
    assert layer.shape == (17, 3, 3)
    with pytest.raises(ValueError, match=r"s_000\.tvips.*saved as a 4 x 5 scan"):
        nt.file_reader(path, scan_shape="auto")


def test_convert_opens_the_recording_once(tmp_path: Path) -> None:
    """A path given to convert is opened once: one warning for a truncated middle part."""
    f = scan_file(tmp_path, hysteresis=2)
    os.truncate(f.path, f.path.stat().st_size - 1000)
    with pytest.warns(TruncatedPartWarning) as rec:
        nt.convert(f.path, tmp_path / "out.tvips", show_progressbar=False)
    assert len([w for w in rec if w.category is TruncatedPartWarning]) == 1
