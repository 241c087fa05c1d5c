"""The "TVIPS scan" dock widget: a thin shell binding a :class:`ScanModel` to napari.

The state and logic live in :class:`napari_tvips._model.ScanModel` (Qt-free, evented). This
module composes the views, one module each (:mod:`._scan_controls`, :mod:`._navigator`,
:mod:`._trace`) in a scrolling dock, and binds the model to napari: a selected layer is
``model.select``-ed, a ``resliced`` event rebuilds the layer IN PLACE through
:func:`napari_tvips._napari._layers.layer_kwargs` (a new index map over the same ``Series``, no
pixels read or copied), the navigator pass runs in ``thread_worker`` and its items are stored by
the model in the main thread, and the viewer's position is shown on the navigator and the trace.
It holds no format or scan logic, and the worker never touches layers.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from magicgui.widgets import ComboBox, Container
from napari.layers import Image
from napari.qt.threading import thread_worker
from napari.utils import progress
from napari.utils.notifications import show_info
from qtpy.QtCore import QTimer

from .._imager_export import write_navigator_tiff
from .._model import Reslice, ScanModel
from .._record import record_of
from .._series import Series
from .._suggest import Suggestion
from ._detector_shapes import DetectorShapes
from ._layers import layer_kwargs
from ._navigator import Navigator
from ._scan_controls import ScanControls
from ._scroll import Scroll
from ._trace import TracePanel

__all__ = ["ScanWidget"]

_HINT_STACK = (
    "The layer shows the frame stack. Press Suggest, then Accept, or set the scan rows and "
    "columns and press Scan, to see the navigator image here."
)
_HINT_PASS = "Press Compute navigator to see the virtual image of the scan here."


#: Milliseconds between restarts of the navigator pass while a detector is dragged.
LIVE_MS = 40


def _tvips_layers(viewer: Any) -> list[tuple[str, Image]]:
    return [
        (layer.name, layer)
        for layer in viewer.layers
        if isinstance(layer, Image) and record_of(layer) is not None
    ]


class ScanWidget(Container):
    """Dock widget re-slicing a TVIPS image layer into a scan (see the module docstring).

    Parameters
    ----------
    napari_viewer : napari.components.ViewerModel
        The viewer (injected by napari).
    auto_navigator : bool
        Start computing the navigator when a layer is selected.
    """

    def __init__(self, napari_viewer: Any, auto_navigator: bool = True) -> None:
        super().__init__(labels=False)
        self.viewer: Any = napari_viewer
        self.auto_navigator: bool = auto_navigator
        self.model: ScanModel = ScanModel()
        self.reslices: int = 0  # layer rebuilds, for tests and benchmarks
        self._current: Image | None = None
        self._worker: Any = None
        self._last_draw: float = 0.0

        self.layer = ComboBox(label="Layer", choices=self._layer_choices)
        self.layer.tooltip = "The TVIPS recording (image layer) this panel works on"
        self.controls = ScanControls(self.model, on_refresh=self.refresh)
        self.navigator = Navigator(
            self.model, self.on_navigator_click, self.compute_navigator, viewer=self.viewer,
            on_pattern=self.show_pattern, on_add=self.add_navigator_layer,
            on_save=self.save_navigator,
        )  # fmt: skip
        self.detector_shapes = DetectorShapes(
            self.viewer, self.model, self.compute_navigator, on_live=self.live_edit
        )
        # a dragged detector restarts its pass at most every LIVE_MS (the drag stays fluid)
        self._live_timer = QTimer()
        self._live_timer.setSingleShot(True)
        self._live_timer.setInterval(LIVE_MS)
        self._live_timer.timeout.connect(self.compute_navigator)
        self._live: bool = False  # keep the image on screen until the new pass shows some
        self._worker_key: Any = None
        self._pattern_worker: Any = None
        self._progress: progress | None = None
        self.trace = TracePanel(self.model, on_select=self.on_trace_click)
        top = Container(widgets=[self.layer], labels=True)
        self.body = Container(
            widgets=[
                top,
                self.controls,
                self.navigator,
                self.trace,
                self.navigator.settings,
                self.controls.calibration,
            ]
        )
        # napari docks ``self.native``: the scroll area must be inside it, so the dock asks for
        # little height and every control stays reachable on a 1280 x 720 screen
        self.scroll = Scroll(self.body.native)
        self.native.layout().addWidget(self.scroll)
        self.native.layout().setContentsMargins(0, 0, 0, 0)

        m = self.model
        m.events.resliced.connect(self._apply)
        m.events.values.connect(self._redraw_soon)
        m.events.progress.connect(self._on_progress)
        self.layer.changed.connect(self._on_layer_changed)
        self.viewer.layers.events.inserted.connect(self._reset_layers)
        self.viewer.layers.events.removed.connect(self._reset_layers)
        self.viewer.dims.events.current_step.connect(self._update_marker)
        self._on_layer_changed(self.layer.value)

    def show_navigator(self) -> None:
        """Scroll the dock so the navigator image and the trace are in view."""
        self.scroll.ensureWidgetVisible(self.trace.native, 0, 0)
        self.scroll.ensureWidgetVisible(self.navigator.canvas, 0, 0)

    # -- layer selection -------------------------------------------------------------------
    def _layer_choices(self, _widget: Any = None) -> list[tuple[str, Image]]:
        return _tvips_layers(self.viewer)

    def _reset_layers(self, _event: Any = None) -> None:
        self.layer.reset_choices()
        if self.layer.value is not self._current:
            self._on_layer_changed(self.layer.value)

    @property
    def series(self) -> Series | None:
        """The recording of the selected layer."""
        return self.model.series

    def _on_layer_changed(self, layer: Image | None) -> None:
        self._stop_worker()
        self.detector_shapes.remove()
        self._current = layer
        self.model.select(record_of(layer) if layer is not None else None)
        self._redraw()
        if layer is not None and self.auto_navigator:
            self.compute_navigator()

    # -- re-slicing (model -> layer) -------------------------------------------------------
    def _apply(self, reslice: Reslice) -> None:
        """Rebuild the selected layer in place from the model's re-slice."""
        layer, series = self._current, self.model.series
        if layer is None or series is None:
            return
        limits = list(layer.contrast_limits)
        data, kwargs = layer_kwargs(
            series,
            reslice.layout,
            index_map=reslice.index_map if reslice.source == "headers" else None,
            source=reslice.source,
            scan_step=reslice.scan_step,
            scan_unit=reslice.scan_unit,
            signal_scale=reslice.signal_scale,
            signal_unit=reslice.signal_unit,
            limits=(limits[0], limits[1]),
        )
        # a new pattern pixel size moves the pattern's world extent: show it whole again
        refit = tuple(layer.scale[-2:]) != tuple(kwargs["scale"][-2:]) or tuple(
            layer.translate[-2:]
        ) != tuple(kwargs["translate"][-2:])
        # data first: napari checks scale/units/axis_labels against the data's ndim
        layer.data = data
        layer.scale = kwargs["scale"]
        layer.units = kwargs["units"]
        layer.axis_labels = kwargs["axis_labels"]
        layer.translate = kwargs["translate"]
        layer.metadata = {**layer.metadata, **kwargs["metadata"]}
        layer.contrast_limits = limits
        if refit:  # the detector drawn over the pattern follows its new pixel size
            for lay in (self.detector_shapes.shapes, self.detector_shapes.centre):
                if lay is not None:
                    lay.scale, lay.translate = layer.scale[-2:], layer.translate[-2:]
            self.viewer.reset_view()
        self.reslices += 1
        record = record_of(kwargs["metadata"])
        if record is not None:
            self.model.applied(record)

    def apply_scan(self) -> bool:
        """Re-slice the selected layer with the controls' scan parameters."""
        return self.controls.apply_scan()

    def apply_stack(self) -> bool:
        """Restore the plain frame stack."""
        return self.model.update(source="stack")

    def refresh(self) -> None:
        """Re-scan a recording still being written, rebuild with the same parameters."""
        self.model.refresh()
        if self.model.values() is not None or self.auto_navigator:
            self.compute_navigator()

    def suggest(self) -> Suggestion | None:
        """Compute and show a suggestion (nothing is applied)."""
        return self.model.suggest()

    def accept_suggestion(self) -> bool:
        """Apply the shown suggestion, re-slicing once."""
        return self.model.accept()

    # -- navigator pass --------------------------------------------------------------------
    def _stop_worker(self) -> None:
        if self._worker is not None:
            self._worker.quit()
            self._worker = self._worker_key = None
        self._close_progress()

    def _pass_key(self) -> Any:
        """What the navigator pass computes: recording, detector and beam centre."""
        imager = self.model.imager()
        centre = None if imager is None else imager.centre
        return (self.model.key, id(imager), self.model.detector_state, centre)

    def live_edit(self) -> None:
        """A dragged detector is about to move: (re)start its pass soon (throttled).

        The image on screen stays until the new pass has values; the timer's
        :meth:`compute_navigator` replaces a pass for an older position.
        """
        self._live = True
        if not self._live_timer.isActive():
            self._live_timer.start()

    def compute_navigator(self) -> Any:
        """Start (or resume) the background pass over the frames; returns the worker.

        A pass already running for the same detector keeps running.
        """
        if self._worker is not None and self._worker_key == self._pass_key():
            return self._worker
        self._stop_worker()
        if not self.model.pass_needed:
            self._live = False
            self._redraw()
            return None
        worker = thread_worker(self.model.iter_pass)()
        worker.yielded.connect(self.model.receive)
        # a stopped worker finishes later: only the current one may clear the state
        worker.finished.connect(lambda: self._on_finished(worker))
        self._worker = worker
        self._worker_key = self._pass_key()
        self._close_progress()
        self._progress = progress(total=0, desc="TVIPS navigator pass")  # napari's activity
        worker.start()
        return worker

    def _on_progress(self, done: int, total: int) -> None:
        self.navigator.set_progress(done, total)
        bar = self._progress
        if bar is not None:
            bar.total, bar.n = total, done
            bar.refresh()

    def _close_progress(self) -> None:
        if self._progress is not None:
            self._progress.close()
            self._progress = None

    def _on_finished(self, worker: Any = None) -> None:
        if worker is not None and worker is not self._worker:
            return
        self._worker = None
        self._live = False
        self._close_progress()
        self._redraw()

    # -- drawing ---------------------------------------------------------------------------
    def _redraw_soon(self) -> None:
        now = time.perf_counter()
        if self._worker is None or self._live or now - self._last_draw > 0.1:
            self._last_draw = now
            self._redraw()

    def _nav_axes(self) -> list[int]:
        """Viewer axes of the layer's navigation axes."""
        layer = self._current
        if layer is None:
            return []
        offset = self.viewer.dims.ndim - layer.ndim
        return [offset + i for i in range(layer.ndim - 2)]

    def _layer_index(self, axis: int) -> int:
        layer = self._current
        assert layer is not None
        i = axis - (self.viewer.dims.ndim - layer.ndim)
        point = self.viewer.dims.point[axis]
        return round((point - layer.translate[i]) / layer.scale[i])

    def _position(self) -> tuple[int, ...]:
        """The layer's navigation position on screen (clipped to the index map)."""
        imap = self.model.index_map
        if imap is None:
            return ()
        axes = self._nav_axes()
        if len(axes) != imap.ndim:
            return ()
        return tuple(
            min(max(self._layer_index(a), 0), n - 1) for a, n in zip(axes, imap.shape, strict=True)
        )

    def navigator_image(self) -> np.ndarray | None:
        """The virtual image at the current extra-navigation position (NaN = not computed)."""
        return self.model.navigator_image(self._position()[:-2])

    def _redraw(self, _value: Any = None) -> None:
        m = self.model
        image = self.navigator_image()
        hint = "" if m.series is None else _HINT_STACK if not m.is_scan else _HINT_PASS
        if self._live and image is not None and np.isnan(image).all():
            pass  # a dragged detector's pass has nothing yet: keep the last image on screen
        else:
            self._live = self._live and image is None
            self.navigator.show(image, hint)
        layer = self._current
        if layer is not None and m.is_scan and m.values() is not None:
            if self.detector_shapes.shapes is None:
                self.detector_shapes.attach(layer)
        elif self.detector_shapes.shapes is not None:
            self.detector_shapes.remove()
        series = m.series
        if series is not None:
            span = m.scan_frames()
            marks = {} if span is None else {"start": span[0], "end": span[1]}
            self.trace.show(m.traces(), series.n_frames, m.frame_time(), marks)
        else:
            self.trace.show({}, 0, None, {})
        self._update_marker()

    def _update_marker(self, _event: Any = None) -> None:
        pos = self._position()
        imap = self.model.index_map
        if not pos or imap is None:
            self.navigator.set_marker(None)
            self.trace.set_current(None)
            return
        self.trace.set_current(int(imap[pos]))
        image = self.navigator.image
        self.navigator.set_marker(pos[-2:] if self.model.is_scan and image is not None else None)

    def on_navigator_click(self, row: int, col: int) -> None:
        """Move the viewer to scan position ``(row, col)``."""
        layer = self._current
        axes = self._nav_axes()
        if layer is None or not self.model.is_scan or len(axes) < 2:
            return
        offset = self.viewer.dims.ndim - layer.ndim
        for axis, index in zip(axes[-2:], (row, col), strict=True):
            i = axis - offset
            self.viewer.dims.set_point(axis, layer.translate[i] + index * layer.scale[i])

    # -- patterns and export -----------------------------------------------------------------
    def _scan_frames(self, region: np.ndarray | None) -> np.ndarray | None:
        """Frames of the scan on screen inside ``region`` (a mask of the scan's last 2 axes)."""
        imap = self.model.index_map
        if imap is None or not self.model.is_scan:
            return None
        pos = self._position()
        if imap.ndim > 2 and pos:
            imap = imap[pos[:-2]]
        return np.unique(imap if region is None else imap[region])

    def show_pattern(self, kind: str, region: np.ndarray | None = None) -> Any:
        """Show the mean or max pattern of a region of the scan (``None``: all) as a layer.

        Runs in a worker: the scan's kept patterns when it covers the whole recording and the
        first pass is done, else a pass over the region's frames only (its cost is the region's
        size), with progress on the navigator and in napari's activity. Returns the worker.
        """
        imager, frames = self.model.imager(), self._scan_frames(region)
        if imager is None or frames is None or frames.size == 0:
            return None
        whole = frames.size == imager.frames.size and imager.complete
        name = f"{kind} pattern" if region is None else f"{kind} pattern (region)"
        if self._pattern_worker is not None:
            self._pattern_worker.quit()
        worker = thread_worker(imager.iter_pattern)(kind, None if whole else frames)
        bar = progress(total=0, desc=f"TVIPS {name}")  # napari's activity dock

        def step(done_total: tuple[int, int]) -> None:
            self.navigator.set_progress(*done_total)
            bar.n, bar.total = done_total
            bar.refresh()

        worker.yielded.connect(step)
        worker.finished.connect(bar.close)
        worker.returned.connect(lambda pattern: self._pattern_layer(name, pattern))
        self._pattern_worker = worker
        worker.start()
        return worker

    def _pattern_layer(self, name: str, pattern: np.ndarray) -> None:
        layer = self._current
        if layer is None:
            return
        scale, translate, units = layer.scale[-2:], layer.translate[-2:], layer.units[-2:]
        if name in self.viewer.layers:
            existing = self.viewer.layers[name]
            existing.data = pattern
            existing.contrast_limits = (float(pattern.min()), float(pattern.max()) or 1.0)
            return
        self.viewer.add_image(
            pattern, name=name, scale=scale, translate=translate, units=units,
            colormap="magma", blending="additive",
        )  # fmt: skip

    def _navigator_info(self) -> dict[str, Any]:
        """What the navigator image is: recording, channel, detector, calibration."""
        m = self.model
        values = m.values()
        geom = None if values is None else values.geometry(m.channel)
        detector = None if geom is None else {"kind": geom[0], **geom[1]}
        return {
            "recording": m.series.paths[0] if m.series is not None else None,
            "channel": m.channel, "detector": detector,
            "beam_centre": None if values is None else values.beam_centre(),
            "detector_unit": "pixel",
            "scan_step": m.scan_step if m.scan_step > 0 else None, "scan_unit": m.scan_unit,
        }  # fmt: skip

    def add_navigator_layer(self) -> Any:
        """Add the navigator image to the main viewer as a 2-D layer (scan step as scale).

        Axes ``scan_y``, ``scan_x``. napari aligns layers on the viewer's last axes, so in a
        4-D scan this layer is drawn over the pattern (ky, kx) at every scan position: it is
        a way to keep or save the image; :meth:`save_navigator` writes a calibrated TIFF.
        """
        image = self.navigator.image
        if image is None:
            return None
        m = self.model
        step = m.scan_step if m.scan_step > 0 else 1.0
        unit = m.scan_unit if m.scan_step > 0 else "pixel"
        return self.viewer.add_image(
            np.asarray(image, dtype=np.float32), name=f"navigator ({m.channel})",
            scale=(step, step), units=(unit, unit), axis_labels=("scan_y", "scan_x"),
            colormap="gray", metadata={"tvips_navigator": self._navigator_info()},
        )  # fmt: skip

    def save_navigator(self, path: str) -> list[str]:
        """Save the navigator's values (linear) as a TIFF with the scan step and unit.

        NaN marks positions not computed yet. Returns the written path.
        """
        image = self.navigator_image()
        if image is None or image.ndim != 2:
            raise ValueError("no navigator image to save: compute the navigator of a scan first")
        m = self.model
        step = m.scan_step if m.scan_step > 0 else None
        written = write_navigator_tiff(
            path, image, step=step, unit=m.scan_unit, info=self._navigator_info()
        )
        show_info(f"Navigator saved to {written[0]}")
        return written

    def on_trace_click(self, frame: int) -> None:
        """Show the clicked frame: in the stack, or at the scan position showing it (if any)."""
        layer, imap = self._current, self.model.index_map
        axes = self._nav_axes()
        if layer is None or imap is None or len(axes) != imap.ndim:
            return
        hits = np.argwhere(imap == frame)
        if hits.size == 0:  # outside the scan (before its first frame, or skipped)
            return
        offset = self.viewer.dims.ndim - layer.ndim
        for axis, index in zip(axes, hits[0], strict=True):
            i = axis - offset
            self.viewer.dims.set_point(axis, layer.translate[i] + int(index) * layer.scale[i])
