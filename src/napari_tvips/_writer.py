"""Write TVIPS recordings: :func:`file_writer`, RosettaSciIO's writer arguments and signal dict.

This module turns an array (NumPy, dask, :class:`~napari_tvips.FrameArray` or any array-like with
``shape``, ``dtype`` and ``__getitem__``) plus RosettaSciIO-style ``axes`` / ``metadata`` /
``original_metadata`` into a main header and per-frame headers, splits the frames into parts of
at most ``max_file_size`` bytes, and writes them safely:

1. every part is written to a hidden temporary file in the target folder with ``os.pwritev`` of
   (frame header, frame) iovec pairs, many frames per call, never interleaving copies;
2. only when every byte is written are the temporaries renamed over the old parts and
   higher-numbered parts of an older recording of the same name removed, by
   :func:`napari_tvips._install.installing` (a failure while renaming restores the old set).

Any failure (exception, full disk, ``KeyboardInterrupt``) leaves the previous set untouched and no
temporary files behind. Because nothing is renamed before all data is written, the data may be
read lazily from the very files being replaced. Byte layouts come from :mod:`napari_tvips._format`;
this module holds no napari or Qt code.
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from ._format import (
    CALIBRATION_UNIT_BYTES,
    FRAME_FIELDS,
    MAIN_HEADER_BYTES,
    RSCIIO_FRAME_HEADER_BYTES,
    SUPPORTED_BITS_PER_PIXEL,
    V1_FRAME_HEADER_BYTES,
    WRITER_DUMMY,
    ScanCalibration,
    frame_fields_end,
    frame_header_dtype,
    has_calibration,
    main_header_bytes,
    pack_calibration,
)
from ._install import installing

__all__ = ["file_writer", "parse_time_zone", "part_paths"]

logger = logging.getLogger(__name__)

#: Frames per ``pwritev`` call (two iovecs each; Linux IOV_MAX is 1024).
_FRAMES_PER_CALL = 512
#: Bytes fetched at once from lazy array-likes (two such blocks are in memory at most).
_BLOCK_BYTES = 32 << 20
_U32_MAX = 2**32 - 1
_OFFSET_RE = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)
_FRAME_NAMES = tuple(f[0] for f in FRAME_FIELDS)


# -- small helpers -----------------------------------------------------------------------------
@cache
def _ureg() -> Any:
    import pint

    return pint.UnitRegistry()


def _quantity(value: float, units: object) -> Any | None:
    """``value * units`` as a pint quantity, or ``None`` when the units are not understood."""
    if units is None or not isinstance(units, str) or not units.strip():
        return None
    try:
        return _ureg().Quantity(float(value), units)
    except Exception:  # pint raises several unrelated types for unparsable strings
        return None


def _convert(value: float, units: object, target: str) -> float | None:
    q = _quantity(value, units)
    if q is None:
        return None
    try:
        return float(q.to(target).magnitude)
    except Exception:
        return None


def _unit_kind(units: object) -> int | None:
    """1 for lengths, 2 for inverse lengths, ``None`` otherwise (RosettaSciIO's mode guess)."""
    q = _quantity(1.0, units)
    if q is None:
        return None
    if q.is_compatible_with("m"):
        return 1
    if q.is_compatible_with("1/m"):
        return 2
    return None


def _get(tree: Mapping[str, Any] | None, path: str) -> Any:
    """``tree["A"]["B"]["C"]`` for ``path="A.B.C"``, or ``None``."""
    node: Any = tree
    for key in path.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


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


def _start_seconds(metadata: Mapping[str, Any] | None) -> float:
    """Seconds since the epoch of ``General.date`` + ``General.time`` in ``General.time_zone``."""
    date = _get(metadata, "General.date") or "1970-01-01"
    clock = _get(metadata, "General.time") or "00:00:00"
    zone = _get(metadata, "General.time_zone")
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


def part_paths(filename: str | os.PathLike[str], n_parts: int) -> list[str]:
    """The part names ``base_000.tvips ... `` for ``filename`` (a trailing ``_000`` is dropped).

    A name without the ``.tvips`` extension (any case) gets it appended.
    """
    path = os.fspath(filename)
    root, ext = os.path.splitext(path)
    if ext.lower() != ".tvips":
        root, ext = path, ".tvips"
    if root.endswith("_000"):
        root = root[:-4]
    return [f"{root}_{i:03d}{ext}" for i in range(n_parts)]


# -- the plan: everything decided before the first byte is written -----------------------------
@dataclass
class _Plan:
    nav_shape: tuple[int, ...]
    frame_shape: tuple[int, int]
    dtype: np.dtype
    version: int
    frame_header_bytes: int
    main_header: bytes
    columns: dict[str, Any]
    part_frames: list[int]
    paths: list[str] = field(default_factory=list)

    @property
    def n_frames(self) -> int:
        return math.prod(self.nav_shape)

    @property
    def record_bytes(self) -> int:
        return (
            self.frame_header_bytes
            + self.frame_shape[0] * self.frame_shape[1] * self.dtype.itemsize
        )

    def headers(self, idx: np.ndarray) -> np.ndarray:
        """Frame headers of the frames ``idx`` (global indices) as a structured array."""
        dt = frame_header_dtype(self.frame_header_bytes)
        out = np.zeros(idx.size, dtype=dt)
        for name, col in self.columns.items():
            if name not in (dt.names or ()):
                continue
            if callable(col):
                out[name] = col(idx)
            elif isinstance(col, np.ndarray):
                out[name] = col[idx]
            else:
                out[name] = col
        return out


def _check_data(data: Any, axes: Sequence[Mapping[str, Any]]) -> tuple[tuple[int, ...], np.dtype]:
    shape = tuple(int(n) for n in data.shape)
    if axes and all("navigate" in a for a in axes):
        n_sig = sum(1 for a in axes if not a["navigate"])
    else:
        n_sig = min(len(shape), 2)
    if n_sig != 2 or len(shape) < 2:
        raise ValueError(
            "Only Signal2D supported for writing to TVIPS file: TVIPS stores stacks of 2-D "
            f"frames, but this signal has {n_sig} signal dimension(s) (data shape {shape})"
        )
    if axes and len(axes) != len(shape):
        raise ValueError(f"signal has {len(axes)} axes but its data has shape {shape}")
    dtype = np.dtype(data.dtype)
    if dtype.kind != "u" or dtype.itemsize * 8 not in SUPPORTED_BITS_PER_PIXEL:
        raise TypeError(
            f"TVIPS stores unsigned integer pixels (uint8, uint16, uint32, uint64), not {dtype}: "
            "convert first, e.g. np.clip(data, 0, 65535).astype(np.uint16), or for a signal "
            "s.change_dtype('uint16') after clipping; writing the raw bytes would read back as "
            "garbage"
        )
    return shape, dtype


def _consistent_header(
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
    kind = _unit_kind(units)
    target = {1: "nm", 2: "1/nm"}.get(kind or 0)
    values = []
    for ax, key in ((ax_x, "scale"), (ax_y, "scale"), (ax_x, "offset"), (ax_y, "offset")):
        raw = float(ax.get(key, 1.0 if key == "scale" else 0.0) or 0.0)
        conv = _convert(raw, ax.get("units", units), target) if target else None
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
    ms = _convert(float(axes[-3].get("scale", 1.0) or 0.0), axes[-3].get("units"), "ms")
    return 1.0 if ms is None else ms


def _kept_frame_headers(
    om: Mapping[str, Any] | None, n: int
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Per-frame header columns to keep, and the values of the frame the metadata describes.

    ``original_metadata["frame_headers"]`` holds one value per frame of the recording that was
    read. Without ``original_metadata["frame_index"]`` it is kept when it has one value per
    frame written; with it (the napari writer passes the layer's index map) the values of those
    frames are kept. The reference values are the recording's frame 0, which the reader turned
    into ``metadata``: a metadata value that differs from them was edited and wins.
    """
    table = _get(om, "frame_headers")
    if not isinstance(table, Mapping):
        return {}, {}
    index = _get(om, "frame_index")
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


def _frame_columns(
    signal: Mapping[str, Any],
    mode: int,
    kept: dict[str, np.ndarray],
    reference: dict[str, Any],
    explicit: bool,
    scan_nx: int | None,
) -> dict[str, Any]:
    metadata = signal.get("metadata") or {}
    axes = signal.get("axes") or []
    tem = "Acquisition_instrument.TEM."
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
    sources = {
        "stagex": ("Stage.x",),
        "stagey": ("Stage.y",),
        "stagez": ("Stage.z",),
        "stagea": ("Stage.tilt_alpha", "tilt_alpha"),
        "stageb": ("Stage.tilt_beta", "tilt_beta"),
        "fcurrent": ("beam_current",),
        "objective": ("defocus",),
    }
    for name, paths in sources.items():
        value = next((v for p in paths if (v := _get(metadata, tem + p)) is not None), None)
        if value is None:
            columns.setdefault(name, 0.0)
            continue
        value = float(value)
        if name in kept and np.float32(value) == np.float32(reference.get(name)):
            continue  # unchanged since read: keep the per-frame values
        columns[name] = value
    start = _start_seconds(metadata)
    if "timestamp" in kept:
        stamps = kept["timestamp"].astype(np.int64)
        if _get(metadata, "General.date") is not None and reference.get("timestamp") is not None:
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
    q = _quantity(1.0, text)
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
        conv = [_convert(v, ax_x.get("units"), str(unit)) for v in (scale[1], offset[1])]
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


def _main_header(
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
    tem = "Acquisition_instrument.TEM."
    energy = _get(metadata, tem + "beam_energy")
    if energy is not None:
        ht = _header_int(float(energy), "beam energy (kV)")
    else:
        ht = int(orig["ht"]) if orig is not None else 0
    cl = float(_get(metadata, tem + "camera_length") or 0)
    mag = float(_get(metadata, tem + "magnification") or 0)
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


def _split(n: int, record: int, max_file_size: int | None) -> list[int]:
    """Frames per part, as RosettaSciIO splits (at least one frame per part, with a warning)."""
    if max_file_size is None:
        return [n]
    minimum = MAIN_HEADER_BYTES + record
    if max_file_size < minimum:
        warnings.warn(
            f"The minimum file size for this dataset is {minimum} bytes (main header and one "
            f"frame); max_file_size={max_file_size} raised to it",
            UserWarning,
            stacklevel=3,
        )
        max_file_size = minimum
    parts, left, header = [], n, MAIN_HEADER_BYTES
    while left > 0:
        take = min(max((max_file_size - header) // record, 1), left)
        parts.append(take)
        left -= take
        header = 0
    return parts


def _plan(
    filename: str | os.PathLike[str],
    signal: Mapping[str, Any],
    max_file_size: int | None,
    version: int,
    extra: int,
    mode: int | None,
) -> _Plan:
    if version not in (1, 2):
        raise ValueError(f"TVIPS file version must be 1 or 2, not {version!r}")
    if extra < 0:
        raise ValueError(f"frame_header_extra_bytes must be >= 0, not {extra}")
    if mode is not None and mode not in (1, 2):
        raise ValueError(f"mode must be 1 (imaging), 2 (diffraction) or None, not {mode!r}")
    data = signal["data"]
    axes = list(signal.get("axes") or [])
    shape, dtype = _check_data(data, axes)
    nav_shape, frame_shape = shape[:-2], (shape[-2], shape[-1])
    n = math.prod(nav_shape)
    om = signal.get("original_metadata") or {}
    orig = _consistent_header(_get(om, "tvips_header"), frame_shape, dtype)
    guessed = _unit_kind(axes[-2].get("units")) if axes else None
    frame_mode = mode if mode is not None else (guessed or 2)
    kept, reference = _kept_frame_headers(om, n)
    if version == 1:
        if extra:
            warnings.warn(
                "version 1 frame headers are 12 bytes; frame_header_extra_bytes ignored",
                UserWarning,
                stacklevel=3,
            )
        fhb = V1_FRAME_HEADER_BYTES
    else:
        fhb = max(RSCIIO_FRAME_HEADER_BYTES + extra, frame_fields_end(kept))
        if orig is not None and int(orig.get("version", 2)) == 2:
            fhb = max(fhb, int(orig["frameheaderbytes"]))
    scan_nx = nav_shape[1] if len(nav_shape) == 2 else None
    columns = _frame_columns(signal, frame_mode, kept, reference, mode is not None, scan_nx)
    field_fhb = fhb
    if version == 1 and orig is not None and int(orig.get("version", 0)) == 1:
        field_fhb = int(orig["frameheaderbytes"])  # unused by readers; kept as read
    header = _main_header(
        signal, orig, (*frame_shape, dtype, version, field_fhb), (mode or guessed, frame_mode),
        nav_shape,
    )  # fmt: skip
    plan = _Plan(nav_shape, frame_shape, dtype, version, fhb, header, columns, [])
    plan.part_frames = _split(n, plan.record_bytes, max_file_size)
    plan.paths = part_paths(filename, len(plan.part_frames))
    return plan


# -- writing -----------------------------------------------------------------------------------
def _pwritev_all(fd: int, buffers: list[memoryview], offset: int) -> None:
    """``pwritev`` until every buffer is written (a short write continues where it stopped)."""
    while buffers:
        done = os.pwritev(fd, buffers, offset)
        if done <= 0:
            raise OSError(f"pwritev wrote {done} bytes")
        offset += done
        while buffers and done >= len(buffers[0]):
            done -= len(buffers[0])
            buffers = buffers[1:]
        if buffers and done:
            buffers = [buffers[0][done:], *buffers[1:]]


class _RecordWriter:
    """Writes frames by global index into the temporary parts; also a ``dask.store`` target."""

    def __init__(self, plan: _Plan, fds: list[int], progress: Any) -> None:
        self.plan = plan
        self.fds: list[int] | None = fds
        self.progress = progress
        self.lock = threading.Lock()
        self.flat = np.arange(plan.n_frames, dtype=np.int64).reshape(plan.nav_shape)
        self.starts = np.concatenate([[0], np.cumsum(plan.part_frames)]).astype(np.int64)
        self.dtype = plan.dtype.newbyteorder("<")

    def __setitem__(self, key: tuple[slice, ...], value: np.ndarray) -> None:
        nav = tuple(key[: len(self.plan.nav_shape)])
        self.write(np.ravel(self.flat[nav]), value)

    def write(self, idx: np.ndarray, frames: Any) -> None:
        """Write ``frames`` (anything reshapeable to ``(len(idx), dimy, dimx)``) at ``idx``."""
        block = np.ascontiguousarray(np.asarray(frames), dtype=self.dtype)
        block = block.reshape(idx.size, -1).view(np.uint8)
        record, fhb = self.plan.record_bytes, self.plan.frame_header_bytes
        # runs of consecutive frames in one part, at most _FRAMES_PER_CALL long
        breaks = np.flatnonzero(np.diff(idx) != 1) + 1
        for run in np.split(np.arange(idx.size), breaks):
            pos = 0
            while pos < run.size:
                first = int(idx[run[pos]])
                part = int(np.searchsorted(self.starts, first, side="right")) - 1
                room = int(self.starts[part + 1]) - first
                take = min(run.size - pos, room, _FRAMES_PER_CALL)
                rows = run[pos : pos + take]
                heads = self.plan.headers(idx[rows]).view(np.uint8).reshape(take, fhb)
                buffers: list[memoryview] = []
                for j, r in enumerate(rows):
                    buffers.append(memoryview(heads[j]))
                    buffers.append(memoryview(block[r]))
                offset = (MAIN_HEADER_BYTES if part == 0 else 0) + (
                    first - int(self.starts[part])
                ) * record
                with self.lock:
                    if self.fds is None:
                        raise RuntimeError("writing was aborted")
                    _pwritev_all(self.fds[part], buffers, offset)
                    self.progress.update(take)
                pos += take

    def close(self) -> None:
        """Close the files (waits for a write in progress in another thread)."""
        with self.lock:
            fds, self.fds = self.fds, None
        for fd in fds or ():
            os.close(fd)


def _is_dask(data: Any) -> bool:
    return type(data).__module__.startswith("dask") and hasattr(data, "chunks")


def _tiles(nav_shape: tuple[int, ...], per_block: int) -> Iterator[tuple[slice, ...]]:
    """Blocks of the navigation space in C order, each at most ``per_block`` frames."""
    if not nav_shape:
        yield ()
        return
    inner, axis = 1, len(nav_shape)
    while axis > 0 and inner * nav_shape[axis - 1] <= per_block:
        axis -= 1
        inner *= nav_shape[axis]
    if axis == 0:
        yield tuple(slice(0, n) for n in nav_shape)
        return
    axis -= 1
    step = max(1, per_block // inner)
    rest = tuple(slice(0, n) for n in nav_shape[axis + 1 :])
    for lead in np.ndindex(*nav_shape[:axis]):
        for s in range(0, nav_shape[axis], step):
            head = tuple(slice(i, i + 1) for i in lead)
            yield (*head, slice(s, min(s + step, nav_shape[axis])), *rest)


def _write_eager(writer: _RecordWriter, data: Any, plan: _Plan) -> None:
    """NumPy input: views of up to 512 frames, no copies (unless non-contiguous)."""
    for key in _tiles(plan.nav_shape, _FRAMES_PER_CALL):
        writer.write(np.ravel(writer.flat[key]), data[key])


def _write_lazy(writer: _RecordWriter, data: Any, plan: _Plan) -> None:
    """Array-likes: blocks of about 32 MiB, the next one read while the current one is written."""
    frame_bytes = plan.record_bytes - plan.frame_header_bytes
    keys = list(_tiles(plan.nav_shape, max(1, _BLOCK_BYTES // max(frame_bytes, 1))))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tvips-read") as pool:
        pending: Future[np.ndarray] | None = None
        try:
            for i, key in enumerate(keys):
                block = pending.result() if pending is not None else np.asarray(data[key])
                pending = (
                    pool.submit(lambda k: np.asarray(data[k]), keys[i + 1])
                    if i + 1 < len(keys)
                    else None
                )
                writer.write(np.ravel(writer.flat[key]), block)
                del block
        finally:
            if pending is not None:
                pending.cancel()


def _write_dask(writer: _RecordWriter, data: Any, plan: _Plan) -> None:
    """Dask input: ``dask.array.store`` into the record writer, chunk by chunk, in parallel."""
    import dask.array as da

    nnav = len(plan.nav_shape)
    frame_bytes = plan.record_bytes - plan.frame_header_bytes
    spec: dict[int, Any] = {nnav: -1, nnav + 1: -1}
    largest = math.prod(max(c, default=0) for c in data.chunks[:nnav])
    if largest * frame_bytes > 4 * _BLOCK_BYTES:
        spec.update(dict.fromkeys(range(nnav), "auto"))
    data = data.rechunk(spec, block_size_limit=_BLOCK_BYTES)
    da.store(data, writer, lock=False, compute=True)


def _stale_parts(paths: list[str]) -> list[str]:
    """Parts numbered beyond the new set's last part, with the same base name."""
    folder, first = os.path.split(paths[0])
    base = first[: -len("_000.tvips")]
    pattern = re.compile(rf"^{re.escape(base)}_(\d{{3,}})\.tvips$", re.IGNORECASE)
    try:
        names = os.listdir(folder or ".")
    except OSError:
        return []
    return sorted(
        os.path.join(folder, name)
        for name in names
        if (m := pattern.match(name)) and int(m[1]) >= len(paths)
    )


def file_writer(
    filename: str | os.PathLike[str],
    signal: Mapping[str, Any],
    max_file_size: int | None = None,
    version: int = 2,
    frame_header_extra_bytes: int = 0,
    mode: int | None = None,
    show_progressbar: bool = True,
) -> list[str]:
    """Write a signal to a TVIPS recording, as ``rsciio.tvips.file_writer`` does.

    Parameters
    ----------
    filename : str or os.PathLike
        Name of the recording; parts are ``<name>_000.tvips, <name>_001.tvips ...`` (a trailing
        ``_000`` is dropped, ``.tvips`` added when missing).
    signal : dict
        RosettaSciIO signal dict: ``data`` (NumPy, dask or array-like of unsigned integers,
        shape ``nav_shape + (dimy, dimx)``), ``axes``, ``metadata``, and optionally
        ``original_metadata`` (``tvips_header`` and ``frame_headers`` from our reader are kept
        when they fit the data) and ``attributes``.
    max_file_size : int, optional
        Largest size of one part in bytes (at least one frame per part); one part by default.
    version : {1, 2}
        File format version: 1 writes 12-byte frame headers (counter, time, ms).
    frame_header_extra_bytes : int
        Zero bytes added to each version 2 frame header after its 60 known bytes.
    mode : {None, 1, 2}
        1 imaging, 2 diffraction; guessed from the signal axis units when ``None``.
    show_progressbar : bool
        Show a tqdm progress bar.

    Returns
    -------
    list of str
        The written parts.

    Raises
    ------
    ValueError
        For signals that are not stacks of 2-D frames, bad arguments or unknown time zones.
    TypeError
        For pixel types TVIPS cannot store (floats, signed integers).
    """
    plan = _plan(filename, signal, max_file_size, version, frame_header_extra_bytes, mode)
    from tqdm import tqdm

    progress = tqdm(
        total=plan.n_frames, unit="frame", disable=not show_progressbar, desc="Writing TVIPS"
    )
    try:
        with installing(plan.paths, stale=_stale_parts(plan.paths)) as temps:
            _write_parts(plan, signal["data"], temps, progress)
    finally:
        progress.close()
    return plan.paths


def _write_parts(plan: _Plan, data: Any, temps: list[str], progress: Any) -> None:
    """Create the parts at ``temps`` and write the main header and every record into them."""
    fds: list[int] = []
    writer: _RecordWriter | None = None
    try:
        for temp in temps:
            fds.append(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666))
        os.pwrite(fds[0], plan.main_header, 0)
        writer = _RecordWriter(plan, fds, progress)
        if isinstance(data, np.ndarray):
            _write_eager(writer, data, plan)
        elif _is_dask(data):
            _write_dask(writer, data, plan)
        else:
            _write_lazy(writer, data, plan)
    finally:
        if writer is not None:
            writer.close()
        else:
            for fd in fds:
                os.close(fd)
