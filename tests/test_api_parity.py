"""Parity with ``rsciio.tvips.file_reader`` over files x arguments, and our deliberate differences.

Files come from RosettaSciIO's own writer and from byte-built v2 recordings (tvips_bytes.py). For
every file rsciio can read, data, axes, metadata and ``tvips_header`` must equal rsciio's.
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rsciio.tvips import file_reader as rs_reader
from rsciio.tvips import file_writer as rs_writer

import napari_tvips as nt
from tvips_bytes import write_recording

N_FRAMES = 26  # enough for every scan argument below


def _rs_signal(data: np.ndarray, units: str = "1/nm") -> dict[str, Any]:
    n, dimy, dimx = data.shape
    sig = {"scale": 0.1, "offset": 0, "units": units, "navigate": False}
    return {
        "data": data,
        "axes": [
            {"size": n, "name": "time", "scale": 0.25, "offset": 0, "units": "s", "navigate": True},
            {"size": dimy, "name": "dy", **sig},
            {"size": dimx, "name": "dx", **sig},
        ],
        "metadata": {
            "General": {"date": "2023-05-06", "time": "12:34:56", "time_zone": "UTC"},
            "Acquisition_instrument": {
                "TEM": {
                    "beam_energy": 300,
                    "beam_current": 2.5,
                    "tilt_alpha": 4.5,
                    "Stage": {"x": 1.5, "y": -2.0, "z": 0.25},
                }
            },
        },
        "original_metadata": {},
        "attributes": {"_lazy": False},
    }


def _content(shape: tuple[int, ...], dtype: type, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, np.iinfo(dtype).max, size=shape, dtype=dtype, endpoint=True)


def _make(kind: str, folder: Path) -> Path:
    """Build one test file; returns its ``_000`` path."""
    base = folder / kind
    if kind == "rs_square_u16":
        rs_writer(f"{base}.tvips", _rs_signal(_content((N_FRAMES, 6, 6), np.uint16, 1)),
                  show_progressbar=False)  # fmt: skip
    elif kind == "rs_nonsquare_u8_split_extra":
        data = _content((N_FRAMES, 3, 7), np.uint8, 2)
        record = 60 + 8 + 21
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rs_writer(f"{base}.tvips", _rs_signal(data, "nm"), max_file_size=256 + 9 * record,
                      frame_header_extra_bytes=8, show_progressbar=False)  # fmt: skip
        assert (folder / f"{kind}_002.tvips").exists()
    elif kind == "bytes_fhb60_nonsquare":
        n = N_FRAMES
        write_recording(
            base, _content((n, 5, 4), np.uint16, 3), fhb=60, pixelsize=3, offsetx=2, offsety=5,
            headers={
                "timestamp": [1_600_000_000 + i // 4 for i in range(n)],
                "ms": [250 * (i % 4) for i in range(n)],
                "fcurrent": [1.25] * n, "objective": [-7.5] * n, "stagea": [3.0] * n,
                "stagex": [11.0] * n, "mode": [1] * n,
            },
        )  # fmt: skip
    elif kind == "bytes_fhb64_split_u8":
        write_recording(base, _content((N_FRAMES, 4, 4), np.uint8, 4), fhb=64,
                        frames_per_part=[7, 7, 12])  # fmt: skip
    elif kind == "bytes_fhb108_extra":
        write_recording(base, _content((N_FRAMES, 2, 3), np.uint16, 5), fhb=108 + 20,
                        headers={"scan_x": [9.0] * N_FRAMES})  # fmt: skip
    else:
        raise AssertionError(kind)
    return folder / f"{kind}_000.tvips"


FILES = [
    "rs_square_u16",
    "rs_nonsquare_u8_split_extra",
    "bytes_fhb60_nonsquare",
    "bytes_fhb64_split_u8",
    "bytes_fhb108_extra",
]

ARGS: list[dict[str, Any]] = [
    {},
    {"scan_shape": (4, 5), "scan_start_frame": 3},
    {"scan_shape": (5, 5)},
    {"scan_shape": (2, 3, 4), "scan_start_frame": 1},
    {"scan_shape": (4, 5), "scan_start_frame": 2, "winding_scan_axis": "x"},
    {"scan_shape": (4, 5), "scan_start_frame": 2, "winding_scan_axis": 0, "hysteresis": 2},
    {"scan_shape": (4, 5), "winding_scan_axis": "y", "hysteresis": -1},
    {"scan_shape": (5, 4), "scan_start_frame": 6, "winding_scan_axis": 1, "hysteresis": 3},
    {"scan_shape": (2, 3, 4), "scan_start_frame": 2, "winding_scan_axis": "x", "hysteresis": -2},
    {"scan_shape": (5, 5), "hysteresis": 2},  # hysteresis without winding is ignored
]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("parity")
    return {kind: _make(kind, folder) for kind in FILES}


def assert_same(ours: Any, theirs: Any, where: str = "") -> None:
    """Deep equality of rsciio-style structures (exact; NaN never expected)."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict) or hasattr(ours, "keys"), where
        assert set(ours) == set(theirs), f"{where}: {set(ours) ^ set(theirs)}"
        for key in theirs:
            assert_same(ours[key], theirs[key], f"{where}.{key}")
    elif isinstance(theirs, (list, tuple)):
        assert len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            assert_same(a, b, f"{where}[{i}]")
    elif isinstance(theirs, np.ndarray):
        assert isinstance(ours, np.ndarray) and ours.dtype == theirs.dtype, where
        np.testing.assert_array_equal(ours, theirs, err_msg=where)
    elif isinstance(theirs, (bytes, str, np.bytes_)):
        assert ours == theirs, f"{where}: {ours!r} != {theirs!r}"
    else:
        assert np.asarray(ours).dtype.kind == np.asarray(theirs).dtype.kind or (
            np.asarray(theirs).dtype.kind in "iu" and np.asarray(ours).dtype.kind in "iu"
        ), f"{where}: {ours!r} vs {theirs!r}"
        assert ours == theirs, f"{where}: {ours!r} != {theirs!r}"


