"""napari_tvips.convert: round trips (HyperSpy, RosettaSciIO, LiberTEM), refusals, safety."""

from __future__ import annotations

import os
import struct
import warnings
from pathlib import Path

import numpy as np
import pytest

import napari_tvips as nt
from napari_tvips import _source
from napari_tvips._convert import EXPORTERS, known_extensions
from tvips_bytes import write_recording

hs = pytest.importorskip("hyperspy.api")

NAV = (6, 5)
START = 3
SIG = (12, 16)


def disk_frames(n: int, shape: tuple[int, int] = SIG, seed: int = 0) -> np.ndarray:
    """Noisy frames with a bright disk exactly at the pattern centre, brightness per frame."""
    rng = np.random.default_rng(seed)
    yy, xx = np.indices(shape)
    disk = np.hypot(yy - (shape[0] - 1) / 2, xx - (shape[1] - 1) / 2) <= 2.5
    frames = rng.integers(0, 40, size=(n, *shape), dtype=np.uint16)
    frames[:, disk] += rng.integers(500, 3000, size=(n, 1), dtype=np.uint16)
    return frames


@pytest.fixture
def scan(tmp_path: Path) -> Path:
    """A snake scan 6 x 5 after 3 parked frames, 2 parts, diffraction, pixel size 2."""
    frames = disk_frames(START + NAV[0] * NAV[1] + 2)
    write_recording(tmp_path / "scan", frames, frames_per_part=[10, 25], pixelsize=2, offsety=1)
    return tmp_path / "scan_000.tvips"


SCAN_ARGS = {"scan_shape": NAV, "scan_start_frame": START, "winding_scan_axis": "x"}


def reference(path: Path) -> dict:
    return nt.file_reader(path, lazy=True, **SCAN_ARGS)[0]


def vbf_reference(data: np.ndarray) -> np.ndarray:
    """Disk of radius side / 10 around the pattern centre, summed (independent of the code)."""
    h, w = data.shape[-2:]
    yy, xx = np.indices((h, w))
    mask = np.hypot(yy - (h - 1) / 2, xx - (w - 1) / 2) <= min(h, w) / 10
    return data[..., mask].sum(axis=-1, dtype=np.float64)


