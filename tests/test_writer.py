"""Tests of the writer (:func:`napari_tvips.file_writer`): layout, interop, metadata, safety."""

from __future__ import annotations

import logging
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import pytest

import napari_tvips as nt
from napari_tvips import _writer
from napari_tvips._format import MAIN_HEADER_DTYPE, frame_header_dtype
from tvips_bytes import write_recording

logging.getLogger("rsciio").setLevel(logging.ERROR)
rs = pytest.importorskip("rsciio.tvips")

SHAPES = {"image": (6, 7), "stack": (9, 6, 7), "scan": (3, 4, 6, 7)}


def make_signal(
    data: Any, unit: str = "1/nm", scale: float = 2.0, nav_scale: float | None = None, **meta: Any
) -> dict[str, Any]:
    """A RosettaSciIO signal dict for ``data`` (signal axes dy, dx; nav axes unitless)."""
    ndim = len(data.shape)
    axes = []
    for i, n in enumerate(data.shape):
        nav = i < ndim - 2
        axes.append(
            {
                "name": f"a{i}",
                "size": n,
                "scale": (nav_scale if nav_scale is not None else scale) if nav else scale,
                "offset": 0.0,
                "units": unit,
                "navigate": nav,
                "index_in_array": i,
            }
        )
    return {
        "data": data,
        "axes": axes,
        "metadata": meta or {},
        "original_metadata": {},
        "attributes": {"_lazy": not isinstance(data, np.ndarray)},
    }


def pixels(shape: tuple[int, ...], dtype: str, seed: int = 0) -> np.ndarray:
    info = np.iinfo(dtype)
    rng = np.random.default_rng(seed)
    return rng.integers(0, min(info.max, 2**40), size=shape, dtype=dtype, endpoint=True)


def main_header(path: Path | str) -> np.void:
    return np.fromfile(path, dtype=MAIN_HEADER_DTYPE, count=1)[0]


def read_ours(path: Path | str, shape: tuple[int, ...], lazy: bool = False) -> dict[str, Any]:
    scan = shape[:-2] if len(shape) > 3 else None
    out = nt.file_reader(path, lazy=lazy, scan_shape=scan)[0]
    return out


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# -- round trips -----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(SHAPES))
@pytest.mark.parametrize("dtype", ["uint8", "uint16", "uint32", "uint64"])
@pytest.mark.parametrize("source", ["numpy", "dask", "frames", "noncontiguous"])
def test_round_trip(tmp_path: Path, kind: str, dtype: str, source: str) -> None:
    shape = SHAPES[kind]
    data = pixels(shape, dtype)
    if source == "dask":
        arr: Any = da.from_array(data, chunks=(2,) * (len(shape) - 2) + (3, 7))
    elif source == "frames":
        write_recording(tmp_path / "src", data.reshape(-1, *shape[-2:]))
        series = nt.open_series(tmp_path / "src_000.tvips")
        arr = nt.FrameArray(series, np.arange(series.n_frames).reshape(shape[:-2]))
    elif source == "noncontiguous":
        arr = np.asfortranarray(data)
    else:
        arr = data
    paths = nt.file_writer(tmp_path / "out.tvips", make_signal(arr), show_progressbar=False)
    assert paths == [str(tmp_path / "out_000.tvips")]
    back = read_ours(paths[0], shape)
    np.testing.assert_array_equal(back["data"].reshape(shape), data)
    assert back["data"].dtype == np.dtype(dtype)
    n = int(np.prod(shape[:-2]))
    assert os.path.getsize(paths[0]) == 256 + n * (60 + data[..., :, :].itemsize * 42)
    assert leftovers(tmp_path) == []


def test_single_image_is_one_frame(tmp_path: Path) -> None:
    data = pixels((6, 7), "uint16")
    nt.file_writer(tmp_path / "one", make_signal(data), show_progressbar=False)
    back = nt.file_reader(tmp_path / "one_000.tvips")[0]
    assert back["data"].shape == (1, 6, 7)
    np.testing.assert_array_equal(back["data"][0], data)
    assert back["original_metadata"]["frame_headers"]["rotidx"].tolist() == [1]


