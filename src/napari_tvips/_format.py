"""Everything napari-tvips knows about the bytes of the TVIPS ``.tvips`` stream format.

The format (see ``shared/tvips-format.md`` in the project notes) is a 256-byte main header at the
start of the first part, followed in every part by contiguous *records*: a frame header of
``frame_header_bytes`` bytes and the frame's pixels (``dimy`` rows of ``dimx`` little-endian
unsigned integers). Version 1 files have 12-byte frame headers; version 2 files declare theirs.

This module holds the header layouts, parses and validates main headers (every message names the
file and the offending value) and builds the dtypes used to read and write records. It also packs
and parses napari-tvips' calibration block (scan shape and step, exact pixel size and units) in
the main header's unused bytes 52..255 (:func:`pack_calibration`, :func:`parse_calibration`).
It does no file discovery and no pixel I/O; those live in :mod:`napari_tvips._series`.
"""

from __future__ import annotations

import os
import re
import warnings
import zlib
from dataclasses import asdict, dataclass

import numpy as np

from ._errors import TvipsFormatError

__all__ = [
    "FRAME_FIELDS",
    "MAIN_HEADER_BYTES",
    "MAIN_HEADER_DTYPE",
    "RSCIIO_FRAME_HEADER_BYTES",
    "V1_FRAME_HEADER_BYTES",
    "MainHeader",
    "ScanCalibration",
    "frame_header_dtype",
    "pack_calibration",
    "parse_calibration",
    "parse_main_header",
    "part_data_offset",
]

#: Size of the main header at the start of ``*_000.tvips``.
MAIN_HEADER_BYTES = 256
#: Frame header size of version 1 files (not declared in the header).
V1_FRAME_HEADER_BYTES = 12
#: Frame header size RosettaSciIO writes (its 15 known fields).
RSCIIO_FRAME_HEADER_BYTES = 60
#: Largest frame header we accept; no known writer comes near (real files use <= 108 + padding).
MAX_FRAME_HEADER_BYTES = 1 << 20
#: Pixel types TVIPS cameras write (8, 16) and RosettaSciIO's writer can produce (32, 64).
SUPPORTED_BITS_PER_PIXEL = (8, 16, 32, 64)

#: Main header fields in file order (little-endian); names as RosettaSciIO's ``tvips_header``.
MAIN_HEADER_DTYPE = np.dtype(
    [
        ("size", "<u4"),
        ("version", "<u4"),
        ("dimx", "<u4"),
        ("dimy", "<u4"),
        ("bitsperpixel", "<u4"),
        ("offsetx", "<u4"),
        ("offsety", "<u4"),
        ("binx", "<u4"),
        ("biny", "<u4"),
        ("pixelsize", "<u4"),
        ("ht", "<u4"),
        ("magtotal", "<u4"),
        ("frameheaderbytes", "<u4"),
        ("dummy", "S204"),
    ]
)

#: Known frame header fields: (name, byte offset, dtype). The first 15 carry RosettaSciIO's names;
#: the rest (EM-Scan era, up to 108 bytes) follow LiberTEM's vendor-derived names in snake case.
FRAME_FIELDS: tuple[tuple[str, int, str], ...] = (
    ("num", 0, "<u4"),
    ("timestamp", 4, "<u4"),
    ("ms", 8, "<u4"),
    ("LUTidx", 12, "<u4"),
    ("fcurrent", 16, "<f4"),
    ("mag", 20, "<u4"),
    ("mode", 24, "<u4"),
    ("stagex", 28, "<f4"),
    ("stagey", 32, "<f4"),
    ("stagez", 36, "<f4"),
    ("stagea", 40, "<f4"),
    ("stageb", 44, "<f4"),
    ("rotidx", 48, "<u4"),
    ("temperature", 52, "<f4"),
    ("objective", 56, "<f4"),
    ("dens_power", 60, "<f4"),
    ("obj_current", 64, "<f4"),
    ("scan_x", 68, "<f4"),
    ("scan_y", 72, "<f4"),
    ("dens_bias_u_setpoint", 76, "<f4"),
    ("dens_bias_u_value", 80, "<f4"),
    ("dens_bias_i_setpoint", 84, "<f4"),
    ("dens_bias_i_value", 88, "<f4"),
    ("dens_bias_e_setpoint", 92, "<f4"),
    ("dens_bias_r", 96, "<f4"),
    ("dens_bias_limit_u", 100, "<f4"),
    ("dens_bias_limit_i", 104, "<f4"),
)


