"""The "TVIPS scan" dock widget: re-slice a TVIPS layer into a scan, live, with a navigator.

Controls (magicgui) set the scan shape, first scan frame, winding axis, hysteresis and the
calibration the file does not record; every change rebuilds the layer IN PLACE through
:func:`napari_tvips._napari._layers.layer_kwargs` (a new index map over the same ``Series``, no
pixels read or copied). A background worker streams per-frame virtual detector values
(:mod:`napari_tvips._virtual`) that feed a clickable navigator image and a per-frame trace; the
values are cached per recording and detector, so a new scan shape only re-indexes them.
Suggestions (:mod:`napari_tvips._suggest`) are shown and applied only when the user accepts.

This module holds no format or scan logic of its own, and the worker never touches layers
(results are applied in the main thread through the worker's ``yielded`` signal).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
from magicgui.widgets import (
    ComboBox,
    Container,
    FloatSpinBox,
    Label,
    LineEdit,
    ProgressBar,
    PushButton,
    SpinBox,
)
from napari.layers import Image
from napari.qt.threading import thread_worker

from .._record import record_of
from .._scan import ScanLayout
from .._series import Series
from .._suggest import Suggestion, suggest_layout
from .._virtual import Detector, FrameValues, estimate_centre, iter_frame_values
from ._layers import layer_kwargs
from ._views import ImageView, TraceView

__all__ = ["ScanWidget"]

log = logging.getLogger(__name__)

_MAX = 2**31 - 1
_HEADER_TRACES = ("rotidx", "scan_x", "scan_y")


def _unit_text(unit: Any) -> str:
    text = str(unit) if unit is not None else "pixel"
    return "pixel" if text in ("", "None", "dimensionless") else text


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
        super().__init__(labels=True)
        self.viewer: Any = napari_viewer
        self.auto_navigator: bool = auto_navigator
        self._updating: bool = False
        self._scan_mode: bool = False
        self._current: Image | None = None
        self._cache: dict[tuple[tuple[str, ...], Detector], FrameValues] = {}
        self._centres: dict[tuple[str, ...], tuple[float, float]] = {}
        self._headers: dict[tuple[str, ...], dict[str, np.ndarray]] = {}
        self._worker: Any = None
        self._suggestion: Suggestion | None = None
        self._last_draw: float = 0.0

        self.layer = ComboBox(label="Layer", choices=self._layer_choices)
        self.extra = SpinBox(label="extra navigation", min=1, max=_MAX, value=1)
        self.shape_y = SpinBox(label="scan y", min=1, max=_MAX, value=1)
        self.shape_x = SpinBox(label="scan x", min=1, max=_MAX, value=1)
        self.start = SpinBox(label="first scan frame", min=0, max=_MAX, value=0)
        self.winding = ComboBox(label="winding axis", choices=["none", "x", "y"], value="none")
        self.hysteresis = SpinBox(label="hysteresis", min=-1_000_000, max=1_000_000, value=0)
        self.scan_step = FloatSpinBox(label="scan step", min=0, max=1e12, step=0.001, value=1.0)
        self.scan_unit = LineEdit(label="scan unit", value="pixel")
        self.pixel_size = FloatSpinBox(
            label="diffraction pixel", min=0, max=1e12, step=0.0001, value=1.0
        )
        self.pixel_unit = LineEdit(label="diffraction unit", value="pixel")
        self.stack_button = PushButton(text="Stack")
        self.scan_button = PushButton(text="Scan")
        self.refresh_button = PushButton(text="Refresh")
        self.message = Label(label="", value="")
        self.suggest_button = PushButton(text="Suggest")
        self.suggestion = Label(label="", value="")
        self.accept_button = PushButton(text="Accept suggestion", enabled=False)
        self.channel = ComboBox(label="navigator", choices=["bf", "adf", "total"], value="bf")
        self.bf_radius = FloatSpinBox(label="BF radius", min=0, max=1e6, value=10.0)
        self.adf_inner = FloatSpinBox(label="ADF inner", min=0, max=1e6, value=20.0)
        self.adf_outer = FloatSpinBox(label="ADF outer", min=0, max=1e6, value=60.0)
        self.compute_button = PushButton(text="Compute navigator")
        self.progress = ProgressBar(label="", min=0, max=1, value=0)
        self.extend(
            [
                self.layer,
                self.extra,
                self.shape_y,
                self.shape_x,
                self.start,
                self.winding,
                self.hysteresis,
                self.scan_step,
                self.scan_unit,
                self.pixel_size,
                self.pixel_unit,
                Container(
                    widgets=[self.scan_button, self.stack_button, self.refresh_button],
                    layout="horizontal",
                    labels=False,
                ),
                self.message,
                Container(
                    widgets=[self.suggest_button, self.accept_button],
                    layout="horizontal",
                    labels=False,
                ),
                self.suggestion,
                self.channel,
                self.bf_radius,
                self.adf_inner,
                self.adf_outer,
                self.compute_button,
                self.progress,
            ]
        )
        self.navigator = ImageView(on_click=self.on_navigator_click)
        self.trace = TraceView(on_click=self.on_trace_click)
        self.native.layout().addWidget(self.navigator)
        self.native.layout().addWidget(self.trace)

        for w in (
            self.extra,
            self.shape_y,
            self.shape_x,
            self.start,
            self.winding,
            self.hysteresis,
        ):
            w.changed.connect(self._on_scan_changed)
        for w in (self.scan_step, self.scan_unit, self.pixel_size, self.pixel_unit):
            w.changed.connect(self._on_calibration_changed)
        for w in (self.bf_radius, self.adf_inner, self.adf_outer):
            w.changed.connect(self._on_detector_changed)
        self.channel.changed.connect(self._redraw)
        self.layer.changed.connect(self._on_layer_changed)
        self.scan_button.clicked.connect(self.apply_scan)
        self.stack_button.clicked.connect(self.apply_stack)
        self.refresh_button.clicked.connect(self.refresh)
        self.suggest_button.clicked.connect(self.suggest)
        self.accept_button.clicked.connect(self.accept_suggestion)
        self.compute_button.clicked.connect(self.compute_navigator)
        self.viewer.layers.events.inserted.connect(self._reset_layers)
        self.viewer.layers.events.removed.connect(self._reset_layers)
        self.viewer.dims.events.current_step.connect(self._update_marker)
        self._on_layer_changed(self.layer.value)

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
        rec = record_of(self._current)
        return None if rec is None else rec.series

    def _key(self) -> tuple[str, ...]:
        series = self.series
        return tuple(series.paths) if series is not None else ()

    def _on_layer_changed(self, layer: Image | None) -> None:
        self._stop_worker()
        self._current = layer
        self._suggestion = None
        self.suggestion.value = ""
        self.accept_button.enabled = False
        self.message.value = ""
        if layer is None:
            self.navigator.set_image(None)
            self.trace.set_traces({}, 0)
            return
        rec = record_of(layer)
        assert rec is not None
        series: Series = rec.series
        layout: ScanLayout | None = rec.layout
        imap = np.asarray(rec.index_map)
        self._updating = True
        try:
            self._scan_mode = imap.ndim >= 2 or (layout is not None and not layout.is_stack)
            if layout is not None and not layout.is_stack and layout.shape is not None:
                shape, start = layout.shape, layout.start
                self.winding.value = layout.winding or "none"
                self.hysteresis.value = layout.hysteresis
            elif imap.ndim >= 2:
                shape, start = imap.shape, int(imap.flat[0])
            else:
                side = max(math.isqrt(series.n_frames), 1)
                shape, start = (side, side), 0
            self.extra.value = int(math.prod(shape[:-2])) if len(shape) > 2 else 1
            self.shape_y.value = int(shape[-2]) if len(shape) > 1 else 1
            self.shape_x.value = int(shape[-1])
            self.start.value = int(start)
            nnav = layer.ndim - 2
            if self._scan_mode and nnav >= 2:
                self.scan_step.value = float(layer.scale[nnav - 1])
                self.scan_unit.value = _unit_text(layer.units[nnav - 1])
            self.pixel_size.value = float(layer.scale[-1])
            self.pixel_unit.value = _unit_text(layer.units[-1])
            side = float(min(series.frame_shape))
            self.bf_radius.value = side / 10
            self.adf_inner.value = side / 6
            self.adf_outer.value = side / 2
        finally:
            self._updating = False
        self._redraw()
        if self.auto_navigator:
            self.compute_navigator()

    # -- re-slicing --------------------------------------------------------------------------
    def layout(self) -> ScanLayout:
        """The scan layout the controls describe."""
        shape: tuple[int, ...] = (self.shape_y.value, self.shape_x.value)
        if self.extra.value > 1:
            shape = (self.extra.value, *shape)
        winding = None if self.winding.value == "none" else self.winding.value
        return ScanLayout(shape, self.start.value, winding, self.hysteresis.value)

    def _on_scan_changed(self, _value: Any = None) -> None:
        if not self._updating:
            self.apply_scan()

    def _on_calibration_changed(self, _value: Any = None) -> None:
        if not self._updating:
            self._rebuild()

    def apply_scan(self) -> bool:
        """Re-slice the selected layer with the controls' scan parameters."""
        self._scan_mode = True
        return self._rebuild()

    def apply_stack(self) -> bool:
        """Restore the plain frame stack."""
        self._scan_mode = False
        return self._rebuild()

    def _rebuild(self) -> bool:
        """Update the layer in place; on invalid parameters show why and change nothing."""
        layer, series = self._current, self.series
        if layer is None or series is None:
            return False
        try:
            layout = self.layout() if self._scan_mode else ScanLayout()
            unit = self.scan_unit.value.strip() or "pixel"
            data, kwargs = layer_kwargs(
                series,
                layout,
                scan_step=self.scan_step.value or None,
                scan_unit=unit,
                limits=tuple(layer.contrast_limits),
            )
        except ValueError as exc:
            self.message.value = f"Not applied: {exc}"
            self._redraw()
            return False
        self.message.value = ""
        scale = list(kwargs["scale"])
        units = list(kwargs["units"])
        if self.pixel_size.value > 0:
            scale[-2:] = [self.pixel_size.value] * 2
            units[-2:] = [self.pixel_unit.value.strip() or "pixel"] * 2
        limits = list(layer.contrast_limits)
        # data first: napari checks scale/units/axis_labels against the data's ndim
        layer.data = data
        layer.scale = scale
        layer.units = units
        layer.axis_labels = kwargs["axis_labels"]
        layer.metadata = {**layer.metadata, **kwargs["metadata"]}
        layer.contrast_limits = limits
        self._redraw()
        return True

    def refresh(self) -> None:
        """Re-scan a recording still being written, rebuild with the same parameters."""
        series = self.series
        if series is None:
            return
        added = series.refresh()
        log.info("%s: %d frames added", series.name, added)
        self._rebuild()
        self._headers.pop(self._key(), None)
        values = self._values()
        if values is not None:
            values.grow(series.n_frames)
        if values is not None or self.auto_navigator:
            self.compute_navigator()

    # -- suggestions ---------------------------------------------------------------------------
    def suggest(self) -> Suggestion | None:
        """Compute suggestions from headers (and the trace when computed) and show them."""
        series = self.series
        if series is None:
            return None
        headers = self._headers.get(self._key()) or series.frame_headers()
        values = self._values()
        trace = values.channel("bf") if values is not None and values.complete else None
        winding = None if self.winding.value == "none" else self.winding.value
        current = self.layout() if self._scan_mode else None
        self._suggestion = suggest_layout(headers, trace, winding=winding, current=current)
        text = self._suggestion.text()
        if trace is None:
            text += " (compute the navigator for trace-based suggestions)"
        self.suggestion.value = text
        self.suggestion.tooltip = "\n".join(self._suggestion.reasons)
        self.accept_button.enabled = self._suggestion.text() != "no suggestion"
        return self._suggestion

    def accept_suggestion(self) -> bool:
        """Apply the shown suggestion to the controls, then re-slice once."""
        sug = self._suggestion
        if sug is None:
            return False
        self._updating = True
        try:
            if sug.shape is not None:
                self.extra.value = int(math.prod(sug.shape[:-2])) if len(sug.shape) > 2 else 1
                self.shape_y.value = int(sug.shape[-2]) if len(sug.shape) > 1 else 1
                self.shape_x.value = int(sug.shape[-1])
            if sug.start is not None:
                self.start.value = sug.start
            if sug.winding is not None:
                self.winding.value = sug.winding
            if sug.hysteresis is not None:
                self.hysteresis.value = sug.hysteresis
        finally:
            self._updating = False
        return self.apply_scan()

    # -- navigator -------------------------------------------------------------------------------
    def detector(self) -> Detector | None:
        """The virtual detector of the controls (centre estimated once per recording)."""
        centre = self._centres.get(self._key())
        if centre is None:
            return None
        return Detector(centre, self.bf_radius.value, self.adf_inner.value, self.adf_outer.value)

    def _values(self) -> FrameValues | None:
        det = self.detector()
        return None if det is None else self._cache.get((self._key(), det))

    def _on_detector_changed(self, _value: Any = None) -> None:
        if not self._updating and self._key() in self._centres:
            self.compute_navigator()

    def _stop_worker(self) -> None:
        if self._worker is not None:
            self._worker.quit()
            self._worker = None

    def compute_navigator(self) -> Any:
        """Start (or resume) the background pass over the frames; returns the worker."""
        series = self.series
        if series is None:
            return None
        self._stop_worker()
        key = self._key()
        radii = (self.bf_radius.value, self.adf_inner.value, self.adf_outer.value)
        need_headers = key not in self._headers
        centre = self._centres.get(key)
        values = self._values()
        first = values.done if values is not None else 0
        if values is not None and values.complete:
            self._redraw()
            return None
        self.progress.max = max(series.n_frames, 1)
        self.progress.value = first

        @thread_worker
        def work() -> Iterator[tuple[str, Any]]:
            if need_headers:
                yield "headers", (key, series.frame_headers())
            c = centre if centre is not None else estimate_centre(series)
            det = Detector(c, *radii)
            yield "detector", (key, det)
            for sl, vals in iter_frame_values(series, det, start=first):
                yield "values", (key, det, sl, vals)

        worker = work()
        worker.yielded.connect(self._on_yielded)
        worker.finished.connect(self._on_finished)
        self._worker = worker
        worker.start()
        return worker

    def _on_yielded(self, item: tuple[str, Any]) -> None:
        kind, payload = item
        if kind == "headers":
            key, headers = payload
            self._headers[key] = headers
        elif kind == "detector":
            key, det = payload
            self._centres[key] = det.centre
            if (key, det) not in self._cache:
                series = self.series
                n = series.n_frames if series is not None and key == self._key() else 0
                self._cache[(key, det)] = FrameValues(n, det)
        else:
            key, det, sl, vals = payload
            values = self._cache.get((key, det))
            if values is None:
                return
            values.grow(sl.stop)
            values.store(sl, vals)
            if key == self._key():
                self.progress.value = min(values.done, self.progress.max)
        now = time.perf_counter()
        if now - self._last_draw > 0.1:
            self._last_draw = now
            self._redraw()

    def _on_finished(self) -> None:
        self._worker = None
        self._redraw()

    def _scan_axes(self) -> tuple[int, int] | None:
        """Viewer axes of the layer's two scan axes, or ``None`` for a stack."""
        layer = self._current
        if layer is None or not self._scan_mode:
            return None
        nnav = layer.ndim - 2
        if nnav < 2:
            return None
        offset = self.viewer.dims.ndim - layer.ndim
        return offset + nnav - 2, offset + nnav - 1

    def _layer_index(self, axis: int) -> int:
        layer = self._current
        assert layer is not None
        i = axis - (self.viewer.dims.ndim - layer.ndim)
        point = self.viewer.dims.point[axis]
        return round((point - layer.translate[i]) / layer.scale[i])

    def navigator_image(self) -> np.ndarray | None:
        """The virtual image at the current extra-navigation position (NaN = not computed)."""
        values = self._values()
        layer = self._current
        if values is None or layer is None or not self._scan_mode:
            return None
        rec = record_of(layer)
        if rec is None:
            return None
        imap = np.asarray(rec.index_map)
        if imap.ndim < 2 or imap.max(initial=0) >= values.n_frames:
            return None
        if imap.ndim > 2:
            offset = self.viewer.dims.ndim - layer.ndim
            lead = tuple(
                min(max(self._layer_index(offset + i), 0), imap.shape[i] - 1)
                for i in range(imap.ndim - 2)
            )
            imap = imap[lead]
        return values.image(self.channel.value, imap)

    def _redraw(self, _value: Any = None) -> None:
        self.navigator.set_image(self.navigator_image())
        self._update_marker()
        series = self.series
        if series is None:
            return
        traces: dict[str, np.ndarray] = {}
        values = self._values()
        if values is not None:
            traces["total"] = values.channel("total")
            traces[self.channel.value] = values.channel(self.channel.value)
        headers = self._headers.get(self._key(), {})
        for name in _HEADER_TRACES:
            if name in headers and np.ptp(headers[name]) > 0:
                traces[name] = headers[name]
        self.trace.set_traces(traces, series.n_frames)
        marks = {"start": self.start.value}
        if self._scan_mode:
            marks["end"] = self.start.value + math.prod(self.layout().shape or ()) - 1
        self.trace.set_marks(marks)

    def _update_marker(self, _event: Any = None) -> None:
        axes = self._scan_axes()
        if axes is None or self.navigator.image is None:
            self.navigator.set_marker(None)
            return
        self.navigator.set_marker((self._layer_index(axes[0]), self._layer_index(axes[1])))

    def on_navigator_click(self, row: int, col: int) -> None:
        """Move the viewer to scan position ``(row, col)``."""
        axes = self._scan_axes()
        layer = self._current
        if axes is None or layer is None:
            return
        offset = self.viewer.dims.ndim - layer.ndim
        for axis, index in zip(axes, (row, col), strict=True):
            i = axis - offset
            self.viewer.dims.set_point(axis, layer.translate[i] + index * layer.scale[i])

    def on_trace_click(self, frame: int) -> None:
        """Make ``frame`` the first scan frame."""
        self.start.value = int(frame)