def test_scan_frames_in_c_order(tmp_path: Path) -> None:
    data = pixels((3, 4, 2, 2), "uint16")
    nt.file_writer(tmp_path / "s", make_signal(data), show_progressbar=False)
    stack = nt.file_reader(tmp_path / "s_000.tvips")[0]["data"]
    np.testing.assert_array_equal(stack, data.reshape(12, 2, 2))


# -- RosettaSciIO interop --------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["stack", "scan"])
@pytest.mark.parametrize("dtype", ["uint8", "uint16", "uint32"])
@pytest.mark.parametrize("max_file_size", [None, 1000, 1])
@pytest.mark.parametrize("extra", [0, 4])
def test_rsciio_reads_ours(
    tmp_path: Path, kind: str, dtype: str, max_file_size: int | None, extra: int
) -> None:
    shape = SHAPES[kind]
    data = pixels(shape, dtype)
    sig = make_signal(data, "1/nm", 3.0, nav_scale=1.0)
    if kind == "stack":
        sig["axes"][0].update(units="ms", scale=5.0)
    with pytest.warns(UserWarning, match="minimum file size") if max_file_size == 1 else _no():
        paths = nt.file_writer(
            tmp_path / "x_000.tvips",
            sig,
            max_file_size=max_file_size,
            frame_header_extra_bytes=extra,
            show_progressbar=False,
        )
    if max_file_size == 1:  # RosettaSciIO's rule: the minimum size (header + 1 frame) per part
        assert os.path.getsize(paths[0]) == 256 + 60 + extra + 42 * data.itemsize
    record = 60 + extra + 42 * data.itemsize
    limit = max(max_file_size or 1 << 40, 256 + record)
    assert all(os.path.getsize(p) <= limit for p in paths)
    scan = shape[:-2] if kind == "scan" else None
    theirs = rs.file_reader(paths[0], scan_shape=scan)[0]
    np.testing.assert_array_equal(theirs["data"], data)
    assert [a["scale"] for a in theirs["axes"][-2:]] == [3, 3]
    assert [a["units"] for a in theirs["axes"][-2:]] == ["1/nm", "1/nm"]
    if kind == "stack":
        assert theirs["axes"][0]["scale"] == pytest.approx(0.005)


class _no:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


@pytest.mark.parametrize("kind", ["stack", "scan"])
@pytest.mark.parametrize("dtype", ["uint8", "uint16", "uint32"])
@pytest.mark.parametrize("max_file_size", [None, 1000])
@pytest.mark.parametrize("extra", [0, 8])
@pytest.mark.parametrize("lazy", [False, True])
def test_we_read_rsciio_and_write_the_same_bytes(
    tmp_path: Path, kind: str, dtype: str, max_file_size: int | None, extra: int, lazy: bool
) -> None:
    shape = SHAPES[kind]
    data = pixels(shape, dtype)
    # rsciio takes the pixel size from axes[0]: make it equal to the signal scale
    sig = make_signal(da.from_array(data) if lazy else data, "1/nm", 2.0)
    sig["metadata"] = {
        "General": {"date": "2021-03-04", "time": "05:06:07", "time_zone": "UTC"},
        "Acquisition_instrument": {
            "TEM": {
                "beam_energy": 300,
                "beam_current": 2.5,
                "camera_length": 80,
                "Stage": {"x": 1.0, "y": 2.0, "z": 3.0},
                "tilt_alpha": 4.0,
                "tilt_beta": 5.0,
            }
        },
    }
    kw: dict[str, Any] = {
        "max_file_size": max_file_size,
        "frame_header_extra_bytes": extra,
        "show_progressbar": False,
    }
    rs.file_writer(str(tmp_path / "theirs.tvips"), sig, **kw)
    ours = nt.file_writer(tmp_path / "ours.tvips", sig, **kw)
    theirs = sorted(str(p) for p in tmp_path.glob("theirs_*.tvips"))
    assert len(ours) == len(theirs)
    mine, rsciio = Path(ours[0]).read_bytes(), Path(theirs[0]).read_bytes()
    if kind == "scan":  # the scan shape and step go to our block in the unused header bytes
        assert mine[52:60] == b"NTVIPSCB" and rsciio[52:60] == b"HYPERSPY"
        assert nt.open_series(ours[0]).calibration.scan_shape == (3, 4)
        mine, rsciio = mine[:52] + mine[256:], rsciio[:52] + rsciio[256:]
    assert mine == rsciio
    for a, b in zip(ours[1:], theirs[1:], strict=True):
        assert Path(a).read_bytes() == Path(b).read_bytes(), (a, b)
    back = read_ours(theirs[0], shape)
    np.testing.assert_array_equal(back["data"], data.reshape(back["data"].shape))
    assert back["metadata"]["Acquisition_instrument"]["TEM"]["Stage"]["tilt_alpha"] == 4.0