def frame_header_dtype(frame_header_bytes: int) -> np.dtype:
    """Return the structured dtype of one frame header of ``frame_header_bytes`` bytes.

    Only the known fields that fit entirely are included; the dtype's itemsize is always
    ``frame_header_bytes`` so the remaining bytes are skipped.

    Parameters
    ----------
    frame_header_bytes : int
        Declared size of each frame header (12 for version 1 files).

    Returns
    -------
    numpy.dtype
        Structured dtype with one field per known header value.
    """
    fields = [f for f in FRAME_FIELDS if f[1] + np.dtype(f[2]).itemsize <= frame_header_bytes]
    return np.dtype(
        {
            "names": [f[0] for f in fields],
            "formats": [f[2] for f in fields],
            "offsets": [f[1] for f in fields],
            "itemsize": int(frame_header_bytes),
        }
    )


@dataclass(frozen=True)
class MainHeader:
    """The validated main header of a recording.

    Attributes mirror the header fields; ``frame_header_bytes`` is the effective size of every
    frame header (12 for version 1 whatever the header says).
    """

    size: int
    version: int
    dimx: int
    dimy: int
    bitsperpixel: int
    offsetx: int
    offsety: int
    binx: int
    biny: int
    pixelsize: int
    ht: int
    magtotal: int
    frameheaderbytes: int
    dummy: bytes

    @property
    def frame_header_bytes(self) -> int:
        """Bytes of each frame header as the readers use it."""
        return V1_FRAME_HEADER_BYTES if self.version == 1 else self.frameheaderbytes

    @property
    def dtype(self) -> np.dtype:
        """Pixel dtype (little-endian unsigned)."""
        return np.dtype(f"<u{self.bitsperpixel // 8}")

    @property
    def frame_shape(self) -> tuple[int, int]:
        """Shape of one frame, ``(dimy, dimx)``."""
        return (self.dimy, self.dimx)

    @property
    def frame_bytes(self) -> int:
        """Bytes of one frame's pixels."""
        return self.dimx * self.dimy * self.bitsperpixel // 8

    @property
    def record_bytes(self) -> int:
        """Bytes of one record: frame header plus pixels."""
        return self.frame_header_bytes + self.frame_bytes

    def as_dict(self) -> dict[str, object]:
        """Return the header as RosettaSciIO's ``original_metadata["tvips_header"]``."""
        return {
            name: (np.bytes_(value) if name == "dummy" else np.uint32(value))
            for name, value in asdict(self).items()
        }


