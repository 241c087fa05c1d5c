"""A saved scan opens as the same scan: rotidx / Scan_x / Scan_y numbering and the calibration
block in the main header's unused bytes (issue 9 D, core side)."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import pytest

import napari_tvips as nt
from napari_tvips._demo import DEMO_PARAMETERS, write_demo
from napari_tvips._format import (
    MAIN_HEADER_DTYPE,
    ScanCalibration,
    pack_calibration,
    parse_calibration,
)
from tvips_bytes import write_recording

logging.getLogger("rsciio").setLevel(logging.ERROR)
rs = pytest.importorskip("rsciio.tvips")


def _axes(
    shape: tuple[int, ...],
    nav: tuple[float, str, float] = (2.5, "nm", 10.0),
    sig: tuple[float, str, float] = (0.05, "1/nm", -1.5),
) -> list[dict[str, Any]]:
    """Axes of a scan ``shape``: nav (step, unit, offset), signal (scale, unit, offset)."""
    n_nav = len(shape) - 2
    names = ["y", "x"][-n_nav:] if n_nav else []
    out = []
    for i, n in enumerate(shape):
        step, unit, offset = nav if i < n_nav else sig
        out.append(
            {
                "name": [*names, "ky", "kx"][i] if n_nav <= 2 else f"a{i}",
                "size": n,
                "scale": step,
                "offset": offset * (i + 1),
                "units": unit,
                "navigate": i < n_nav,
                "index_in_array": i,
            }
        )
    return out


def _save(path: Path, data: Any, axes: list[dict[str, Any]], **kwargs: Any) -> list[str]:
    signal = {"data": data, "axes": axes, "metadata": {}, "original_metadata": {}}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "pixel size|.* offset", UserWarning)
        return nt.file_writer(path, signal, show_progressbar=False, **kwargs)


def _axis_view(axes: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(a["size"], a["scale"], a["offset"], a["units"], a["navigate"]) for a in axes]


# -- round trips -------------------------------------------------------------------------------
def test_demo_scan_round_trip(tmp_path: Path) -> None:
    """The demo, re-sliced as its true scan and calibrated, saved and opened with "auto"."""
    src = write_demo(tmp_path, scan_shape=(16, 16), frame_shape=(32, 32))
    params = DEMO_PARAMETERS | {"scan_shape": (16, 16)}
    scan = nt.file_reader(src, lazy=True, **params)[0]
    scan["axes"][0].update(scale=3.75, units="nm")
    scan["axes"][1].update(scale=3.75, units="nm")
    for ax in scan["axes"][2:]:
        ax.update(scale=0.05, offset=-0.8)
    with pytest.warns(UserWarning) as caught:
        out = nt.file_writer(tmp_path / "saved", scan, show_progressbar=False)
    said = [str(w.message) for w in caught]
    assert any("0.05 cannot be stored exactly" in m and "calibration block" in m for m in said)
    assert any("offset 1/nm is negative (-0.8)" in m for m in said)
    back = nt.file_reader(out[0], scan_shape="auto")[0]
    expected = nt.file_reader(src, **params)[0]["data"]
    assert back["data"].shape == (16, 16, 32, 32)
    np.testing.assert_array_equal(back["data"], expected)
    assert _axis_view(back["axes"]) == _axis_view(scan["axes"])
    cal = nt.open_series(out[0]).calibration
    assert cal == ScanCalibration(
        scan_shape=(16, 16),
        scan_step=(3.75, 3.75),
        scan_unit="nm",
        signal_scale=(0.05, 0.05),
        signal_unit="1/nm",
        scan_offset=(0.0, 0.0),
        signal_offset=(-0.8, -0.8),
    )
    # the frames are numbered in scan order whatever the source's rotidx said
    rot = back["original_metadata"]["frame_headers"]["rotidx"]
    np.testing.assert_array_equal(rot, np.arange(1, 257))
    # metadata (beam energy, stage, times of those frames) is kept
    assert back["metadata"]["Acquisition_instrument"] == scan["metadata"]["Acquisition_instrument"]


@pytest.mark.parametrize("source", ["numpy", "dask"])
@pytest.mark.parametrize("extra", [0, 48])
def test_non_square_scan_round_trip(tmp_path: Path, source: str, extra: int) -> None:
    rng = np.random.default_rng(1)
    data = rng.integers(0, 60000, (3, 5, 6, 7), dtype=np.uint16)
    axes = _axes(data.shape)
    arr = da.from_array(data, chunks=(2, 2, 6, 7)) if source == "dask" else data
    out = _save(tmp_path / "ns", arr, axes, frame_header_extra_bytes=extra)
    back = nt.file_reader(out[0], scan_shape="auto")[0]
    np.testing.assert_array_equal(back["data"], data)
    assert _axis_view(back["axes"]) == _axis_view(axes)
    heads = back["original_metadata"]["frame_headers"]
    np.testing.assert_array_equal(heads["rotidx"], np.arange(1, 16))
    if extra:  # 108-byte frame headers: EM-Scan positions too
        np.testing.assert_array_equal(heads["scan_x"], np.tile(np.arange(5), 3))
        np.testing.assert_array_equal(heads["scan_y"], np.repeat(np.arange(3), 5))
    else:
        assert "scan_x" not in heads
    # an explicit scan shape equal to the saved one gives the same calibration
    same = nt.file_reader(out[0], scan_shape=(3, 5))[0]
    assert _axis_view(same["axes"]) == _axis_view(axes)
    # as a frame stack: signal calibration exact, navigation is time as for any file
    stack = nt.file_reader(out[0])[0]
    assert _axis_view(stack["axes"])[1:] == _axis_view(axes)[2:]
    assert stack["axes"][0]["name"] == "time"


def test_stack_with_sub_nanometre_pixels_round_trips(tmp_path: Path) -> None:
    data = np.arange(4 * 6 * 7, dtype=np.uint8).reshape(4, 6, 7)
    axes = _axes(data.shape, nav=(0.01, "s", 0.0), sig=(0.3, "nm", 0.25))
    out = _save(tmp_path / "st", data, axes)
    cal = nt.open_series(out[0]).calibration
    assert cal is not None and cal.scan_shape is None
    assert cal.signal_scale == (0.3, 0.3) and cal.signal_unit == "nm"
    back = nt.file_reader(out[0])[0]
    assert [(a["scale"], a["offset"], a["units"]) for a in back["axes"][1:]] == [
        (0.3, 0.5, "nm"),
        (0.3, 0.75, "nm"),
    ]


def test_reciprocal_units_kept_as_written(tmp_path: Path) -> None:
    data = np.zeros((2, 2, 4, 4), dtype=np.uint16)
    axes = _axes(data.shape, nav=(0.5, "µm", 0.0), sig=(0.02, "1/Å", 0.0))
    out = _save(tmp_path / "u", data, axes)
    back = nt.file_reader(out[0], scan_shape="auto")[0]
    assert [(a["scale"], a["units"]) for a in back["axes"]] == [
        (0.5, "µm"),
        (0.5, "µm"),
        (0.02, "1/Å"),
        (0.02, "1/Å"),
    ]


def test_long_unit_recorded_in_short_form(tmp_path: Path) -> None:
    data = np.zeros((2, 2, 4, 4), dtype=np.uint16)
    axes = _axes(data.shape, nav=(2.0, "nanometer * micrometer / meter", 0.0))
    out = _save(tmp_path / "l", data, axes)
    unit = nt.open_series(out[0]).calibration.scan_unit
    assert len(unit.encode()) <= 24
    import pint

    ureg = pint.UnitRegistry()
    assert ureg.Quantity(1, unit) == ureg.Quantity(1, "nanometer * micrometer / meter")


def test_zero_scale_is_not_recorded(tmp_path: Path) -> None:
    data = np.zeros((2, 3, 4, 4), dtype=np.uint16)
    axes = _axes(data.shape, nav=(0.0, "nm", 0.0))
    with pytest.warns(UserWarning, match=r"scan scale \(0.0, 0.0\) is zero"):
        out = _save(tmp_path / "z", data, axes)
    cal = nt.open_series(out[0]).calibration
    assert cal.scan_shape == (2, 3) and cal.scan_step is None and cal.scan_unit == "nm"
    back = nt.file_reader(out[0], scan_shape="auto")[0]
    assert [a["scale"] for a in back["axes"][:2]] == [1, 1]


def test_exactly_representable_stack_stays_byte_identical_to_rsciio(tmp_path: Path) -> None:
    """No block when the header holds everything: other programs' bytes are kept."""
    data = np.arange(3 * 6 * 7, dtype=np.uint16).reshape(3, 6, 7)
    axes = _axes(data.shape, nav=(2.0, "ms", 0.0), sig=(2.0, "1/nm", 0.0))  # rsciio: axes[0]
    signal = {"data": data, "axes": axes, "metadata": {}, "attributes": {"_lazy": False}}
    ours = nt.file_writer(tmp_path / "ours", signal, show_progressbar=False)
    rs.file_writer(str(tmp_path / "theirs.tvips"), signal, show_progressbar=False)
    assert Path(ours[0]).read_bytes() == (tmp_path / "theirs_000.tvips").read_bytes()
    assert nt.open_series(ours[0]).calibration is None


