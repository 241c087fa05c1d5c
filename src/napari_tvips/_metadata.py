"""RosettaSciIO-style axes and metadata for a recording, shared by the Python API and napari.

Given a :class:`~napari_tvips._series.Series` and the navigation layout, this module builds the
``axes`` list and the ``metadata`` / ``original_metadata`` dictionaries exactly as
``rsciio.tvips.file_reader`` derives them from the headers (names, units, scales, offsets), with
the deliberate differences of design.md section 5 (UTC timestamps labelled UTC, one-frame stacks,
1-D scans, all frame headers exposed). No I/O beyond the headers of the first two frames.

It also holds the mapping between metadata and header fields in both directions, in one table
(:data:`FRAME_METADATA`, :data:`MAIN_METADATA`): the reader fills ``metadata`` from it, the writer
(:mod:`napari_tvips._headers`) takes header values from ``metadata`` through it
(:func:`frame_values`), and the start time through :func:`start_seconds`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from ._series import Series

__all__ = [
    "FRAME_METADATA",
    "MAIN_METADATA",
    "TEM",
    "FrameHeaders",
    "build_axes",
    "build_metadata",
    "frame_times",
    "frame_values",
    "get_path",
    "parse_time_zone",
    "signal_units",
    "start_seconds",
]

#: Where RosettaSciIO keeps the microscope's values in ``metadata``.
TEM = "Acquisition_instrument.TEM"
#: Frame header field <-> ``metadata`` path(s) under :data:`TEM`, the one table both directions
#: use: the reader writes frame 0's value to the first path; the writer reads the first path
#: that is set (``tilt_alpha``/``tilt_beta`` directly under TEM are where RosettaSciIO's writer
#: looks for the tilts).
FRAME_METADATA: dict[str, tuple[str, ...]] = {
    "fcurrent": ("beam_current",),
    "objective": ("defocus",),
    "stagea": ("Stage.tilt_alpha", "tilt_alpha"),
    "stageb": ("Stage.tilt_beta", "tilt_beta"),
    "stagex": ("Stage.x",),
    "stagey": ("Stage.y",),
    "stagez": ("Stage.z",),
}
#: Main header field <-> ``metadata`` path under :data:`TEM`. The writer also puts
#: ``camera_length`` in ``magtotal`` for diffraction (RosettaSciIO's rule, in ``_headers``).
MAIN_METADATA: dict[str, str] = {"magtotal": "magnification", "ht": "beam_energy"}

_OFFSET_RE = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)


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
    tem: dict[str, Any] = {key: np.uint32(getattr(h, name)) for name, key in MAIN_METADATA.items()}
    for name, paths in FRAME_METADATA.items():
        if name in first:
            *parents, key = paths[0].split(".")
            node = tem
            for parent in parents:
                node = node.setdefault(parent, {})
            node[key] = first[name][0]
    metadata: dict[str, Any] = {"General": general, "Acquisition_instrument": {"TEM": tem}}
    if "mode" in first and int(first["mode"][0]) == 2:
        metadata["Signal"] = {"signal_type": "diffraction"}
    return metadata


def get_path(tree: Mapping[str, Any] | None, path: str) -> Any:
    """``tree["A"]["B"]["C"]`` for ``path="A.B.C"``, or ``None``."""
    node: Any = tree
    for key in path.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def frame_values(metadata: Mapping[str, Any] | None) -> dict[str, float | None]:
    """The frame header values ``metadata`` sets (:data:`FRAME_METADATA`), ``None`` if unset."""
    out: dict[str, float | None] = {}
    for name, paths in FRAME_METADATA.items():
        value = next(
            (v for p in paths if (v := get_path(metadata, f"{TEM}.{p}")) is not None), None
        )
        out[name] = None if value is None else float(value)
    return out


def parse_time_zone(name: object) -> tzinfo:
    """The time zone named by RosettaSciIO's ``General.time_zone``.

    Parameters
    ----------
    name : str or None
        An IANA name (``"CET"``, ``"Europe/Berlin"``, ``"UTC"``) or an offset (``"+01:00"``,
        ``"-0500"``, ``"UTC+2"``); ``None`` or ``""`` mean UTC.

    Returns
    -------
    datetime.tzinfo

    Raises
    ------
    ValueError
        If the name is not a known zone (the message names it).
    """
    text = "" if name is None else str(name).strip()
    if text.upper() in ("", "UTC", "GMT", "Z"):
        return timezone.utc
    match = _OFFSET_RE.match(text)
    if match:
        sign = -1 if match[1] == "-" else 1
        delta = timedelta(hours=int(match[2]), minutes=int(match[3] or 0))
        if delta < timedelta(hours=24):
            return timezone(sign * delta)
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    raise ValueError(
        f"unknown time zone {text!r} in metadata General.time_zone: use an IANA name such as "
        "'Europe/Berlin', 'CET' or 'UTC', or an offset such as '+01:00'"
    )


def start_seconds(metadata: Mapping[str, Any] | None) -> float:
    """Seconds since the epoch of ``General.date`` + ``General.time`` in ``General.time_zone``."""
    date = get_path(metadata, "General.date") or "1970-01-01"
    clock = get_path(metadata, "General.time") or "00:00:00"
    zone = get_path(metadata, "General.time_zone")
    try:
        when = datetime.fromisoformat(f"{date}T{clock}")
    except ValueError as exc:
        raise ValueError(
            f"metadata General.date {date!r} / General.time {clock!r} are not ISO dates and times "
            "(YYYY-MM-DD, HH:MM:SS)"
        ) from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=parse_time_zone(zone))
    return when.timestamp()
