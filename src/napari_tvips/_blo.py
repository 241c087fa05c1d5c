"""The ``.blo`` exporter: NanoMegas ASTAR blockfiles, streamed record by record.

Layout (little-endian; see ``shared/export-formats.md``): a 240-byte header at offset 0
(``IMGBLO``, magic 0x0102, the two data offsets, pattern side ``DP_SZ``, scan size ``NX`` x
``NY``, scan step ``SX``/``SY`` in nm, beam energy in V, ``SDP``, camera length, acquisition time
as a serial date), a Latin-1 note up to 0x1000, the virtual bright-field image (``NY`` rows of
``NX`` uint8) at 0x1000, then from ``Data_offset_2`` (0x1000 + NX * NY rounded *up* to 16, as
ASTAR itself writes) one record per pattern in scan order: the marker 0x55AA, a uint32 index and
``DP_SZ`` x ``DP_SZ`` uint8 pixels.

Patterns must be square uint8: crop (``crop="square"``) or bin to make them square, and scale
(``intensity_scaling``) anything that is not 8-bit; without scaling, 16-bit data whose values all
fit in 0 .. 255 are written and a larger value stops the export with an error naming it. Records
are written with ``os.pwrite`` at their offsets by a small thread pool, into a temporary file that
is installed atomically; the VBF image is summed on the way and written last.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np

from ._install import installing
from ._navigator import VirtualBrightField, to_uint8
from ._source import ExportSource, Key, TileReader, nav_chunks, run_tiles, tiles
from ._transform import Transform

__all__ = ["BLO_HEADER_DTYPE", "VBF_OFFSET", "pattern_offset", "write_blo"]

#: The 240-byte blockfile header (field names as the public readers use them).
BLO_HEADER_DTYPE = np.dtype(
    [
        ("ID", "S6"),
        ("MAGIC", "<u2"),
        ("Data_offset_1", "<u4"),
        ("Data_offset_2", "<u4"),
        ("UNKNOWN1", "<u4"),
        ("DP_SZ", "<u2"),
        ("DP_rotation", "<u2"),
        ("NX", "<u2"),
        ("NY", "<u2"),
        ("Scan_rotation", "<u2"),
        ("SX", "<f8"),
        ("SY", "<f8"),
        ("Beam_energy", "<u4"),
        ("SDP", "<u2"),
        ("Camera_length", "<u4"),
        ("Acquisition_time", "<f8"),
        ("Centering", "<f8", (8,)),
        ("Distortion", "<f8", (14,)),
    ]
)
#: Offset of the virtual bright-field image.
VBF_OFFSET = 0x1000
_MAGIC = 0x0102
#: The UNKNOWN1 value of a blockfile written by ASTAR itself.
_UNKNOWN1 = 131135
_RECORD_HEAD = 6  # marker u2 + index u4
_U2_MAX = 0xFFFF
#: Bytes of patterns per streamed tile.
_TILE_BYTES = 8 << 20
_SERIAL_ORIGIN = datetime(1899, 12, 30, tzinfo=timezone.utc)


def pattern_offset(nx: int, ny: int) -> int:
    """``Data_offset_2``: after the VBF image, rounded up to a multiple of 16."""
    end = VBF_OFFSET + nx * ny
    return -(-end // 16) * 16


def _to_unit(value: float, units: Any, target: str) -> float | None:
    from ._writer import _convert  # pint conversion shared with the .tvips writer

    return _convert(value, units, target)


def _serial_date(metadata: Mapping[str, Any]) -> float:
    """Days since 1899-12-30 UTC of ``General.date/time/time_zone`` (0 when absent)."""
    from ._writer import parse_time_zone

    general = metadata.get("General") or {}
    date, clock = general.get("date"), general.get("time")
    if not date:
        return 0.0
    try:
        when = datetime.fromisoformat(f"{date}T{clock or '00:00:00'}")
    except ValueError:
        return 0.0
    if when.tzinfo is None:
        try:
            when = when.replace(tzinfo=parse_time_zone(general.get("time_zone")))
        except ValueError:
            when = when.replace(tzinfo=timezone.utc)
    return (when - _SERIAL_ORIGIN).total_seconds() / 86400


def _note(source: ExportSource, transform: Transform) -> bytes:
    lines = [f"napari-tvips export of {source.name or 'a TVIPS recording'}"]
    if transform.box != (0, 0, *transform.in_shape):
        lines.append(f"crop (y0, x0, y1, x1) = {transform.box}")
    if transform.binning > 1:
        lines.append(f"binning {transform.binning}")
    if transform.scaling is not None:
        lines.append(f"intensity scaling {transform.scaling!r} range {transform.in_range}")
    text = "\r\n".join(lines).encode("latin-1", "replace")
    return text[: VBF_OFFSET - BLO_HEADER_DTYPE.itemsize]


def _scan_geometry(source: ExportSource) -> tuple[int, int, float, float]:
    """``(NX, NY, SX, SY)`` with steps in nm (1 when the axes are not lengths)."""
    nav = source.axes[:-2]
    if len(nav) > 2:
        raise ValueError(
            f"blockfiles hold 2-D scans; these data have {len(nav)} navigation axes "
            f"(shape {source.shape})"
        )
    steps = []
    for ax in nav:
        nm = _to_unit(float(ax.get("scale", 1.0) or 1.0), ax.get("units"), "nm")
        steps.append(1.0 if nm is None else nm)
    sizes = [int(ax["size"]) for ax in nav]
    if len(nav) == 2:
        return sizes[1], sizes[0], steps[1], steps[0]
    if len(nav) == 1:
        return sizes[0], 1, steps[0], steps[0]
    return 1, 1, 1.0, 1.0


def _header(source: ExportSource, transform: Transform) -> np.ndarray:
    nx, ny, sx, sy = _scan_geometry(source)
    side = transform.frame_shape[0]
    for what, value in (("scan width NX", nx), ("scan height NY", ny), ("pattern side", side)):
        if value > _U2_MAX:
            raise ValueError(f"blockfile {what} is {value}; the format stores at most {_U2_MAX}")
    head = np.zeros((), dtype=BLO_HEADER_DTYPE)
    head["ID"] = b"IMGBLO"
    head["MAGIC"] = _MAGIC
    head["Data_offset_1"] = VBF_OFFSET
    head["Data_offset_2"] = pattern_offset(nx, ny)
    head["UNKNOWN1"] = _UNKNOWN1
    head["DP_SZ"] = side
    head["NX"], head["NY"] = nx, ny
    head["SX"], head["SY"] = sx, sy
    tem = (source.metadata.get("Acquisition_instrument") or {}).get("TEM") or {}
    energy = tem.get("beam_energy")  # keV
    if energy is not None and math.isfinite(float(energy)):
        head["Beam_energy"] = min(max(round(float(energy) * 1000), 0), 2**32 - 1)
    axis = transform.signal_axis(source.axes[-1], 1)
    cm = _to_unit(float(axis["scale"]), axis.get("units"), "cm")
    if cm and cm > 0:  # "100 x pixels per cm"; reciprocal-space units have no such value
        head["SDP"] = min(round(100 / cm), _U2_MAX)
    header = source.original_metadata.get("tvips_header")
    units = str(source.axes[-1].get("units") or "")
    if isinstance(header, Mapping) and units.startswith("1/"):
        head["Camera_length"] = int(header.get("magtotal", 0) or 0)
    head["Acquisition_time"] = _serial_date(source.metadata)
    return head


def check_blo(source: ExportSource, transform: Transform) -> None:
    """Refuse what a blockfile cannot hold, before anything is written.

    Raises
    ------
    ValueError
        Non-square patterns (with the crop that would fix it), more than two scan axes.
    TypeError
        Float or signed data without an intensity scaling that maps them to 0 .. 255.
    """
    h, w = transform.frame_shape
    if h != w:
        raise ValueError(
            f"blockfiles hold square patterns, but these are {h} x {w}: crop them, e.g. "
            "crop='square' (--crop square) for the centred square"
        )
    if transform.scaling in (None, "dtype") and source.dtype.kind not in "u":
        raise TypeError(
            f"blockfiles hold uint8 pixels; {source.dtype} data need an intensity scaling "
            "that maps them to 0 .. 255: 'minmax', 'crop' or (low, high)"
        )
    _scan_geometry(source)


@dataclass(frozen=True)
class RecordTask:
    """Read, transform and ``pwrite`` the records of one tile; return its VBF values."""

    reader: TileReader
    fd: int
    data_offset: int
    nav_shape: tuple[int, ...]
    vbf: VirtualBrightField
    checked: bool

    def __call__(self, key: Key) -> np.ndarray:
        """Write the records of the tile ``key`` (a contiguous run in scan order)."""
        block = self.reader(key)
        if self.checked and block.dtype != np.uint8:
            top = block.max(initial=0)
            if top > 255:
                raise ValueError(
                    f"pattern values up to {top} do not fit the blockfile's 8 bits: pass "
                    "intensity_scaling ('dtype', 'minmax', 'crop' or (low, high))"
                )
        n = math.prod(s.stop - s.start for s in key) if key else 1
        first = int(np.ravel_multi_index(tuple(s.start for s in key), self.nav_shape)) if key else 0
        pixels = block.reshape(n, -1)
        records = np.empty((n, _RECORD_HEAD + pixels.shape[1]), dtype=np.uint8)
        records[:, 0:2] = np.frombuffer(b"\xaa\x55", dtype=np.uint8)
        records[:, 2:6] = np.arange(first, first + n, dtype="<u4").view(np.uint8).reshape(n, 4)
        records[:, 6:] = pixels
        _pwrite_all(
            self.fd, memoryview(records).cast("B"), self.data_offset + first * records.shape[1]
        )
        return self.vbf(block)


def _pwrite_all(fd: int, data: memoryview, offset: int) -> None:
    while data.nbytes:
        done = os.pwrite(fd, data, offset)
        if done <= 0:
            raise OSError(f"pwrite wrote {done} bytes")
        data = data[done:]
        offset += done


def write_blo(
    source: ExportSource,
    destination: str,
    *,
    transform: Transform,
    progress: Callable[[int], None] | None = None,
    threads: int = 2,
) -> list[str]:
    """Write ``source`` after ``transform`` as an ASTAR blockfile at ``destination``.

    Returns
    -------
    list of str
        ``[destination]``.
    """
    check_blo(source, transform)
    head = _header(source, transform)
    nav_shape = source.nav_shape
    side = transform.frame_shape[0]
    offset2 = int(head["Data_offset_2"])
    record = _RECORD_HEAD + side * side
    nx, ny = int(head["NX"]), int(head["NY"])
    keys = list(tiles(nav_shape, nav_chunks(nav_shape, record, _TILE_BYTES, square=False)))
    vbf = VirtualBrightField.for_export(source, transform)
    with installing([destination]) as (temp,):
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        try:
            os.ftruncate(fd, offset2 + nx * ny * record)
            _pwrite_all(fd, memoryview(head.tobytes()), 0)
            _pwrite_all(fd, memoryview(_note(source, transform)), BLO_HEADER_DTYPE.itemsize)
            task = RecordTask(
                source.reader(transform), fd, offset2, nav_shape, vbf, transform.scaling is None
            )
            values = run_tiles(task, keys, threads=threads, progress=progress)
            image = np.zeros(nav_shape, dtype=np.float64)
            for key, value in zip(keys, values, strict=True):
                image[key] = value
            _pwrite_all(fd, memoryview(to_uint8(image.reshape(ny, nx)).tobytes()), VBF_OFFSET)
        finally:
            os.close(fd)
    return [destination]
