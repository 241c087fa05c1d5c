"""RosettaSciIO-style axes and metadata for a recording, shared by the Python API and napari.

Given a :class:`~napari_tvips._series.Series` and the navigation layout, this module builds the
``axes`` list and the ``metadata`` / ``original_metadata`` dictionaries exactly as
``rsciio.tvips.file_reader`` derives them from the headers (names, units, scales, offsets), with
the deliberate differences of design.md section 5 (UTC timestamps labelled UTC, one-frame stacks,
1-D scans, all frame headers exposed). No I/O beyond the headers of the first two frames.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from typing import Any

import numpy as np

from ._series import Series

__all__ = ["FrameHeaders", "build_axes", "build_metadata", "frame_times", "signal_units"]


class FrameHeaders(Mapping[str, np.ndarray]):
    """All frame header fields of a recording, read on first access (lazy loads stay cheap).

    Behaves as a read-only ``dict`` of 1-D arrays, one per field, one value per frame.
    """

    def __init__(self, series: Series) -> None:
        self._series = series

    def _table(self) -> dict[str, np.ndarray]:
        return self._series.frame_headers()

    def __getitem__(self, key: str) -> np.ndarray:
        return self._table()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())

    def __repr__(self) -> str:
        return f"FrameHeaders({self._series.n_frames} frames of {self._series!r})"


def signal_units(first: Mapping[str, np.ndarray]) -> str:
    """``1/nm`` for diffraction frames (mode 2), ``nm`` otherwise, as RosettaSciIO decides."""
    mode = first.get("mode")
    return "1/nm" if mode is not None and int(mode[0]) == 2 else "nm"


def frame_times(fields: Mapping[str, np.ndarray]) -> np.ndarray | None:
    """Seconds since the epoch (``timestamp + ms / 1000``) of the given frame header fields."""
    if "timestamp" not in fields:
        return None
    ms = fields.get("ms", np.zeros_like(fields["timestamp"]))
    return fields["timestamp"] + ms / 1000


def build_axes(
    series: Series,
    nav_shape: tuple[int, ...] | None,
    first: Mapping[str, np.ndarray],
) -> list[dict[str, Any]]:
    """RosettaSciIO's ``axes`` list.

    Parameters
    ----------
    series : Series
        The recording.
    nav_shape : tuple of int or None
        Scan shape, or ``None`` for the frame stack.
    first : mapping
        Header fields of frames 0 and 1 (1 for a one-frame recording).

    Notes
    -----
    A recording napari-tvips wrote may hold a calibration block (:attr:`Series.calibration`):
    its exact signal pixel size, offsets and unit replace the header's integers, and its scan
    step, offset and unit label the navigation axes when ``nav_shape`` is its scan shape.
    """
    h = series.header
    cal = series.calibration
    unit = signal_units(first)
    sig_names, sig_units = ["dy", "dx"], [unit, unit]
    sig_scales: list[float] = [h.pixelsize, h.pixelsize]
    sig_offsets: list[float] = [h.offsety, h.offsetx]
    if cal is not None:  # written by napari-tvips: the exact values
        if cal.signal_scale is not None:
            sig_scales = list(cal.signal_scale)
        if cal.signal_offset is not None:
            sig_offsets = list(cal.signal_offset)
        if cal.signal_unit is not None:
            sig_units = [cal.signal_unit, cal.signal_unit]
    if nav_shape is None:
        times = frame_times(first)
        if times is None:  # version 1 files without timestamps: frame numbers
            scale, offset, nav_unit = 1.0, 0.0, ""
        else:
            scale = float(times[1] - times[0]) if times.size > 1 else 1.0
            offset, nav_unit = float(times[0]), "s"
        names, units = ["time"], [nav_unit]
        scales, offsets, shape = [scale], [offset], (series.n_frames,)
    else:
        extra = len(nav_shape) - 2
        names = ([""] * extra + ["y", "x"])[-len(nav_shape) :]
        units = ([""] * extra + ["nm", "nm"])[-len(nav_shape) :]
        scales, offsets, shape = [1] * len(nav_shape), [0] * len(nav_shape), tuple(nav_shape)
        if cal is not None and cal.scan_shape is not None and shape == cal.scan_shape:
            if cal.scan_step is not None:
                scales = list(cal.scan_step)
            if cal.scan_offset is not None:
                offsets = list(cal.scan_offset)
            if cal.scan_unit is not None:
                units = [cal.scan_unit, cal.scan_unit]
    n_nav = len(shape)
    names += sig_names
    units += sig_units
    scales += sig_scales
    offsets += sig_offsets
    full = shape + series.frame_shape
    return [
        {
            "size": int(full[i]),
            "index_in_array": i,
            "name": names[i],
            "scale": scales[i],
            "offset": offsets[i],
            "units": units[i],
            "navigate": i < n_nav,
        }
        for i in range(len(full))
    ]


def build_metadata(series: Series, first: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """RosettaSciIO's ``metadata`` dict from the main header and frame 0's header.

    Fields the frame headers do not hold (version 1 files) are left out rather than invented.
    """
    h = series.header
    general: dict[str, Any] = {"original_filename": series.parts[0].path.rsplit("/", 1)[-1]}
    if "timestamp" in first:
        when = datetime.fromtimestamp(int(first["timestamp"][0]), tz=timezone.utc)
        general.update(date=when.date().isoformat(), time=when.time().isoformat(), time_zone="UTC")
    tem: dict[str, Any] = {"magnification": np.uint32(h.magtotal), "beam_energy": np.uint32(h.ht)}
    if "fcurrent" in first:
        tem["beam_current"] = first["fcurrent"][0]
    if "objective" in first:
        tem["defocus"] = first["objective"][0]
    stage = {
        key: first[field][0]
        for key, field in (
            ("tilt_alpha", "stagea"),
            ("tilt_beta", "stageb"),
            ("x", "stagex"),
            ("y", "stagey"),
            ("z", "stagez"),
        )
        if field in first
    }
    if stage:
        tem["Stage"] = stage
    metadata: dict[str, Any] = {"General": general, "Acquisition_instrument": {"TEM": tem}}
    if "mode" in first and int(first["mode"][0]) == 2:
        metadata["Signal"] = {"signal_type": "diffraction"}
    return metadata