def parse_main_header(raw: bytes, filename: str, total_bytes: int) -> MainHeader:
    """Parse and validate the main header of a recording.

    Parameters
    ----------
    raw : bytes
        The first bytes of the ``_000`` part (at least :data:`MAIN_HEADER_BYTES` for success).
    filename : str
        Name used in error messages.
    total_bytes : int
        Bytes held by all parts together; bounds every size the header may claim.

    Returns
    -------
    MainHeader
        The validated header.

    Raises
    ------
    TvipsFormatError
        If the header is short, of an unknown version, or claims impossible sizes.
    """
    if len(raw) < MAIN_HEADER_BYTES:
        raise TvipsFormatError(
            f"{filename}: {len(raw)} bytes is too short for a TVIPS main header "
            f"({MAIN_HEADER_BYTES} bytes); not a TVIPS file or truncated"
        )
    rec = np.frombuffer(raw[:MAIN_HEADER_BYTES], dtype=MAIN_HEADER_DTYPE)[0]
    values = {name: int(rec[name]) for name in MAIN_HEADER_DTYPE.names if name != "dummy"}
    header = MainHeader(**values, dummy=bytes(rec["dummy"]))
    if header.size != MAIN_HEADER_BYTES:
        raise TvipsFormatError(
            f"{filename}: header size field is {header.size}; TVIPS main headers are "
            f"{MAIN_HEADER_BYTES} bytes (not a TVIPS file?)"
        )
    if header.version not in (1, 2):
        raise TvipsFormatError(
            f"{filename}: header version is {header.version}; only versions 1 and 2 are known"
        )
    if header.bitsperpixel not in SUPPORTED_BITS_PER_PIXEL:
        raise TvipsFormatError(
            f"{filename}: header says {header.bitsperpixel} bits per pixel; TVIPS stores "
            f"unsigned 8 or 16 (32 and 64 are read too)"
        )
    if header.dimx == 0 or header.dimy == 0:
        raise TvipsFormatError(
            f"{filename}: header says frames of {header.dimy} x {header.dimx} pixels (dimy x dimx)"
        )
    if header.version == 2 and header.frameheaderbytes > MAX_FRAME_HEADER_BYTES:
        raise TvipsFormatError(
            f"{filename}: header says {header.frameheaderbytes} bytes per frame header, "
            f"more than the {MAX_FRAME_HEADER_BYTES} any TVIPS writer uses"
        )
    data_bytes = total_bytes - MAIN_HEADER_BYTES
    if header.record_bytes > data_bytes:
        raise TvipsFormatError(
            f"{filename}: header says records of {header.record_bytes} bytes "
            f"({header.dimy} x {header.dimx} pixels of {header.bitsperpixel} bits plus "
            f"{header.frame_header_bytes} header bytes), but the recording holds only "
            f"{max(data_bytes, 0)} bytes after the main header: no complete frame"
        )
    return header


def looks_like_main_header(raw: bytes) -> bool:
    """Cheap test of a file's first bytes: size field 256 and version 1 or 2 (never raises)."""
    if len(raw) < 8:
        return False
    size, version = np.frombuffer(raw[:8], dtype="<u4")
    return int(size) == MAIN_HEADER_BYTES and int(version) in (1, 2)


def part_data_offset(number: int) -> int:
    """Byte offset of the first frame record in part ``number`` (only ``_000`` holds a header)."""
    return MAIN_HEADER_BYTES if number == 0 else 0


def checked_record_count(record_bytes: int, available: int) -> tuple[int, int]:
    """Return ``(whole records, leftover bytes)`` in ``available`` bytes."""
    count = max(available, 0) // record_bytes
    return count, max(available, 0) - count * record_bytes


# -- part names ----------------------------------------------------------------------------------

#: Extension of every part (matched in any case).
PART_EXTENSION = ".tvips"
_PART_RE = re.compile(r"^(?P<base>.+)_(?P<num>\d{3,})\.tvips$", re.IGNORECASE)
_EXT_RE = re.compile(r"\.tvips$", re.IGNORECASE)


def part_suffix(number: int) -> str:
    """``_NNN``, the suffix of part ``number`` (three digits at least)."""
    return f"_{number:03d}"


def part_name(base: str, number: int, ext: str = PART_EXTENSION) -> str:
    """The name of part ``number`` of recording ``base``: ``base_NNN.tvips``."""
    return f"{base}{part_suffix(number)}{ext}"


def split_part_name(name: str) -> tuple[str, int | None]:
    """``(base, part number)`` of a file name; ``(name without .tvips, None)`` if not a part."""
    match = _PART_RE.match(name)
    if match:
        return match["base"], int(match["num"])
    return _EXT_RE.sub("", name), None


def part_paths(filename: str | os.PathLike[str], n_parts: int) -> list[str]:
    """The part names ``base_000.tvips ...`` a writer uses for ``filename``.

    A trailing ``_000`` is dropped; a name without the ``.tvips`` extension (any case) gets it
    appended, as RosettaSciIO's writer does.
    """
    path = os.fspath(filename)
    root, ext = os.path.splitext(path)
    if ext.lower() != PART_EXTENSION:
        root, ext = path, PART_EXTENSION
    if root.endswith(part_suffix(0)):
        root = root[: -len(part_suffix(0))]
    return [part_name(root, i, ext) for i in range(n_parts)]


# -- writing (used by napari_tvips._writer) ------------------------------------------------------

#: Filler of the main header's unused bytes, as RosettaSciIO's writer emits (byte-identical files).
WRITER_DUMMY = (b"HYPERSPY " * 22 + b"HYPERS")[:204]