def test_pixel_size_from_signal_axes_not_axes0(tmp_path: Path) -> None:
    data = pixels((4, 6, 7), "uint16")
    sig = make_signal(data, "nm", 3.0)
    sig["axes"][0].update(scale=7.0, units="s")
    nt.file_writer(tmp_path / "p", sig, show_progressbar=False)
    h = main_header(tmp_path / "p_000.tvips")
    assert int(h["pixelsize"]) == 3
    fh = nt.file_reader(tmp_path / "p_000.tvips")[0]["original_metadata"]["frame_headers"]
    assert fh["mode"].tolist() == [1] * 4
    assert np.diff(fh["timestamp"] * 1000 + fh["ms"]).tolist() == [7000] * 3


@pytest.mark.parametrize(
    ("unit", "scale", "expected", "mode"),
    [("um", 0.002, 2, 1), ("1/angstrom", 0.1, 1, 2), ("nm", 5.0, 5, 1), ("1/m", 3e9, 3, 2)],
)
def test_pixel_size_converted(
    tmp_path: Path, unit: str, scale: float, expected: int, mode: int
) -> None:
    nt.file_writer(
        tmp_path / "u", make_signal(pixels((2, 3, 3), "uint8"), unit, scale), show_progressbar=False
    )
    assert int(main_header(tmp_path / "u_000.tvips")["pixelsize"]) == expected
    fh = nt.file_reader(tmp_path / "u_000.tvips")[0]["original_metadata"]["frame_headers"]
    assert set(fh["mode"].tolist()) == {mode}


def test_inexact_pixel_size_warns(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match=r"0\.01 cannot be stored exactly.*written as 0"):
        nt.file_writer(
            tmp_path / "w",
            make_signal(pixels((2, 3, 3), "uint8"), "1/nm", 0.01),
            show_progressbar=False,
        )
    assert int(main_header(tmp_path / "w_000.tvips")["pixelsize"]) == 0


def test_negative_offsets_clamped(tmp_path: Path) -> None:
    sig = make_signal(pixels((5, 6), "uint16"), "nm", 1.0)
    sig["axes"][-1]["offset"] = -3.0
    sig["axes"][-2]["offset"] = 4.0
    with pytest.warns(UserWarning, match="x offset nm is negative"):
        nt.file_writer(tmp_path / "o", sig, show_progressbar=False)
    h = main_header(tmp_path / "o_000.tvips")
    assert (int(h["offsetx"]), int(h["offsety"])) == (0, 4)


