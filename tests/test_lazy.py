"""Lazy means lazy: small picklable graphs, header-only opening, one frame reads one frame."""

from __future__ import annotations

import io
import mmap
import os
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask
import numpy as np
import pytest

import napari_tvips as nt
from napari_tvips._lazy import block_chunks
from napari_tvips._series import Series
from tvips_bytes import write_recording

N, DIMY, DIMX = 96, 16, 24
FRAME_BYTES = DIMY * DIMX * 2


@pytest.fixture(scope="module")
def stack_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lazy")
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 65535, size=(N, DIMY, DIMX), dtype=np.uint16)
    np.save(folder / "frames.npy", frames)
    write_recording(folder / "lz", frames, fhb=60, frames_per_part=[40, 40, 16])
    return folder / "lz_000.tvips"


@pytest.fixture(scope="module")
def frames(stack_path: Path) -> np.ndarray:
    return np.load(stack_path.parent / "frames.npy")


class PreadvCounter:
    """Counts bytes requested through ``os.preadv`` (pixel reads go through it)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[int] = []
        real = os.preadv

        def counting(fd: int, buffers: Any, offset: int, *args: Any) -> int:
            self.calls.append(sum(memoryview(b).nbytes for b in buffers))
            return real(fd, buffers, offset, *args)

        monkeypatch.setattr(os, "preadv", counting)

    @property
    def total(self) -> int:
        return sum(self.calls)


def _walk(obj: Any, seen: set[int] | None = None) -> Iterator[Any]:
    """Every object reachable from ``obj`` through containers, ``__dict__`` and ``__slots__``."""
    seen = set() if seen is None else seen
    if id(obj) in seen or isinstance(obj, (type, str, bytes, int, float, np.ndarray)):
        yield obj
        return
    seen.add(id(obj))
    yield obj
    if isinstance(obj, dict):
        children: list[Any] = [*obj.keys(), *obj.values()]
    elif isinstance(obj, (list, tuple, set, frozenset)):
        children = list(obj)
    else:
        children = list(getattr(obj, "__dict__", {}).values())
        for cls in type(obj).__mro__:
            for slot in getattr(cls, "__slots__", ()):
                if hasattr(obj, slot):
                    children.append(getattr(obj, slot))
    for child in children:
        yield from _walk(child, seen)


SCANS: list[dict[str, Any]] = [
    {},
    {"scan_shape": (8, 11), "scan_start_frame": 3},
    {"scan_shape": (8, 11), "scan_start_frame": 5, "winding_scan_axis": "x", "hysteresis": 2},
    {"scan_shape": (2, 6, 7), "winding_scan_axis": "y", "hysteresis": -1},
]


@pytest.mark.parametrize("args", SCANS, ids=str)
def test_graph_holds_no_open_files(stack_path: Path, args: dict[str, Any]) -> None:
    data = nt.file_reader(stack_path, lazy=True, **args)[0]["data"]
    assert isinstance(data, dask.array.Array)
    graph = dict(data.__dask_graph__())
    reached = list(_walk(graph))
    assert any(isinstance(obj, nt.FrameArray) for obj in reached)  # the walk sees the data source
    for obj in reached:
        assert not isinstance(obj, (np.memmap, mmap.mmap, io.IOBase)), type(obj)
    blob = pickle.dumps(graph)
    index_bytes = 8 * int(np.prod(data.shape[:-2]))
    assert len(blob) < (64 << 10) + index_bytes
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(data)).compute(), data.compute())


@pytest.mark.parametrize("args", SCANS, ids=str)
def test_open_reads_headers_only(
    stack_path: Path, frames: np.ndarray, args: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_a: Any, **_k: Any) -> None:
        raise AssertionError("pixels were read while opening")

    counter = PreadvCounter(monkeypatch)
    with monkeypatch.context() as m:
        m.setattr(Series, "read_frames", refuse)
        out = nt.file_reader(stack_path, lazy=True, **args)[0]
        meta = out["original_metadata"]["frame_headers"]
        assert meta["rotidx"].size == N
    assert counter.total == 0
    expected = nt.file_reader(stack_path, **args)[0]["data"]
    np.testing.assert_array_equal(out["data"].compute(), expected)


@pytest.mark.parametrize(
    ("args", "key"),
    [
        ({}, (0,)),
        ({}, (41,)),
        ({}, (N - 1,)),
        ({"scan_shape": (8, 11), "scan_start_frame": 5, "winding_scan_axis": "x"}, (0, 0)),
        ({"scan_shape": (8, 11), "winding_scan_axis": "x", "hysteresis": 2}, (4, 7)),
        ({"scan_shape": (2, 6, 7), "winding_scan_axis": "y"}, (1, 3, 2)),
    ],
    ids=str,
)
def test_one_frame_reads_one_frame(
    stack_path: Path, frames: np.ndarray, args: dict[str, Any], key: tuple[int, ...],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    data = nt.file_reader(stack_path, lazy=True, **args)[0]["data"]
    eager = nt.file_reader(stack_path, **args)[0]["data"]
    assert data.numblocks[: len(key)] != (1,) * 0  # a real dask array
    counter = PreadvCounter(monkeypatch)
    got = data[key].compute()
    np.testing.assert_array_equal(got, eager[key])
    assert counter.total == FRAME_BYTES, counter.calls


def test_block_reads_are_few_syscalls(
    stack_path: Path, frames: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = nt.file_reader(stack_path, lazy=True, rechunking={0: 32})[0]["data"]
    counter = PreadvCounter(monkeypatch)
    np.testing.assert_array_equal(data.compute(scheduler="sync"), frames)
    # 3 blocks of 32 frames, one part boundary in the first two: at most 5 calls; frame headers
    # between frames go to a scratch buffer, nothing else is read
    assert N * FRAME_BYTES <= counter.total < N * (FRAME_BYTES + 60)
    assert len(counter.calls) <= 5


def test_frame_array_indexing(stack_path: Path, frames: np.ndarray) -> None:
    series = nt.open_series(stack_path)
    fa = nt.FrameArray(series, nt.ScanLayout((8, 12)).index_map(N))
    ref = frames.reshape(8, 12, DIMY, DIMX)
    assert fa.shape == ref.shape and fa.dtype == ref.dtype and fa.ndim == 4
    assert (fa.size, fa.nbytes, len(fa)) == (ref.size, ref.nbytes, len(ref))
    for key in [
        (3,), (3, 4), (-1, -2, 5), (slice(1, 7, 2), 3), (..., 2, 3), ([0, 7, 3], slice(None)),
        (slice(None), [11, 0, 4], slice(2, 9)), (np.arange(8) % 2 == 0,), (2, slice(None), 1, 1),
        (slice(None, None, -1), 3),
    ]:  # fmt: skip
        np.testing.assert_array_equal(fa[key], ref[key], err_msg=str(key))
    np.testing.assert_array_equal(np.asarray(fa), ref)
    with pytest.raises(IndexError):
        fa[8]


def test_block_chunks_are_whole_frames() -> None:
    assert block_chunks((16384, 256, 256), 2, limit=32 << 20) == (256, 256, 256)
    assert block_chunks((128, 128, 256, 256), 2, limit=32 << 20) == (2, 128, 256, 256)
    # the default: 16 MiB, i.e. one 128-frame scan row of 256 x 256 uint16
    assert block_chunks((128, 128, 256, 256), 2) == (1, 128, 256, 256)
    assert block_chunks((4, 5, 6, 7), 1, limit=1000) == (4, 5, 6, 7)
    assert block_chunks((3, 1 << 20, 1 << 10), 2) == (1, 1 << 20, 1 << 10)


def test_lazy_repeated_frames(tmp_path: Path) -> None:
    """A rotidx scan with repeats computes lazily to what the eager read gives."""
    rot = [0, 1, 1, 2, 4, 5, 6, 7, 7, 8, 9, 0]
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 255, size=(12, 3, 3), dtype=np.uint8)
    write_recording(tmp_path / "rep", frames, headers={"rotidx": rot})
    lazy = nt.file_reader(tmp_path / "rep_000.tvips", lazy=True, scan_shape="auto")[0]["data"]
    eager = nt.file_reader(tmp_path / "rep_000.tvips", scan_shape="auto")[0]["data"]
    np.testing.assert_array_equal(lazy.compute(), eager)
    np.testing.assert_array_equal(eager, frames[[[1, 3, 3], [4, 5, 6], [7, 9, 10]]])
