"""A saved scan opens as the same scan: widget -> File > Save -> open, in napari end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import napari_tvips as nt
from napari_tvips._demo import write_demo
from napari_tvips._record import record_of
from widget_input import type_calibration

pytestmark = pytest.mark.napari


def _scan_in_widget(viewer, qtbot, shape, start, hysteresis):
    _dock, w = viewer.window.add_plugin_dock_widget("napari-tvips", "TVIPS scan")
    qtbot.waitUntil(lambda: w._worker is None and not w.model.pass_needed, timeout=30000)
    c = w.controls
    w.model.update(source="manual", shape=shape, start=start, winding="x", hysteresis=hysteresis)
    type_calibration(c, 2.5, "nm", 0.05, "1/nm")
    assert c.message.value == ""
    return w


@pytest.mark.parametrize(
    ("scan", "square"), [((24, 24), True), ((16, 20), False)], ids=["square", "non-square"]
)
def test_saved_scan_opens_as_the_same_scan(
    make_napari_viewer, qtbot, tmp_path: Path, scan, square
) -> None:
    path = write_demo(tmp_path, scan_shape=scan, frame_shape=(32, 32), pre_frames=5)
    viewer = make_napari_viewer(show=True)
    viewer.open(str(path), plugin="napari-tvips")
    w = _scan_in_widget(viewer, qtbot, scan, 5, 2)
    layer = viewer.layers[0]
    assert layer.data.shape == (*scan, 32, 32)
    before = np.asarray(layer.data)
    scale, units = list(layer.scale), [str(u) for u in layer.units]
    assert scale == [2.5, 2.5, 0.05, 0.05]
    out = tmp_path / "saved" / "scan.tvips"
    out.parent.mkdir()
    viewer.layers.selection = {layer}  # the widget also shows the virtual detector's layers
    written = viewer.layers.save(str(out), selected=True, plugin="napari-tvips")
    assert written and Path(written[0]).name == "scan_000.tvips"

    viewer2 = make_napari_viewer(show=True)
    (again,) = viewer2.open(written[0], plugin="napari-tvips")
    assert again.data.shape == (*scan, 32, 32)
    np.testing.assert_array_equal(np.asarray(again.data), before)
    assert list(again.scale) == pytest.approx(scale)
    assert [str(u) for u in again.units] == units
    assert tuple(again.axis_labels) == ("scan_y", "scan_x", "ky", "kx")
    rec = record_of(again)
    assert rec.is_scan and rec.scan_step == (2.5, 2.5) and rec.signal_scale == (0.05, 0.05)
    # the widget follows the reopened layer: its own (plain) layout, not the previous one's
    _dock, w2 = viewer2.window.add_plugin_dock_widget("napari-tvips", "TVIPS scan")
    assert w2.model.winding is None and w2.model.hysteresis == 0
    assert w2.model.shape == scan and w2.model.start == 0 and w2.controls.winding.value == "none"
    # the same widget, two layers: selecting resets winding/hysteresis to that layer's
    viewer.open(written[0], plugin="napari-tvips")
    assert w.model.winding == "x"
    w.layer.value = viewer.layers[-1]
    assert (w.model.winding, w.model.hysteresis) == (None, 0)
    assert w.controls.winding.value == "none" and w.controls.hysteresis.value == 0
    w.layer.value = viewer.layers[0]
    assert (w.model.winding, w.model.hysteresis) == ("x", 2)
    qtbot.waitUntil(lambda: w._worker is None and w2._worker is None, timeout=30000)
    # our file_reader and the "auto" scan read the same scan
    auto = nt.file_reader(written[0], scan_shape="auto")[0]["data"]
    np.testing.assert_array_equal(auto, before)
    if square:  # RosettaSciIO's own "auto" reads rotidx, which numbers the scan in order
        rsciio = pytest.importorskip("rsciio.tvips")
        theirs = rsciio.file_reader(written[0], scan_shape="auto")[0]["data"]
        np.testing.assert_array_equal(theirs, before)
