"""The navigator view of the "TVIPS scan" widget: virtual image of the scan, detector controls.

A small, replaceable view. Its interface to the widget is: :meth:`Navigator.show` (an image or
``None`` with a hint saying what to do next), :meth:`Navigator.set_marker` (the scan position on
screen), :meth:`Navigator.set_progress`, and the callbacks ``on_click(row, col)`` and
``on_compute()``. Detector state lives in the :class:`~napari_tvips._model.ScanModel`; this
module only binds the detector controls to it and paints what it is given.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from magicgui.widgets import ComboBox, Container, FloatSpinBox, ProgressBar, PushButton

from .._model import ScanModel
from ._views import ImageView

__all__ = ["Navigator"]


class Navigator(Container):
    """Detector radii, channel, "Compute navigator", progress and the clickable image.

    Parameters
    ----------
    model : ScanModel
        Holds the detector; the controls edit it.
    on_click : callable
        Called with ``(row, col)`` when the image is clicked.
    on_compute : callable
        Called when the user asks for the navigator pass.
    """

    def __init__(
        self,
        model: ScanModel,
        on_click: Callable[[int, int], None],
        on_compute: Callable[[], object],
    ) -> None:
        super().__init__(labels=True)
        self.model: ScanModel = model
        self._syncing: bool = False
        self.channel = ComboBox(label="navigator", choices=["bf", "adf", "total"], value="bf")
        self.bf_radius = FloatSpinBox(label="BF radius", min=0, max=1e6, value=10.0)
        self.adf_inner = FloatSpinBox(label="ADF inner", min=0, max=1e6, value=20.0)
        self.adf_outer = FloatSpinBox(label="ADF outer", min=0, max=1e6, value=60.0)
        self.compute_button = PushButton(text="Compute navigator")
        self.progress = ProgressBar(label="", min=0, max=1, value=0)
        self.channel.tooltip = (
            "What the navigator image shows per scan position: bright field (bf, the central "
            "disk), annular dark field (adf, the ring) or the total counts"
        )
        self.bf_radius.tooltip = "Radius of the bright-field disk, in pattern pixels"
        self.adf_inner.tooltip = "Inner radius of the dark-field ring, in pattern pixels"
        self.adf_outer.tooltip = "Outer radius of the dark-field ring, in pattern pixels"
        self.compute_button.tooltip = (
            "Read every frame once in the background and compute the navigator image and the "
            "per-frame trace (needed for hysteresis suggestions)"
        )
        self.progress.tooltip = "Frames read by the navigator pass"
        for spin in (self.bf_radius, self.adf_inner, self.adf_outer):
            spin.native.setKeyboardTracking(False)
            spin.changed.connect(self._radii_changed)
        self.channel.changed.connect(self._channel_changed)
        self.compute_button.clicked.connect(on_compute)
        self.extend(
            [
                self.channel,
                self.bf_radius,
                self.adf_inner,
                self.adf_outer,
                self.compute_button,
                self.progress,
            ]
        )
        self.image = ImageView(on_click=on_click)
        self.image.setToolTip("Virtual image of the scan; click a position to show its pattern")
        self.native.layout().addWidget(self.image)
        self.on_compute: Callable[[], object] = on_compute
        model.events.params.connect(self.sync)
        self.sync()

    def sync(self) -> None:
        """Show the model's detector."""
        self._syncing = True
        try:
            bf, inner, outer = self.model.radii
            self.bf_radius.value, self.adf_inner.value, self.adf_outer.value = bf, inner, outer
            self.channel.value = self.model.channel
        finally:
            self._syncing = False

    def _radii_changed(self, _value: object = None) -> None:
        if self._syncing:
            return
        radii = (self.bf_radius.value, self.adf_inner.value, self.adf_outer.value)
        if radii != self.model.radii:
            self.model.set_detector(radii=radii)
            if self.model.detector() is not None:
                self.on_compute()

    def _channel_changed(self, value: str) -> None:
        if not self._syncing:
            self.model.set_detector(channel=value)

    def show(self, image: np.ndarray | None, hint: str = "") -> None:
        """Show ``image`` (``None``: show ``hint`` instead)."""
        self.image.set_hint(hint)
        self.image.set_image(image)

    def set_marker(self, marker: tuple[int, int] | None) -> None:
        """Mark the scan position on screen."""
        self.image.set_marker(marker)

    def set_progress(self, done: int, total: int) -> None:
        """Frames done by the navigator pass."""
        self.progress.max = max(total, 1)
        self.progress.value = min(done, self.progress.max)
