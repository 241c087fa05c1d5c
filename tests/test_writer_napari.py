"""The napari writer contribution: layer -> signal dict, error types, and napari end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import pytest

import napari_tvips as nt
from napari_tvips._napari._layers import layer_kwargs
from napari_tvips._napari._writer import layer_signal, write_tvips
from napari_tvips._record import KEY, record_of
from tvips_bytes import write_recording


def rich(tmp_path: Path, name: str = "rich") -> tuple[Path, np.ndarray]:
    """12 frames of 5 x 6 with distinct per-frame headers, 108-byte frame headers, 2 parts."""
    n = 12
    frames = np.arange(n * 30, dtype=np.uint16).reshape(n, 5, 6)
    heads = {
        "num": list(range(100, 100 + n)),
        "timestamp": [1_600_000_000 + i // 4 for i in range(n)],
        "ms": [(i * 250) % 1000 for i in range(n)],
        "rotidx": [1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
        "stagex": [0.5 * i for i in range(n)],
        "stagea": [1.25] * n,
        "scan_x": [float(i % 4) for i in range(n)],
        "scan_y": [float(i // 4) for i in range(n)],
        "temperature": [20.0 + i for i in range(n)],
        "mode": [2] * n,
    }
    write_recording(
        tmp_path / name, frames, fhb=108, headers=heads, frames_per_part=[6, 6],
        offsetx=2, offsety=3, binx=2, biny=2, pixelsize=4, ht=300, magtotal=60,
    )  # fmt: skip
    return tmp_path / f"{name}_000.tvips", frames


def attributes_of(path: Path, **kw: Any) -> tuple[Any, dict[str, Any]]:
    """Layer data and napari-like attributes, as our reader's layer would give."""
    data, kwargs = layer_kwargs(nt.open_series(path), **kw)
    ndim = len(data.shape)
    attrs = {
        "name": kwargs["name"],
        "scale": kwargs["scale"],
        "translate": [0.0] * ndim,
        "units": kwargs["units"],
        "axis_labels": kwargs["axis_labels"],
        "metadata": kwargs["metadata"],
        "rgb": False,
        "multiscale": False,
    }
    return data, attrs


def headers(path: Path | str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    out = nt.file_reader(path)[0]["original_metadata"]
    return out["tvips_header"], out["frame_headers"]


def test_stack_layer_round_trip_keeps_every_field(tmp_path: Path) -> None:
    src, frames = rich(tmp_path)
    data, attrs = attributes_of(src)
    paths = write_tvips(str(tmp_path / "out"), data, attrs)
    assert paths == [str(tmp_path / "out_000.tvips")]
    h0, f0 = headers(src)
    h1, f1 = headers(paths[0])
    assert h1 == h0
    for name in f0:
        np.testing.assert_array_equal(f1[name], f0[name], err_msg=name)
    np.testing.assert_array_equal(nt.file_reader(paths[0])[0]["data"], frames)


def test_scan_layer_keeps_headers_in_layer_order(tmp_path: Path) -> None:
    src, frames = rich(tmp_path)
    layout = nt.ScanLayout((2, 4), start=2, winding="x")
    data, attrs = attributes_of(src, layout=layout)
    imap = layout.index_map(12)
    write_tvips(str(tmp_path / "scan.tvips"), data, attrs)
    back = nt.file_reader(tmp_path / "scan_000.tvips", scan_shape=(2, 4))[0]
    np.testing.assert_array_equal(back["data"], frames[imap])
    _, f0 = headers(src)
    _, f1 = headers(tmp_path / "scan_000.tvips")
    for name in ("num", "stagex", "timestamp", "ms"):
        np.testing.assert_array_equal(f1[name], f0[name][imap.ravel()], err_msg=name)
    # the scan is numbered in its new order (issue 9 D): rotidx and EM-Scan positions
    np.testing.assert_array_equal(f1["rotidx"], np.arange(1, 9))
    np.testing.assert_array_equal(f1["scan_x"], [0, 1, 2, 3] * 2)
    np.testing.assert_array_equal(f1["scan_y"], [0] * 4 + [1] * 4)
    auto = nt.file_reader(tmp_path / "scan_000.tvips", scan_shape="auto")[0]
    np.testing.assert_array_equal(auto["data"], frames[imap])


def test_plain_layer(tmp_path: Path) -> None:
    data = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)
    attrs = {"scale": [0.1, 2.0, 2.0], "units": ["s", "nm", "nm"], "metadata": {}}
    paths = write_tvips(str(tmp_path / "plain"), da.from_array(data), attrs)
    back = nt.file_reader(paths[0])[0]
    np.testing.assert_array_equal(back["data"], data)
    assert back["axes"][0]["scale"] == pytest.approx(0.1)
    assert [a["units"] for a in back["axes"][1:]] == ["nm", "nm"]
    assert int(back["original_metadata"]["tvips_header"]["pixelsize"]) == 2


