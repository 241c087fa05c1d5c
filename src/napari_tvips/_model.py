"""The scan model behind the "TVIPS scan" widget: state and logic, evented, without Qt.

:class:`ScanModel` holds what the widget shows and edits: the selected recording (a
:class:`~napari_tvips._record.TvipsRecord`), the layout (the plain stack, manual parameters, or
the index map the frame headers give), the calibration, the virtual detector, the cached
per-frame values and the current suggestion. Views bind to its psygnal events
(:class:`ScanEvents`); scripts and tests drive it directly::

    model = ScanModel()
    model.select(record)
    model.update(shape=(48, 48), start=7, winding="x", hysteresis=2)   # one re-slice
    for item in model.iter_pass():      # the navigator pass (a worker thread in the GUI)
        model.receive(item)
    model.suggest(); model.accept()

A re-slice is announced as a :class:`Reslice` (index map + calibration) on ``events.resliced``;
the napari side turns it into layer data. This module imports no Qt, napari or magicgui, reads
no pixels outside :meth:`ScanModel.iter_pass`, and never touches a layer.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from psygnal import Signal, SignalGroup

from ._imager import VirtualImager, coarse_to_fine
from ._imager_channels import ChannelValues, DetectorState, fill_coarse
from ._metadata import frame_times
from ._record import LayoutSource, TvipsRecord
from ._scan import HeaderScan, ScanLayout, apply_winding, header_scan
from ._series import Series
from ._suggest import Suggestion, suggest_layout
from ._units import known_unit
from ._virtual import Detector

__all__ = ["HEADER_TRACES", "Reslice", "ScanEvents", "ScanModel"]

log = logging.getLogger(__name__)

#: Frame header fields shown as traces when they vary.
HEADER_TRACES = ("rotidx", "scan_x", "scan_y")
#: Names of the manual layout parameters and of the calibration, as :meth:`ScanModel.update`
#: takes them.
_LAYOUT_KEYS = ("shape", "start", "winding", "hysteresis")
_CALIBRATION_KEYS = ("scan_step", "scan_unit", "signal_scale", "signal_unit")


@dataclass(frozen=True, eq=False)
class Reslice:
    """What the layer must show after a change: index map, layout and calibration.

    Attributes
    ----------
    index_map : numpy.ndarray
        Frame index of every navigation position.
    layout : ScanLayout or None
        The regular layout (``None`` for a header index map).
    source : {"stack", "manual", "headers"}
        Where the layout comes from.
    scan_step, scan_unit : float or None, str
        Scan axes' step and unit (``None`` = uncalibrated).
    signal_scale, signal_unit : float or None, str
        Frame pixel size and unit (``None`` = uncalibrated).
    """

    index_map: np.ndarray
    layout: ScanLayout | None
    source: LayoutSource
    scan_step: float | None
    scan_unit: str
    signal_scale: float | None
    signal_unit: str


class ScanEvents(SignalGroup):
    """Events of a :class:`ScanModel`."""

    #: A recording was selected (the record, or ``None``).
    selected = Signal(object)
    #: Layout source, parameters or calibration changed (controls follow the model).
    params = Signal()
    #: The layer must show a new :class:`Reslice`.
    resliced = Signal(object)
    #: A message for the person ("" clears it).
    message = Signal(str)
    #: A new suggestion (or ``None``); ``accepted`` says whether it was applied.
    suggestion = Signal(object)
    #: Per-frame values or frame headers arrived (navigator and trace redraw).
    values = Signal()
    #: Progress of the navigator pass: frames done, frames in total.
    progress = Signal(int, int)


def _unit(text: str | None) -> str:
    text = "" if text is None else str(text).strip()
    return "pixel" if text in ("", "None", "dimensionless", "pixels", "px") else text


class ScanModel:
    """State and logic of the "TVIPS scan" widget (see the module docstring).

    Attributes
    ----------
    record : TvipsRecord or None
        The selected recording's record as last applied.
    source : {"stack", "manual", "headers"}
        The layout source: the plain frame stack, manual parameters, or the header index map.
    shape : tuple of int
        Manual scan shape (``(scan_y, scan_x)`` or ``(n, scan_y, scan_x)``).
    start : int
        Manual first scan frame.
    winding : str or None
        Snake axis (``None``, ``"x"``, ``"y"``), for manual and header layouts.
    hysteresis : int
        Shift of the reversed rows, for manual and header layouts.
    scan_step, scan_unit, signal_scale, signal_unit
        Calibration (a step or scale of 0 means uncalibrated).
    detector_state : DetectorState
        Virtual detector (BF/ADF radii, centre, rectangle, point), navigator channel and
        display; ``radii`` and ``channel`` are shortcuts to it.
    suggestion : Suggestion or None
        The last suggestion; ``accepted`` says whether it has been applied.
    """

    def __init__(self) -> None:
        self.events: ScanEvents = ScanEvents()
        self.record: TvipsRecord | None = None
        self.source: LayoutSource = "stack"
        self.shape: tuple[int, ...] = (1, 1)
        self.start: int = 0
        self.winding: str | None = None
        self.hysteresis: int = 0
        self.scan_step: float = 0.0
        self.scan_unit: str = "pixel"
        self.signal_scale: float = 0.0
        self.signal_unit: str = "pixel"
        self.detector_state: DetectorState = DetectorState()
        self.suggestion: Suggestion | None = None
        self.accepted: bool = False
        self.message: str = ""
        self._headers: dict[tuple[str, ...], dict[str, np.ndarray]] = {}
        self._scans: dict[tuple[str, ...], HeaderScan | str] = {}
        self._imagers: dict[tuple[str, ...], VirtualImager] = {}

    # -- selection -------------------------------------------------------------------------
    @property
    def series(self) -> Series | None:
        """The selected recording."""
        return None if self.record is None else self.record.series

    @property
    def key(self) -> tuple[str, ...]:
        """Identity of the selected recording (its part paths)."""
        return tuple(self.series.paths) if self.series is not None else ()

    def select(self, record: TvipsRecord | None) -> None:
        """Show ``record``: parameters, calibration and detector follow what it is."""
        self.record = record
        self.suggestion, self.accepted = None, False
        if record is not None:
            self._follow(record)
        self._say(self._warning())
        self.events.selected.emit(record)
        self.events.params.emit()
        self.events.suggestion.emit(None)
        self.events.values.emit()

    def _warning(self) -> str:
        """What the person must know about the recording before trusting a manual layout."""
        series = self.series
        if series is None or not series.truncated_parts:
            return ""
        names = ", ".join(os.path.basename(p) for p in series.truncated_parts)
        return (
            f"Warning: {names} ends inside a frame but later parts follow: every frame after it "
            "is shifted by one. Use 'layout from: from headers' (Suggest) to recover the scan."
        )

    def _follow(self, record: TvipsRecord) -> None:
        series, layout = record.series, record.layout
        imap = np.asarray(record.index_map)
        self.source = record.layout_source
        self.winding, self.hysteresis = None, 0
        if layout is not None and layout.shape is not None:
            self.shape, self.start = layout.shape, layout.start
            self.winding, self.hysteresis = layout.winding, layout.hysteresis
        elif imap.ndim >= 2:
            self.shape, self.start = tuple(int(s) for s in imap.shape), int(imap.min())
            found = self._scans.get(self.key)
            if isinstance(found, HeaderScan):  # a header map the user re-wound
                self.winding, self.hysteresis = self._winding_of(found.index_map, imap)
        else:
            side = max(math.isqrt(series.n_frames), 1)
            self.shape, self.start = (side, side), 0
        self.scan_step = float(record.scan_step[0]) if record.scan_step else 0.0
        self.scan_unit = _unit(record.scan_unit)
        self.signal_scale = float(record.signal_scale[0]) if record.signal_scale else 0.0
        self.signal_unit = _unit(record.signal_unit)
        default = Detector.default(series.frame_shape)
        self.detector_state = DetectorState(
            radii=(default.bf_radius, default.adf_inner, default.adf_outer),
            channel=self.channel,
            display=self.detector_state.display,
        )

    @staticmethod
    def _winding_of(grid: np.ndarray, imap: np.ndarray) -> tuple[str | None, int]:
        """Winding and hysteresis that turn the header ``grid`` into ``imap`` (else none)."""
        if grid.shape == imap.shape:
            for winding in ("x", "y"):
                width = grid.shape[-1] if winding == "x" else grid.shape[-2]
                for h in sorted(range(-width, width + 1), key=abs):  # a roll wraps: smallest
                    if np.array_equal(apply_winding(grid, winding, h), imap):
                        return winding, h
        return None, 0

    # -- parameters and re-slicing ---------------------------------------------------------
    def update(self, **changes: Any) -> bool:
        """Change parameters and re-slice once.

        Keys: ``source``, ``shape``, ``start``, ``winding``, ``hysteresis``, ``scan_step``,
        ``scan_unit``, ``signal_scale``, ``signal_unit``. Changing the shape or start while the
        stack or the header map is shown switches to the manual layout.
        Returns whether the layer was re-sliced (``False``: nothing changed, or the layout is
        invalid and :attr:`message` says why).
        """
        unknown = set(changes) - {"source", *_LAYOUT_KEYS, *_CALIBRATION_KEYS}
        if unknown:
            raise TypeError(f"unknown scan parameters: {', '.join(sorted(unknown))}")
        if "shape" in changes:
            changes["shape"] = tuple(int(s) for s in changes["shape"])
        if "winding" in changes and changes["winding"] in ("none", ""):
            changes["winding"] = None
        for key in ("scan_unit", "signal_unit"):
            if key in changes:
                changes[key] = _unit(changes[key])
        changed = {k: v for k, v in changes.items() if getattr(self, k) != v}
        if not changed:
            return False
        for key in ("scan_unit", "signal_unit"):
            if key in changed and changed[key] != "pixel" and not known_unit(changed[key]):
                name = self.series.parts[0].path if self.series is not None else "no recording"
                self._say(
                    f"Not applied: {name}: {changed[key]!r} is not a unit napari knows "
                    "(for example nm, 1/nm, mrad, Å^-1)"
                )
                self.events.params.emit()  # the box shows the unit in use again
                return False
        layout_keys = set(changed) & {"shape", "start"}
        if self.source == "stack" and "source" not in changed and layout_keys:
            changed["source"] = "manual"
        if self.source == "headers" and "source" not in changed and layout_keys:
            changed["source"] = "manual"  # editing the shape or start leaves the header map
        for k, v in changed.items():
            setattr(self, k, v)
        self.events.params.emit()
        return self.apply()

    def header_scan(self) -> HeaderScan | None:
        """The scan the frame headers describe (``None`` when they describe none)."""
        series = self.series
        if series is None:
            return None
        found = self._scans.get(self.key)
        if found is None:
            try:
                found = header_scan(self.headers())
            except ValueError as exc:
                found = str(exc)
            self._scans[self.key] = found
        return found if isinstance(found, HeaderScan) else None

    def build(self) -> Reslice:
        """The :class:`Reslice` the parameters describe.

        Raises
        ------
        ValueError
            If the layout does not fit the recording; the message names the file.
        """
        series = self.series
        if series is None:
            raise ValueError("no TVIPS recording selected")
        try:
            layout: ScanLayout | None
            if self.source == "headers":
                found = self.header_scan()
                if found is None:
                    reason = self._scans.get(self.key, "")
                    raise ValueError(f"the frame headers describe no scan ({reason})")
                layout = None
                imap = apply_winding(found.index_map, self.winding, self.hysteresis)
            elif self.source == "manual":
                layout = ScanLayout(self.shape, self.start, self.winding, self.hysteresis)
                imap = layout.index_map(series.n_frames)
            else:
                layout = ScanLayout()
                imap = layout.index_map(series.n_frames)
        except ValueError as exc:
            raise ValueError(f"{series.parts[0].path}: {exc}") from exc
        step = self.scan_step if self.scan_step > 0 else 1.0 if self.scan_unit != "pixel" else 0
        return Reslice(
            imap,
            layout,
            self.source,
            step if self.source != "stack" and step > 0 else None,
            self.scan_unit,
            self.signal_scale if self.signal_scale > 0 else None,
            self.signal_unit,
        )

    def apply(self) -> bool:
        """Announce the current parameters' re-slice; on an invalid layout say why instead."""
        if self.series is None:
            return False
        try:
            reslice = self.build()
        except ValueError as exc:
            self._say(f"Not applied: {exc}")
            self.events.values.emit()
            return False
        self._say(self._warning())
        self.events.resliced.emit(reslice)
        self.events.values.emit()
        return True

    def applied(self, record: TvipsRecord) -> None:
        """Note the record of the re-sliced layer (the napari side calls this)."""
        self.record = record

    def _say(self, text: str) -> None:
        if text != self.message:
            self.message = text
            self.events.message.emit(text)

    def refresh(self) -> int:
        """Re-scan a recording still being written and re-slice; returns the frames added."""
        series = self.series
        if series is None:
            return 0
        added = series.refresh()
        log.info("%s: %d frames added", series.name, added)
        self._headers.pop(self.key, None)
        self._scans.pop(self.key, None)
        imager = self._imagers.get(self.key)
        if imager is not None:  # keeps the frames done; the pass resumes with the new ones
            self._imagers[self.key] = imager.remap(np.arange(series.n_frames))
        self.apply()
        return added

    # -- suggestions -----------------------------------------------------------------------
    def headers(self) -> dict[str, np.ndarray]:
        """Every frame header field of the selected recording (read once, then cached)."""
        series = self.series
        if series is None:
            return {}
        if self.key not in self._headers:
            self._headers[self.key] = series.frame_headers()
        return self._headers[self.key]

    def suggest(self) -> Suggestion | None:
        """Suggest a layout (header map first, then the trace) without applying it."""
        if self.series is None:
            return None
        imager = self.imager()
        # the BF disk about the beam centre needs the first pass only, whatever detector the
        # navigator shows (an off-centre disk would wait for a pass of its own)
        trace = (
            imager.image("disk", radius=self.radii[0])
            if imager is not None and imager.complete
            else None
        )
        current = (
            ScanLayout(self.shape, self.start, self.winding) if self.source == "manual" else None
        )
        sug = suggest_layout(self.headers(), trace, winding=self.winding, current=current)
        self.suggestion, self.accepted = sug, False
        self.events.suggestion.emit(sug)
        return sug

    def suggestion_text(self) -> str:
        """The suggestion in words, with a hint when the trace was not available."""
        sug = self.suggestion
        if sug is None:
            return ""
        text = sug.text()
        imager = self.imager()
        if imager is None or not imager.complete:
            text += " (compute the navigator for winding and hysteresis)"
        return text

    @property
    def can_accept(self) -> bool:
        """Whether there is a suggestion to accept that has not been accepted yet."""
        sug = self.suggestion
        return sug is not None and not self.accepted and sug.text() != "no suggestion"

    def accept(self) -> bool:
        """Apply the suggestion (the header map when it has one), re-slicing once."""
        sug = self.suggestion
        if sug is None or not self.can_accept:
            return False
        changes: dict[str, Any] = {}
        if sug.header_scan is not None:
            changes["source"] = "headers"
            changes["winding"] = None if sug.winding in (None, "none") else sug.winding
            changes["hysteresis"] = sug.hysteresis or 0
            # manual parameters follow, so switching to manual starts from the same scan
            self.shape, self.start = sug.header_scan.shape, sug.header_scan.start
        else:
            changes["source"] = "manual"
            if sug.shape is not None:
                changes["shape"] = sug.shape
            if sug.start is not None:
                changes["start"] = sug.start
            if sug.winding is not None:
                changes["winding"] = sug.winding
            if sug.hysteresis is not None:
                changes["hysteresis"] = sug.hysteresis
        self.accepted = True
        self.events.suggestion.emit(sug)
        changed = self.update(**changes)
        if not changed and not self.message:  # parameters were already these: still applied
            self.events.params.emit()
            return self.apply()
        return changed

    # -- detector, per-frame values --------------------------------------------------------
    # One VirtualImager per recording over every frame: radius changes, the total and the
    # centre of mass need no new pass; a re-slice re-indexes (see _imager_channels.py).
    @property
    def radii(self) -> tuple[float, float, float]:
        """BF disk radius, ADF inner and outer radii (detector pixels)."""
        return self.detector_state.radii

    @radii.setter
    def radii(self, value: tuple[float, float, float]) -> None:
        self.detector_state = self.detector_state.with_(radii=value)

    @property
    def channel(self) -> str:
        """The navigator's channel (see :data:`~napari_tvips._imager_channels.CHANNELS`)."""
        return self.detector_state.channel

    @channel.setter
    def channel(self, value: str) -> None:
        self.detector_state = self.detector_state.with_(channel=value)

    def imager(self) -> VirtualImager | None:
        """The selected recording's imager (``None`` before the first pass starts)."""
        return self._imagers.get(self.key)

    def detector(self) -> Detector | None:
        """The BF/ADF detector about the beam centre (``None`` until the centre is known)."""
        imager = self.imager()
        return None if imager is None else Detector(imager.centre, *self.radii)

    def values(self) -> ChannelValues | None:
        """Per-frame values of the recording and detector (``None`` before the first pass)."""
        imager = self.imager()
        return None if imager is None else ChannelValues(imager, self.detector_state)

    def set_detector(
        self, radii: tuple[float, float, float] | None = None, channel: str = "", **changes: Any
    ) -> None:
        """Change the detector (radii, ``centre``, ``box``, ``point``), channel or ``display``."""
        if radii is not None:
            changes["radii"] = radii
        if channel:
            changes["channel"] = channel
        state = self.detector_state.with_(**changes)
        if state == self.detector_state:
            return
        self.detector_state = state
        self.events.params.emit()
        self.events.values.emit()

    def set_beam_centre(self, centre: tuple[float, float]) -> None:
        """Use ``centre`` for the rings: the next pass recomputes them about it."""
        imager = self.imager()
        if imager is not None:
            imager.centre = centre
        self.set_detector(centre=None)
        self.events.values.emit()

    @property
    def pass_needed(self) -> bool:
        """Whether the navigator pass still has frames to read for the current detector."""
        values = self.values()
        return self.series is not None and (values is None or not values.complete)

    def iter_pass(self) -> Iterator[tuple[str, Any]]:
        """The navigator pass as items for :meth:`receive` (run it in a worker thread).

        Yields the frame headers (once per recording), the imager (centre estimated once),
        and progress while its first pass and, if the channel needs one, its detector pass
        run; resumes where a previous pass stopped. The imager fills its own arrays.
        """
        series, key = self.series, self.key
        if series is None:
            return
        if key not in self._headers:
            yield "headers", (key, series.frame_headers())
        imager = self._imagers.get(key)
        if imager is None:
            imager = VirtualImager(series)
            yield "imager", (key, imager)
        for done, total in imager.iter_run():
            yield "progress", (key, done, total)
        request = ChannelValues(imager, self.detector_state).request(self.channel)
        if request is not None:
            kind, params = request
            order = self._scan_order(imager)
            for done, total in imager.iter_image(kind, order=order, **params):
                yield "progress", (key, done, total)

    def _scan_order(self, imager: VirtualImager) -> list[np.ndarray] | None:
        """Positions of ``imager`` for a detector pass: the scan on screen coarse to fine.

        The navigator then shows a blocky preview of the whole scan after a fraction of its
        frames, refined as the pass goes on (:func:`~napari_tvips._imager.coarse_to_fine`);
        frames outside the scan come last.
        """
        imap = self.index_map
        if imap is None or not self.is_scan or imap.max(initial=0) >= imager.frames.size:
            return None
        flat = imap.reshape(-1)
        return [np.searchsorted(imager.frames, flat[group]) for group in coarse_to_fine(imap.shape)]

    def receive(self, item: tuple[str, Any]) -> None:
        """Store one item of :meth:`iter_pass` (in the thread that owns the model)."""
        kind, payload = item
        if kind == "headers":
            key, headers = payload
            self._headers[key] = headers
        elif kind == "imager":
            key, imager = payload
            self._imagers.setdefault(key, imager)
        else:
            key, done, total = payload
            if key == self.key:
                self.events.progress.emit(done, total)
        self.events.values.emit()

    # -- what the views draw ---------------------------------------------------------------
    @property
    def index_map(self) -> np.ndarray | None:
        """The index map of the layer as last applied."""
        return None if self.record is None else np.asarray(self.record.index_map)

    @property
    def is_scan(self) -> bool:
        """Whether the layer shows a scan (two or more navigation axes)."""
        return self.record is not None and self.record.is_scan

    def navigator_image(self, lead: tuple[int, ...] = ()) -> np.ndarray | None:
        """The virtual image of the scan at extra-navigation position ``lead`` (NaN = not done)."""
        values, imap = self.values(), self.index_map
        if values is None or imap is None or not self.is_scan:
            return None
        if imap.max(initial=0) >= values.n_frames:
            return None
        if imap.ndim > 2:
            lead = (*lead, *(0,) * (imap.ndim - 2 - len(lead)))[: imap.ndim - 2]
            lead = tuple(
                min(max(int(i), 0), n - 1) for i, n in zip(lead, imap.shape[:-2], strict=True)
            )
            imap = imap[lead]
        image = values.image(self.channel, imap)
        return fill_coarse(image) if values.streaming(self.channel) else image

    def traces(self) -> dict[str, np.ndarray]:
        """Named per-frame curves: detector values, then header fields that vary."""
        out: dict[str, np.ndarray] = {}
        values = self.values()
        if values is not None:
            out["total"] = values.channel("total")
            if self.channel != "total":
                out[self.channel] = values.channel(self.channel)
        headers = self._headers.get(self.key, {})
        for name in HEADER_TRACES:
            if name in headers and headers[name].size and np.ptp(headers[name]) > 0:
                out[name] = headers[name]
        return out

    def scan_frames(self) -> tuple[int, int] | None:
        """First and last frame of the scan on screen (``None`` for the stack)."""
        imap = self.index_map
        if imap is None or not self.is_scan or imap.size == 0:
            return None
        return int(imap.min()), int(imap.max())

    def frame_time(self) -> float | None:
        """Seconds between frames, when the headers say (for the trace's time axis)."""
        times = frame_times(self._headers.get(self.key, {}))
        if times is None or times.size < 2:
            return None
        step = float(np.median(np.diff(times)))
        return step if step > 0 else None
