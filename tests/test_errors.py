"""Bad input: every failure is a TvipsFormatError naming the file and the offending value."""

from __future__ import annotations

import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import napari_tvips as nt
from tvips_bytes import main_header, write_recording


def _patch(path: Path, offset: int, value: int) -> None:
    raw = bytearray(path.read_bytes())
    struct.pack_into("<I", raw, offset, value)
    path.write_bytes(bytes(raw))


@pytest.fixture
def small(tmp_path: Path) -> Path:
    write_recording(tmp_path / "bad", np.arange(4 * 3 * 2, dtype=np.uint16).reshape(4, 3, 2))
    return tmp_path / "bad_000.tvips"


def _fails(path: Path, *values: str) -> str:
    for call in (lambda: nt.file_reader(path), lambda: nt.file_reader(path, lazy=True)):
        with pytest.raises(nt.TvipsFormatError) as info:
            call()
        message = str(info.value)
        assert "bad_000.tvips" in message, message
        for value in values:
            assert value in message, message
        assert isinstance(info.value, ValueError)
    return message


def test_error_types() -> None:
    assert issubclass(nt.TvipsFormatError, ValueError)
    assert issubclass(nt.TvipsFormatError, nt.TvipsError)
    assert issubclass(nt.TvipsReadError, OSError)


def test_wrong_size_field(small: Path) -> None:
    _patch(small, 0, 512)
    _fails(small, "512")


@pytest.mark.parametrize("version", [0, 3, 70000])
def test_unknown_version(small: Path, version: int) -> None:
    _patch(small, 4, version)
    _fails(small, f"version is {version}")


@pytest.mark.parametrize("bpp", [0, 4, 12, 24, 128])
def test_bits_per_pixel(small: Path, bpp: int) -> None:
    _patch(small, 16, bpp)
    _fails(small, f"{bpp} bits per pixel")


@pytest.mark.parametrize(("offset", "name"), [(8, "dimx"), (12, "dimy")])
def test_zero_dims(small: Path, offset: int, name: str) -> None:
    _patch(small, offset, 0)
    _fails(small, "0")


def test_absurd_dims_do_not_allocate(small: Path) -> None:
    _patch(small, 8, 65535)
    _patch(small, 12, 65535)
    tracemalloc.start()
    try:
        _fails(small, "65535")
        _size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20


def test_frame_header_bytes_larger_than_file(small: Path) -> None:
    _patch(small, 48, 10_000)
    _fails(small, "10000")
    _patch(small, 48, 2**32 - 1)
    _fails(small, str(2**32 - 1))


def test_empty_first_part(tmp_path: Path) -> None:
    path = tmp_path / "bad_000.tvips"
    path.write_bytes(b"")
    _fails(path, "0 bytes")


def test_short_first_part(tmp_path: Path) -> None:
    path = tmp_path / "bad_000.tvips"
    path.write_bytes(main_header(4, 4)[:100])
    _fails(path, "100 bytes")


def test_header_only_first_part(tmp_path: Path) -> None:
    path = tmp_path / "bad_000.tvips"
    path.write_bytes(main_header(4, 4, fhb=60))
    message = _fails(path, "no complete frame")
    assert str(60 + 4 * 4 * 2) in message


def test_empty_later_part_is_fine(small: Path) -> None:
    (small.parent / "bad_001.tvips").write_bytes(b"")
    out = nt.file_reader(small)[0]
    assert out["data"].shape == (4, 3, 2)


def test_partial_record_split_over_parts_is_no_frame(tmp_path: Path) -> None:
    path = tmp_path / "bad_000.tvips"
    path.write_bytes(main_header(4, 4, fhb=60) + b"\0" * 50)
    (tmp_path / "bad_001.tvips").write_bytes(b"\0" * 50)
    with pytest.warns(UserWarning):
        message = _fails(path, "no complete frame")
    assert "bad_000.tvips" in message


def test_not_a_file(tmp_path: Path) -> None:
    (tmp_path / "bad_000.tvips").mkdir()
    with pytest.raises(nt.TvipsFormatError, match=r"bad_000\.tvips"):
        nt.file_reader(tmp_path / "bad_000.tvips")


def test_bad_scan_arguments_are_value_errors(small: Path) -> None:
    with pytest.raises(ValueError, match="winding"):
        nt.file_reader(small, scan_shape=(2, 2), winding_scan_axis="z")
    with pytest.raises(ValueError, match="4 frames"):
        nt.file_reader(small, scan_shape=(2, 3))
    with pytest.raises(ValueError):
        nt.file_reader(small, scan_shape=(2, 0))
    with pytest.raises(ValueError):
        nt.file_reader(small, scan_shape="square")
