"""Main header and frame headers of a recording to write, from a RosettaSciIO signal dict.

The writer's header synthesis: the signal axes give the main header's pixel size and offsets
(integers in nm or 1/nm) and, when the header cannot hold them exactly or the navigation is a
2-D scan, napari-tvips' calibration block (:class:`~napari_tvips._format.ScanCalibration`);
``metadata`` gives the beam energy, magnification / camera length and per-frame values through
the two-way table of :mod:`napari_tvips._metadata`; ``original_metadata`` gives the headers of
the recording the signal was read from, kept where they still describe the data. A 2-D scan is
numbered in scan order (``rotidx``, EM-Scan ``scan_x``/``scan_y``). Values a header field
cannot hold are changed with a warning that says so. No I/O; byte layouts are in
:mod:`napari_tvips._format`.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._format import (
    CALIBRATION_UNIT_BYTES,
    FRAME_FIELDS,
    WRITER_DUMMY,
    ScanCalibration,
    has_calibration,
    main_header_bytes,
    pack_calibration,
)
from ._metadata import MAIN_METADATA, TEM, frame_values, get_path, start_seconds
from ._units import convert, quantity, unit_kind

__all__ = ["build_main_header", "consistent_header", "frame_columns", "kept_frame_headers"]

logger = logging.getLogger(__name__)

_U32_MAX = 2**32 - 1
_FRAME_NAMES = tuple(f[0] for f in FRAME_FIELDS)

_KEPT_NOTE = " (napari-tvips keeps the exact value in its calibration block; other readers see"


def _header_int(value: float, what: str, kept: bool = False) -> int:
    """An unsigned 32-bit header value from ``value``, warning when it is changed.

    ``kept`` says the exact value is also recorded in the calibration block (said in the warning).
    """
    note = f"{_KEPT_NOTE} the header's)" if kept else ""
    if not math.isfinite(value):
        warnings.warn(f"{what} is {value}; written as 0{note}", UserWarning, stacklevel=4)
        return 0
    if value < 0:
        warnings.warn(
            f"{what} is negative ({value:g}); the TVIPS header field is unsigned, written as 0"
            f"{note}",
            UserWarning,
            stacklevel=4,
        )
        return 0
    rounded = min(round(value), _U32_MAX)
    if not math.isclose(rounded, value, rel_tol=1e-9, abs_tol=1e-6):
        warnings.warn(
            f"{what} {value:g} cannot be stored exactly in the integer TVIPS header field; "
            f"written as {rounded}{note}",
            UserWarning,
            stacklevel=4,
        )
    return int(rounded)


def _fits_header(value: float) -> bool:
    """True when the integer header field holds ``value`` exactly (as ``_header_int`` checks)."""
    if not math.isfinite(value) or value < 0 or value > _U32_MAX:
        return False
    return math.isclose(round(value), value, rel_tol=1e-9, abs_tol=1e-6)


def consistent_header(
    header: Any, frame_shape: tuple[int, int], dtype: np.dtype
) -> Mapping[str, Any] | None:
    """The original main header when it describes frames like the data's, else ``None``."""
    if not isinstance(header, Mapping):
        return None
    try:
        ok = (
            int(header["dimy"]) == frame_shape[0]
            and int(header["dimx"]) == frame_shape[1]
            and int(header["bitsperpixel"]) == dtype.itemsize * 8
        )
    except (KeyError, TypeError, ValueError):
        return None
    return header if ok else None


