"""What a person types into the "TVIPS scan" widget's calibration boxes, for the tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


def type_calibration(controls: Any, step: float, unit: str, pixel: float, pixel_unit: str) -> None:
    """Fill scan step/unit and pattern pixel/unit as committed edits (Enter in the text boxes)."""
    controls.scan_step.value = step
    controls.scan_unit.value = unit
    controls.scan_unit.native.editingFinished.emit()
    controls.pixel_size.value = pixel
    controls.pixel_unit.value = pixel_unit
    controls.pixel_unit.native.editingFinished.emit()


def open_demo_on_screen(
    make_napari_viewer: Any, tmp_path: Path, screen: tuple[int, int], frame_shape: tuple[int, int]
) -> tuple[Any, Any, Any, Any]:
    """A shown viewer resized to ``screen`` with a 16 x 16 demo scan open and the scan dock added.

    Returns ``(viewer, window, dock, widget)``.
    """
    demo = pytest.importorskip("napari_tvips._demo")
    path = demo.write_demo(tmp_path, scan_shape=(16, 16), frame_shape=frame_shape)
    viewer = make_napari_viewer(show=True)
    window = viewer.window._qt_window
    window.resize(*screen)
    viewer.open(str(path), plugin="napari-tvips")
    dock, widget = viewer.window.add_plugin_dock_widget("napari-tvips", "TVIPS scan")
    return viewer, window, dock, widget
