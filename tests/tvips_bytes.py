"""Build .tvips recordings byte by byte with ``struct``, independent of napari-tvips' writer.

Reader tests use these files so they never only test writer-reader symmetry. Field layouts follow
shared/tvips-format.md (main header 13 x u4 + 204 dummy bytes; v2 frame header fields at fixed
offsets; v1 frame headers are 12 bytes).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

# name -> (offset, struct code); v2 frame header layout, 108 bytes
FRAME_LAYOUT: dict[str, tuple[int, str]] = {
    "num": (0, "<I"), "timestamp": (4, "<I"), "ms": (8, "<I"), "LUTidx": (12, "<I"),
    "fcurrent": (16, "<f"), "mag": (20, "<I"), "mode": (24, "<I"), "stagex": (28, "<f"),
    "stagey": (32, "<f"), "stagez": (36, "<f"), "stagea": (40, "<f"), "stageb": (44, "<f"),
    "rotidx": (48, "<I"), "temperature": (52, "<f"), "objective": (56, "<f"),
    "dens_power": (60, "<f"), "obj_current": (64, "<f"), "scan_x": (68, "<f"), "scan_y": (72, "<f"),
}  # fmt: skip


def main_header(
    dimx: int, dimy: int, *, version: int = 2, bpp: int = 16, fhb: int = 60, size: int = 256,
    offsetx: int = 0, offsety: int = 0, binx: int = 1, biny: int = 1, pixelsize: int = 1,
    ht: int = 200, magtotal: int = 80, dummy: bytes = b"TVIPS " * 34,
) -> bytes:  # fmt: skip
    """The 256-byte main header."""
    head = struct.pack(
        "<13I", size, version, dimx, dimy, bpp, offsetx, offsety, binx, biny, pixelsize, ht,
        magtotal, fhb,
    )  # fmt: skip
    return head + dummy[:204].ljust(204, b"\0")


def frame_header(fhb: int, fields: Mapping[str, float]) -> bytes:
    """One frame header of ``fhb`` bytes; fields that do not fit are dropped."""
    buf = bytearray(fhb)
    for name, value in fields.items():
        offset, code = FRAME_LAYOUT[name]
        if offset + 4 <= fhb:
            struct.pack_into(code, buf, offset, value)
    return bytes(buf)


def write_recording(
    base: str | Path,
    frames: np.ndarray,
    *,
    version: int = 2,
    fhb: int = 60,
    frames_per_part: Sequence[int] | None = None,
    headers: Mapping[str, Sequence[float]] | None = None,
    trailing: bytes = b"",
    **main: int,
) -> list[Path]:
    """Write ``frames`` (n, dimy, dimx; uint8/16/32/64) as ``base_000.tvips, base_001 ...``.

    Parameters
    ----------
    headers : mapping of field name -> per-frame values
        Defaults: ``timestamp`` 1700000000, ``ms`` = 10 * i, ``mode`` 2, ``rotidx`` i + 1.
    frames_per_part : list of int
        Frames in each part (default: all in one part).
    trailing : bytes
        Appended to the last part (a recording cut mid-frame).
    """
    frames = np.ascontiguousarray(frames)
    n, dimy, dimx = frames.shape
    bpp = frames.dtype.itemsize * 8
    hbytes = 12 if version == 1 else fhb
    defaults: dict[str, Sequence[float]] = {
        "timestamp": [1_700_000_000 + (10 * i) // 1000 for i in range(n)],
        "ms": [(10 * i) % 1000 for i in range(n)],
        "mode": [2] * n,
        "rotidx": [i + 1 for i in range(n)],
    }
    defaults.update(headers or {})
    split = list(frames_per_part) if frames_per_part is not None else [n]
    assert sum(split) == n, "frames_per_part must add up to the number of frames"
    paths = []
    i = 0
    for p, count in enumerate(split):
        path = Path(f"{base}_{p:03d}.tvips")
        with open(path, "wb") as fh:
            if p == 0:
                fh.write(main_header(dimx, dimy, version=version, bpp=bpp, fhb=fhb, **main))
            for _ in range(count):
                fields = {k: v[i] for k, v in defaults.items()}
                fh.write(frame_header(hbytes, fields))
                fh.write(frames[i].astype(frames.dtype.newbyteorder("<")).tobytes())
                i += 1
            if p == len(split) - 1:
                fh.write(trailing)
        paths.append(path)
    return paths
