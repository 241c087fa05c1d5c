"""The "TVIPS export" dock widget: export an image layer with binning, crop and 8-bit scaling.

napari's *Save Selected Layers...* dialog takes no options; this widget offers the ones
:func:`napari_tvips.convert` has (format by the file name's extension, binning, crop, intensity
scaling) for any image layer, with the layer's calibration (the "TVIPS scan" widget's scan step
and pattern pixel size). The export runs in a napari ``thread_worker``; the worker never touches
Qt or layers: it counts frames, and a timer in the main thread shows the count in the progress
bar. Errors end up in the status line. No format knowledge here.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from magicgui.widgets import ComboBox, Container, FileEdit, Label, ProgressBar, PushButton, SpinBox
from napari.layers import Image
from napari.qt.threading import thread_worker
from qtpy.QtCore import QTimer

from .._convert import convert, known_extensions
from ._export_writer import export_total, layer_export_signal
from ._scroll import scroll_contents

__all__ = ["ExportWidget"]

log = logging.getLogger(__name__)

#: Milliseconds between progress bar updates.
_POLL_MS = 100


class ExportWidget(Container):
    """Dock widget exporting the chosen image layer (see the module docstring).

    Parameters
    ----------
    napari_viewer : napari.viewer.ViewerModel
        The viewer whose image layers are offered.
    """

    def __init__(self, napari_viewer: Any) -> None:
        super().__init__(labels=True)
        self.viewer: Any = napari_viewer
        patterns = " ".join(f"*{ext}" for ext in known_extensions())
        self.layer: ComboBox = ComboBox(label="Layer", choices=self._layer_choices)
        self.destination: FileEdit = FileEdit(label="Save as", mode="w", filter=patterns)
        self.binning: SpinBox = SpinBox(label="binning", min=1, max=1024, value=1)
        self.crop: ComboBox = ComboBox(label="crop", choices=["none", "square"], value="none")
        self.scaling: ComboBox = ComboBox(
            label="8-bit scaling", choices=["none", "dtype", "minmax", "crop"], value="none"
        )
        self.export_button: PushButton = PushButton(text="Export")
        self.progress: ProgressBar = ProgressBar(label="", min=0, max=1, value=0)
        self.status: Label = Label(label="", value=f"formats: {', '.join(known_extensions())}")
        self.extend(
            [
                self.layer,
                self.destination,
                self.binning,
                self.crop,
                self.scaling,
                self.export_button,
                self.progress,
                self.status,
            ]
        )
        self.export_button.changed.connect(self.export)
        self.viewer.layers.events.inserted.connect(self._reset_layers)
        self.viewer.layers.events.removed.connect(self._reset_layers)
        self._worker: Any = None
        self._done = [0]
        self._timer = QTimer()
        self._timer.setInterval(_POLL_MS)
        self._timer.timeout.connect(self._show_progress)
        self.scroll = scroll_contents(self)  # reachable on a laptop screen with other docks

    def _layer_choices(self, _widget: Any = None) -> list[tuple[str, Image]]:
        return [(layer.name, layer) for layer in self.viewer.layers if isinstance(layer, Image)]

    def _reset_layers(self, _event: Any = None) -> None:
        self.layer.reset_choices()

    def options(self) -> dict[str, Any]:
        """The ``convert`` keyword arguments the controls describe."""
        out: dict[str, Any] = {"binning": int(self.binning.value)}
        if self.crop.value != "none":
            out["crop"] = self.crop.value
        if self.scaling.value != "none":
            out["intensity_scaling"] = self.scaling.value
        return out

    def export(self, _value: Any = None) -> Any:
        """Start exporting the chosen layer; return the worker (``None`` if nothing to do)."""
        layer = self.layer.value
        path = str(self.destination.value or "")
        if layer is None or not path or path == ".":
            self.status.value = "choose a layer and a file name"
            return None
        if self._worker is not None:
            self.status.value = "an export is running"
            return None
        data, attributes, _kind = layer.as_layer_data_tuple()
        try:
            signal = layer_export_signal(data, attributes)
        except (OSError, TypeError) as exc:
            self.status.value = str(exc)
            return None
        options = self.options()
        self._done = done = [0]
        self.progress.max = max(export_total(tuple(data.shape), options), 1)
        self.progress.value = 0
        self.status.value = f"exporting to {os.path.basename(path)} ..."

        @thread_worker(ignore_errors=True)  # shown in the status line instead
        def work() -> list[str]:
            def count(n: int) -> None:
                done[0] += n

            return convert(signal, path, show_progressbar=False, progress=count, **options)

        worker = work()
        worker.returned.connect(self._on_returned)
        worker.errored.connect(self._on_errored)
        worker.finished.connect(self._on_finished)
        self._worker = worker
        self._timer.start()
        worker.start()
        return worker

    def _show_progress(self) -> None:
        self.progress.value = min(self._done[0], self.progress.max)

    def _on_returned(self, paths: list[str]) -> None:
        self.status.value = "written: " + ", ".join(os.path.basename(p) for p in paths)

    def _on_errored(self, exc: BaseException) -> None:
        log.info("export failed: %s", exc)
        self.status.value = f"failed: {exc}"

    def _on_finished(self) -> None:
        self._timer.stop()
        self._show_progress()
        self._worker = None