def load_zspy(path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return hs.load(path, lazy=True)


# -- .zspy -----------------------------------------------------------------------------------
def test_zspy_loads_in_hyperspy_as_the_reader_gives(scan: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.zspy"
    assert nt.convert(scan, out, show_progressbar=False, **SCAN_ARGS) == [str(out)]
    ref = reference(scan)
    s = load_zspy(out)
    assert s._lazy
    assert s.metadata.Signal.signal_type == "electron_diffraction"
    data = ref["data"].compute()
    np.testing.assert_array_equal(s.data.compute(), data)
    for axis, want in zip(s.axes_manager._axes, ref["axes"], strict=True):
        assert axis.name == want["name"]
        assert axis.units == want["units"]
        assert axis.scale == pytest.approx(want["scale"])
        assert axis.offset == pytest.approx(want["offset"])
        assert axis.size == want["size"]
        assert axis.navigate == want["navigate"]
    tem = s.metadata.Acquisition_instrument.TEM
    assert tem.beam_energy == 200
    assert tem.camera_length == 80
    assert s.metadata.General.title == "scan"
    # every frame header of the recording and the frame each scan position shows
    om = s.original_metadata
    np.testing.assert_array_equal(
        np.asarray(om.frame_headers.rotidx), ref["original_metadata"]["frame_headers"]["rotidx"]
    )
    index = nt.FrameArray(nt.Series(scan), nt.ScanLayout(NAV, START, "x").index_map(35)).index_map
    np.testing.assert_array_equal(np.asarray(om.frame_index), index)
    assert om.tvips_header.pixelsize == 2
    # the stored navigator: the virtual bright field, no pass needed to plot
    nav = s.navigator
    assert nav is not None
    assert nav.axes_manager.signal_shape == NAV[::-1]
    np.testing.assert_allclose(np.asarray(nav.data), vbf_reference(data))


def test_zspy_plot_uses_the_stored_navigator(scan: Path, tmp_path: Path, monkeypatch) -> None:
    import matplotlib

    matplotlib.use("Agg")
    out = tmp_path / "out.zspy"
    nt.convert(scan, out, show_progressbar=False, **SCAN_ARGS)
    s = load_zspy(out)

    def no_pass(*args, **kwargs):
        raise AssertionError("plot computed a navigator")

    monkeypatch.setattr(type(s), "compute_navigator", no_pass)
    s.plot()
    s._plot.close()


def test_zspy_crop_bin_scale_and_calibration(scan: Path, tmp_path: Path) -> None:
    out = tmp_path / "small.zspy"
    nt.convert(
        scan, out, binning=2, crop=(2, 0, 12, 14), intensity_scaling="minmax",
        scan_step=(1.5, 2.5), scan_unit="nm", show_progressbar=False, **SCAN_ARGS,
    )  # fmt: skip
    s = load_zspy(out)
    raw = reference(scan)["data"].compute()[..., 2:12, 0:14].astype(np.float64)
    binned = np.floor(raw.reshape(*NAV, 5, 2, 7, 2).mean(axis=(3, 5)) + 0.5)
    lo, hi = binned.min(), binned.max()
    expect = np.floor((binned - lo) / (hi - lo) * 255).astype(np.uint8)
    np.testing.assert_array_equal(s.data.compute(), expect)
    y, x, ky, kx = s.axes_manager._axes  # array order
    assert (x.scale, y.scale, x.units) == (2.5, 1.5, "nm")
    # pixel size 2 and offset 1 (y): binned pixels 2 wide, centred on pixels 2.5 (y) and 0.5 (x)
    assert (ky.scale, kx.scale) == (4.0, 4.0)
    assert ky.offset == pytest.approx(1 + 2 * 2.5)
    assert kx.offset == pytest.approx(2 * 0.5)


def test_zspy_of_a_frame_stack_and_of_a_signal_dict(scan: Path, tmp_path: Path) -> None:
    stack = nt.file_reader(scan, lazy=True)[0]
    nt.convert(stack, tmp_path / "stack.zspy", show_progressbar=False)
    s = load_zspy(tmp_path / "stack.zspy")
    np.testing.assert_array_equal(s.data.compute(), stack["data"].compute())
    assert s.axes_manager[0].name == "time"
    eager = nt.file_reader(scan, **SCAN_ARGS)[0]
    eager["data"] = eager["data"][1:, :, 2:10]  # a numpy array that is no recording any more
    eager["axes"][0]["size"], eager["axes"][2]["size"] = 5, 8
    nt.convert(eager, tmp_path / "np.zspy", show_progressbar=False)
    np.testing.assert_array_equal(load_zspy(tmp_path / "np.zspy").data.compute(), eager["data"])


def test_zspy_chunks_hold_whole_patterns(tmp_path: Path) -> None:
    import zarr

    frames = disk_frames(40 * 40, shape=(64, 64))
    write_recording(tmp_path / "big", frames)
    nt.convert(tmp_path / "big_000.tvips", tmp_path / "b.zspy", scan_shape=(40, 40),
               show_progressbar=False)  # fmt: skip
    data = zarr.open(str(tmp_path / "b.zspy"), mode="r")["Experiments/__unnamed__/data"]
    assert data.chunks[2:] == (64, 64)
    assert data.chunks[:2] == (16, 32)  # 4 MiB of 8 KiB patterns: 512 = 16 rows of 32
    assert data.compressor.cname == "lz4"


# -- .blo ------------------------------------------------------------------------------------
def blo_header(path: Path) -> dict:
    from napari_tvips._blo import BLO_HEADER_DTYPE

    raw = np.fromfile(path, dtype=BLO_HEADER_DTYPE, count=1)[0]
    return {name: raw[name] for name in BLO_HEADER_DTYPE.names}


def test_blo_reads_back_in_rsciio_and_libertem(scan: Path, tmp_path: Path) -> None:
    from rsciio.blockfile import file_reader as blo_reader

    out = tmp_path / "out.blo"
    nt.convert(scan, out, crop="square", intensity_scaling="dtype", scan_step=3.0,
               show_progressbar=False, **SCAN_ARGS)  # fmt: skip
    data = reference(scan)["data"].compute()[..., :, 2:14]
    expect = (data >> 8).astype(np.uint8)
    [sig] = blo_reader(str(out))
    np.testing.assert_array_equal(sig["data"], expect)
    assert [a["scale"] for a in sig["axes"][:2]] == [3.0, 3.0]
    assert [a["units"] for a in sig["axes"][:2]] == ["nm", "nm"]
    head = blo_header(out)
    assert bytes(head["ID"]) == b"IMGBLO"
    assert head["MAGIC"] == 0x0102
    assert head["Data_offset_1"] == 0x1000
    assert head["Data_offset_2"] == 0x1000 + 32  # 4096 + 30 rounded up to 16 (rsciio: 4140)
    assert (head["NX"], head["NY"], head["DP_SZ"]) == (5, 6, 12)
    assert head["Beam_energy"] == 200_000
    assert head["Camera_length"] == 80
    when = nt.file_reader(scan)[0]["metadata"]["General"]
    assert sig["metadata"]["General"]["date"] == when["date"]
    assert os.path.getsize(out) == 0x1000 + 32 + 30 * (6 + 144)
    # the VBF image at 0x1000: the navigator stretched to 0 .. 255
    with open(out, "rb") as fh:
        fh.seek(0x1000)
        vbf = np.frombuffer(fh.read(30), dtype=np.uint8).reshape(6, 5)
    ref = vbf_reference(expect)
    np.testing.assert_array_equal(
        vbf, np.floor((ref - ref.min()) / (ref.max() - ref.min()) * 255).astype(np.uint8)
    )
    # records: marker AA 55 and the running index
    with open(out, "rb") as fh:
        fh.seek(0x1000 + 32 + 7 * 150)
        marker, index = struct.unpack("<HI", fh.read(6))
    assert (marker, index) == (0x55AA, 7)

    from libertem.api import Context
    from libertem.udf.sumsigudf import SumSigUDF

    ctx = Context.make_with("inline")
    ds = ctx.load("blo", path=str(out))
    assert tuple(ds.shape) == (6, 5, 12, 12)
    sums = ctx.run_udf(dataset=ds, udf=SumSigUDF())["intensity"].data
    np.testing.assert_array_equal(sums, expect.sum(axis=(-2, -1)))


def test_blo_unscaled_16bit_data_must_fit(tmp_path: Path) -> None:
    frames = np.random.default_rng(2).integers(0, 256, size=(16, 8, 8), dtype=np.uint16)
    write_recording(tmp_path / "low", frames)
    out = tmp_path / "low.blo"
    nt.convert(tmp_path / "low_000.tvips", out, scan_shape=(4, 4), show_progressbar=False)
    from rsciio.blockfile import file_reader as blo_reader

    np.testing.assert_array_equal(blo_reader(str(out))[0]["data"], frames.reshape(4, 4, 8, 8))
    frames[9, 3, 3] = 300
    write_recording(tmp_path / "high", frames)
    with pytest.raises(ValueError, match="values up to 300"):
        nt.convert(tmp_path / "high_000.tvips", tmp_path / "high.blo", scan_shape=(4, 4),
                   show_progressbar=False)  # fmt: skip
    assert not (tmp_path / "high.blo").exists()


# -- .tvips ----------------------------------------------------------------------------------
def test_tvips_export_with_binning_keeps_headers(scan: Path, tmp_path: Path) -> None:
    paths = nt.convert(scan, tmp_path / "binned.tvips", binning=2, show_progressbar=False,
                       **SCAN_ARGS)  # fmt: skip
    assert paths == [str(tmp_path / "binned_000.tvips")]
    back = nt.file_reader(paths[0], scan_shape=NAV)[0]
    raw = reference(scan)["data"].compute().astype(np.float64)
    expect = np.floor(raw.reshape(*NAV, 6, 2, 8, 2).mean(axis=(3, 5)) + 0.5)
    np.testing.assert_array_equal(back["data"], expect)
    assert back["axes"][-1]["scale"] == 4
    index = nt.ScanLayout(NAV, START, "x").index_map(35).reshape(-1)
    heads = back["original_metadata"]["frame_headers"]
    np.testing.assert_array_equal(heads["ms"], (10 * index) % 1000)  # the source frames' headers
    np.testing.assert_array_equal(heads["rotidx"], np.arange(1, 31))  # scan position + 1


# -- refusals ----------------------------------------------------------------------------------
def test_unknown_extension_lists_the_known_ones(scan: Path, tmp_path: Path) -> None:
    assert {".zspy", ".blo", ".tvips"} <= set(known_extensions())
    with pytest.raises(ValueError, match=r"'\.hspy'") as info:
        nt.convert(scan, tmp_path / "x.hspy", show_progressbar=False)
    for ext in EXPORTERS:
        assert ext in str(info.value)
    assert not (tmp_path / "x.hspy").exists()


def test_blo_refuses_non_square_patterns_without_crop(scan: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"12 x 16.*crop='square'"):
        nt.convert(scan, tmp_path / "x.blo", intensity_scaling="dtype", show_progressbar=False,
                   **SCAN_ARGS)  # fmt: skip
    assert sorted(os.listdir(tmp_path)) == ["scan_000.tvips", "scan_001.tvips"]


def test_blo_refuses_float_data_without_scaling(scan: Path, tmp_path: Path) -> None:
    sig = nt.file_reader(scan, **SCAN_ARGS)[0]
    sig["data"] = sig["data"].astype(np.float32)
    with pytest.raises(TypeError, match="float32"):
        nt.convert(sig, tmp_path / "f.blo", crop="square", show_progressbar=False)
    nt.convert(sig, tmp_path / "f.blo", crop="square", intensity_scaling="minmax",
               show_progressbar=False)  # fmt: skip
    assert (tmp_path / "f.blo").exists()


def test_blo_refuses_more_than_two_scan_axes(scan: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="3 navigation axes"):
        nt.convert(scan, tmp_path / "x.blo", scan_shape=(2, 3, 5), crop="square",
                   show_progressbar=False)  # fmt: skip


def test_bad_scan_arguments_are_the_readers_errors(scan: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="out of bounds"):
        nt.convert(scan, tmp_path / "x.zspy", scan_shape=(10, 10), show_progressbar=False)
    with pytest.raises(ValueError, match="scan_step"):
        nt.convert(scan, tmp_path / "x.zspy", scan_step=-1, show_progressbar=False, **SCAN_ARGS)
    with pytest.raises(TypeError, match="path of a recording"):
        nt.convert(42, tmp_path / "x.zspy")
    assert sorted(os.listdir(tmp_path)) == ["scan_000.tvips", "scan_001.tvips"]


# -- failures leave nothing partial and keep the old output ------------------------------------
@pytest.mark.parametrize("ext", [".zspy", ".blo", ".tvips"])
def test_failure_keeps_the_old_output(scan: Path, tmp_path: Path, monkeypatch, ext: str) -> None:
    out = tmp_path / f"old{ext}"
    args = {"crop": "square", "intensity_scaling": "dtype"} if ext == ".blo" else {}
    first = nt.convert(scan, out, show_progressbar=False, **args, **SCAN_ARGS)
    before = {p: _snapshot(Path(p)) for p in first}
    listing = sorted(os.listdir(tmp_path))
    calls = {"n": 0}
    real = _source.TileReader.__call__

    def failing(self, key):
        calls["n"] += 1
        if calls["n"] >= 2:
            raise OSError("disk full (injected)")
        return real(self, key)

    monkeypatch.setattr(_source.TileReader, "__call__", failing)
    monkeypatch.setattr("napari_tvips._zspy.CHUNK_BYTES", 1024)
    monkeypatch.setattr("napari_tvips._blo._TILE_BYTES", 1024)
    monkeypatch.setattr("napari_tvips._writer._BLOCK_BYTES", 1024)
    with pytest.raises(OSError, match="injected"):
        nt.convert(scan, out, binning=2, show_progressbar=False, **args, **SCAN_ARGS)
    assert calls["n"] >= 2
    assert sorted(os.listdir(tmp_path)) == listing  # no temporaries left
    assert {p: _snapshot(Path(p)) for p in first} == before


def _snapshot(path: Path) -> dict[str, bytes]:
    if path.is_dir():
        return {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()}
    return {"": path.read_bytes()}


def test_interrupt_leaves_no_partial_new_output(scan: Path, tmp_path: Path, monkeypatch) -> None:
    def interrupted(self, key):
        raise KeyboardInterrupt

    monkeypatch.setattr(_source.TileReader, "__call__", interrupted)
    with pytest.raises(KeyboardInterrupt):
        nt.convert(scan, tmp_path / "new.zspy", show_progressbar=False, **SCAN_ARGS)
    assert sorted(os.listdir(tmp_path)) == ["scan_000.tvips", "scan_001.tvips"]


def test_progress_counts_frames(scan: Path, tmp_path: Path) -> None:
    seen: list[int] = []
    nt.convert(scan, tmp_path / "p.blo", crop="square", intensity_scaling="minmax",
               progress=seen.append, show_progressbar=False, **SCAN_ARGS)  # fmt: skip
    assert sum(seen) == 2 * 30  # the range pass and the writing pass


def test_transformed_array_reads_bounded_sub_tiles(scan: Path, monkeypatch) -> None:
    from napari_tvips import _convert
    from napari_tvips._convert import TransformedArray, resolve_source
    from napari_tvips._transform import Transform

    monkeypatch.setattr(_convert, "_READ_BYTES", 3 * 12 * 16 * 2)  # three frames at a time
    src = resolve_source(scan, **SCAN_ARGS)
    t = Transform.build(SIG, np.uint16, crop=(0, 1, 12, 15), binning=2)
    arr = TransformedArray(src, t)
    full = reference(scan)["data"].compute()[..., :, 1:15].astype(np.float64)
    expect = np.floor(full.reshape(*NAV, 6, 2, 7, 2).mean(axis=(3, 5)) + 0.5).astype(np.uint16)
    assert arr.shape == (*NAV, 6, 7)
    np.testing.assert_array_equal(arr[:, :], expect)
    np.testing.assert_array_equal(arr[2], expect[2])
    np.testing.assert_array_equal(arr[1:4, 3], expect[1:4, 3])
    np.testing.assert_array_equal(arr[5, 4, 1:3], expect[5, 4, 1:3])


def test_a_saved_scan_exports_with_its_calibration(scan: Path, tmp_path: Path) -> None:
    [saved] = nt.convert(scan, tmp_path / "cal.tvips", scan_step=(1.25, 2.5), scan_unit="um",
                         show_progressbar=False, **SCAN_ARGS)  # fmt: skip
    out = tmp_path / "cal.zspy"
    nt.convert(saved, out, show_progressbar=False)  # no scan arguments: the saved scan
    s = load_zspy(out)
    np.testing.assert_array_equal(s.data.compute(), reference(scan)["data"].compute())
    y, x = s.axes_manager._axes[:2]
    assert (y.scale, x.scale, y.units, x.units) == (1.25, 2.5, "um", "um")
    [blo] = nt.convert(saved, tmp_path / "cal.blo", crop="square", intensity_scaling="dtype",
                       show_progressbar=False)  # fmt: skip
    head = blo_header(Path(blo))
    assert (head["NX"], head["NY"]) == (5, 6)
    assert (head["SX"], head["SY"]) == pytest.approx((2500.0, 1250.0))