def test_saving_a_stack_of_a_saved_scan_drops_the_scan(tmp_path: Path) -> None:
    data = np.arange(2 * 3 * 4 * 4, dtype=np.uint16).reshape(2, 3, 4, 4)
    out = _save(tmp_path / "a", data, _axes(data.shape, sig=(1.0, "1/nm", 0.0)))
    stack = nt.file_reader(out[0])[0]
    again = nt.file_writer(tmp_path / "b", stack, show_progressbar=False)
    assert nt.open_series(again[0]).calibration is None
    raw = Path(again[0]).read_bytes()
    assert raw[52:60] == b"HYPERSPY"


def test_truncated_saved_scan_auto_names_the_file(tmp_path: Path) -> None:
    data = np.zeros((3, 3, 4, 4), dtype=np.uint16)
    out = _save(tmp_path / "t", data, _axes(data.shape))
    os.truncate(out[0], os.path.getsize(out[0]) - 10)
    with (
        pytest.warns(UserWarning, match="ignored"),
        pytest.raises(
            ValueError, match=r"t_000\.tvips: saved as a 3 x 3 scan but holds only 8 frames"
        ),
    ):
        nt.file_reader(out[0], scan_shape="auto")


# -- the napari writer path: frame headers kept, scan renumbered ------------------------------
def test_rescan_of_kept_headers_is_renumbered(tmp_path: Path) -> None:
    """A re-sliced layer keeps its frames' headers but gets scan-order rotidx and positions."""
    n = 14
    frames = np.arange(n * 5 * 6, dtype=np.uint16).reshape(n, 5, 6)
    heads = {
        "rotidx": [0, 0, 3, 1, 2, 2, 4, 5, 6, 7, 8, 9, 0, 0],
        "scan_x": [9.0] * n,
        "scan_y": [9.0] * n,
        "timestamp": list(range(1000, 1000 + n)),
        "mode": [2] * n,
    }
    write_recording(tmp_path / "src", frames, fhb=108, headers=heads)
    series = nt.open_series(tmp_path / "src_000.tvips")
    layout = nt.ScanLayout((2, 4), start=3, winding="x")
    index_map = layout.index_map(series.n_frames)
    signal = {
        "data": nt.FrameArray(series, index_map),
        "axes": _axes((2, 4, 5, 6), sig=(1.0, "1/nm", 0.0)),
        "metadata": {},
        "original_metadata": {
            "tvips_header": series.header.as_dict(),
            "frame_headers": series.frame_headers(),
            "frame_index": index_map.reshape(-1),
        },
    }
    out = nt.file_writer(tmp_path / "re", signal, show_progressbar=False)
    back = nt.file_reader(out[0], scan_shape="auto")[0]
    np.testing.assert_array_equal(back["data"], frames[index_map])
    h = back["original_metadata"]["frame_headers"]
    np.testing.assert_array_equal(h["rotidx"], np.arange(1, 9))
    np.testing.assert_array_equal(h["scan_x"], [0, 1, 2, 3] * 2)
    np.testing.assert_array_equal(h["scan_y"], [0] * 4 + [1] * 4)
    # the frames' own times are kept (they are the acquisition's)
    np.testing.assert_array_equal(h["timestamp"], np.asarray(heads["timestamp"])[index_map.ravel()])