def compare(path: Path, ours_lazy: bool = False, theirs_lazy: bool = False, **kwargs: Any) -> None:
    theirs = rs_reader(str(path), lazy=theirs_lazy, **kwargs)[0]
    ours = nt.file_reader(path, lazy=ours_lazy, **kwargs)[0]
    t_data = np.asarray(theirs["data"].compute() if theirs_lazy else theirs["data"])
    o_data = ours["data"].compute() if ours_lazy else ours["data"]
    assert isinstance(o_data, np.ndarray)
    assert o_data.dtype == t_data.dtype
    np.testing.assert_array_equal(o_data, t_data)
    assert_same(ours["axes"], theirs["axes"], "axes")
    assert_same(ours["metadata"], theirs["metadata"], "metadata")
    assert_same(
        ours["original_metadata"]["tvips_header"],
        theirs["original_metadata"]["tvips_header"],
        "tvips_header",
    )
    assert ours["mapping"] == theirs["mapping"]


@pytest.mark.parametrize("args", ARGS, ids=lambda a: "-".join(f"{k}={v}" for k, v in a.items()))
@pytest.mark.parametrize("kind", FILES)
def test_parity_eager(files: dict[str, Path], kind: str, args: dict[str, Any]) -> None:
    compare(files[kind], **args)


RECHUNKING: list[Any] = ["auto", True, False, {0: 3}]


@pytest.mark.parametrize("rechunking", RECHUNKING, ids=str)
@pytest.mark.parametrize("args", ARGS[:2] + ARGS[3:5] + ARGS[6:9:2], ids=str)
@pytest.mark.parametrize("kind", FILES[1:4])
def test_parity_lazy(
    files: dict[str, Path], kind: str, args: dict[str, Any], rechunking: Any
) -> None:
    compare(files[kind], ours_lazy=True, theirs_lazy=True, rechunking=rechunking, **args)
    # lazy and eager agree with each other too
    compare(files[kind], ours_lazy=True, theirs_lazy=False, rechunking=rechunking, **args)


def test_dict_rechunking_is_honoured(files: dict[str, Path]) -> None:
    path = files["bytes_fhb64_split_u8"]
    data = nt.file_reader(path, lazy=True, scan_shape=(5, 5), rechunking={0: 2, 1: 5})[0]["data"]
    assert data.chunks[0] == (2, 2, 1)
    assert data.chunks[1] == (5,)
    assert data.chunks[2:] == ((4,), (4,))


# -- scan_shape="auto" from rotidx ---------------------------------------------------------------

#: EM-Konos style: idle frames, repeats (dwell longer than a frame), gaps (no frame for a point).
KONOS_ROTIDX = [0, 0, 1, 2, 2, 3, 5, 6, 7, 7, 7, 8, 9, 10, 12, 13, 14, 15, 16, 16, 16]


