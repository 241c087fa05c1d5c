"""Scan and calibration controls of the "TVIPS scan" widget, bound to a :class:`ScanModel`.

The scan controls are this container; the calibration boxes are :attr:`ScanControls.calibration`,
a separate container the widget places where it fits.

Edits are committed, not per keystroke: number boxes apply on Enter, focus change or the arrows
(Qt's keyboard tracking off), text boxes on Enter or focus change, so typing "64" re-slices once
to 64. Controls follow the model's ``params`` event; messages wrap inside the dock and never widen
it. This module only binds controls to the model: no scan or format logic.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from magicgui.widgets import (
    ComboBox,
    Container,
    FloatSpinBox,
    Label,
    LineEdit,
    PushButton,
    SpinBox,
    Widget,
)
from qtpy.QtWidgets import QSizePolicy

from .._model import ScanModel

__all__ = ["ScanControls", "button_row", "wrapping_label"]

_MAX = 2**31 - 1
#: Layout source choices: (shown text, model value).
SOURCES = [("frame stack", "stack"), ("manual", "manual"), ("from headers", "headers")]


def button_row(*widgets: Widget) -> Container:
    """``widgets`` side by side in one unlabelled row (buttons under the controls they act on)."""
    return Container(widgets=list(widgets), layout="horizontal", labels=False)


def wrapping_label(tooltip: str = "") -> Label:
    """A label whose text wraps inside the dock and never asks for more width."""
    label = Label(value="")
    native = label.native
    native.setWordWrap(True)
    native.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Minimum)
    native.setMinimumWidth(10)
    label.tooltip = tooltip
    return label


def _commit_on_enter(widget: SpinBox | FloatSpinBox) -> None:
    """Emit ``changed`` on Enter, focus change or arrows, not on every keystroke."""
    widget.native.setKeyboardTracking(False)


class ScanControls(Container):
    """Layout source, scan parameters, calibration, Scan/Stack/Refresh and suggestions.

    Parameters
    ----------
    model : ScanModel
        The model the controls edit and follow.
    on_refresh : callable, optional
        What *Refresh* does (default: ``model.refresh``).
    """

    def __init__(self, model: ScanModel, on_refresh: Callable[[], object] | None = None) -> None:
        super().__init__(labels=True)
        self.model: ScanModel = model
        self.on_refresh: Callable[[], object] = on_refresh or model.refresh
        self._syncing: bool = False
        self.source = ComboBox(label="layout from", choices=SOURCES, value="stack")
        self.extra = SpinBox(label="scans", min=1, max=_MAX, value=1)
        self.shape_y = SpinBox(label="scan rows", min=1, max=_MAX, value=1)
        self.shape_x = SpinBox(label="scan columns", min=1, max=_MAX, value=1)
        self.start = SpinBox(label="first scan frame", min=0, max=_MAX, value=0)
        self.winding = ComboBox(label="snake scan", choices=["none", "x", "y"], value="none")
        self.hysteresis = SpinBox(label="hysteresis", min=-1_000_000, max=1_000_000, value=0)
        self.scan_step = FloatSpinBox(label="scan step", min=0, max=1e6, step=0.001, value=0)
        self.scan_unit = LineEdit(label="scan unit", value="pixel")
        self.pixel_size = FloatSpinBox(label="pattern pixel", min=0, max=1e12, step=0.0001, value=0)
        self.pixel_unit = LineEdit(label="pattern unit", value="pixel")
        self.scan_button = PushButton(text="Scan")
        self.stack_button = PushButton(text="Stack")
        self.refresh_button = PushButton(text="Refresh")
        self.message = wrapping_label("Why the last change was not applied")
        self.suggest_button = PushButton(text="Suggest")
        self.accept_button = PushButton(text="Accept", enabled=False)
        self.suggestion = wrapping_label()
        for spin in (self.extra, self.shape_y, self.shape_x, self.start, self.hysteresis,
                     self.scan_step, self.pixel_size):  # fmt: skip
            _commit_on_enter(spin)
        self.scan_step.native.setDecimals(6)
        self.pixel_size.native.setDecimals(6)
        self._tooltips()
        self.extend(
            [
                self.source,
                self.extra,
                self.shape_y,
                self.shape_x,
                self.start,
                self.winding,
                self.hysteresis,
                button_row(self.scan_button, self.stack_button, self.refresh_button),
                self.message,
                button_row(self.suggest_button, self.accept_button),
                self.suggestion,
            ]
        )
        #: Calibration boxes, bound here, placed by the widget (below the navigator).
        self.calibration = Container(
            widgets=[self.scan_step, self.scan_unit, self.pixel_size, self.pixel_unit]
        )
        self._bind()
        self.sync()
        self.message.visible = self.suggestion.visible = False

    def _tooltips(self) -> None:
        tips = {
            self.source: "Where the scan comes from: the plain frame stack, the numbers below, "
            "or the scan position the camera wrote in each frame's header (rotidx or "
            "Scan_x/Scan_y), which skips repeated frames",
            self.extra: "Number of scans recorded one after another (1 for a single scan)",
            self.shape_y: "Number of scan rows (scan positions along y)",
            self.shape_x: "Number of scan positions in each row (along x)",
            self.start: "Index of the first frame that belongs to the scan; frames before it "
            "(beam parked, camera started early) are left out",
            self.winding: "Snake scan: 'x' if every other row was scanned right to left, 'y' "
            "for columns; 'none' for a normal raster",
            self.hysteresis: "Shift, in scan positions, of the rows scanned backwards "
            "(only for a snake scan); fixes a comb-like look at edges",
            self.scan_step: "Distance between two scan positions (0: not calibrated)",
            self.scan_unit: "Unit of the scan step, e.g. nm",
            self.pixel_size: "Size of one pixel of the diffraction pattern (0: from the file)",
            self.pixel_unit: "Unit of the pattern pixel, e.g. 1/nm or mrad",
            self.scan_button: "Show the recording as a scan with the numbers above",
            self.stack_button: "Show the recording as the plain stack of frames",
            self.refresh_button: "Look for frames added since the file was opened (a recording "
            "still being written) and show them",
            self.suggest_button: "Propose a scan from the frame headers and the navigator's "
            "per-frame values; nothing changes until you press Accept",
            self.accept_button: "Apply the proposed scan",
        }
        for widget, tip in tips.items():
            widget.tooltip = tip

    def _bind(self) -> None:
        m = self.model
        self.source.changed.connect(lambda v: self._edit(source=v))
        for w in (self.extra, self.shape_y, self.shape_x):
            w.changed.connect(lambda _v: self._edit(shape=self.shape()))
        self.start.changed.connect(lambda v: self._edit(start=v))
        self.winding.changed.connect(lambda v: self._edit(winding=v))
        self.hysteresis.changed.connect(lambda v: self._edit(hysteresis=v))
        self.scan_step.changed.connect(lambda v: self._edit(scan_step=v))
        self.pixel_size.changed.connect(lambda v: self._edit(signal_scale=v))
        self.scan_unit.native.editingFinished.connect(
            lambda: self._edit(scan_unit=self.scan_unit.value)
        )
        self.pixel_unit.native.editingFinished.connect(
            lambda: self._edit(signal_unit=self.pixel_unit.value)
        )
        self.scan_button.clicked.connect(self.apply_scan)
        self.stack_button.clicked.connect(lambda: m.update(source="stack"))
        self.refresh_button.clicked.connect(lambda: self.on_refresh())
        self.suggest_button.clicked.connect(m.suggest)
        self.accept_button.clicked.connect(m.accept)
        m.events.params.connect(self.sync)
        m.events.message.connect(self._show_message)
        m.events.suggestion.connect(self._show_suggestion)
        m.events.values.connect(self._show_suggestion)

    def _edit(self, **changes: Any) -> None:
        if not self._syncing:
            self.model.update(**changes)

    def shape(self) -> tuple[int, ...]:
        """The scan shape the boxes describe."""
        shape: tuple[int, ...] = (self.shape_y.value, self.shape_x.value)
        return (self.extra.value, *shape) if self.extra.value > 1 else shape

    def apply_scan(self) -> bool:
        """Show the scan: the header map when it is selected, else the manual parameters."""
        m = self.model
        if m.source == "stack":
            return m.update(source="manual")
        return m.apply()

    def sync(self) -> None:
        """Make the controls show the model's parameters (without re-slicing)."""
        m = self.model
        self._syncing = True
        try:
            self.source.value = m.source
            shape = m.shape
            self.extra.value = math.prod(shape[:-2]) if len(shape) > 2 else 1
            self.shape_y.value = shape[-2] if len(shape) > 1 else 1
            self.shape_x.value = shape[-1]
            self.start.value = m.start
            self.winding.value = m.winding or "none"
            self.hysteresis.value = m.hysteresis
            self.scan_step.value = m.scan_step
            self.scan_unit.value = m.scan_unit
            self.pixel_size.value = m.signal_scale
            self.pixel_unit.value = m.signal_unit
            manual = m.source != "headers"
            for w in (self.extra, self.shape_y, self.shape_x, self.start):
                w.enabled = manual  # the header map fixes shape and start
        finally:
            self._syncing = False

    def _show_message(self, text: str) -> None:
        self.message.value = text
        self.message.visible = bool(text)

    def _show_suggestion(self, _sug: Any = None) -> None:
        m = self.model
        self.suggestion.value = m.suggestion_text()
        self.suggestion.visible = bool(self.suggestion.value)
        sug = m.suggestion
        self.suggestion.tooltip = "\n".join(sug.reasons) if sug is not None else ""
        self.accept_button.enabled = m.can_accept
        self.accept_button.text = "Accepted" if m.accepted else "Accept"
