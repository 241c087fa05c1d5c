"""The "TVIPS scan" dock as a person uses it on a 1280 x 720 screen: calibration edits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from widget_input import open_demo_on_screen, type_calibration

pytestmark = pytest.mark.napari


def test_calibrating_keeps_the_dock_and_shows_the_whole_pattern(
    make_napari_viewer, tmp_path: Path, qtbot
) -> None:
    """A long calibrated text never widens the dock; a new pixel size refits the canvas."""
    from qtpy.QtWidgets import QApplication

    viewer, window, dock, w = open_demo_on_screen(
        make_napari_viewer, tmp_path, (1280, 720), (64, 64)
    )
    qtbot.waitUntil(lambda: w._worker is None and not w.model.pass_needed, timeout=30000)
    assert w.model.update(source="manual", shape=(16, 16), start=7)
    qtbot.waitUntil(lambda: w._worker is None, timeout=30000)
    QApplication.processEvents()
    size, dock_width = window.size(), dock.width()
    viewer.scene.camera.zoom *= 7  # the person zoomed into the pattern
    type_calibration(w.controls, 2.5, "nanometer", 0.0123456, "1 / nanometer")
    qtbot.waitUntil(lambda: w._worker is None, timeout=30000)
    QApplication.processEvents()
    assert "1 / nanometer" in w.navigator.calibrated.value
    assert window.size() == size and dock.width() == dock_width
    content, viewport = w.scroll.widget(), w.scroll.viewport()
    assert content.minimumSizeHint().width() <= viewport.width()
    assert content.width() <= viewport.width()  # nothing is cut off on the right
    # the pattern (64 x 0.0123 1/nm) fills the canvas instead of a dot in its corner
    layer = viewer.layers[w.layer.value.name]
    extent = 64 * layer.scale[-1]
    canvas = viewer.window._qt_viewer.canvas.native
    camera = viewer.scene.camera
    shown = extent * camera.zoom  # screen pixels across the pattern
    sides = (canvas.width(), canvas.height())
    assert 0.5 * min(sides) < shown <= max(sides)
    middle = extent / 2 - layer.scale[-1] / 2
    np.testing.assert_allclose(camera.center[-2:], [middle, middle], atol=layer.scale[-1])
    # the detector drawn over the pattern moved with it (one set of layers)
    shapes = w.detector_shapes
    for lay in (shapes.shapes, shapes.centre):
        np.testing.assert_allclose(lay.scale, layer.scale[-2:])
    assert [x.name for x in viewer.layers].count("virtual detector") == 1
    # a re-slice that keeps the pixel size keeps the person's view
    viewer.scene.camera.zoom *= 3
    zoom = viewer.scene.camera.zoom
    assert w.model.update(hysteresis=1)
    assert viewer.scene.camera.zoom == zoom


def test_all_three_docks_fit_a_laptop_screen(make_napari_viewer, tmp_path: Path, qtbot) -> None:
    """Scan, movie and export docks together never make the window taller than 768 px."""
    from qtpy.QtWidgets import QApplication

    viewer, window, _dock, w = open_demo_on_screen(
        make_napari_viewer, tmp_path, (1366, 768), (32, 32)
    )
    qtbot.waitUntil(lambda: w._worker is None, timeout=30000)
    docks = [viewer.window.add_plugin_dock_widget("napari-tvips", name)[1]
             for name in ("TVIPS movie", "TVIPS export")]  # fmt: skip
    for _ in range(20):
        QApplication.processEvents()
    assert window.height() <= 768
    for dock in docks:  # every control stays reachable: the dock's contents scroll
        assert dock.scroll.widget().isAncestorOf(dock.export_button.native)