def _konos(folder: Path, name: str, rotidx: list[int]) -> Path:
    n = len(rotidx)
    write_recording(folder / name, _content((n, 3, 4), np.uint16, 7), fhb=60,
                    headers={"rotidx": rotidx}, frames_per_part=[n // 2, n - n // 2])  # fmt: skip
    return folder / f"{name}_000.tvips"


@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize(
    ("winding", "hysteresis"), [(None, 0), ("x", 0), ("x", 1), ("y", -1), (0, 2)]
)
def test_auto_parity_without_drop(
    tmp_path: Path, lazy: bool, winding: Any, hysteresis: int
) -> None:
    path = _konos(tmp_path, "konos", KONOS_ROTIDX)
    compare(
        path, ours_lazy=lazy, theirs_lazy=lazy, scan_shape="auto",
        winding_scan_axis=winding, hysteresis=hysteresis,
    )  # fmt: skip


#: The scan of KONOS_ROTIDX by hand (rsciio's rule): position p takes the first frame with
#: rotidx p + 1, a gap repeats the previous frame.
KONOS_MAP = [2, 3, 5, 5, 6, 7, 8, 11, 12, 13, 13, 14, 15, 16, 17, 18]


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # rsciio's uint32 wrap
@pytest.mark.parametrize("tail", [[0, 0, 0], [0, 0, 1], [1, 2, 3, 4, 5], [3]])
def test_auto_with_drop_after_scan_differs_from_rsciio(tmp_path: Path, tail: list[int]) -> None:
    """rsciio's uint32 diff wraps at the drop and finds a 1x1 (or no) scan; we find the 4x4."""
    path = _konos(tmp_path, "drop", [*KONOS_ROTIDX, *tail])
    stack = nt.file_reader(path)[0]["data"]
    for lazy in (False, True):
        ours = nt.file_reader(path, scan_shape="auto", lazy=lazy)[0]
        assert [a["name"] for a in ours["axes"]] == ["y", "x", "dy", "dx"]
        np.testing.assert_array_equal(
            np.asarray(ours["data"]), stack[KONOS_MAP].reshape(4, 4, 3, 4)
        )
    try:
        theirs = rs_reader(str(path), scan_shape="auto")[0]["data"]
    except (ValueError, IndexError):
        return
    assert theirs.shape[:2] != (4, 4)


def test_auto_konos_map(tmp_path: Path) -> None:
    path = _konos(tmp_path, "konos", KONOS_ROTIDX)
    stack = nt.file_reader(path)[0]["data"]
    ours = nt.file_reader(path, scan_shape="auto", winding_scan_axis="x", hysteresis=1)[0]["data"]
    grid = np.array(KONOS_MAP).reshape(4, 4)
    grid[::2] = np.roll(grid[::2, ::-1], 1, axis=-1)
    np.testing.assert_array_equal(ours, stack[grid])


# -- deliberate differences (design.md section 5): test our behaviour ----------------------------


def test_v1_rsciio_refuses_we_read(tmp_path: Path) -> None:
    frames = _content((5, 3, 3), np.uint16, 8)
    write_recording(tmp_path / "v1", frames, version=1)
    with pytest.raises(ValueError):
        rs_reader(str(tmp_path / "v1_000.tvips"))
    np.testing.assert_array_equal(nt.file_reader(tmp_path / "v1_000.tvips")[0]["data"], frames)


def test_one_frame_recording(tmp_path: Path) -> None:
    frames = _content((1, 3, 3), np.uint16, 9)
    write_recording(tmp_path / "one", frames)
    with pytest.raises(IndexError):
        rs_reader(str(tmp_path / "one_000.tvips"))
    out = nt.file_reader(tmp_path / "one_000.tvips")[0]
    np.testing.assert_array_equal(out["data"], frames)
    assert out["axes"][0]["size"] == 1 and out["axes"][0]["units"] == "s"
    assert out["axes"][0]["offset"] == 1_700_000_000.0


def test_one_dimensional_scan_names(files: dict[str, Path]) -> None:
    out = nt.file_reader(files["bytes_fhb64_split_u8"], scan_shape=(7,), scan_start_frame=2)[0]
    assert [a["name"] for a in out["axes"]] == ["x", "dy", "dx"]
    assert [a["navigate"] for a in out["axes"]] == [True, False, False]
    np.testing.assert_array_equal(
        out["data"], nt.file_reader(files["bytes_fhb64_split_u8"])[0]["data"][2:9]
    )
    assert nt.file_reader(files["bytes_fhb64_split_u8"], scan_shape=7)[0]["data"].shape[0] == 7


def test_timestamps_are_utc_whatever_the_local_zone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_recording(tmp_path / "tz", _content((3, 2, 2), np.uint8, 10),
                    headers={"timestamp": [1_700_000_000] * 3, "ms": [0, 100, 200]})  # fmt: skip
    path = tmp_path / "tz_000.tvips"
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        ours = nt.file_reader(path)[0]["metadata"]["General"]
        theirs = rs_reader(str(path))[0]["metadata"]["General"]
    finally:
        monkeypatch.setenv("TZ", "UTC")
        time.tzset()
    assert (ours["date"], ours["time"], ours["time_zone"]) == ("2023-11-14", "22:13:20", "UTC")
    assert theirs["time"] == "07:13:20"  # rsciio: Tokyo local time labelled UTC


def test_any_part_path_rsciio_refuses(files: dict[str, Path]) -> None:
    path = files["bytes_fhb64_split_u8"]
    other = path.with_name(path.name.replace("_000", "_001"))
    with pytest.raises(ValueError):
        rs_reader(str(other))
    a = nt.file_reader(other)[0]
    b = nt.file_reader(path)[0]
    np.testing.assert_array_equal(a["data"], b["data"])
    assert_same(a["metadata"], b["metadata"])


def test_frame_headers_are_exposed(files: dict[str, Path]) -> None:
    ours = nt.file_reader(files["bytes_fhb60_nonsquare"])[0]["original_metadata"]
    assert "frame_headers" in ours
    assert ours["frame_headers"]["ms"].tolist() == [250 * (i % 4) for i in range(N_FRAMES)]
    lazy = nt.file_reader(files["bytes_fhb60_nonsquare"], lazy=True)[0]["original_metadata"]
    assert_same(dict(lazy["frame_headers"]), ours["frame_headers"])


def test_tz_env_is_utc() -> None:
    assert os.environ["TZ"] == "UTC"