# -- other readers -----------------------------------------------------------------------------
def test_rsciio_auto_reads_our_saved_square_scan(tmp_path: Path) -> None:
    src = write_demo(tmp_path, scan_shape=(8, 8), frame_shape=(16, 16))
    params = DEMO_PARAMETERS | {"scan_shape": (8, 8)}
    scan = nt.file_reader(src, **params)[0]
    for ax in scan["axes"][2:]:
        ax["scale"] = 0.05
    with pytest.warns(UserWarning, match="cannot be stored exactly"):
        out = nt.file_writer(tmp_path / "sq", scan, show_progressbar=False)
    theirs = rs.file_reader(out[0], scan_shape="auto")[0]
    np.testing.assert_array_equal(theirs["data"], scan["data"])
    ours = nt.file_reader(out[0], scan_shape="auto")[0]
    np.testing.assert_array_equal(ours["data"], theirs["data"])


def test_rsciio_reads_the_main_header_as_without_the_block(tmp_path: Path) -> None:
    data = np.arange(2 * 3 * 6 * 7, dtype=np.uint16).reshape(2, 3, 6, 7)
    out = _save(tmp_path / "h", data, _axes(data.shape, sig=(3.0, "1/nm", 0.0)))
    theirs = rs.file_reader(out[0], scan_shape=(2, 3))[0]
    header = theirs["original_metadata"]["tvips_header"]
    ours = nt.open_series(out[0]).header
    for name in MAIN_HEADER_DTYPE.names:
        if name != "dummy":
            assert int(header[name]) == getattr(ours, name), name
    np.testing.assert_array_equal(theirs["data"], data)
    assert [(a["scale"], a["units"]) for a in theirs["axes"][2:]] == [(3, "1/nm")] * 2