def frame_fields_end(names: object) -> int:
    """Bytes a frame header needs to hold the known fields ``names`` (0 when none is known)."""
    wanted = set(names)  # type: ignore[call-overload]
    return max(
        (off + np.dtype(fmt).itemsize for name, off, fmt in FRAME_FIELDS if name in wanted),
        default=0,
    )


def main_header_bytes(values: dict[str, object]) -> bytes:
    """The 256 bytes of a main header from field values (missing fields are 0).

    Parameters
    ----------
    values : dict
        Field name -> value for the names of :data:`MAIN_HEADER_DTYPE`; integers must fit
        an unsigned 32-bit field; ``dummy`` is bytes (cut or zero-padded to 204).

    Returns
    -------
    bytes
        Exactly :data:`MAIN_HEADER_BYTES` bytes.
    """
    rec = np.zeros((), dtype=MAIN_HEADER_DTYPE)
    for name in MAIN_HEADER_DTYPE.names or ():
        if name in values:
            value = values[name]
            rec[name] = bytes(value)[:204] if name == "dummy" else int(value)  # type: ignore[call-overload,arg-type]
    rec["size"] = MAIN_HEADER_BYTES
    return rec.tobytes()


# -- the napari-tvips calibration block (main header bytes 52..255) -----------------------------
# Layout in the docstring of ScanCalibration (and in the README's format notes).

#: First bytes of the calibration block (at main header offset 52).
CALIBRATION_MAGIC = b"NTVIPSCB"
#: Version of the calibration block this module reads and writes.
CALIBRATION_VERSION = 1
#: Longest unit text (UTF-8 bytes) the block holds.
CALIBRATION_UNIT_BYTES = 24
#: Largest scan side the block accepts (a crafted value must not become a huge allocation).
MAX_SCAN_SIDE = 1 << 24

_CAL_DTYPE = np.dtype(
    {
        "names": [
            "magic", "version", "flags", "scan_ny", "scan_nx", "scan_step", "scan_offset",
            "scan_unit", "signal_scale", "signal_offset", "signal_unit", "crc",
        ],
        "formats": [
            "S8", "<u2", "<u2", "<u4", "<u4", ("<f8", 2), ("<f8", 2),
            f"V{CALIBRATION_UNIT_BYTES}", ("<f8", 2), ("<f8", 2), f"V{CALIBRATION_UNIT_BYTES}",
            "<u4",
        ],
        "offsets": [0, 8, 10, 12, 16, 20, 36, 52, 76, 92, 108, 132],
        "itemsize": 136,
    }
)  # fmt: skip
_FLAG_SCAN_STEP, _FLAG_SCAN_UNIT, _FLAG_SCAN_OFFSET = 1, 2, 4
_FLAG_SIGNAL_SCALE, _FLAG_SIGNAL_UNIT, _FLAG_SIGNAL_OFFSET = 8, 16, 32
_FLAGS_KNOWN = 63


