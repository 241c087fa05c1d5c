"""The "TVIPS movie" dock widget: per-frame plots, sum/bin in place, bad frames, drift, export.

A thin Qt layer over :class:`~napari_tvips._napari._movie_model.MovieModel`: controls set the
model, and every change puts the model's :class:`~napari_tvips._movie.MovieView` into the
selected layer in place (new data and scale; no pixels read until shown). The plot
(:class:`~napari_tvips._napari._views.TraceView`) shows a per-frame field of the source frames
against their recorded time (dropped frames show as jumps) with a mark at the frame on screen;
clicking it moves the slider to the frame recorded nearest the clicked time. The frame-header
table (plot and frame rate), drift estimation and export run in ``thread_worker`` s with napari
progress; the worker never touches layers (results are applied in the main thread). The movie
state (settings, drift table) is saved in ``layer.metadata["tvips_movie"]``.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from typing import Any

import numpy as np
from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    FileEdit,
    FloatSpinBox,
    Label,
    ProgressBar,
    PushButton,
    SpinBox,
)
from napari.layers import Image
from napari.qt.threading import thread_worker

from .._movie import MovieView
from .._record import KEY, record_of
from .._series import Series
from ._movie_clock import attach_clock
from ._movie_model import MOVIE_METADATA_KEY, MovieModel
from ._movie_play import MoviePlayer
from ._scan_controls import button_row
from ._scroll import scroll_contents
from ._views import TraceView

__all__ = ["MovieWidget"]

log = logging.getLogger(__name__)

_MAX = 2**31 - 1
#: Frames read ahead in a background thread during playback (benchmarks/bench_movie.py: 2k
#: frames played at 18 instead of 14 frames/s; 4k frames are limited by napari's display).
READ_AHEAD = 2


def _series_of(layer: Any) -> Series | None:
    """The recording behind a TVIPS layer, or ``None``."""
    record = record_of(layer)
    return None if record is None else record.series


def _movie_layers(viewer: Any) -> list[tuple[str, Image]]:
    return [
        (layer.name, layer)
        for layer in viewer.layers
        if isinstance(layer, Image) and _series_of(layer) is not None and layer.ndim == 3
    ]


class MovieWidget(Container):
    """Dock widget for in-situ movies (see the module docstring).

    Parameters
    ----------
    napari_viewer : napari.components.ViewerModel
        The viewer (injected by napari).
    """

    def __init__(self, napari_viewer: Any) -> None:
        super().__init__(labels=True)
        self.viewer: Any = napari_viewer
        self.model: MovieModel | None = None
        self._current: Image | None = None
        self._base_scale: list[float] = [1.0, 1.0]
        self._fields: dict[str, np.ndarray] = {}
        self._worker: Any = None
        self._headers_worker: Any = None
        self._pick_start: int | None = None

        self.layer = ComboBox(label="Layer", choices=self._layer_choices)
        self.field = ComboBox(label="plot", choices=self._field_choices)
        self.first = SpinBox(label="first frame", min=0, max=_MAX, value=0)
        self.last = SpinBox(label="last frame", min=0, max=_MAX, value=0)
        self.sum_frames = SpinBox(label="sum frames", min=1, max=_MAX, value=1)
        self.binning = SpinBox(label="bin pixels", min=1, max=4096, value=1)
        self.average = CheckBox(text="average (not sum)", value=False)
        self.bad_button = PushButton(text="Mark range bad")
        self.clear_bad_button = PushButton(text="Clear bad")
        self.pick_bad = CheckBox(text="clicks on the plot pick a bad range", value=False)
        self.totals_button = PushButton(text="Frame totals")
        self.drift_button = PushButton(text="Correct drift")
        self.clear_drift_button = PushButton(text="No drift correction")
        self.export_path = FileEdit(label="export to", mode="w", filter="*.tif *.tiff *.mp4")
        self.timestamp = CheckBox(text="time stamp and scale bar (MP4)", value=True)
        self.export_button = PushButton(text="Export range")
        self.fps = FloatSpinBox(label="play at (frames/s)", min=0.1, max=1000, step=1, value=20)
        self.play_button = PushButton(text="Play every frame")
        self.play_status = Label(label="", value="")
        self.progress = ProgressBar(label="", min=0, max=1, value=0)
        self.message = Label(label="", value="")
        self.now = Label(label="shown", value="")
        self.extend(
            [
                self.layer,
                self.now,
                self.field,
                self.first,
                self.last,
                self.sum_frames,
                self.binning,
                self.average,
                button_row(self.bad_button, self.clear_bad_button),
                self.pick_bad,
                Container(widgets=[self.fps, self.play_button], layout="horizontal", labels=True),
                self.play_status,
                self.totals_button,
                button_row(self.drift_button, self.clear_drift_button),
                self.export_path,
                self.timestamp,
                self.export_button,
                self.progress,
                self.message,
            ]
        )
        self.trace = TraceView(on_click=self.on_trace_click)
        self.native.layout().insertWidget(3, self.trace)

        for w in (self.first, self.last, self.sum_frames, self.binning, self.average):
            w.changed.connect(self._on_settings_changed)
        self.field.changed.connect(self._redraw)
        self.layer.changed.connect(self._on_layer_changed)
        self.bad_button.clicked.connect(self.mark_bad)
        self.clear_bad_button.clicked.connect(self.clear_bad)
        self.drift_button.clicked.connect(self.correct_drift)
        self.totals_button.clicked.connect(self.compute_totals)
        self.clear_drift_button.clicked.connect(self.clear_drift)
        self.export_button.clicked.connect(self.export)
        self.player = MoviePlayer(self.viewer, on_rate=self._on_rate, host=self.native)
        self.play_button.clicked.connect(self.toggle_play)
        self.viewer.layers.events.inserted.connect(self._reset_layers)
        self.viewer.layers.events.removed.connect(self._reset_layers)
        self.viewer.dims.events.current_step.connect(self._update_marker)
        self.scroll = scroll_contents(self)  # reachable on a laptop screen with other docks
        attach_clock(self.viewer)  # the recorded time in the canvas, next to the slider
        self._on_layer_changed(self.layer.value)

    # -- layer selection -------------------------------------------------------------------
    def _layer_choices(self, _widget: Any = None) -> list[tuple[str, Image]]:
        return _movie_layers(self.viewer)

    def _field_choices(self, _widget: Any = None) -> list[str]:
        # a callable, so napari's reset_choices() keeps the fields of the selected recording
        return list(getattr(self, "_fields", {}))

    def _reset_layers(self, _event: Any = None) -> None:
        self.layer.reset_choices()
        if self.layer.value is not self._current:
            self._on_layer_changed(self.layer.value)

    def _on_layer_changed(self, layer: Image | None) -> None:
        self._current = layer
        series = _series_of(layer) if layer is not None else None
        if series is None:
            self.model = None
            self.trace.set_traces({}, 0)
            return
        state = layer.metadata.get(MOVIE_METADATA_KEY)
        self.model = MovieModel(series, state)
        self._base_scale = list(
            state["base_scale"] if state and "base_scale" in state else layer.scale[-2:]
        )
        m = self.model
        widgets = (self.first, self.last, self.sum_frames, self.binning, self.average)
        for w in widgets:
            w.changed.block()
        try:
            self.first.max = self.last.max = series.n_frames - 1
            self.first.value, self.last.value = m.first, m.last
            self.sum_frames.value, self.binning.value = m.sum_frames, m.binning
            self.average.value = m.average
        finally:
            for w in widgets:
                w.changed.unblock()
        self._fields = {}
        self.field.reset_choices()
        self.trace.set_traces({}, series.n_frames)
        self._read_headers(m)

    def _read_headers(self, m: MovieModel) -> Any:
        """Read the frame-header table (times and plotted fields) in a worker; returns it.

        One small read per frame: seconds for long recordings, so never in napari's thread.
        The frame rate and the plot are set in the main thread when it is done.
        """

        @thread_worker(progress={"total": 0, "desc": "Reading frame headers"})
        def work() -> None:
            m.times()
            m.series.frame_headers()  # cached by the series: fields() below reads no file

        def done(_result: Any = None) -> None:
            self._headers_worker = None
            if self.model is not m:  # another layer was chosen meanwhile
                return
            rate = m.times()["rate"]
            if rate > 0:
                self.fps.value = min(max(round(rate, 2), self.fps.min), self.fps.max)
            self._refresh_fields()

        worker = work()
        worker.returned.connect(done)
        worker.errored.connect(self._on_error)
        self._headers_worker = worker
        worker.start()
        return worker

    # -- settings -> layer -----------------------------------------------------------------
    def _on_settings_changed(self, _value: Any = None) -> None:
        if self.model is None:
            return
        try:
            self.model.update(
                first=self.first.value,
                last=self.last.value,
                sum_frames=self.sum_frames.value,
                binning=self.binning.value,
                average=self.average.value,
            )
        except ValueError as exc:
            self.message.value = f"Not applied: {exc}"
            return
        self.apply()

    def apply(self) -> None:
        """Put the model's movie into the selected layer (data, scale, saved state)."""
        layer, m = self._current, self.model
        if layer is None or m is None:
            return
        view = m.view(read_ahead=READ_AHEAD)
        step = m.time_step() or float(m.sum_frames)
        scale = [step] + [s * m.binning for s in self._base_scale]
        limits = list(layer.contrast_limits)
        factor = 1.0 if m.average else m.sum_frames * m.binning**2
        old = layer.metadata.get(MOVIE_METADATA_KEY) or {}
        old_factor = 1.0 if old.get("average", False) else old.get("factor", 1.0)
        layer.data = view
        layer.scale = scale
        meta = {
            **layer.metadata,
            MOVIE_METADATA_KEY: {**m.state(), "base_scale": self._base_scale, "factor": factor},
        }
        record = record_of(layer)
        if record is not None:
            # the record describes what the layer shows: each output frame is the first frame of
            # its sum (so a saved movie keeps that frame's header: time stamp = start of the sum)
            meta[KEY] = record.replace(
                index_map=view.members[:, 0].copy(),
                signal_scale=None if record.signal_scale is None else (scale[1], scale[2]),
            )
        layer.metadata = meta
        ratio = factor / old_factor if old_factor else 1.0
        layer.contrast_limits = [limits[0] * ratio, limits[1] * ratio]
        self.message.value = (
            f"{view.shape[0]} frames of {view.shape[1]} x {view.shape[2]}"
            + (f", {len(m.bad)} bad frames left out" if m.bad else "")
            + (", drift corrected" if m.shifts is not None else "")
        )
        self._refresh_fields()

    # -- plot ------------------------------------------------------------------------------
    def _refresh_fields(self) -> None:
        if self.model is None:
            return
        self._fields = self.model.fields()
        names = list(self._fields)
        value = self.field.value if self.field.value in names else (names[0] if names else None)
        self.field.changed.block()
        try:
            self.field.reset_choices()
            if value is not None:
                self.field.value = value
        finally:
            self.field.changed.unblock()
        self._redraw()

    def _redraw(self, _value: Any = None) -> None:
        if self.model is None:
            return
        name = self.field.value
        traces = {name: self._fields[name]} if name in self._fields else {}
        times = self.model.times()["time"]  # x = recorded time: dropped frames are jumps
        self.trace.set_traces(traces, self.model.series.n_frames, times=times)
        self._update_marker()

    def _update_marker(self, _event: Any = None) -> None:
        m, layer = self.model, self._current
        if m is None or layer is None or not self.viewer.dims.ndim:
            return
        offset = self.viewer.dims.ndim - layer.ndim
        index = int(self.viewer.dims.current_step[offset])
        try:
            frame = m.source_frame(index)
        except ValueError:
            return
        self.now.value = m.describe(index)
        marks = {"frame": frame}
        if m.bad:
            marks.update({f"bad {b}": b for b in sorted(m.bad)[:: max(len(m.bad) // 50, 1)]})
        self.trace.set_marks(marks)

    def on_trace_click(self, frame: int) -> None:
        """Move the slider to the output frame holding source ``frame``.

        With "clicks on the plot pick a bad range", the first click sets the range's start and
        the second its end, and the range is marked bad.
        """
        m, layer = self.model, self._current
        if m is None or layer is None:
            return
        if self.pick_bad.value:
            if self._pick_start is None:
                self._pick_start = int(frame)
                self.message.value = f"Bad range from frame {frame}: click its end"
                return
            start, self._pick_start = self._pick_start, None
            m.mark_bad(start, frame)
            self._apply_or_report()
            return
        offset = self.viewer.dims.ndim - layer.ndim
        self.viewer.dims.set_current_step(offset, m.output_index(frame))

    # -- playback --------------------------------------------------------------------------
    def toggle_play(self) -> None:
        """Play the movie (every frame, in order, at "play at" frames/s at most), or stop."""
        if self.player.playing:
            self.player.stop()
            self.play_button.text = "Play every frame"
            return
        layer = self._current
        if layer is None or self.model is None:
            return
        if not isinstance(layer.data, MovieView):  # read the next frames ahead in a thread
            self._apply_or_report()
        self.viewer.layers.selection.active = layer
        self.player.play(self.fps.value, axis=self.viewer.dims.ndim - layer.ndim)
        self.play_button.text = "Stop"
        self.play_status.value = f"Playing at up to {self.fps.value:g} frames/s"

    def _on_rate(self, measured: float, chosen: float) -> None:
        if measured < 0.9 * chosen:
            self.play_status.value = (
                f"Cannot keep {chosen:g} frames/s: showing every frame at {measured:.1f} "
                "frames/s (reading and drawing a frame takes longer)"
            )
        else:
            self.play_status.value = f"Playing at {measured:.1f} of {chosen:g} frames/s"

    # -- bad frames ------------------------------------------------------------------------
    def mark_bad(self) -> None:
        """Leave the frames ``first frame .. last frame`` out (then reset the range)."""
        if self.model is None:
            return
        self.model.mark_bad(self.first.value, self.last.value)
        self.first.changed.block()
        self.last.changed.block()
        try:
            self.first.value, self.last.value = 0, self.model.series.n_frames - 1
        finally:
            self.first.changed.unblock()
            self.last.changed.unblock()
        self.model.first, self.model.last = 0, self.model.series.n_frames - 1
        self._apply_or_report()

    def clear_bad(self) -> None:
        """Use every frame again."""
        if self.model is not None:
            self.model.clear_bad()
            self._apply_or_report()

    def _apply_or_report(self) -> None:
        try:
            self.apply()
        except ValueError as exc:
            self.message.value = f"Not applied: {exc}"

    # -- drift -----------------------------------------------------------------------------
    def correct_drift(self) -> Any:
        """Estimate drift over the current sums/binning in a worker; apply it when done."""
        m = self.model
        if m is None or self._worker is not None:
            return None
        self.message.value = "Estimating drift..."
        return self._run(m.drift_steps(), m.view().shape[0], "Estimating drift", self._on_drift)

    def _run(
        self, steps: Generator[tuple[int, int], None, Any], total: int, desc: str, on_result: Any
    ) -> Any:
        """Run a ``(done, total)`` generator in a worker with napari progress.

        ``on_result`` gets the generator's return value in the main thread.
        """
        self.progress.max, self.progress.value = max(total, 1), 0

        @thread_worker(progress={"total": total, "desc": desc})
        def work() -> Generator[tuple[int, int], None, Any]:
            return (yield from steps)

        worker = work()
        worker.yielded.connect(self._on_progress)
        worker.returned.connect(on_result)
        worker.finished.connect(self._on_finished)
        worker.errored.connect(self._on_error)
        self._worker = worker
        worker.start()
        return worker

    def _on_progress(self, done: int | tuple[int, int]) -> None:
        done = done[0] if isinstance(done, tuple) else done
        self.progress.value = min(done, self.progress.max)

    def _on_drift(self, shifts: np.ndarray) -> None:
        if self.model is None:
            return
        self.model.set_shifts(shifts)
        self._apply_or_report()
        largest = float(np.abs(shifts).max()) if shifts.size else 0.0
        self.message.value += f" (largest shift {largest:.2f} px)"

    def compute_totals(self) -> Any:
        """Sum every frame's pixels in a worker (for the plot); returns the worker."""
        m = self.model
        if m is None or self._worker is not None:
            return None
        return self._run(m.totals_steps(), m.series.n_frames, "Frame totals", self._on_totals)

    def _on_totals(self, totals: np.ndarray) -> None:
        if self.model is not None:
            self.model.set_totals(totals)
            self._refresh_fields()
            self.field.value = "frame total"

    def clear_drift(self) -> None:
        """Show the frames without drift correction."""
        if self.model is not None:
            self.model.set_shifts(None)
            self._apply_or_report()

    def _on_finished(self) -> None:
        self._worker = None

    def _on_error(self, exc: Exception) -> None:
        self.message.value = f"Failed: {exc}"
        log.warning("movie worker failed", exc_info=exc)

    # -- export ----------------------------------------------------------------------------
    def export(self) -> Any:
        """Write the movie as viewed (range, sums, binning, drift) to the chosen file."""
        m = self.model
        path = str(self.export_path.value)
        if m is None or self._worker is not None:
            return None
        if not path.lower().endswith((".tif", ".tiff", ".mp4")):
            self.message.value = "Export to a .tif, .tiff or .mp4 file"
            return None
        layer = self._current
        options: dict[str, Any] = {}
        if path.lower().endswith(".mp4") and layer is not None:
            options = {
                "contrast": tuple(layer.contrast_limits),
                "timestamp": self.timestamp.value,
                "scalebar": self.timestamp.value,
            }
        total = m.view().shape[0]
        self.progress.max, self.progress.value = max(total, 1), 0

        @thread_worker
        def work() -> Generator[int, None, list[str]]:
            from napari.utils import progress

            with progress(total=total, desc="Exporting movie") as bar:
                paths = m.export(path, progress=lambda _d, _t: bar.update(1), **options)
            yield total
            return paths

        worker = work()
        worker.yielded.connect(self._on_progress)
        worker.returned.connect(lambda paths: setattr(self.message, "value", f"Wrote {paths[0]}"))
        worker.finished.connect(self._on_finished)
        worker.errored.connect(self._on_error)
        self._worker = worker
        self.message.value = f"Exporting {total} frames..."
        worker.start()
        return worker