def test_libertem_reads_our_saved_scan(tmp_path: Path) -> None:
    """LiberTEM reads the header unchanged and finds a non-square scan from Scan_x/Scan_y."""
    pytest.importorskip("libertem")
    from libertem.api import Context

    rng = np.random.default_rng(2)
    data = rng.integers(0, 60000, (3, 5, 6, 7), dtype=np.uint16)
    out = _save(tmp_path / "lt", data, _axes(data.shape), frame_header_extra_bytes=48)
    ctx = Context.make_with("inline")
    ds = ctx.load("tvips", path=out[0])
    assert tuple(ds.shape.nav) == (3, 5) and tuple(ds.shape.sig) == (6, 7)
    pick = ctx.create_pick_analysis(dataset=ds, x=4, y=2)
    np.testing.assert_array_equal(ctx.run(pick).intensity.raw_data, data[2, 4])


# -- the block itself --------------------------------------------------------------------------
def test_pack_parse_round_trip_and_filler_kept() -> None:
    cal = ScanCalibration((7, 9), (0.125, 0.25), "nm", (1e-3, 2e-3), "1/Å", (-1.0, 2.0), None)
    raw = pack_calibration(cal, filler=b"TVIPS " * 34)
    assert len(raw) == 204 and raw[136:] == (b"TVIPS " * 34)[136:204]
    assert parse_calibration(raw, "x") == cal
    empty = ScanCalibration()
    assert parse_calibration(pack_calibration(empty), "x") == empty
    dimensionless = ScanCalibration(scan_unit="", signal_unit="")
    assert parse_calibration(pack_calibration(dimensionless), "x") == dimensionless