@dataclass(frozen=True)
class ScanCalibration:
    """Calibration kept in napari-tvips' block of the main header (``None``: not recorded).

    Attributes
    ----------
    scan_shape : tuple of int or None
        ``(ny, nx)`` of the scan the frames were written in (C order, ``rotidx`` = position + 1);
        ``None`` for a frame stack.
    scan_step : tuple of float or None
        Scan step ``(y, x)`` in ``scan_unit``.
    scan_unit : str or None
        Unit of the scan step and offset (``""``: dimensionless).
    signal_scale : tuple of float or None
        Pixel size ``(ky, kx)`` of the frames in ``signal_unit``.
    signal_unit : str or None
        Unit of the pixel size and offset, e.g. ``"1/nm"`` (``""``: dimensionless).
    scan_offset, signal_offset : tuple of float or None
        Offsets ``(y, x)`` of the navigation and signal axes.

    Notes
    -----
    The main header cannot hold a scan's shape or step, a pixel size below 1 nm or between two
    integers, or a unit other than the nm / 1/nm implied by the frames' mode. napari-tvips keeps
    them in the main header's unused bytes 52..255 (the ``dummy`` field), which RosettaSciIO,
    LiberTEM and TVIPS software never interpret. Layout, little-endian, offsets from the start
    of the main header::

        52   8  magic  b"NTVIPSCB"
        60   2  <u2    block version (1)
        62   2  <u2    flags: 1 scan step, 2 scan unit, 4 scan offset, 8 signal scale,
                       16 signal unit, 32 signal offset (clear: unknown, bytes are zero)
        64   4  <u4    scan ny   (ny, nx = 0, 0: not a scan)
        68   4  <u4    scan nx
        72  16  <f8 x2 scan step (y, x)
        88  16  <f8 x2 scan offset (y, x)
       104  24         scan unit, UTF-8, NUL-padded ("" with its flag set: dimensionless)
       128  16  <f8 x2 signal pixel size (y, x)
       144  16  <f8 x2 signal offset (y, x)
       160  24         signal unit, UTF-8, NUL-padded
       184   4  <u4    CRC-32 (zlib) of bytes 52..183
       188  68         filler (whatever the writer puts in unused bytes)

    Scales and steps are finite and non-zero, offsets finite, scan sides at most
    :data:`MAX_SCAN_SIDE`; :func:`parse_calibration` ignores (with a warning) any block that
    breaks these rules, has another version or a wrong checksum.
    """

    scan_shape: tuple[int, int] | None = None
    scan_step: tuple[float, float] | None = None
    scan_unit: str | None = None
    signal_scale: tuple[float, float] | None = None
    signal_unit: str | None = None
    scan_offset: tuple[float, float] | None = None
    signal_offset: tuple[float, float] | None = None


def _unit_bytes(unit: str | None, what: str) -> bytes:
    raw = (unit or "").encode("utf-8")
    if len(raw) > CALIBRATION_UNIT_BYTES or b"\0" in raw:
        raise ValueError(
            f"{what} unit {unit!r} does not fit the calibration block "
            f"({CALIBRATION_UNIT_BYTES} UTF-8 bytes, no NUL)"
        )
    return raw.ljust(CALIBRATION_UNIT_BYTES, b"\0")


def _pair(value: tuple[float, float] | None, what: str, nonzero: bool) -> tuple[float, float]:
    if value is None:
        return (0.0, 0.0)
    pair = (float(value[0]), float(value[1]))
    if not all(np.isfinite(pair)) or (nonzero and 0.0 in pair):
        raise ValueError(f"{what} {pair} cannot be recorded: it must be finite and non-zero")
    return pair


def pack_calibration(cal: ScanCalibration, filler: bytes = WRITER_DUMMY) -> bytes:
    """The 204 ``dummy`` bytes (main header 52..255) holding ``cal``.

    Parameters
    ----------
    cal : ScanCalibration
        What to record; ``None`` fields are left unknown.
    filler : bytes
        Unused bytes to keep after the block (bytes 136..203 of it are used).

    Returns
    -------
    bytes
        Exactly 204 bytes.

    Raises
    ------
    ValueError
        For a unit longer than the block holds, a non-finite or zero scale or step, or a scan
        shape with a side of 0 or above :data:`MAX_SCAN_SIDE`.
    """
    rec = np.zeros((), dtype=_CAL_DTYPE)
    rec["magic"] = CALIBRATION_MAGIC
    rec["version"] = CALIBRATION_VERSION
    flags = 0
    if cal.scan_shape is not None:
        ny, nx = (int(n) for n in cal.scan_shape)
        if not (0 < ny <= MAX_SCAN_SIDE and 0 < nx <= MAX_SCAN_SIDE):
            raise ValueError(f"scan shape {cal.scan_shape} cannot be recorded")
        rec["scan_ny"], rec["scan_nx"] = ny, nx
    for name, value, flag, nonzero in (
        ("scan_step", cal.scan_step, _FLAG_SCAN_STEP, True),
        ("scan_offset", cal.scan_offset, _FLAG_SCAN_OFFSET, False),
        ("signal_scale", cal.signal_scale, _FLAG_SIGNAL_SCALE, True),
        ("signal_offset", cal.signal_offset, _FLAG_SIGNAL_OFFSET, False),
    ):
        rec[name] = _pair(value, name.replace("_", " "), nonzero)
        flags |= flag if value is not None else 0
    for name, unit, flag in (
        ("scan_unit", cal.scan_unit, _FLAG_SCAN_UNIT),
        ("signal_unit", cal.signal_unit, _FLAG_SIGNAL_UNIT),
    ):
        rec[name] = np.void(_unit_bytes(unit, name.replace("_", " ")))
        flags |= flag if unit is not None else 0
    rec["flags"] = flags
    body = rec.tobytes()
    crc = zlib.crc32(body[: _CAL_DTYPE.fields["crc"][1]])  # type: ignore[index]
    rec["crc"] = crc
    block = rec.tobytes()
    return block + bytes(filler).ljust(204, b"\0")[len(block) : 204]


