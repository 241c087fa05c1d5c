"""Virtual imaging in napari end to end: detector shapes, navigator canvas, marker, patterns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from napari_tvips import Series
from napari_tvips._demo import write_demo
from napari_tvips._imager_export import read_navigator_tiff
from napari_tvips._record import record_of

napari = pytest.importorskip("napari")
from napari.utils._test_utils import read_only_mouse_event  # noqa: E402
from napari.utils.interactions import (  # noqa: E402
    mouse_move_callbacks,
    mouse_press_callbacks,
    mouse_release_callbacks,
)
from napari.utils.key_bindings import KeyBinding  # noqa: E402
from qtpy.QtWidgets import QFileDialog  # noqa: E402

tifffile = pytest.importorskip("tifffile")

pytestmark = pytest.mark.napari

SCAN, FRAME = (10, 12), (48, 48)


@pytest.fixture
def scan(make_napari_viewer, qtbot, tmp_path: Path):
    path = write_demo(tmp_path, scan_shape=SCAN, frame_shape=FRAME, pre_frames=3, hysteresis=1,
                      frames_per_part=50)  # fmt: skip
    viewer = make_napari_viewer(show=True)
    viewer.open(path, plugin="napari-tvips")
    _dock, w = viewer.window.add_plugin_dock_widget("napari-tvips", "TVIPS scan")
    w.model.update(source="manual", shape=SCAN, start=3, winding="x", hysteresis=1)
    w.compute_navigator()
    qtbot.waitUntil(lambda: w.model.values() is not None and w.model.values().complete,
                    timeout=30000)  # fmt: skip
    qtbot.waitUntil(lambda: w._worker is None, timeout=10000)
    series = Series(path)
    frames = series.read_frames(np.arange(series.n_frames)).astype(np.int64)
    return viewer, w, frames, record_of(viewer.layers[0]).index_map


def disk(centre, radius) -> np.ndarray:
    yy, xx = np.indices(FRAME)
    return np.floor(np.hypot(yy - centre[0], xx - centre[1])) < np.ceil(radius)


def brute(frames, imap, mask) -> np.ndarray:
    return (frames[imap] * mask).sum(axis=(-2, -1)).astype(float)


def mouse(kind: str, position):
    return read_only_mouse_event(type=kind, position=position, is_dragging=kind != "mouse_press")


def grab(layer, at) -> None:
    """Click to select, then press (as napari's own shape tests do)."""
    mouse_press_callbacks(layer, read_only_mouse_event(type="mouse_press", position=at))
    mouse_release_callbacks(layer, read_only_mouse_event(type="mouse_release", position=at))
    mouse_press_callbacks(layer, mouse("mouse_press", at))
    mouse_move_callbacks(layer, mouse("mouse_move", at))


def test_detector_shape_drives_the_navigator(scan, qtbot) -> None:
    viewer, w, frames, imap = scan
    canvas = w.navigator.canvas
    shapes = w.detector_shapes.shapes
    assert shapes is not None and shapes in viewer.layers and "beam centre" in viewer.layers
    centre = w.model.imager().centre
    r0 = w.model.radii[0]
    np.testing.assert_array_equal(canvas.image.data, brute(frames, imap, disk(centre, r0)))
    np.testing.assert_allclose(viewer.layers["beam centre"].data, [centre])
    # resize the disk with napari's shapes layer: the navigator follows without a pass
    cy, cx = centre
    bigger = np.array([[cy - 9, cx - 9], [cy - 9, cx + 9], [cy + 9, cx + 9], [cy + 9, cx - 9]])
    shapes.data = [bigger]
    assert w.model.radii[0] == pytest.approx(9) and w._worker is None
    np.testing.assert_array_equal(canvas.image.data, brute(frames, imap, disk(centre, 9)))
    assert shapes.data[0] == pytest.approx(bigger)  # redrawn about the same centre
    # move it: an off-centre disk streams the frames again in a worker
    shapes.data = [np.add(bigger, [3, -4])]
    assert w.model.detector_state.centre == pytest.approx((cy + 3, cx - 4))
    qtbot.waitUntil(lambda: w._worker is None, timeout=20000)
    want = brute(frames, imap, disk((cy + 3, cx - 4), 9))
    qtbot.waitUntil(lambda: np.array_equal(canvas.image.data, want), timeout=5000)
    # drag the disk with the mouse in napari's select mode (grabbed off its centre, where
    # napari's ellipse picking has a fan vertex): the navigator follows every move, before
    # the release (a pass restarted per move, throttled, coarse to fine)
    shapes.mode = "select"
    at = tuple(shapes.data_to_world(np.add(np.mean(shapes.data[0], axis=0), [2.5, 1.5])))
    grab(shapes, at)
    for step, (dy, dx) in enumerate([(-1, 0), (-2, 1)]):
        mouse_move_callbacks(shapes, mouse("mouse_move", (at[0] + dy, at[1] + dx)))
        centre_now = (cy + 3 + dy, cx - 4 + dx)
        assert w.model.detector_state.centre == pytest.approx(centre_now)
        if step == 0:  # the image on screen stays until the new pass has something
            assert np.array_equal(canvas.image.data, want)
        want = brute(frames, imap, disk(centre_now, 9))
        qtbot.waitUntil(lambda want=want: np.array_equal(canvas.image.data, want), timeout=20000)
        assert shapes.data[0] == pytest.approx(np.add(bigger, [3 + dy, -4 + dx]))  # not redrawn
    mouse_release_callbacks(shapes, mouse("mouse_release", (at[0] + dy, at[1] + dx)))
    assert w.model.detector_state.centre == pytest.approx((cy + 1, cx - 3))
    qtbot.waitUntil(lambda: w._worker is None, timeout=20000)
    np.testing.assert_array_equal(canvas.image.data, want)  # the release needs no new pass
    shapes.mode = "pan_zoom"
    # numeric controls: the radius spin box and the ADF channel with a log display
    w.navigator.centre_y.value, w.navigator.centre_x.value = cy, cx  # back on the beam
    qtbot.waitUntil(lambda: w._worker is None, timeout=20000)
    assert w.model.values().request("bf") is None  # about the beam centre: no pass needed
    w.navigator.adf_inner.value, w.navigator.adf_outer.value = 6, 20
    w.navigator.channel.value = "adf"
    w.navigator.display.value = "log"
    ring = disk(centre, 20) & ~disk(centre, 6)
    np.testing.assert_allclose(canvas.image.data, np.log1p(brute(frames, imap, ring)), rtol=1e-6)
    assert len(shapes.data) == 2  # the ring is two circles
    # a rectangle detector, edited on the pattern
    w.navigator.channel.value = "rectangle"
    qtbot.waitUntil(lambda: w._worker is None, timeout=20000)
    assert shapes.shape_type == ["rectangle"]
    shapes.data = [np.array([[4.5, 6.5], [4.5, 19.5], [30.5, 19.5], [30.5, 6.5]])]
    qtbot.waitUntil(lambda: w._worker is None, timeout=20000)
    yy, xx = np.indices(FRAME)
    rect = (yy >= 5) & (yy < 31) & (xx >= 7) & (xx < 20)
    want = np.log1p(brute(frames, imap, rect))
    qtbot.waitUntil(lambda: np.allclose(canvas.image.data, want, rtol=1e-6), timeout=5000)
    # centre of mass: no pass
    w.navigator.display.value = "linear"
    w.navigator.channel.value = "com_x"
    f = frames[imap].astype(float)
    com_x = (f * xx).sum(axis=(-2, -1)) / f.sum(axis=(-2, -1)) - centre[1]
    np.testing.assert_allclose(canvas.image.data, com_x, rtol=1e-5, atol=1e-5)


def test_marker_drag_keys_patterns_and_export(scan, qtbot, tmp_path: Path, monkeypatch) -> None:
    viewer, w, frames, imap = scan
    canvas = w.navigator.canvas
    layer = viewer.layers[0]
    # press on the navigator image and drag: the scan position and the main viewer follow
    image = canvas.image
    assert not image.mouse_pan  # dragging on the navigator moves the position, not the view
    gen_events = [mouse("mouse_press", (1, 1)), mouse("mouse_move", (4, 7)),
                  mouse("mouse_move", (6, 9)), mouse("mouse_release", (6, 9))]  # fmt: skip
    mouse_press_callbacks(image, gen_events[0])
    mouse_move_callbacks(image, gen_events[1])
    assert viewer.dims.current_step[:2] == (4, 7)
    mouse_move_callbacks(image, gen_events[2])
    mouse_release_callbacks(image, gen_events[3])
    assert viewer.dims.current_step[:2] == (6, 9) and canvas.position == (6, 9)
    np.testing.assert_array_equal(canvas.marker.data, [[6, 9]])
    qtbot.waitUntil(lambda: not layer._slice.empty, timeout=5000)
    np.testing.assert_array_equal(np.asarray(layer._slice.image.raw), frames[imap[6, 9]])
    # arrow keys on the navigator canvas step the position
    canvas.viewer.keymap[KeyBinding.from_str("Up")](canvas.viewer)
    canvas.viewer.keymap[KeyBinding.from_str("Left")](canvas.viewer)
    assert viewer.dims.current_step[:2] == (5, 8) and canvas.position == (5, 8)
    # a region drawn on the navigator gives its mean pattern as a layer
    canvas.region.add_rectangles(np.array([[1.6, 2.2], [1.6, 5.4], [3.3, 5.4], [3.3, 2.2]]))
    qtbot.waitUntil(lambda: "mean pattern (region)" in viewer.layers, timeout=20000)
    want = frames[imap[2:4, 3:6]].reshape(-1, *FRAME).mean(axis=0)
    np.testing.assert_allclose(viewer.layers["mean pattern (region)"].data, want, rtol=1e-12)
    canvas.region.data = []
    w.navigator.max_button.clicked()
    qtbot.waitUntil(lambda: "max pattern" in viewer.layers, timeout=20000)
    np.testing.assert_array_equal(viewer.layers["max pattern"].data,
                                  frames[imap].max(axis=(0, 1)))  # fmt: skip
    # the navigator as a layer of the main viewer, with the scan calibration
    w.model.update(scan_step=0.5, scan_unit="nm")
    w.navigator.add_button.clicked()
    nav = viewer.layers["navigator (bf)"]
    assert tuple(nav.scale) == (0.5, 0.5) and str(nav.units[0]) == "nanometer"
    assert tuple(nav.axis_labels) == ("scan_y", "scan_x")
    assert nav.metadata["tvips_navigator"]["detector"]["kind"] == "disk"
    np.testing.assert_array_equal(nav.data, canvas.image.data)
    # napari's own TIFF writer keeps the pixels but drops the scale ...
    out = nav.save(str(tmp_path / "napari.tif"))
    _data, step, unit, _info = read_navigator_tiff(out[0])
    assert (step, unit) == (1.0, "pixel")
    # ... the navigator's Save TIFF keeps it (ImageJ resolution and unit), and the detector
    w.navigator.display.value = "log"  # saved values stay linear
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(tmp_path / "nav"), "TIFF (*.tif *.tiff)"))  # fmt: skip
    w.navigator.save_button.clicked()
    data, step, unit, info = read_navigator_tiff(tmp_path / "nav.tif")
    assert data.dtype == np.float32 and (step, unit) == (0.5, "nm")
    bf = disk(w.model.imager().centre, w.model.radii[0])
    np.testing.assert_allclose(data, brute(frames, imap, bf), rtol=1e-6)
    assert info["channel"] == "bf" and info["detector"]["radius"] == w.model.radii[0]
    assert info["scan_step"] == 0.5 and info["detector_unit"] == "pixel"
    with tifffile.TiffFile(tmp_path / "nav.tif") as tif:  # what Fiji reads
        assert tif.is_imagej and tif.imagej_metadata["unit"] == "nm"
        assert tif.pages[0].tags["XResolution"].value == (2, 1)
    w.model.update(scan_step=0)  # not calibrated: pixels
    w.save_navigator(str(tmp_path / "plain.tif"))
    assert read_navigator_tiff(tmp_path / "plain.tif")[1:3] == (1.0, "pixel")
    viewer.screenshot(str(tmp_path / "shot.png"), canvas_only=False)
    assert (tmp_path / "shot.png").stat().st_size > 10_000


