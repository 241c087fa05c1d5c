"""Main header and frame header parsing: versions, frame header sizes, pixel types."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

import napari_tvips as nt
import tvips_bytes
from napari_tvips._format import frame_header_dtype
from tvips_bytes import write_recording

#: The EM-Scan biasing-holder fields after scan_y (tvips-format.md section 4), u4/f4 each.
BIAS_FIELDS = (
    "dens_bias_u_setpoint",
    "dens_bias_u_value",
    "dens_bias_i_setpoint",
    "dens_bias_i_value",
    "dens_bias_e_setpoint",
    "dens_bias_r",
    "dens_bias_limit_u",
    "dens_bias_limit_i",
)
U4 = {"num", "timestamp", "ms", "LUTidx", "mag", "mode", "rotidx"}


@pytest.fixture
def full_layout(monkeypatch: pytest.MonkeyPatch) -> dict[str, tuple[int, str]]:
    """tvips_bytes' layout extended by the 108-byte EM-Scan fields (offsets 76..104)."""
    for i, name in enumerate(BIAS_FIELDS):
        monkeypatch.setitem(tvips_bytes.FRAME_LAYOUT, name, (76 + 4 * i, "<f"))
    return tvips_bytes.FRAME_LAYOUT


def _field_values(layout: dict[str, tuple[int, str]], n: int) -> dict[str, list[float]]:
    """Distinct, exactly representable values for every field of every frame."""
    out: dict[str, list[float]] = {}
    for k, name in enumerate(sorted(layout)):
        if layout[name][1] == "<I":
            out[name] = [1000 * (k + 1) + 7 * i for i in range(n)]
        else:
            out[name] = [(k + 1) * 0.5 - 3.25 * i for i in range(n)]
    return out


def _expected(raw_records: list[bytes], name: str, layout: dict[str, tuple[int, str]]) -> list:
    off, code = layout[name]
    return [struct.unpack_from(code, rec, off)[0] for rec in raw_records]


@pytest.mark.parametrize("fhb", [0, 12, 60, 64, 108, 200])
def test_v2_frame_header_sizes(tmp_path: Path, full_layout, fhb: int) -> None:
    frames = np.arange(7 * 3 * 5, dtype=np.uint16).reshape(7, 3, 5) * 3
    values = _field_values(full_layout, 7)
    write_recording(tmp_path / "h", frames, fhb=fhb, headers=values)
    out = nt.file_reader(tmp_path / "h_000.tvips")[0]
    np.testing.assert_array_equal(out["data"], frames)
    headers = out["original_metadata"]["frame_headers"]
    fitting = {n for n, (off, _c) in full_layout.items() if off + 4 <= fhb}
    assert set(headers) == fitting
    # every field of every frame equals the bytes written (decoded here with struct)
    raw = (tmp_path / "h_000.tvips").read_bytes()[256:]
    record = fhb + 3 * 5 * 2
    records = [raw[i * record : i * record + fhb] for i in range(7)]
    for name in fitting:
        got = headers[name]
        assert got.shape == (7,), name
        np.testing.assert_array_equal(got, _expected(records, name, full_layout), err_msg=name)
        np.testing.assert_array_equal(got, np.asarray(values[name], dtype=got.dtype), err_msg=name)
        assert got.dtype.kind == ("u" if name in U4 else "f"), name


def test_frame_header_dtype_skips_unknown_bytes() -> None:
    dt = frame_header_dtype(62)
    assert dt.itemsize == 62
    assert "objective" in dt.names and "dens_power" not in dt.names
    assert frame_header_dtype(200).itemsize == 200
    assert len(frame_header_dtype(200).names) == 27


def test_v1_has_12_byte_frame_headers(tmp_path: Path) -> None:
    frames = np.arange(4 * 6 * 2, dtype=np.uint8).reshape(4, 6, 2)
    # the v1 main header's frameheaderbytes field is not used: set it to a misleading value
    write_recording(
        tmp_path / "v1",
        frames,
        version=1,
        fhb=60,
        headers={"num": [9, 8, 7, 6], "timestamp": [5, 6, 7, 8], "ms": [1, 2, 3, 4]},
    )
    assert (tmp_path / "v1_000.tvips").stat().st_size == 256 + 4 * (12 + 12)
    out = nt.file_reader(tmp_path / "v1_000.tvips")[0]
    np.testing.assert_array_equal(out["data"], frames)
    fh = out["original_metadata"]["frame_headers"]
    assert set(fh) == {"num", "timestamp", "ms"}
    assert fh["num"].tolist() == [9, 8, 7, 6]
    assert fh["ms"].tolist() == [1, 2, 3, 4]
    assert out["original_metadata"]["tvips_header"]["version"] == 1
    # no mode field: not labelled diffraction
    assert out["axes"][-1]["units"] == "nm"
    assert "Signal" not in out["metadata"]


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.uint32, np.uint64])
def test_bits_per_pixel(tmp_path: Path, dtype: type) -> None:
    info = np.iinfo(dtype)
    rng = np.random.default_rng(3)
    frames = rng.integers(0, info.max, size=(5, 4, 3), dtype=dtype, endpoint=True)
    frames[0, 0, 0] = info.max
    write_recording(tmp_path / "b", frames)
    header = (tmp_path / "b_000.tvips").read_bytes()[16:20]
    assert struct.unpack("<I", header)[0] == np.dtype(dtype).itemsize * 8
    for lazy in (False, True):
        data = nt.file_reader(tmp_path / "b_000.tvips", lazy=lazy)[0]["data"]
        assert data.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(np.asarray(data), frames)


def test_non_square_frames_are_dimy_by_dimx(tmp_path: Path) -> None:
    frames = np.arange(3 * 2 * 9, dtype=np.uint16).reshape(3, 2, 9)
    write_recording(tmp_path / "ns", frames)
    out = nt.file_reader(tmp_path / "ns_000.tvips")[0]
    assert out["data"].shape == (3, 2, 9)
    np.testing.assert_array_equal(out["data"], frames)
    assert [a["size"] for a in out["axes"]] == [3, 2, 9]


def test_main_header_fields(tmp_path: Path) -> None:
    frames = np.zeros((2, 3, 4), np.uint16)
    write_recording(
        tmp_path / "m", frames, offsetx=5, offsety=6, binx=2, biny=3, pixelsize=14, ht=300,
        magtotal=1234, dummy=b"abc",
    )  # fmt: skip
    series = nt.open_series(tmp_path / "m_000.tvips")
    h = series.header
    assert (h.dimx, h.dimy, h.offsetx, h.offsety, h.binx, h.biny) == (4, 3, 5, 6, 2, 3)
    assert (h.pixelsize, h.ht, h.magtotal, h.frameheaderbytes) == (14, 300, 1234, 60)
    d = h.as_dict()
    assert d["dummy"] == b"abc"
    assert d["ht"] == 300 and isinstance(d["ht"], np.uint32)
