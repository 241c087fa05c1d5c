"""The one builder of napari image-layer arguments for a TVIPS recording.

Reader, sample data and the "TVIPS scan" widget all call :func:`layer_kwargs` /
:func:`layer_data_tuple`, so a layer always carries the same scale, units, axis labels and
record (``metadata["tvips"]``, a :class:`~napari_tvips._record.TvipsRecord`: everything the widget
and the writer need to work without re-reading headers). Pixels are never read here except the
few frames used for the contrast limits.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from .._lazy import FrameArray
from .._metadata import FrameHeaders, build_metadata, frame_times, signal_units
from .._record import KEY, LayoutSource, TvipsRecord
from .._scan import ScanLayout
from .._series import Series
from .._units import known_unit
from ._movie_clock import attach_to_current_viewer
from ._movie_time import stack_time_step

__all__ = ["contrast_limits", "layer_data_tuple", "layer_kwargs", "tvips_record"]

#: Frames sampled for the initial contrast limits (never a pass over the data).
_CONTRAST_FRAMES = 5


def contrast_limits(frames: FrameArray) -> tuple[float, float]:
    """Contrast limits from a few frames spread over the recording (robust percentiles)."""
    flat = frames.index_map.reshape(-1)
    picks = np.unique(
        flat[np.linspace(0, flat.size - 1, min(_CONTRAST_FRAMES, flat.size)).astype(int)]
    )
    sample = frames.series.read_frames(picks)
    lo, hi = (float(v) for v in np.percentile(sample, [0.1, 99.9]))
    if hi <= lo:
        lo, hi = float(sample.min()), float(sample.max())
    if hi <= lo:
        hi = lo + 1.0
    return lo, hi


def _reciprocal(unit: str) -> bool:
    return unit.replace(" ", "").startswith("1/")


def _signal_axes(
    series: Series, first: dict[str, np.ndarray]
) -> tuple[list[float], list[str], list[str]]:
    """Pixel size, units and labels of the frame axes (the calibration block's when saved)."""
    cal = series.calibration
    if cal is not None and cal.signal_scale is not None:
        unit = cal.signal_unit or "pixel"
        labels = ["ky", "kx"] if _reciprocal(unit) else ["y", "x"]
        return [float(v) for v in cal.signal_scale], [unit, unit], labels
    unit = signal_units(first)
    labels = ["ky", "kx"] if _reciprocal(unit) else ["y", "x"]
    size = float(series.header.pixelsize)
    if size > 0:
        return [size, size], [unit, unit], labels
    return [1.0, 1.0], ["pixel", "pixel"], labels


def _shown_units(series: Series, units: list[str]) -> list[str]:
    """``units``, with any napari cannot parse shown as ``"pixel"`` (a warning names it)."""
    shown = []
    for unit in units:
        if unit != "pixel" and not known_unit(unit):
            warnings.warn(
                f"{series.parts[0].path}: unit {unit!r} is not one napari understands; the "
                "axes show pixel (the value is kept in the layer's metadata)",
                UserWarning,
                stacklevel=3,
            )
            unit = "pixel"
        shown.append(unit)
    return shown


def _translate(series: Series, nav_shape: tuple[int, ...], scan: bool) -> list[float] | None:
    """Axis offsets the calibration block recorded (``None`` when all are 0)."""
    cal = series.calibration
    nav = [0.0] * len(nav_shape)
    sig = [0.0, 0.0]
    if cal is not None:
        if scan and cal.scan_offset is not None and nav_shape[-2:] == cal.scan_shape:
            nav[-2:] = [float(v) for v in cal.scan_offset]
        if cal.signal_offset is not None:
            sig = [float(v) for v in cal.signal_offset]
    out = nav + sig
    return out if any(out) else None


def tvips_record(
    series: Series,
    index_map: np.ndarray,
    layout: ScanLayout | None,
    first: dict[str, np.ndarray] | None = None,
    **calibration: Any,
) -> TvipsRecord:
    """The :class:`TvipsRecord` of a layer: recording, headers, layout and index map.

    ``first`` are the header fields of frames 0 and 1 when the caller has them already;
    ``calibration`` holds the record's remaining fields (``layout_source``, ``scan_step``, ...).
    """
    if first is None:
        first = series.headers_at(range(min(series.n_frames, 2)))
    times = frame_times(first)
    return TvipsRecord(
        series=series,
        index_map=index_map,
        layout=layout,
        header=series.header.as_dict(),
        frame_headers=FrameHeaders(series),
        metadata=build_metadata(series, first),
        start_time=float(times[0]) if times is not None else None,
        **calibration,
    )


def layer_kwargs(
    series: Series,
    layout: ScanLayout | None = None,
    *,
    index_map: np.ndarray | None = None,
    source: LayoutSource | None = None,
    scan_step: float | tuple[float, float] | None = None,
    scan_unit: str = "pixel",
    signal_scale: float | None = None,
    signal_unit: str | None = None,
    limits: tuple[float, float] | None = None,
) -> tuple[FrameArray, dict[str, Any]]:
    """Data and keyword arguments of an image layer showing ``series`` with ``layout``.

    Parameters
    ----------
    series : Series
        The recording.
    layout : ScanLayout, optional
        Scan layout; ``None`` (or a stack layout) shows the frame stack.
    index_map : numpy.ndarray, optional
        Explicit index map (e.g. from ``"auto"`` rotidx detection); overrides ``layout``.
    source : {"stack", "manual", "headers"}, optional
        Where the layout comes from (default: ``"headers"`` for an explicit index map, else
        ``"stack"`` or ``"manual"``).
    scan_step, scan_unit : float or (float, float), str
        Calibration of the scan axes (``(y, x)`` steps when they differ).
    signal_scale, signal_unit : float, str, optional
        Pixel size and unit of the frames (default: from the main header).
    limits : tuple of float, optional
        Contrast limits to keep; computed from a few frames when omitted.

    Returns
    -------
    tuple
        ``(FrameArray, kwargs)`` for ``viewer.add_image`` or a reader's layer tuple.
    """
    layout = layout or ScanLayout()
    imap = index_map if index_map is not None else layout.index_map(series.n_frames)
    data = FrameArray(series, imap)
    first = series.headers_at(range(min(series.n_frames, 2)))
    sig_scale, sig_units, sig_labels = _signal_axes(series, first)
    if signal_scale:
        sig_scale, sig_units = [float(signal_scale)] * 2, [signal_unit or "pixel"] * 2
    if source is None:
        source = "headers" if index_map is not None else "stack" if layout.is_stack else "manual"
    scan = index_map is not None or not layout.is_stack
    if not scan:
        step = stack_time_step(series) if "timestamp" in first else 0.0
        if step > 0:
            nav_scale, nav_units, nav_labels = [step], ["s"], ["time"]
            attach_to_current_viewer()  # the recorded time of the frame on screen
        else:
            nav_scale, nav_units, nav_labels = [1.0], ["pixel"], ["frame"]
    else:
        n = imap.ndim
        extra = [f"nav_{i}" for i in range(max(n - 2, 0))]
        nav_labels = [*extra, "scan_y", "scan_x"][-n:]
        steps = list(np.broadcast_to(np.asarray(scan_step or 1.0, dtype=float), (2,)))
        nav_scale = [1.0] * max(n - 2, 0) + [float(v) for v in steps][-min(n, 2) :]
        nav_units = ["pixel"] * max(n - 2, 0) + [scan_unit if scan_step else "pixel"] * min(n, 2)
    translate = _translate(series, imap.shape, scan) or [0.0] * (imap.ndim + 2)
    shown_nav_scale = [
        reachable_step(size, step, start)
        for size, step, start in zip(imap.shape, nav_scale, translate, strict=False)
    ]
    kwargs: dict[str, Any] = {
        "name": series.name,
        "scale": shown_nav_scale + sig_scale,
        "units": _shown_units(series, nav_units + sig_units),
        "axis_labels": nav_labels + sig_labels,
        "contrast_limits": list(limits) if limits is not None else list(contrast_limits(data)),
        "translate": translate,
        "metadata": {
            KEY: tvips_record(
                series,
                imap,
                None if index_map is not None else layout,
                first,
                layout_source=source,
                scan_step=(nav_scale[-2], nav_scale[-1])
                if scan and scan_step and imap.ndim >= 2
                else None,
                scan_unit=scan_unit if scan and scan_step else None,
                signal_scale=(sig_scale[0], sig_scale[1]) if sig_units[0] != "pixel" else None,
                signal_unit=sig_units[0] if sig_units[0] != "pixel" else None,
            )
        },
    }
    return data, kwargs


def reachable_step(n: int, step: float, start: float = 0.0) -> float:
    """``step``, or the nearest larger float with which napari's slider reaches all ``n`` positions.

    napari 0.9 counts an axis's slider positions as ``int((stop - start) / step) + 1`` with
    ``stop = start + (n - 1) * step``; for steps that are not exact in binary (0.1 nm, say) the
    quotient can fall just below ``n - 1`` and the last scan row or column cannot be reached.
    A step a few units in the last place larger (relative changes of 1e-16, more only when the
    axis starts far from 0 relative to its step) avoids that.
    """
    s = float(step)
    if n < 2 or not s > 0 or not math.isfinite(s) or not math.isfinite(start):
        return s
    for i in range(40):  # relative changes of 2**-52, 2**-51, ... up to about 1e-4
        candidate = s * (1.0 + math.ldexp(1.0, i - 53)) if i else s
        if int(((start + (n - 1) * candidate) - start) / candidate) + 1 >= n:
            return candidate
    return s


def layer_data_tuple(
    series: Series, layout: ScanLayout | None = None, **kwargs: Any
) -> tuple[Any, dict[str, Any], str]:
    """A napari ``LayerDataTuple`` ``(data, kwargs, "image")`` (see :func:`layer_kwargs`)."""
    data, kw = layer_kwargs(series, layout, **kwargs)
    return data, kw, "image"