def _scales(
    axes: Sequence[Mapping[str, Any]], orig: Mapping[str, Any] | None, frame_mode: int
) -> tuple[int, int, int, bool]:
    """``(pixelsize, offsetx, offsety, exact)`` of the main header from the signal axes.

    ``exact`` is true when the header and the frames' mode give back the signal axes (pixel
    size and offsets whole numbers of nm or 1/nm, one size for x and y); otherwise the writer
    records the axes in the calibration block and the warnings say so.
    """
    ax_y, ax_x = (axes[-2], axes[-1]) if axes else ({}, {})
    units = ax_y.get("units")
    kind = unit_kind(units)
    target = {1: "nm", 2: "1/nm"}.get(kind or 0)
    values = []
    for ax, key in ((ax_x, "scale"), (ax_y, "scale"), (ax_x, "offset"), (ax_y, "offset")):
        raw = float(ax.get(key, 1.0 if key == "scale" else 0.0) or 0.0)
        conv = convert(raw, ax.get("units", units), target) if target else None
        values.append(raw if conv is None else conv)
    size_x, size_y, off_x, off_y = values
    same_size = math.isclose(size_x, size_y, rel_tol=1e-6)
    exact = not axes or (
        target is not None
        and kind == frame_mode
        and same_size
        and size_x != 0
        and all(_fits_header(v) for v in values)
    )
    kept = not exact
    if target is None:
        if orig is not None:
            logger.info("signal units %r are not a length; pixel size kept from the header", units)
            return (int(orig["pixelsize"]), int(orig["offsetx"]), int(orig["offsety"]), exact)
        if axes:
            warnings.warn(
                f"signal axis units {units!r} are neither a length nor an inverse length; "
                "pixel size and offsets written as they are to the header (and exactly to "
                "napari-tvips' calibration block)",
                UserWarning,
                stacklevel=3,
            )
    elif not same_size:
        warnings.warn(
            f"TVIPS stores one pixel size; the x scale {size_x:g} is written, the y scale "
            f"{size_y:g} is not{_KEPT_NOTE} the x scale)",
            UserWarning,
            stacklevel=3,
        )
    unit_text = f" {target}" if target else ""
    return (
        _header_int(size_x, f"pixel size{unit_text}", kept),
        _header_int(off_x, f"x offset{unit_text}", kept),
        _header_int(off_y, f"y offset{unit_text}", kept),
        exact,
    )


def _time_step_ms(axes: Sequence[Mapping[str, Any]]) -> float:
    """Time between frames in ms: ``axes[-3]`` if it is a time axis, else 1 ms (as RosettaSciIO)."""
    if len(axes) < 3:
        return 1.0
    ms = convert(float(axes[-3].get("scale", 1.0) or 0.0), axes[-3].get("units"), "ms")
    return 1.0 if ms is None else ms


