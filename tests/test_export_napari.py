"""napari writers for .zspy and .blo: the layer's calibration, defaults, errors, end to end."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import napari_tvips as nt
from napari_tvips._napari._export_writer import write_blo, write_zspy
from napari_tvips._napari._layers import layer_kwargs
from tvips_bytes import write_recording

hs = pytest.importorskip("hyperspy.api")

LAYOUT = nt.ScanLayout((4, 5), start=1, winding="x")


def recording(tmp_path: Path) -> Path:
    rng = np.random.default_rng(11)
    frames = rng.integers(0, 2000, size=(22, 10, 12), dtype=np.uint16)
    write_recording(tmp_path / "nap", frames, frames_per_part=[9, 13], pixelsize=3)
    return tmp_path / "nap_000.tvips"


def layer_of(path: Path) -> tuple[Any, dict[str, Any]]:
    """The scan widget's layer: re-sliced, with a scan step of 2.5 nm."""
    data, kwargs = layer_kwargs(nt.open_series(path), LAYOUT, scan_step=2.5, scan_unit="nm")
    attrs = {**kwargs, "translate": [0.0] * data.ndim, "rgb": False, "multiscale": False}
    return data, attrs


def load(path: Path | str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return hs.load(path, lazy=True)


def test_zspy_writer_keeps_the_layer_calibration(tmp_path: Path) -> None:
    src = recording(tmp_path)
    data, attrs = layer_of(src)
    written = write_zspy(str(tmp_path / "layer"), data, attrs)
    assert written == [str(tmp_path / "layer.zspy")]
    s = load(written[0])
    expect = nt.file_reader(src, scan_shape=(4, 5), scan_start_frame=1, winding_scan_axis="x")
    np.testing.assert_array_equal(s.data.compute(), expect[0]["data"])
    y, x, ky, kx = s.axes_manager._axes
    assert (y.scale, x.scale, y.units, x.units) == (2.5, 2.5, "nm", "nm")
    assert (ky.scale, kx.scale, ky.units) == (3.0, 3.0, "1/nm")
    assert (y.name, x.name, ky.name) == ("scan_y", "scan_x", "ky")
    assert s.navigator is not None
    assert np.asarray(s.original_metadata.frame_index).shape == (4, 5)


def test_blo_writer_crops_and_stretches_by_default(tmp_path: Path) -> None:
    from rsciio.blockfile import file_reader as blo_reader

    src = recording(tmp_path)
    data, attrs = layer_of(src)
    [path] = write_blo(str(tmp_path / "layer.blo"), data, attrs)
    raw = np.asarray(data)[..., :, 1:11].astype(np.float64)
    expect = np.floor((raw - raw.min()) / (raw.max() - raw.min()) * 255).astype(np.uint8)
    [sig] = blo_reader(path)
    np.testing.assert_array_equal(sig["data"], expect)
    assert sig["axes"][0]["scale"] == 2.5


def test_writer_refusals_are_os_or_type_errors(tmp_path: Path) -> None:
    src = recording(tmp_path)
    data, kwargs = layer_kwargs(nt.open_series(src), nt.ScanLayout((2, 2, 5)))
    attrs = {**kwargs, "rgb": False, "multiscale": False}
    with pytest.raises(OSError, match="3 navigation axes"):
        write_blo(str(tmp_path / "x.blo"), data, attrs)
    floats = np.zeros((2, 3, 4, 4), dtype=np.float32)
    plain = {"scale": [1, 1, 1, 1], "units": ["nm", "nm", "1/nm", "1/nm"], "metadata": {}}
    write_zspy(str(tmp_path / "f.zspy"), floats, plain)  # floats are fine in zspy
    with pytest.raises(TypeError, match="RGB"):
        write_zspy(str(tmp_path / "rgb.zspy"), floats, {**plain, "rgb": True})
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "f.zspy",
        "nap_000.tvips",
        "nap_001.tvips",
    ]


@pytest.mark.napari
def test_viewer_saves_zspy_and_blo(make_napari_viewer: Any, tmp_path: Path) -> None:
    src = recording(tmp_path)
    viewer = make_napari_viewer()
    data, kwargs = layer_kwargs(nt.open_series(src), LAYOUT, scan_step=2.5, scan_unit="nm")
    layer = viewer.add_image(data, **kwargs)
    viewer.layers.selection.active = layer
    written = viewer.layers.save(str(tmp_path / "v.zspy"), selected=True, plugin="napari-tvips")
    assert written == [str(tmp_path / "v.zspy")]
    s = load(written[0])
    np.testing.assert_array_equal(s.data.compute(), np.asarray(data))
    assert s.axes_manager._axes[0].scale == 2.5
    written = viewer.layers.save(str(tmp_path / "v.blo"), selected=True, plugin="napari-tvips")
    assert written == [str(tmp_path / "v.blo")]
    from libertem.api import Context

    ds = Context.make_with("inline").load("blo", path=written[0])
    assert tuple(ds.shape) == (4, 5, 10, 10)


@pytest.mark.napari
def test_export_widget_bins_crops_and_scales(
    make_napari_viewer: Any, qtbot: Any, tmp_path: Path
) -> None:
    from rsciio.blockfile import file_reader as blo_reader

    from napari_tvips._napari._export_widget import ExportWidget

    src = recording(tmp_path)
    viewer = make_napari_viewer()
    data, kwargs = layer_kwargs(nt.open_series(src), LAYOUT, scan_step=2.5, scan_unit="nm")
    viewer.add_image(data, **kwargs)
    widget = ExportWidget(viewer)
    assert widget.layer.value is viewer.layers[0]
    out = tmp_path / "w.blo"
    widget.destination.value = out
    widget.export()  # non-square patterns without crop: refused in the status line
    qtbot.waitUntil(lambda: widget._worker is None, timeout=30_000)
    assert "square" in widget.status.value
    assert not out.exists()
    widget.binning.value = 2
    widget.crop.value = "square"
    widget.scaling.value = "minmax"
    assert widget.options() == {"binning": 2, "crop": "square", "intensity_scaling": "minmax"}
    worker = widget.export()
    assert worker is not None
    qtbot.waitUntil(lambda: widget._worker is None, timeout=30_000)
    assert widget.status.value == "written: w.blo"
    assert widget.progress.value == widget.progress.max == 2 * 20
    raw = np.asarray(data)[..., :, 1:11].astype(np.float64)
    binned = np.floor(raw.reshape(4, 5, 5, 2, 5, 2).mean(axis=(3, 5)) + 0.5)
    lo, hi = binned.min(), binned.max()
    expect = np.floor((binned - lo) / (hi - lo) * 255).astype(np.uint8)
    [sig] = blo_reader(str(out))
    np.testing.assert_array_equal(sig["data"], expect)
    assert sig["axes"][1]["scale"] == 2.5
