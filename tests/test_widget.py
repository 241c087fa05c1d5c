"""The "TVIPS scan" dock widget on a ViewerModel (no window) and end to end in napari."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import napari_tvips
from napari_tvips._napari._reader import read_tvips
from napari_tvips._record import record_of
from scan_files import scan_file
from tvips_bytes import write_recording
from widget_input import open_demo_on_screen, type_calibration

napari = pytest.importorskip("napari")
from napari.components import ViewerModel  # noqa: E402

from napari_tvips._napari._widget import ScanWidget  # noqa: E402

N_FRAMES = 3 + 6 * 8 + 2


@pytest.fixture
def rec(tmp_path: Path) -> Path:
    """53 distinct frames of 9 x 10 with a bright disk; 3 pre-scan frames."""
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 50, (N_FRAMES, 9, 10)).astype(np.uint16)
    frames[:, 3:6, 4:7] += (np.arange(N_FRAMES, dtype=np.uint16) * 10)[:, None, None]
    write_recording(tmp_path / "w", frames, frames_per_part=[20, 33], pixelsize=2)
    return tmp_path / "w_000.tvips"


@pytest.fixture
def widget(qtbot, rec: Path) -> tuple[ViewerModel, ScanWidget]:
    viewer = ViewerModel()
    for data, kwargs, _ in read_tvips(rec):
        viewer.add_image(data, **kwargs)
    w = ScanWidget(viewer, auto_navigator=False)
    qtbot.addWidget(w.native)
    return viewer, w


def set_scan(w: ScanWidget, shape, start=0, winding="none", hysteresis=0) -> bool:
    w.model.update(
        source="manual", shape=shape, start=start, winding=winding, hysteresis=hysteresis
    )
    return w.model.message == "" and w.model.source == "manual"


def expected(path: Path, **kwargs) -> np.ndarray:
    return napari_tvips.file_reader(path, **kwargs)[0]["data"]


def test_lists_only_tvips_layers(widget) -> None:
    viewer, w = widget
    viewer.add_image(np.zeros((4, 4)), name="other")
    assert len(w.layer.choices) == 1
    assert w.layer.value is viewer.layers[0]
    viewer.layers.remove(viewer.layers[0])
    assert w.layer.value is None and len(w.layer.choices) == 0


@pytest.mark.parametrize(("winding", "hyst"), [("none", 0), ("x", 1), ("y", -1)])
def test_reslice_in_place_matches_file_reader(widget, rec, winding, hyst) -> None:
    viewer, w = widget
    layer = viewer.layers[0]
    limits = tuple(layer.contrast_limits)
    assert set_scan(w, (6, 8), 3, winding, hyst)
    assert viewer.layers[0] is layer and layer.data.shape == (6, 8, 9, 10)
    assert layer.axis_labels[:2] == ("scan_y", "scan_x")
    assert tuple(layer.contrast_limits) == limits
    ref = expected(
        rec, scan_shape=(6, 8), scan_start_frame=3,
        winding_scan_axis=None if winding == "none" else winding, hysteresis=hyst,
    )  # fmt: skip
    for pos in [(0, 0), (0, 7), (1, 3), (4, 5), (5, 7)]:
        np.testing.assert_array_equal(np.asarray(layer.data[pos]), ref[pos])
    assert record_of(layer).layout.shape == (6, 8)


def test_calibration_units_and_3d_4d_3d(widget) -> None:
    viewer, w = widget
    layer = viewer.layers[0]
    c = w.controls
    type_calibration(c, 2.5, "nm", 0.1, "1/nm")
    assert set_scan(w, (6, 8), 3)
    assert list(layer.scale) == [2.5, 2.5, 0.1, 0.1]
    assert [str(u) for u in layer.units[:2]] == ["nanometer"] * 2
    assert viewer.dims.ndim == 4 and viewer.dims.axis_labels[:2] == ("scan_y", "scan_x")
    c.stack_button.clicked()  # Stack restores the frame stack
    assert layer.data.shape == (N_FRAMES, 9, 10) and viewer.dims.ndim == 3
    assert layer.axis_labels[0] in ("time", "frame")
    np.testing.assert_array_equal(np.asarray(layer.data[5]), expected(record_of(layer).paths[0])[5])
    assert set_scan(w, (2, 3, 8), 3)
    assert layer.data.shape == (2, 3, 8, 9, 10) and viewer.dims.ndim == 5
    assert c.extra.value == 2
    c.extra.value = 1
    assert layer.data.shape == (3, 8, 9, 10) and viewer.dims.ndim == 4


def test_invalid_shape_leaves_layer_and_says_why(widget) -> None:
    viewer, w = widget
    layer = viewer.layers[0]
    assert set_scan(w, (6, 8), 3)
    before = (layer.data, tuple(layer.scale), layer.axis_labels)
    w.controls.shape_y.value = 7  # 3 + 56 > 53 frames
    msg = w.controls.message.value
    assert "out of bounds" in msg and "53 frames" in msg and "w_000.tvips" in msg
    assert (layer.data, tuple(layer.scale), layer.axis_labels) == before
    w.controls.shape_y.value = 6
    assert w.controls.message.value == "" and layer.data.shape[:2] == (6, 8)


def test_navigator_worker_and_click(widget, qtbot) -> None:
    viewer, w = widget
    set_scan(w, (6, 8), 3, "x", 1)
    assert w.compute_navigator() is not None
    # the worker may finish before a waitSignal could connect: wait for the widget's state
    qtbot.waitUntil(lambda: w._worker is None, timeout=20000)
    qtbot.waitUntil(
        lambda: w.model.values() is not None and w.model.values().complete, timeout=20000
    )
    det = w.model.detector()
    series = w.series
    frames = series.read_frames(np.arange(series.n_frames)).astype(np.int64)
    yy, xx = np.indices(series.frame_shape)
    # whole one-pixel rings: floor(distance) < radius (see napari_tvips._imager)
    bf = np.floor(np.hypot(yy - det.centre[0], xx - det.centre[1])) < np.ceil(det.bf_radius)
    ref = frames[:, bf].sum(1)[record_of(viewer.layers[0]).index_map]
    np.testing.assert_allclose(w.navigator_image(), ref, rtol=1e-6)
    assert w.navigator.image is not None and w.navigator.image.shape == (6, 8)
    np.testing.assert_array_equal(w.navigator.canvas.image.data, ref)
    # a new shape re-indexes the cached values; no new pass
    set_scan(w, (5, 8), 3, "x", 1)
    assert w.compute_navigator() is None and w.navigator_image().shape == (5, 8)
    w.on_navigator_click(2, 5)
    assert viewer.dims.current_step[:2] == (2, 5)
    assert w.navigator.canvas.position == (2, 5)
    imap = record_of(viewer.layers[0]).index_map
    assert w.trace.view.current == imap[2, 5]
    # the trace: a click selects a frame and shows it at its scan position
    w.trace._clicked(int(imap[4, 6]))
    assert viewer.dims.current_step[:2] == (4, 6) and w.trace.view.current == imap[4, 6]
    # only the explicit button moves the first scan frame
    w.trace._clicked(4)
    assert w.controls.start.value == 3 and record_of(viewer.layers[0]).layout.start == 3
    assert w.trace.start_button.enabled
    w.trace.view.selected = 4
    w.trace.start_button.clicked()
    assert w.controls.start.value == 4 and record_of(viewer.layers[0]).layout.start == 4
    assert w.trace.view.marks["start"] == 4 and w.trace.view.marks["end"] == 4 + 40 - 1


def test_suggest_shown_then_accepted(tmp_path: Path, qtbot) -> None:
    rot = [0] * 3 + list(range(1, 26)) + [0]
    frames = np.random.default_rng(2).integers(0, 9, (29, 6, 6)).astype(np.uint16)
    write_recording(tmp_path / "r", frames, headers={"rotidx": rot})
    viewer = ViewerModel()
    for data, kwargs, _ in read_tvips(tmp_path / "r_000.tvips"):
        viewer.add_image(data, **kwargs)
    w = ScanWidget(viewer, auto_navigator=False)
    qtbot.addWidget(w.native)
    sug = w.suggest()
    assert sug.shape == (5, 5) and sug.start == 3
    assert "5 x 5 from rotidx, first scan frame 3" in w.controls.suggestion.value
    assert viewer.layers[0].ndim == 3  # never applied silently
    assert w.controls.accept_button.enabled
    assert w.accept_suggestion()
    assert viewer.layers[0].data.shape == (5, 5, 6, 6)
    assert not w.controls.accept_button.enabled  # accepted: nothing left to accept


def test_refresh_keeps_scan_parameters(tmp_path: Path, qtbot) -> None:
    frames = np.arange(20 * 16, dtype=np.uint16).reshape(20, 4, 4)
    write_recording(tmp_path / "g", frames[:12])
    viewer = ViewerModel()
    for data, kwargs, _ in read_tvips(tmp_path / "g_000.tvips"):
        viewer.add_image(data, **kwargs)
    w = ScanWidget(viewer, auto_navigator=False)
    qtbot.addWidget(w.native)
    assert set_scan(w, (3, 4), 0, "x", 0)
    write_recording(tmp_path / "g", frames)  # the recording grew
    w.model.shape = (5, 4)
    w.controls.refresh_button.clicked()
    layer = viewer.layers[0]
    assert layer.data.shape == (5, 4, 4, 4) and w.controls.winding.value == "x"
    np.testing.assert_array_equal(np.asarray(layer.data[4, 0]), frames[19])


@pytest.mark.napari
def test_end_to_end_demo(make_napari_viewer, tmp_path: Path, qtbot) -> None:
    demo = pytest.importorskip("napari_tvips._demo")
    path = demo.write_demo(
        tmp_path, scan_shape=(16, 20), frame_shape=(64, 64), pre_frames=5, hysteresis=1
    )
    viewer = make_napari_viewer(show=True)
    viewer.open(str(path), plugin="napari-tvips")
    _dock, w = viewer.window.add_plugin_dock_widget("napari-tvips", "TVIPS scan")
    assert isinstance(w, ScanWidget) and w.layer.value is viewer.layers[0]
    qtbot.waitUntil(
        lambda: w.model.values() is not None and w.model.values().complete, timeout=30000
    )
    qtbot.waitUntil(lambda: w._worker is None, timeout=30000)
    sug = w.suggest()
    assert (sug.shape, sug.start, sug.winding, sug.hysteresis) == ((16, 20), 5, "x", 1)
    assert w.accept_suggestion()
    layer = viewer.layers[0]
    ref = napari_tvips.file_reader(
        path, scan_shape=(16, 20), scan_start_frame=5, winding_scan_axis="x", hysteresis=1
    )[0]["data"]
    for pos in [(0, 0), (3, 7), (15, 19)]:
        np.testing.assert_array_equal(np.asarray(layer.data[pos]), ref[pos])
    w.on_navigator_click(3, 7)
    assert viewer.dims.current_step[:2] == (3, 7)
    shot = viewer.screenshot(canvas_only=True, flash=False)
    assert shot[..., :3].max() > 0


@pytest.mark.napari
@pytest.mark.parametrize(
    ("repeat_every", "drop"),
    [(97, ()), (97, (40,)), (0, (7, 300))],
    ids=["repeated", "repeated+missing", "missing"],
)
def test_header_map_in_the_gui(
    make_napari_viewer, tmp_path: Path, qtbot, repeat_every: int, drop: tuple
) -> None:
    """rotidx repeating (~1%), missing frames, dropping after the scan: Suggest + Accept."""
    f = scan_file(tmp_path, repeat_every=repeat_every, drop=drop)
    viewer = make_napari_viewer(show=True)
    viewer.open(str(f.path), plugin="napari-tvips")
    _dock, w = viewer.window.add_plugin_dock_widget("napari-tvips", "TVIPS scan")
    qtbot.waitUntil(lambda: w._worker is None and not w.model.pass_needed, timeout=30000)
    w.controls.suggest_button.clicked()
    text = w.controls.suggestion.value
    assert f"24 x 24 from rotidx, first scan frame 5; {f.repeated} repeated" in text
    assert f"{len(drop)} missing; 3 frames after the scan" in text
    assert "winding x, hysteresis 2" in text
    reslices = w.reslices
    w.controls.accept_button.clicked()
    assert w.reslices == reslices + 1 and not w.controls.accept_button.enabled
    assert w.controls.source.value == "headers" and not w.controls.shape_y.enabled
    layer = viewer.layers[0]
    rec = record_of(layer)
    assert rec.layout_source == "headers" and layer.data.shape == (24, 24, 32, 32)
    for pos in [(0, 0), (1, 0), (5, 17), (23, 23)]:
        np.testing.assert_array_equal(np.asarray(layer.data[pos]), f.truth[pos])
    bf = w.model.values().channel("bf")
    np.testing.assert_array_equal(w.navigator.image, bf[rec.index_map])
    auto = napari_tvips.file_reader(f.path, scan_shape="auto", winding_scan_axis="x", hysteresis=2)
    np.testing.assert_array_equal(auto[0]["data"], f.truth)


def test_typing_commits_once(widget, qtbot) -> None:
    """Typing "64" in scan rows re-slices once, to 64, when the edit is committed."""
    from qtpy.QtCore import Qt

    viewer, w = widget
    set_scan(w, (6, 8), 3)
    before = w.reslices
    box = w.controls.shape_x.native
    box.selectAll()
    qtbot.keyClicks(box, "4")
    qtbot.keyClick(box, Qt.Key.Key_Backspace)
    qtbot.keyClicks(box, "12")  # 3 + 6 x 12 > 53: not applied, says why
    assert w.reslices == before  # nothing while typing
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert w.reslices == before and "out of bounds" in w.controls.message.value
    box.selectAll()
    qtbot.keyClicks(box, "5")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert w.reslices == before + 1 and viewer.layers[0].data.shape[:2] == (6, 5)
    unit = w.controls.scan_unit.native
    unit.selectAll()
    qtbot.keyClicks(unit, "nm")
    assert w.reslices == before + 1
    unit.editingFinished.emit()
    assert w.reslices == before + 2 and str(viewer.layers[0].units[0]) == "nanometer"


def test_tooltips_hints_and_trace_axis(widget) -> None:
    viewer, w = widget
    from magicgui.widgets import Container as MContainer

    def leaves(c):
        for x in c:
            yield from leaves(x) if isinstance(x, MContainer) else [x]

    missing = [x.label or x.text for x in leaves(w) if not x.tooltip and x.visible
               and type(x).__name__ != "Label"]  # fmt: skip
    assert missing == []
    assert w.navigator.image is None and "Suggest" in w.navigator.hint.value  # stack
    nav_layout = w.navigator.native.layout()  # the hint above the canvas, in view on a laptop
    assert nav_layout.indexOf(w.navigator.hint.native) < nav_layout.indexOf(w.navigator.canvas)
    assert not w.navigator.canvas._scale_bar.visible  # an empty canvas shows no scale bar
    w.trace._clicked(7)  # in the stack, a click on the trace shows that frame
    assert viewer.dims.current_step[0] == 7 and w.trace.view.current == 7
    set_scan(w, (6, 8), 3)
    assert "Compute navigator" in w.navigator.hint.value
    w.navigator.show(np.ones((6, 8)))
    assert w.navigator.hint.value == "" and w.navigator.canvas._scale_bar.visible
    assert w.trace.view.marks == {"start": 3, "end": 50}
    viewer.dims.set_current_step(0, 2)
    viewer.dims.set_current_step(1, 1)
    assert w.trace.view.current == record_of(viewer.layers[0]).index_map[2, 1]


@pytest.mark.napari
def test_fits_a_laptop_screen(make_napari_viewer, tmp_path: Path, qtbot) -> None:
    """1366 x 768: the dock scrolls, is narrow, and a long message never resizes the window."""
    from qtpy.QtWidgets import QApplication

    viewer, window, dock, w = open_demo_on_screen(
        make_napari_viewer, tmp_path, (1366, 768), (32, 32)
    )
    QApplication.processEvents()
    size, dock_width = window.size(), dock.width()
    assert size.height() <= 768 and dock_width < 0.3 * size.width()
    canvas = viewer.window._qt_viewer.canvas.native
    assert canvas.width() > 0.4 * size.width()
    # every control is inside the scroll area, which scrolls when the dock is short
    assert w.scroll.verticalScrollBar().maximum() > 0
    for widget in (w.controls.suggest_button, w.navigator.canvas, w.trace.view,
                   w.controls.pixel_unit):  # fmt: skip
        native = getattr(widget, "native", widget)
        assert w.scroll.widget().isAncestorOf(native)
        w.scroll.ensureWidgetVisible(native)
        QApplication.processEvents()
        assert native.visibleRegion().boundingRect().height() > 0
    w.model.update(source="manual", shape=(9999, 9999), start=12345)  # a very long reason
    assert len(w.controls.message.value) > 150 and w.controls.message.visible
    QApplication.processEvents()
    assert window.size() == size and dock.width() == dock_width
    assert w.controls.message.native.width() <= w.scroll.viewport().width()
    qtbot.waitUntil(lambda: w._worker is None, timeout=30000)


def test_typing_64_reslices_once_to_64(tmp_path: Path, qtbot) -> None:
    from qtpy.QtCore import Qt

    frames = np.arange(4100 * 4, dtype=np.uint16).reshape(4100, 2, 2)
    write_recording(tmp_path / "big", frames)
    viewer = ViewerModel()
    for data, kwargs, _ in read_tvips(tmp_path / "big_000.tvips"):
        viewer.add_image(data, **kwargs)
    w = ScanWidget(viewer, auto_navigator=False)
    qtbot.addWidget(w.native)
    w.model.update(source="manual", shape=(1, 64), start=0)
    shapes: list[tuple[int, ...]] = []
    w.model.events.resliced.connect(lambda r: shapes.append(r.index_map.shape))
    box = w.controls.shape_y.native
    box.setFocus()
    box.selectAll()
    qtbot.keyClicks(box, "64")
    assert shapes == []  # "6" was never applied
    qtbot.keyClick(box, Qt.Key.Key_Enter)
    assert shapes == [(64, 64)] and viewer.layers[0].data.shape == (64, 64, 2, 2)