def test_explicit_mode_and_unknown_units(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="neither a length"):
        nt.file_writer(
            tmp_path / "m", make_signal(pixels((2, 3, 3), "uint8"), "", 1.0), show_progressbar=False
        )
    fh = nt.file_reader(tmp_path / "m_000.tvips")[0]["original_metadata"]["frame_headers"]
    assert set(fh["mode"].tolist()) == {2}
    nt.file_writer(
        tmp_path / "m",
        make_signal(pixels((2, 3, 3), "uint8"), "1/nm"),
        mode=1,
        show_progressbar=False,
    )
    fh = nt.file_reader(tmp_path / "m_000.tvips")[0]["original_metadata"]["frame_headers"]
    assert set(fh["mode"].tolist()) == {1}


@pytest.mark.parametrize(
    ("tem", "unit", "magtotal"),
    [
        ({"magnification": 5000}, "nm", 5000),
        ({"camera_length": 120}, "1/nm", 120),
        ({"camera_length": 120, "magnification": 5000}, "1/nm", 0),
        ({"magnification": 5000}, "1/nm", 0),
    ],
)
def test_magtotal_rule(tmp_path: Path, tem: dict, unit: str, magtotal: int) -> None:
    sig = make_signal(pixels((2, 3, 3), "uint8"), unit, 1.0)
    sig["metadata"] = {"Acquisition_instrument": {"TEM": tem}}
    nt.file_writer(tmp_path / "g", sig, show_progressbar=False)
    assert int(main_header(tmp_path / "g_000.tvips")["magtotal"]) == magtotal


def test_metadata_to_headers(tmp_path: Path) -> None:
    sig = make_signal(pixels((3, 3, 3), "uint16"), "1/nm", 1.0)
    sig["metadata"] = {
        "Acquisition_instrument": {
            "TEM": {
                "beam_energy": 200,
                "beam_current": 1.25,
                "defocus": -50.0,
                "Stage": {"x": 1.5, "y": -2.5, "z": 3.5, "tilt_alpha": 10.5, "tilt_beta": -4.0},
            }
        }
    }
    nt.file_writer(tmp_path / "h", sig, show_progressbar=False)
    back = nt.file_reader(tmp_path / "h_000.tvips")[0]
    tem = back["metadata"]["Acquisition_instrument"]["TEM"]
    assert tem["beam_energy"] == 200
    assert tem["beam_current"] == 1.25
    assert tem["defocus"] == -50.0
    assert tem["Stage"] == {"x": 1.5, "y": -2.5, "z": 3.5, "tilt_alpha": 10.5, "tilt_beta": -4.0}
    assert back["original_metadata"]["frame_headers"]["rotidx"].tolist() == [1, 2, 3]
    assert back["metadata"]["General"]["date"] == "1970-01-01"


# -- the format's own options ----------------------------------------------------------------
def test_version_1(tmp_path: Path) -> None:
    data = pixels((5, 6, 7), "uint16")
    with pytest.warns(UserWarning, match="ignored"):
        nt.file_writer(
            tmp_path / "v1", make_signal(data), version=1, frame_header_extra_bytes=4,
            show_progressbar=False,
        )  # fmt: skip
    path = tmp_path / "v1_000.tvips"
    assert os.path.getsize(path) == 256 + 5 * (12 + 84)
    h = main_header(path)
    assert (int(h["version"]), int(h["frameheaderbytes"])) == (1, 12)
    back = nt.file_reader(path)[0]
    np.testing.assert_array_equal(back["data"], data)
    assert sorted(back["original_metadata"]["frame_headers"]) == ["ms", "num", "timestamp"]
    with pytest.raises(ValueError, match="version"):
        nt.file_writer(tmp_path / "v3", make_signal(data), version=3, show_progressbar=False)


def test_frame_header_extra_bytes(tmp_path: Path) -> None:
    data = pixels((5, 6, 7), "uint8")
    nt.file_writer(
        tmp_path / "e", make_signal(data), frame_header_extra_bytes=48, show_progressbar=False
    )
    path = tmp_path / "e_000.tvips"
    assert int(main_header(path)["frameheaderbytes"]) == 108
    assert os.path.getsize(path) == 256 + 5 * (108 + 42)
    np.testing.assert_array_equal(nt.file_reader(path)[0]["data"], data)


