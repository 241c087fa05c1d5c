"""What a person types into the "TVIPS scan" widget's calibration boxes, for the tests."""

from __future__ import annotations

from typing import Any


def type_calibration(controls: Any, step: float, unit: str, pixel: float, pixel_unit: str) -> None:
    """Fill scan step/unit and pattern pixel/unit as committed edits (Enter in the text boxes)."""
    controls.scan_step.value = step
    controls.scan_unit.value = unit
    controls.scan_unit.native.editingFinished.emit()
    controls.pixel_size.value = pixel
    controls.pixel_unit.value = pixel_unit
    controls.pixel_unit.native.editingFinished.emit()