def test_one_frame_layer(tmp_path: Path) -> None:
    data = np.arange(20, dtype=np.uint16).reshape(4, 5)
    with pytest.warns(UserWarning, match="neither a length"):
        paths = write_tvips(str(tmp_path / "one.tvips"), data, {"units": ["pixel", "pixel"]})
    np.testing.assert_array_equal(nt.file_reader(paths[0])[0]["data"], data[None])


def test_errors_are_not_value_errors(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="float32"):
        write_tvips(str(tmp_path / "f"), np.zeros((2, 3, 3), np.float32), {})
    with pytest.raises(OSError, match="Signal2D"):
        write_tvips(str(tmp_path / "v"), np.zeros(5, np.uint8), {})
    src = tmp_path / "src"
    src.mkdir()
    write_recording(src / "s", np.zeros((2, 3, 3), np.uint8))
    _, kw = layer_kwargs(nt.open_series(src / "s_000.tvips"))
    rec = record_of(kw["metadata"]).replace(
        metadata={"General": {"date": "2020-01-01", "time_zone": "Nowhere"}}
    )
    with pytest.raises(OSError, match="Nowhere"):
        write_tvips(str(tmp_path / "z"), np.zeros((2, 3, 3), np.uint8), {"metadata": {KEY: rec}})
    with pytest.raises(TypeError, match="RGB"):
        write_tvips(str(tmp_path / "c"), np.zeros((3, 3, 3), np.uint8), {"rgb": True})
    assert [p.name for p in tmp_path.iterdir()] == ["src"]


def test_layer_signal_survives_changed_shape(tmp_path: Path) -> None:
    src, _ = rich(tmp_path)
    data, attrs = attributes_of(src)
    sig = layer_signal(data[:5], attrs)
    assert "frame_headers" not in sig["original_metadata"]
    assert sig["original_metadata"]["tvips_header"]["binx"] == 2


@pytest.mark.napari
def test_viewer_save_round_trip(make_napari_viewer: Any, tmp_path: Path) -> None:
    src, frames = rich(tmp_path)
    viewer = make_napari_viewer()
    viewer.open(str(src), plugin="napari-tvips")
    assert len(viewer.layers) == 1
    viewer.layers.selection.active = viewer.layers[0]
    out = tmp_path / "saved.tvips"
    written = viewer.layers.save(str(out), selected=True, plugin="napari-tvips")
    assert [Path(p).name for p in written] == ["saved_000.tvips"]
    h0, f0 = headers(src)
    h1, f1 = headers(tmp_path / "saved_000.tvips")
    assert h1 == h0
    for name in f0:
        np.testing.assert_array_equal(f1[name], f0[name], err_msg=name)
    np.testing.assert_array_equal(nt.file_reader(tmp_path / "saved_000.tvips")[0]["data"], frames)


@pytest.mark.napari
def test_viewer_save_over_the_open_recording(make_napari_viewer: Any, tmp_path: Path) -> None:
    src, frames = rich(tmp_path)
    viewer = make_napari_viewer()
    viewer.open(str(src), plugin="napari-tvips")
    viewer.layers.selection.active = viewer.layers[0]
    viewer.layers.save(str(tmp_path / "rich.tvips"), selected=True, plugin="napari-tvips")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rich_000.tvips"]  # _001 was stale
    np.testing.assert_array_equal(nt.file_reader(src)[0]["data"], frames)


@pytest.mark.napari
def test_viewer_save_plain_image(make_napari_viewer: Any, tmp_path: Path) -> None:
    viewer = make_napari_viewer()
    data = np.arange(2 * 3 * 4 * 5, dtype=np.uint16).reshape(2, 3, 4, 5)
    viewer.add_image(data, scale=(1, 1, 0.5, 0.5), units=("nm", "nm", "1/nm", "1/nm"))
    with pytest.warns(UserWarning, match="written as 0"):  # the header stores whole 1/nm
        written = viewer.layers.save(
            str(tmp_path / "scan.tvips"), selected=True, plugin="napari-tvips"
        )
    assert len(written) == 1
    back = nt.file_reader(written[0], scan_shape=(2, 3))[0]
    np.testing.assert_array_equal(back["data"], data)