def test_split_sizes_and_names(tmp_path: Path) -> None:
    data = pixels((10, 6, 7), "uint16")
    record = 60 + 84
    paths = nt.file_writer(
        tmp_path / "sp_000.tvips", make_signal(data), max_file_size=256 + 3 * record,
        show_progressbar=False,
    )  # fmt: skip
    assert [Path(p).name for p in paths] == ["sp_000.tvips", "sp_001.tvips", "sp_002.tvips"]
    assert [os.path.getsize(p) for p in paths] == [256 + 3 * record, 4 * record, 3 * record]
    np.testing.assert_array_equal(nt.file_reader(paths[1])[0]["data"], data)


def test_refuses_float_and_signed(tmp_path: Path) -> None:
    for dtype in ("float32", "int16", "bool"):
        with pytest.raises(TypeError, match=rf"not {dtype}.*astype\(np\.uint16\)"):
            nt.file_writer(tmp_path / "f", make_signal(np.zeros((2, 3, 3), dtype)))
    assert list(tmp_path.iterdir()) == []


def test_refuses_non_2d_signal(tmp_path: Path) -> None:
    sig = make_signal(np.zeros((2, 3, 3), np.uint8))
    sig["axes"][1]["navigate"] = True
    with pytest.raises(ValueError, match="Signal2D"):
        nt.file_writer(tmp_path / "n", sig)
    sig = make_signal(np.zeros((2, 3, 3), np.uint8))
    sig["axes"][0]["navigate"] = False
    with pytest.raises(ValueError, match="3 signal dimension"):
        nt.file_writer(tmp_path / "n", sig)
    assert list(tmp_path.iterdir()) == []


# -- time ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("zone", "clock", "utc"),
    [
        ("CET", "2021-01-15 12:00:00", "2021-01-15 11:00:00"),
        ("CET", "2021-06-15 12:00:00", "2021-06-15 10:00:00"),
        ("Europe/Berlin", "2021-01-15 12:00:00", "2021-01-15 11:00:00"),
        ("UTC", "2021-01-15 12:00:00", "2021-01-15 12:00:00"),
        ("+01:00", "2021-06-15 12:00:00", "2021-06-15 11:00:00"),
        ("-0530", "2021-06-15 12:00:00", "2021-06-15 17:30:00"),
    ],
)
def test_time_zone_instant_round_trips(tmp_path: Path, zone: str, clock: str, utc: str) -> None:
    date, time = clock.split()
    sig = make_signal(pixels((3, 2, 2), "uint8"), "1/nm", 1.0)
    sig["axes"][0].update(units="s", scale=0.25)
    sig["metadata"] = {"General": {"date": date, "time": time, "time_zone": zone}}
    nt.file_writer(tmp_path / "t", sig, show_progressbar=False)
    back = nt.file_reader(tmp_path / "t_000.tvips")[0]
    expected = datetime.fromisoformat(utc).replace(tzinfo=timezone.utc).timestamp()
    general = back["metadata"]["General"]
    assert f"{general['date']} {general['time']}" == utc
    assert general["time_zone"] == "UTC"
    fh = back["original_metadata"]["frame_headers"]
    assert (fh["timestamp"] + fh["ms"] / 1000).tolist() == [
        expected,
        expected + 0.25,
        expected + 0.5,
    ]
    assert back["axes"][0]["scale"] == pytest.approx(0.25)


def test_unknown_time_zone(tmp_path: Path) -> None:
    sig = make_signal(pixels((3, 2, 2), "uint8"))
    sig["metadata"] = {
        "General": {"date": "2021-01-01", "time": "00:00:00", "time_zone": "Mars/Olympus"}
    }
    with pytest.raises(ValueError, match="Mars/Olympus"):
        nt.file_writer(tmp_path / "z", sig)
    assert list(tmp_path.iterdir()) == []