def test_other_fillers_are_no_block() -> None:
    for filler in (b"", b"HYPERSPY " * 23, b"TVIPS " * 34, bytes(204), b"NTVIPSC"):
        assert parse_calibration(filler, "x") is None


@pytest.mark.parametrize(
    ("offset", "value", "why"),
    [
        (8, b"\x02\x00", "version 2"),
        (10, b"\x40\x00", "checksum"),
        (20, b"\x00" * 7 + b"\x01", "checksum"),
    ],
)
def test_changed_block_ignored_with_a_warning(offset: int, value: bytes, why: str) -> None:
    raw = bytearray(pack_calibration(ScanCalibration((2, 2), (1.0, 1.0), "nm")))
    raw[offset : offset + len(value)] = value
    with pytest.warns(
        UserWarning, match=rf"f\.tvips: napari-tvips calibration block ignored.*{why}"
    ):
        assert parse_calibration(bytes(raw), "f.tvips") is None


def _resealed(raw: bytearray) -> bytes:
    import zlib

    raw[132:136] = zlib.crc32(bytes(raw[:132])).to_bytes(4, "little")
    return bytes(raw)


@pytest.mark.parametrize(
    ("offset", "value", "why"),
    [
        (10, b"\xff\x00", "unknown flags"),
        (12, (1 << 30).to_bytes(4, "little"), "scan shape"),
        (16, bytes(4), "scan shape"),
        (20, np.float64(np.nan).tobytes(), "scan step"),
        (28, np.float64(0.0).tobytes(), "scan step"),
        (76, np.float64(np.inf).tobytes(), "signal scale"),
        (52, b"\xff\xfe", "not printable"),
        (108, b"a\x01b", "not printable"),
    ],
)
def test_impossible_values_in_a_sealed_block_ignored(offset: int, value: bytes, why: str) -> None:
    cal = ScanCalibration((2, 2), (1.0, 1.0), "nm", (1.0, 1.0), "1/nm")
    raw = bytearray(pack_calibration(cal))
    raw[offset : offset + len(value)] = value
    with pytest.warns(UserWarning, match=why):
        assert parse_calibration(_resealed(raw), "f") is None


def test_hostile_block_in_a_file_still_opens(tmp_path: Path) -> None:
    raw = bytearray(pack_calibration(ScanCalibration((1 << 20, 1 << 20), (1.0, 1.0), "nm")))
    write_recording(tmp_path / "h", np.zeros((4, 3, 3), np.uint16), dummy=bytes(raw))
    series = nt.open_series(tmp_path / "h_000.tvips")
    assert series.calibration.scan_shape == (1 << 20, 1 << 20)
    with pytest.raises(ValueError, match="saved as a 1048576 x 1048576 scan but holds only 4"):
        nt.file_reader(series.paths[0], scan_shape="auto")
    assert nt.file_reader(series.paths[0])[0]["data"].shape == (4, 3, 3)


def test_random_bytes_after_the_magic_never_raise() -> None:
    rng = np.random.default_rng(5)
    for _ in range(300):
        raw = b"NTVIPSCB" + rng.integers(0, 256, 196, dtype=np.uint8).tobytes()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert parse_calibration(raw, "r") is None  # the checksum fails


@pytest.mark.parametrize(
    "bad",
    [
        ScanCalibration(scan_shape=(0, 3)),
        ScanCalibration(scan_step=(0.0, 1.0)),
        ScanCalibration(signal_scale=(np.nan, 1.0)),
        ScanCalibration(scan_unit="x" * 25),
    ],
)
def test_pack_refuses_what_it_cannot_record(bad: ScanCalibration) -> None:
    with pytest.raises(ValueError):
        pack_calibration(bad)
