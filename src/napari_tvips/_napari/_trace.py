"""The trace view of the "TVIPS scan" widget: per-frame curves with a frame axis.

Clicking the plot selects a frame (and shows it: in the stack, or at its scan position); only the
explicit "Start scan at clicked frame" button makes it the first scan frame. The panel paints
what it is given and binds the button to the :class:`~napari_tvips._model.ScanModel`; no scan
logic.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from magicgui.widgets import Container, PushButton

from .._model import ScanModel
from ._scan_controls import wrapping_label
from ._views import TraceView

__all__ = ["TracePanel"]


class TracePanel(Container):
    """Per-frame curves in named rows, the frame on screen, and "Start scan here".

    Parameters
    ----------
    model : ScanModel
        Receives the first scan frame when the button is pressed.
    on_select : callable, optional
        Called with the clicked frame.
    """

    def __init__(self, model: ScanModel, on_select: Callable[[int], None] | None = None) -> None:
        super().__init__(labels=False)
        self.model: ScanModel = model
        self.on_select: Callable[[int], None] | None = on_select
        self.view = TraceView(on_click=self._clicked)
        self.view.setToolTip(
            "Per-frame values over the recording (one row per curve). Red dashes: first and "
            "last scan frame; white: the frame on screen; yellow dots: the frame you clicked"
        )
        self.info = wrapping_label("The clicked frame")
        self.start_button = PushButton(text="Start scan at clicked frame", enabled=False)
        self.start_button.tooltip = "Make the frame you clicked in the trace the first scan frame"
        self.start_button.clicked.connect(self.start_here)
        self.extend([self.info, self.start_button])
        self.native.layout().insertWidget(0, self.view)
        self.info.visible = False

    def _clicked(self, frame: int) -> None:
        self.info.value = f"clicked frame {frame}"
        self.info.visible = True
        self.start_button.enabled = True
        if self.on_select is not None:
            self.on_select(frame)

    def start_here(self) -> bool:
        """Make the clicked frame the first scan frame (manual layout)."""
        frame = self.view.selected
        if frame is None:
            return False
        return self.model.update(source="manual", start=int(frame))

    def show(
        self,
        traces: Mapping[str, np.ndarray],
        n_frames: int,
        frame_time: float | None,
        marks: Mapping[str, int],
    ) -> None:
        """Draw ``traces`` over ``n_frames`` frames with vertical ``marks``."""
        self.view.set_traces(traces, n_frames, frame_time)
        self.view.set_marks(marks)

    def set_current(self, frame: int | None) -> None:
        """Mark the frame on screen."""
        self.view.set_current(frame)