def kept_frame_headers(
    om: Mapping[str, Any] | None, n: int
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Per-frame header columns to keep, and the values of the frame the metadata describes.

    ``original_metadata["frame_headers"]`` holds one value per frame of the recording that was
    read. Without ``original_metadata["frame_index"]`` it is kept when it has one value per
    frame written; with it (the napari writer passes the layer's index map) the values of those
    frames are kept. The reference values are the recording's frame 0, which the reader turned
    into ``metadata``: a metadata value that differs from them was edited and wins.
    """
    table = get_path(om, "frame_headers")
    if not isinstance(table, Mapping):
        return {}, {}
    index = get_path(om, "frame_index")
    picks = None if index is None else np.asarray(index, dtype=np.int64).reshape(-1)
    kept: dict[str, np.ndarray] = {}
    reference: dict[str, Any] = {}
    for name in _FRAME_NAMES:
        if name not in table:
            continue
        col = np.asarray(table[name])
        if picks is not None and col.ndim == 1 and picks.size == n:
            if n and (picks.min() < 0 or picks.max() >= col.size):
                logger.info("frame_index refers to frames beyond the frame headers; not kept")
                return {}, {}
            kept[name], reference[name] = col[picks], (col[0] if col.size else None)
        elif col.shape == (n,):
            kept[name], reference[name] = col, (col[0] if n else None)
        else:
            logger.info(
                "original frame headers hold %s values for %d frames; not kept", col.shape, n
            )
            return {}, {}
    return kept, reference


def frame_columns(
    signal: Mapping[str, Any],
    mode: int,
    kept: dict[str, np.ndarray],
    reference: dict[str, Any],
    explicit: bool,
    scan_nx: int | None,
) -> dict[str, Any]:
    metadata = signal.get("metadata") or {}
    axes = signal.get("axes") or []
    columns: dict[str, Any] = dict(kept)
    columns.setdefault("num", 0)
    columns.setdefault("rotidx", lambda idx: idx + 1)
    if scan_nx is not None:
        # a scan is written in C order: number it (rotidx, EM-Scan positions) so that
        # rsciio's and our scan_shape="auto" and LiberTEM find it again
        columns["rotidx"] = lambda idx: idx + 1
        columns["scan_x"] = lambda idx: (idx % scan_nx).astype(np.float32)
        columns["scan_y"] = lambda idx: (idx // scan_nx).astype(np.float32)
    if explicit or "mode" not in kept:
        columns["mode"] = mode
    for name, value in frame_values(metadata).items():
        if value is None:
            columns.setdefault(name, 0.0)
            continue
        value = float(value)
        if name in kept and np.float32(value) == np.float32(reference.get(name)):
            continue  # unchanged since read: keep the per-frame values
        columns[name] = value
    start = start_seconds(metadata)
    if "timestamp" in kept:
        stamps = kept["timestamp"].astype(np.int64)
        if (
            get_path(metadata, "General.date") is not None
            and reference.get("timestamp") is not None
        ):
            delta = math.floor(start) - int(reference["timestamp"])
            if delta:
                logger.info("metadata start time moved by %d s; frame timestamps shifted", delta)
                columns["timestamp"] = stamps + delta
    else:
        step = _time_step_ms(axes)
        start_ms = round(start * 1000)

        def total_ms(idx: np.ndarray) -> np.ndarray:
            return start_ms + np.round(idx * step).astype(np.int64)

        columns["timestamp"] = lambda idx: total_ms(idx) // 1000
        if "ms" not in kept:
            columns["ms"] = lambda idx: total_ms(idx) % 1000
    return columns


def _unit_text(units: object, what: str) -> str | None:
    """``units`` as the calibration block holds them (pint's short form when too long)."""
    text = "" if units is None else str(units).strip()
    if len(text.encode("utf-8")) <= CALIBRATION_UNIT_BYTES and "\0" not in text:
        return text
    q = quantity(1.0, text)
    if q is not None:
        short = f"{q.units:~}"
        if len(short.encode("utf-8")) <= CALIBRATION_UNIT_BYTES:
            return short
    warnings.warn(
        f"{what} unit {text!r} is longer than the {CALIBRATION_UNIT_BYTES} bytes the "
        "calibration block holds; not recorded",
        UserWarning,
        stacklevel=5,
    )
    return None


def _number(value: object, default: float) -> float:
    return default if value is None else float(value)  # type: ignore[arg-type]


def _axis_pair(
    ax_y: Mapping[str, Any], ax_x: Mapping[str, Any], what: str
) -> tuple[tuple[float, float] | None, tuple[float, float] | None, str | None]:
    """``(scale, offset, unit)`` of two axes in the y axis' unit, for the calibration block."""
    unit = ax_y.get("units")
    scale = [_number(ax_y.get("scale"), 1.0), _number(ax_x.get("scale"), 1.0)]
    offset = [_number(ax_y.get("offset"), 0.0), _number(ax_x.get("offset"), 0.0)]
    if str(ax_x.get("units") or "") != str(unit or ""):
        conv = [convert(v, ax_x.get("units"), str(unit)) for v in (scale[1], offset[1])]
        if None in conv:
            warnings.warn(
                f"{what} x axis unit {ax_x.get('units')!r} differs from the y axis unit "
                f"{unit!r} and cannot be converted; recorded as if it were {unit!r}",
                UserWarning,
                stacklevel=4,
            )
        else:
            scale[1], offset[1] = conv  # type: ignore[assignment]
    good_scale = all(math.isfinite(v) and v != 0 for v in scale)
    if not good_scale:
        warnings.warn(
            f"{what} scale {tuple(scale)} is zero or not finite; not recorded",
            UserWarning,
            stacklevel=4,
        )
    good_offset = all(math.isfinite(v) for v in offset)
    return (
        (scale[0], scale[1]) if good_scale else None,
        (offset[0], offset[1]) if good_offset else None,
        _unit_text(unit, what),
    )


def _calibration(
    axes: Sequence[Mapping[str, Any]], nav_shape: tuple[int, ...], signal_exact: bool
) -> ScanCalibration | None:
    """What the calibration block records, or ``None`` when the header says it all.

    A block is written for 2-D navigation (the scan shape, step, offset and unit) and whenever
    the header cannot give back the signal axes; it then also holds the signal axes exactly.
    """
    scan = len(nav_shape) == 2
    if not scan and signal_exact:
        return None
    fields: dict[str, Any] = {}
    if scan:
        fields["scan_shape"] = (int(nav_shape[0]), int(nav_shape[1]))
        if len(axes) == 4:
            step, offset, unit = _axis_pair(axes[0], axes[1], "scan")
            fields.update(scan_step=step, scan_offset=offset, scan_unit=unit)
    if len(axes) >= 2:
        scale, offset, unit = _axis_pair(axes[-2], axes[-1], "signal")
        fields.update(signal_scale=scale, signal_offset=offset, signal_unit=unit)
    return ScanCalibration(**fields)


def build_main_header(
    signal: Mapping[str, Any],
    orig: Mapping[str, Any] | None,
    dims: tuple[int, int, np.dtype, int, int],
    modes: tuple[int | None, int],
    nav_shape: tuple[int, ...],
) -> bytes:
    """The main header; ``modes`` are the unit guess (or explicit mode) and the frames' mode."""
    dimy, dimx, dtype, version, fhb = dims
    mode, frame_mode = modes
    metadata = signal.get("metadata") or {}
    axes = signal.get("axes") or []
    pixelsize, offsetx, offsety, exact = _scales(axes, orig, frame_mode)
    filler = WRITER_DUMMY
    if orig is not None and "dummy" in orig and not has_calibration(bytes(orig["dummy"])):
        filler = bytes(orig["dummy"])
    block = _calibration(axes, nav_shape, exact)
    energy = get_path(metadata, f"{TEM}.{MAIN_METADATA['ht']}")
    if energy is not None:
        ht = _header_int(float(energy), "beam energy (kV)")
    else:
        ht = int(orig["ht"]) if orig is not None else 0
    cl = float(get_path(metadata, f"{TEM}.camera_length") or 0)
    mag = float(get_path(metadata, f"{TEM}.{MAIN_METADATA['magtotal']}") or 0)
    if cl and mag:
        magtotal = 0.0
    elif cl and mode == 2:
        magtotal = cl
    elif mag and mode == 1:
        magtotal = mag
    else:
        magtotal = 0.0
    if not magtotal and orig is not None and int(orig["magtotal"]) in (round(mag), round(cl)):
        magtotal = float(orig["magtotal"])  # as read: RosettaSciIO calls magtotal "magnification"
    values: dict[str, object] = {
        "version": version,
        "dimx": dimx,
        "dimy": dimy,
        "bitsperpixel": dtype.itemsize * 8,
        "offsetx": offsetx,
        "offsety": offsety,
        "binx": int(orig["binx"]) if orig is not None else 1,
        "biny": int(orig["biny"]) if orig is not None else 1,
        "pixelsize": pixelsize,
        "ht": ht,
        "magtotal": _header_int(magtotal, "magnification / camera length"),
        "frameheaderbytes": fhb,
        "dummy": filler if block is None else pack_calibration(block, filler),
    }
    return main_header_bytes(values)