def has_calibration(dummy: bytes) -> bool:
    """True when ``dummy`` (main header bytes 52..255) starts with the block's magic."""
    return bytes(dummy[:8]) == CALIBRATION_MAGIC


def parse_calibration(dummy: bytes, filename: str) -> ScanCalibration | None:
    """Read the calibration block from the main header's ``dummy`` bytes (52..255).

    Parameters
    ----------
    dummy : bytes
        The 204 unused main header bytes (shorter input is padded with zeros).
    filename : str
        Name used in warnings.

    Returns
    -------
    ScanCalibration or None
        ``None`` without a block (any other writer's filler); also ``None``, with a warning
        naming the file and the value, for a block of another version, a wrong checksum or
        impossible values (never an exception: the recording stays readable).
    """
    raw = bytes(dummy[:204]).ljust(_CAL_DTYPE.itemsize, b"\0")
    if not has_calibration(raw):
        return None
    rec = np.frombuffer(raw[: _CAL_DTYPE.itemsize], dtype=_CAL_DTYPE)[0]

    def refuse(why: str) -> None:
        warnings.warn(
            f"{filename}: napari-tvips calibration block ignored: {why}",
            UserWarning,
            stacklevel=4,
        )

    if int(rec["version"]) != CALIBRATION_VERSION:
        refuse(f"version {int(rec['version'])} is not {CALIBRATION_VERSION} (newer writer?)")
        return None
    if zlib.crc32(raw[: _CAL_DTYPE.fields["crc"][1]]) != int(rec["crc"]):  # type: ignore[index]
        refuse("checksum mismatch (bytes 52..255 were changed by another program?)")
        return None
    flags = int(rec["flags"])
    if flags & ~_FLAGS_KNOWN:
        refuse(f"unknown flags {flags:#x}")
        return None
    ny, nx = int(rec["scan_ny"]), int(rec["scan_nx"])
    if (ny == 0) != (nx == 0) or ny > MAX_SCAN_SIDE or nx > MAX_SCAN_SIDE:
        refuse(f"scan shape ({ny}, {nx}) is impossible")
        return None
    values: dict[str, object] = {"scan_shape": (ny, nx) if ny else None}
    for name, flag, nonzero in (
        ("scan_step", _FLAG_SCAN_STEP, True),
        ("scan_offset", _FLAG_SCAN_OFFSET, False),
        ("signal_scale", _FLAG_SIGNAL_SCALE, True),
        ("signal_offset", _FLAG_SIGNAL_OFFSET, False),
    ):
        pair = (float(rec[name][0]), float(rec[name][1]))
        if not flags & flag:
            values[name] = None
        elif not all(np.isfinite(pair)) or (nonzero and 0.0 in pair):
            refuse(f"{name.replace('_', ' ')} {pair} is not finite and non-zero")
            return None
        else:
            values[name] = pair
    for name, flag in (("scan_unit", _FLAG_SCAN_UNIT), ("signal_unit", _FLAG_SIGNAL_UNIT)):
        text = bytes(rec[name]).rstrip(b"\0")
        try:
            unit = text.decode("utf-8")
        except UnicodeDecodeError:
            unit = None
        if unit is None or "\0" in unit or not unit.isprintable():
            refuse(f"{name.replace('_', ' ')} {text!r} is not printable UTF-8 text")
            return None
        values[name] = unit if flags & flag else None
    return ScanCalibration(**values)  # type: ignore[arg-type]