# -- read -> write -> read keeps every header field -------------------------------------------
def _rich_recording(tmp_path: Path, version: int = 2) -> tuple[Path, np.ndarray]:
    """12 frames with every field set, split as our writer splits at 256 + 5 records."""
    rng = np.random.default_rng(1)
    n = 12
    frames = pixels((n, 5, 6), "uint16")
    heads = {
        "num": rng.integers(0, 1000, n).tolist(),
        "timestamp": (1_600_000_000 + np.arange(n) // 3).tolist(),
        "ms": ((np.arange(n) * 333) % 1000).tolist(),
        "LUTidx": [3] * n,
        "fcurrent": rng.random(n).astype(np.float32).tolist(),
        "mag": [25000] * n,
        "mode": [2] * n,
        "stagex": rng.random(n).astype(np.float32).tolist(),
        "stagey": rng.random(n).astype(np.float32).tolist(),
        "stagez": rng.random(n).astype(np.float32).tolist(),
        "stagea": rng.random(n).astype(np.float32).tolist(),
        "stageb": rng.random(n).astype(np.float32).tolist(),
        "rotidx": [1, 1, 2, 3, 5, 6, 7, 7, 8, 9, 10, 11],
        "temperature": rng.random(n).astype(np.float32).tolist(),
        "objective": rng.random(n).astype(np.float32).tolist(),
        "dens_power": rng.random(n).astype(np.float32).tolist(),
        "obj_current": rng.random(n).astype(np.float32).tolist(),
        "scan_x": (np.arange(n) % 4).astype(float).tolist(),
        "scan_y": (np.arange(n) // 4).astype(float).tolist(),
    }
    if version == 1:
        heads = {k: heads[k] for k in ("num", "timestamp", "ms")}
    write_recording(
        tmp_path / "rich", frames, version=version, fhb=108, headers=heads,
        frames_per_part=[5, 7] if version == 1 else [5, 6, 1],
        offsetx=4, offsety=6, binx=2, biny=3, pixelsize=7, ht=300, magtotal=150,
        dummy=b"TVIPS " * 34,
    )  # fmt: skip
    return tmp_path / "rich_000.tvips", frames


@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize("version", [1, 2])
def test_read_write_read_keeps_every_field(tmp_path: Path, lazy: bool, version: int) -> None:
    src, frames = _rich_recording(tmp_path, version)
    first = nt.file_reader(src, lazy=lazy)[0]
    record = (108 if version == 2 else 12) + 60
    out = nt.file_writer(
        tmp_path / "copy", first, max_file_size=256 + 5 * record, version=version,
        show_progressbar=False,
    )  # fmt: skip
    second = nt.file_reader(out[0])[0]
    assert second["original_metadata"]["tvips_header"] == first["original_metadata"]["tvips_header"]
    h1 = first["original_metadata"]["frame_headers"]
    h2 = second["original_metadata"]["frame_headers"]
    assert sorted(h1) == sorted(h2)
    for name in h1:
        np.testing.assert_array_equal(h2[name], h1[name], err_msg=name)
    np.testing.assert_array_equal(second["data"], frames)
    assert second["metadata"] == first["metadata"] | {
        "General": {**first["metadata"]["General"], "original_filename": "copy_000.tvips"}
    }
    assert [(a["scale"], a["offset"], a["units"]) for a in second["axes"]] == [
        (a["scale"], a["offset"], a["units"]) for a in first["axes"]
    ]
    # the files themselves are identical, split the same way
    originals = sorted(tmp_path.glob("rich_*.tvips"))
    assert [Path(p).read_bytes() for p in out] == [p.read_bytes() for p in originals]


def test_edited_metadata_wins_over_kept_headers(tmp_path: Path) -> None:
    src, _ = _rich_recording(tmp_path)
    sig = nt.file_reader(src)[0]
    sig["metadata"]["Acquisition_instrument"]["TEM"]["Stage"]["x"] = 42.0
    sig["metadata"]["General"]["date"] = "2020-09-14"  # one day later than recorded
    kept = sig["original_metadata"]["frame_headers"]
    nt.file_writer(tmp_path / "ed", sig, show_progressbar=False)
    fh = nt.file_reader(tmp_path / "ed_000.tvips")[0]["original_metadata"]["frame_headers"]
    assert set(fh["stagex"].tolist()) == {42.0}
    np.testing.assert_array_equal(fh["stagey"], kept["stagey"])
    np.testing.assert_array_equal(fh["timestamp"], kept["timestamp"] + 86400)
    np.testing.assert_array_equal(fh["ms"], kept["ms"])


def test_scan_from_reader_synthesizes_headers(tmp_path: Path) -> None:
    src, frames = _rich_recording(tmp_path)
    sig = nt.file_reader(src, scan_shape=(2, 4), scan_start_frame=2)[0]
    nt.file_writer(tmp_path / "sc", sig, show_progressbar=False)
    back = nt.file_reader(tmp_path / "sc_000.tvips", scan_shape=(2, 4))[0]
    np.testing.assert_array_equal(back["data"], frames[2:10].reshape(2, 4, 5, 6))
    h = back["original_metadata"]["tvips_header"]
    assert (int(h["binx"]), int(h["pixelsize"]), int(h["offsetx"])) == (2, 7, 4)


# -- safety ----------------------------------------------------------------------------------
def test_stale_parts_removed(tmp_path: Path) -> None:
    data = pixels((10, 6, 7), "uint16")
    record = 60 + 84
    nt.file_writer(
        tmp_path / "st", make_signal(data), max_file_size=256 + 2 * record, show_progressbar=False
    )
    assert len(list(tmp_path.glob("st_*.tvips"))) == 4
    (tmp_path / "other_004.tvips").write_bytes(b"x")
    small = data[:3]
    nt.file_writer(
        tmp_path / "st", make_signal(small), max_file_size=256 + 2 * record, show_progressbar=False
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "other_004.tvips",
        "st_000.tvips",
        "st_001.tvips",
    ]
    np.testing.assert_array_equal(nt.file_reader(tmp_path / "st_000.tvips")[0]["data"], small)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("where", ["pwritev", "replace", "interrupt", "read"])
@pytest.mark.parametrize("source", ["numpy", "dask", "frames"])
def test_failure_leaves_old_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str, source: str
) -> None:
    record = 60 + 84
    old = pixels((6, 6, 7), "uint16", seed=1)
    nt.file_writer(
        tmp_path / "f", make_signal(old), max_file_size=256 + 2 * record, show_progressbar=False
    )
    before = _snapshot(tmp_path)
    new = pixels((8, 6, 7), "uint16", seed=2)
    data: Any = new
    if source == "dask":
        data = da.from_array(new, chunks=(1, 6, 7))
    elif source == "frames":
        write_recording(tmp_path / "src", new)
        series = nt.open_series(tmp_path / "src_000.tvips")
        data = nt.FrameArray(series, np.arange(8))
        before = _snapshot(tmp_path)
    calls = {"n": 0}

    def failing(real: Any, exc: BaseException, after: int) -> Any:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            calls["n"] += 1
            if calls["n"] > after:
                raise exc
            return real(*args, **kwargs)

        return wrapped

    if where == "pwritev":
        monkeypatch.setattr(os, "pwritev", failing(os.pwritev, OSError(28, "No space left"), 1))
    elif where == "replace":
        monkeypatch.setattr(os, "replace", failing(os.replace, OSError(5, "I/O error"), 1))
    elif where == "interrupt":
        monkeypatch.setattr(os, "pwritev", failing(os.pwritev, KeyboardInterrupt(), 2))
    else:
        if source == "numpy":
            pytest.skip("numpy input is not read through __getitem__ lazily")
        monkeypatch.setattr(_writer, "_BLOCK_BYTES", 84)  # one frame per block
        real = nt.FrameArray.__getitem__
        monkeypatch.setattr(nt.FrameArray, "__getitem__", failing(real, RuntimeError("boom"), 3))
        if source == "dask":
            data = da.map_blocks(
                lambda b, block_info=None: (_ for _ in ()).throw(RuntimeError("boom"))
                if block_info[None]["chunk-location"][0] == 5 else b,
                data, dtype=data.dtype,
            )  # fmt: skip
    with pytest.raises((OSError, KeyboardInterrupt, RuntimeError)):
        nt.file_writer(
            tmp_path / "f",
            make_signal(data),
            max_file_size=256 + 3 * record,
            show_progressbar=False,
        )
    assert _snapshot(tmp_path) == before
    np.testing.assert_array_equal(nt.file_reader(tmp_path / "f_000.tvips")[0]["data"], old)


@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize("per_part", [12, 6, 2])
def test_write_over_the_lazily_read_source(tmp_path: Path, lazy: bool, per_part: int) -> None:
    src, frames = _rich_recording(tmp_path)
    if lazy:
        sig = nt.file_reader(src, lazy=True)[0]
    else:
        series = nt.open_series(src)
        sig = nt.file_reader(src, lazy=True)[0]
        sig["data"] = nt.FrameArray(series, np.arange(series.n_frames))
    size = 256 + per_part * (108 + 60)
    out = nt.file_writer(src, sig, max_file_size=size, show_progressbar=False)
    assert sorted(str(p) for p in tmp_path.glob("rich_*.tvips")) == out
    back = nt.file_reader(src)[0]
    np.testing.assert_array_equal(back["data"], frames)
    assert back["original_metadata"]["frame_headers"]["rotidx"][:3].tolist() == [1, 1, 2]
    assert leftovers(tmp_path) == []


def test_progress_bar(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nt.file_writer(tmp_path / "pb", make_signal(pixels((4, 3, 3), "uint8")), show_progressbar=True)
    assert "4/4" in capsys.readouterr().err
    nt.file_writer(tmp_path / "pb", make_signal(pixels((4, 3, 3), "uint8")), show_progressbar=False)
    assert capsys.readouterr().err == ""


def test_large_dask_chunks_are_split(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_writer, "_BLOCK_BYTES", 4 * 84)
    data = pixels((6, 5, 6, 7), "uint16")
    arr = da.from_array(data, chunks=(6, 5, 3, 7))
    seen: list[int] = []
    real = _writer._RecordWriter.write

    def spy(self: Any, idx: np.ndarray, frames: Any) -> None:
        seen.append(idx.size)
        real(self, idx, frames)

    monkeypatch.setattr(_writer._RecordWriter, "write", spy)
    nt.file_writer(tmp_path / "lg", make_signal(arr), show_progressbar=False)
    assert max(seen) <= 4 and sum(seen) == 30
    back = nt.file_reader(tmp_path / "lg_000.tvips", scan_shape=(6, 5))[0]
    np.testing.assert_array_equal(back["data"], data)


def test_header_dtype_matches_file(tmp_path: Path) -> None:
    """Frame header bytes read straight from the file (independent of our reader)."""
    data = pixels((3, 2, 2), "uint8")
    nt.file_writer(tmp_path / "raw", make_signal(data, "1/nm", 1.0), show_progressbar=False)
    raw = (tmp_path / "raw_000.tvips").read_bytes()
    rec = np.dtype([("h", frame_header_dtype(60)), ("d", "u1", (2, 2))])
    table = np.frombuffer(raw, dtype=rec, offset=256)
    assert table["h"]["rotidx"].tolist() == [1, 2, 3]
    assert table["h"]["ms"].tolist() == [0, 1, 2]
    assert table["h"]["mode"].tolist() == [2, 2, 2]
    np.testing.assert_array_equal(table["d"], data)