def test_detector_controls_in_calibrated_units(scan, qtbot) -> None:
    _viewer, w, frames, imap = scan
    nav, shapes, canvas = w.navigator, w.detector_shapes.shapes, w.navigator.canvas
    assert list(nav.units.choices) == ["pixel", "1/nm"]  # the demo's pattern is calibrated
    w.model.update(signal_scale=0)  # not calibrated: pixels only
    assert list(nav.units.choices) == ["pixel"] and "not calibrated" in nav.calibrated.value
    w.model.update(signal_scale=0.0125, signal_unit="1/nm")
    assert list(nav.units.choices) == ["pixel", "1/nm"]
    cy, cx = w.model.imager().centre
    r0 = w.model.radii[0]
    nav.units.value = "1/nm"
    assert nav.bf_radius.value == pytest.approx(r0 * 0.0125, abs=1e-6)
    assert nav.centre_y.value == pytest.approx(cy * 0.0125, abs=0.6e-4)  # 4 decimals
    assert "pixel" in nav.calibrated.value and f"BF {r0:.4g}" in nav.calibrated.value
    # calibrated edit -> model in pixels -> the disk on the pattern and the navigator
    nav.bf_radius.value = 0.1  # 8 pixels
    assert w.model.radii[0] == pytest.approx(8) and w._worker is None  # about the beam
    assert (shapes.data[0].max(axis=0) - shapes.data[0].min(axis=0)) == pytest.approx([16, 16])
    np.testing.assert_array_equal(canvas.image.data, brute(frames, imap, disk((cy, cx), 8)))
    assert w.model.detector_state.centre in (None, pytest.approx((cy, cx)))  # rounding: no move
    nav.centre_x.value = (cx - 2) * 0.0125
    moved = w.model.detector_state.centre  # the control holds 4 decimals: 0.004 pixels
    assert moved == pytest.approx((cy, cx - 2), abs=0.005)
    qtbot.waitUntil(lambda: w._worker is None, timeout=20000)
    np.testing.assert_allclose(shapes.data[0].mean(axis=0), moved)
    want = brute(frames, imap, disk(moved, 8))
    qtbot.waitUntil(lambda: np.array_equal(canvas.image.data, want), timeout=5000)
    # the shapes layer -> the calibrated controls
    shapes.data = [np.add(shapes.data[0], [1, 0]) * 1.0]
    qtbot.waitUntil(lambda: w._worker is None, timeout=20000)
    assert nav.centre_y.value == pytest.approx((cy + 1) * 0.0125, abs=0.6e-4)
    r = shapes.data[0]
    grown = np.array([r.min(axis=0) - 2, r.max(axis=0) + 2])
    shapes.data = [np.array([grown[0], [grown[0, 0], grown[1, 1]], grown[1],
                             [grown[1, 0], grown[0, 1]]])]  # fmt: skip
    assert w.model.radii[0] == pytest.approx(10)
    assert nav.bf_radius.value == pytest.approx(0.125, abs=1e-6)
    # back to pixels: the same detector
    nav.units.value = "pixel"
    assert nav.bf_radius.value == pytest.approx(10)
    assert nav.centre_x.value == pytest.approx(moved[1], abs=0.005)
    assert "1/nm" in nav.calibrated.value
