"""The navigator view of the "TVIPS scan" widget: detector controls and the navigator canvas.

A small, replaceable view. Its interface to the widget is: :meth:`Navigator.show` (an image or
``None`` with a hint saying what to do next), :meth:`Navigator.set_marker` (the scan position on
screen), :meth:`Navigator.set_progress`, and the callbacks ``on_click(row, col)``,
``on_compute()``, ``on_pattern(kind, region)``, ``on_add()`` and ``on_save(path)``. Detector
state lives in the :class:`~napari_tvips._model.ScanModel`; this module binds the controls
(channel, display, radii and detector centre) to it and shows the virtual image in a
:class:`~._navigator_canvas.NavigatorCanvas`. The radii and centre are shown and edited in
detector pixels or, when the pattern is calibrated, in its unit ("detector units"); the other
unit is shown below them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from magicgui.widgets import (
    ComboBox,
    Container,
    FloatSpinBox,
    Label,
    ProgressBar,
    PushButton,
)
from qtpy.QtWidgets import QSizePolicy

from .._imager_channels import CHANNELS, DISPLAYS, display
from .._model import ScanModel
from ._navigator_canvas import NavigatorCanvas
from ._scan_controls import button_row

__all__ = ["Navigator"]

_CHANNEL_TIPS = (
    "What the navigator shows per scan position: the sum inside the BF disk, the ADF ring, "
    "a rectangle or a point on the pattern, the total counts, or the centre of mass (x, y, "
    "magnitude, in pixels from the beam centre)"
)


class Navigator(Container):
    """Navigator canvas, pattern buttons, pass and progress; detector controls in ``settings``.

    Parameters
    ----------
    model : ScanModel
        Holds the detector; the controls edit it.
    on_click : callable
        Called with ``(row, col)`` when the scan position is moved on the navigator.
    on_compute : callable
        Called when the navigator needs a pass.
    viewer : napari.components.ViewerModel, optional
        The main viewer (for drag-and-drop on the canvas).
    on_pattern : callable, optional
        ``on_pattern(kind, region)``: show the ``"mean"``/``"max"`` pattern of a region mask of
        the scan (``None``: the whole scan).
    on_add : callable, optional
        Add the navigator image to the main viewer as a layer.
    on_save : callable, optional
        ``on_save(path)``: save the navigator image as a calibrated TIFF.
    """

    def __init__(
        self,
        model: ScanModel,
        on_click: Callable[[int, int], None],
        on_compute: Callable[[], object],
        viewer: Any = None,
        on_pattern: Callable[[str, np.ndarray | None], object] | None = None,
        on_add: Callable[[], object] | None = None,
        on_save: Callable[[str], object] | None = None,
    ) -> None:
        super().__init__(labels=True)
        self.model: ScanModel = model
        self._syncing: bool = False
        self.on_compute: Callable[[], object] = on_compute
        self.on_pattern = on_pattern or (lambda kind, region: None)
        self.channel = ComboBox(label="navigator", choices=list(CHANNELS), value="bf")
        self.display = ComboBox(label="display", choices=list(DISPLAYS), value="linear")
        self.bf_radius = FloatSpinBox(label="BF radius", min=0, max=1e6, value=10.0, step=1)
        self.adf_inner = FloatSpinBox(label="ADF inner", min=0, max=1e6, value=20.0, step=1)
        self.adf_outer = FloatSpinBox(label="ADF outer", min=0, max=1e6, value=60.0, step=1)
        self.centre_y = FloatSpinBox(label="centre y", min=-1e6, max=1e6, value=0, step=0.5)
        self.centre_x = FloatSpinBox(label="centre x", min=-1e6, max=1e6, value=0, step=0.5)
        self.units = ComboBox(label="detector units", choices=["pixel"], value="pixel")
        self.calibrated = Label(label="also", value="")
        self.beam_button = PushButton(text="Use as beam centre")
        self.compute_button = PushButton(text="Compute navigator")
        self.progress = ProgressBar(label="", min=0, max=1, value=0)
        self.mean_button = PushButton(text="Mean")
        self.max_button = PushButton(text="Max")
        self.add_button = PushButton(text="As layer")
        self.save_button = PushButton(text="Save TIFF")
        self.on_save = on_save
        self.channel.tooltip = _CHANNEL_TIPS
        self.display.tooltip = "Navigator display: linear, log (log1p) or square root"
        self.bf_radius.tooltip = (
            "Radius of the bright-field disk, in pattern pixels (whole one-pixel rings: "
            "a pixel at distance d is inside when floor(d) < radius)"
        )
        self.adf_inner.tooltip = "Inner radius of the dark-field ring, in pattern pixels"
        self.adf_outer.tooltip = "Outer radius of the dark-field ring, in pattern pixels"
        self.centre_y.tooltip = "Row of the disk / ring centre on the pattern (pixels)"
        self.centre_x.tooltip = "Column of the disk / ring centre on the pattern (pixels)"
        self.units.tooltip = (
            "Unit of the radii and centre above: detector pixels, or the pattern's calibrated "
            "unit (set in the calibration section); both edit the same detector"
        )
        self.calibrated.tooltip = "The radii and centre in the other unit"
        self.beam_button.tooltip = (
            "Make the disk centre the beam centre: one new pass, after which every radius "
            "about it is instant again"
        )
        self.compute_button.tooltip = (
            "Read every frame once in the background: afterwards any BF/ADF radius, the total "
            "and the centre of mass show at once (rectangles, points and off-centre disks read "
            "the frames again)"
        )
        self.progress.tooltip = "Frames read by the navigator pass"
        self.mean_button.tooltip = (
            "Mean pattern of the region drawn on the navigator (its 'region' layer), or of "
            "the whole scan, as a layer of the main viewer"
        )
        self.max_button.tooltip = "Maximum pattern of the region or of the whole scan, as a layer"
        self.add_button.tooltip = (
            "Add the navigator image to the main viewer as its own 2-D layer (axes scan_y, "
            "scan_x; scan step and unit as scale). napari aligns a 2-D layer with the viewer's "
            "last two axes, so in a 4-D scan it is drawn over the pattern; hide it, or use "
            "Save TIFF for a calibrated file"
        )
        self.save_button.tooltip = (
            "Save the navigator's values (linear, whatever the display) as a float32 ImageJ "
            "TIFF with the scan step and unit as its pixel size, and the detector in its Info"
        )
        self.calibrated.native.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Minimum)
        self.calibrated.native.setMinimumWidth(10)  # its width follows the dock, not its text
        self.calibrated.native.setWordWrap(True)  # long text must not widen the dock
        self._spins: dict[str, FloatSpinBox] = {
            "bf": self.bf_radius, "inner": self.adf_inner, "outer": self.adf_outer,
            "cy": self.centre_y, "cx": self.centre_x,
        }  # fmt: skip
        for name, spin in self._spins.items():
            spin.native.setKeyboardTracking(False)
            spin.changed.connect(lambda value, name=name: self._field_changed(name, value))
        self.units.changed.connect(lambda _value: None if self._syncing else self.sync())
        self.channel.changed.connect(self._channel_changed)
        self.display.changed.connect(self._display_changed)
        self.beam_button.clicked.connect(self._use_as_beam_centre)
        self.compute_button.clicked.connect(on_compute)
        self.mean_button.clicked.connect(lambda: self.on_pattern("mean", self.region()))
        self.max_button.clicked.connect(lambda: self.on_pattern("max", self.region()))
        if on_add is not None:
            self.add_button.clicked.connect(on_add)
        self.save_button.clicked.connect(self._save_clicked)
        self.canvas = NavigatorCanvas(viewer, on_click, self._region_changed)
        self.canvas.setToolTip(
            "Virtual image of the scan (a napari canvas: zoom, contrast, colormap). Press or "
            "drag to move the scan position, arrow keys step it; draw a rectangle on the "
            "'region' layer for its mean pattern"
        )
        self.hint = Label(value="")
        self.hint.native.setWordWrap(True)
        # one row (the dock is narrow and the trace must stay in view): short labels, tooltips
        buttons = button_row(self.mean_button, self.max_button, self.add_button, self.save_button)
        self.extend([self.hint, buttons, self.compute_button, self.progress])
        # the hint above the canvas, so that it is in view on a laptop screen in stack mode
        self.native.layout().insertWidget(1, self.canvas)
        #: Channel, display and detector controls, bound here, placed by the widget.
        self.settings = Container(
            widgets=[
                self.channel, self.display, self.units, self.bf_radius, self.adf_inner,
                self.adf_outer, self.centre_y, self.centre_x, self.calibrated, self.beam_button,
            ]
        )  # fmt: skip
        self.image: np.ndarray | None = None  # the navigator image as shown (after display)
        model.events.params.connect(self.sync)
        model.events.values.connect(self._sync_centre)
        self.sync()

    # -- model -> controls ------------------------------------------------------------------------
    def factor(self) -> float:
        """Calibrated units per detector pixel of the controls (1 when they show pixels)."""
        scale = self.model.signal_scale
        if self.units.value == "pixel" or not scale or self.model.signal_unit == "pixel":
            return 1.0
        return float(scale)

    def _sync_units(self) -> None:
        """Offer the pattern's calibrated unit (when it has one) beside detector pixels."""
        m = self.model
        unit = m.signal_unit if m.signal_scale and m.signal_unit != "pixel" else None
        choices = ["pixel"] if unit is None else ["pixel", unit]
        if list(self.units.choices) != choices:
            keep = self.units.value != "pixel"
            self.units.choices = choices
            self.units.value = unit if keep and unit is not None else "pixel"
        f = self.factor()
        # a hundredth of a pixel stays visible in any unit
        decimals = 2 if f == 1.0 else min(max(2, math.ceil(-math.log10(f / 100))), 10)
        suffix = "" if f == 1.0 else f" {self.units.value}"
        for spin in self._spins.values():
            spin.native.setDecimals(decimals)
            spin.native.setSingleStep(f)
            spin.native.setSuffix(suffix)

    def sync(self) -> None:
        """Show the model's detector."""
        was, self._syncing = self._syncing, True
        try:
            self._sync_units()
            f = self.factor()
            bf, inner, outer = (r * f for r in self.model.radii)
            self.bf_radius.value, self.adf_inner.value, self.adf_outer.value = bf, inner, outer
            self.channel.value = self.model.channel
            self.display.value = self.model.detector_state.display
        finally:
            self._syncing = was
        self._sync_centre()

    def _centre(self) -> tuple[float, float] | None:
        values = self.model.values()
        if values is None:
            return None
        state = self.model.detector_state
        return state.centre if state.centre is not None else values.beam_centre()

    def _sync_centre(self) -> None:
        centre = self._centre()
        was, self._syncing = self._syncing, True
        try:
            if centre is not None:
                f = self.factor()
                self.centre_y.value, self.centre_x.value = centre[0] * f, centre[1] * f
        finally:
            self._syncing = was
        self._show_other(centre)

    def _show_other(self, centre: tuple[float, float] | None) -> None:
        """The radii and centre in the unit the controls do not show."""
        m = self.model
        scale, unit = m.signal_scale, m.signal_unit
        if not scale or unit == "pixel":
            self.calibrated.value = "(pattern not calibrated)"
            return
        f, unit = (scale, unit) if self.factor() == 1.0 else (1.0, "pixel")
        bf, inner, outer = (r * f for r in m.radii)
        text = f"BF {bf:.4g}, ADF {inner:.4g}-{outer:.4g} {unit}"
        if centre is not None:
            text += f"; centre ({centre[0] * f:.4g}, {centre[1] * f:.4g})"
        self.calibrated.value = text

    # -- controls -> model ------------------------------------------------------------------------
    def _field_changed(self, name: str, value: float) -> None:
        """One control edited: only its own field changes (others may be shown rounded)."""
        if self._syncing:
            return
        f = self.factor()
        # what the control showed for the model's value: equal means not edited (rounding)
        shown = 0.5 * 10.0 ** -self._spins[name].native.decimals()
        changes: dict[str, Any] = {}
        if name in ("bf", "inner", "outer"):
            radii = list(self.model.radii)
            i = ("bf", "inner", "outer").index(name)
            if abs(radii[i] * f - value) > shown:
                radii[i] = float(value) / f
                changes["radii"] = tuple(radii)
        else:
            current = self._centre()
            if current is None:
                return
            centre = list(current)
            i = 0 if name == "cy" else 1
            if abs(centre[i] * f - value) > shown:
                centre[i] = float(value) / f
                changes["centre"] = tuple(centre)
        if changes:
            self.model.set_detector(**changes)
            if self.model.pass_needed:
                self.on_compute()

    def _channel_changed(self, value: str) -> None:
        if not self._syncing:
            self.model.set_detector(channel=value)
            if self.model.pass_needed:
                self.on_compute()

    def _display_changed(self, value: str) -> None:
        if not self._syncing:
            self.model.set_detector(display=value)

    def _use_as_beam_centre(self) -> None:
        centre = self._centre()
        if centre is not None:
            self.model.set_beam_centre(centre)
            self.on_compute()

    def _save_clicked(self) -> None:
        from qtpy.QtWidgets import QFileDialog

        if self.on_save is None or self.image is None:
            return
        path, _filter = QFileDialog.getSaveFileName(
            self.native, "Save navigator", f"navigator_{self.model.channel}.tif",
            "TIFF (*.tif *.tiff)",
        )  # fmt: skip
        if path:
            self.on_save(path)

    def region(self) -> np.ndarray | None:
        """The region drawn on the navigator, as a mask of the scan (``None``: none)."""
        return self.canvas.region_mask()

    def _region_changed(self, mask: np.ndarray | None) -> None:
        if mask is not None:
            self.on_pattern("mean", mask)

    # -- display --------------------------------------------------------------------------------
    def show(self, image: np.ndarray | None, hint: str = "") -> None:
        """Show ``image`` (``None``: show ``hint`` instead)."""
        self.hint.value = hint if image is None else ""
        self.hint.visible = image is None and bool(hint)
        if image is not None:
            image = display(image, self.model.detector_state.display)
        self.image = image
        m = self.model
        step = m.scan_step if m.scan_step > 0 else 1.0
        self.canvas.show(image, (step, step), m.scan_unit if m.scan_step > 0 else "pixel")

    def set_marker(self, marker: tuple[int, int] | None) -> None:
        """Mark the scan position on screen."""
        self.canvas.set_marker(marker)

    def set_progress(self, done: int, total: int) -> None:
        """Frames done by the navigator pass."""
        self.progress.max = max(total, 1)
        self.progress.value = min(done, self.progress.max)
