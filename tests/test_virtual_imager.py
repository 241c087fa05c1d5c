"""VirtualImager against a NumPy brute force on a synthetic scan (the demo's physics)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from napari_tvips import Series
from napari_tvips._demo import demo_frames
from napari_tvips._imager import PassCancelled, VirtualImager, coarse_to_fine
from napari_tvips._imager_channels import fill_coarse
from napari_tvips._kernels import acc_dtype, engine_name
from tvips_bytes import write_recording

try:
    engine_name("numba")
    ENGINES = ["numpy", "numba"]
except ImportError:  # pragma: no cover - numba is in the testing extra
    ENGINES = ["numpy"]

eq = np.testing.assert_array_equal
FRAME = (64, 60)
CENTRE = (32.0, 30.0)  # the demo draws the undeflected beam at the frame's centre


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory) -> tuple[Series, np.ndarray, np.ndarray]:
    frames, _headers, truth = demo_frames((9, 11), FRAME, pre_frames=4, hysteresis=1, seed=3)
    folder = tmp_path_factory.mktemp("imager")
    n = frames.shape[0]
    write_recording(folder / "scan", frames, frames_per_part=[40, 37, n - 77])
    series = Series(folder / "scan_001.tvips")
    assert len(series.parts) == 3
    return series, frames, truth.layout.index_map(n)


def rings(centre: tuple[float, float]) -> np.ndarray:
    yy, xx = np.indices(FRAME)
    return np.floor(np.sqrt((yy - centre[0]) ** 2 + (xx - centre[1]) ** 2))


def brute(frames: np.ndarray, imap: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return (frames[imap].astype(np.int64) * mask).sum(axis=(-2, -1)).astype(np.float64)


def no_reads(series: Series, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("frames were read")

    monkeypatch.setattr(series, "read_frames", fail)


@pytest.mark.parametrize("engine", ENGINES)
def test_every_detector_matches_brute_force(scan, engine, monkeypatch) -> None:
    series, frames, imap = scan
    calls: list[int] = []
    real = series.read_frames

    def counting(idx, out=None, threads=1):
        calls.append(len(idx))
        return real(idx, out=out, threads=threads)

    monkeypatch.setattr(series, "read_frames", counting)
    block = 7 * FRAME[0] * FRAME[1] * 2
    imager = VirtualImager(series, imap, CENTRE, engine=engine, block_bytes=block)
    progress: list[tuple[int, int]] = []
    assert imager.run(lambda d, t: progress.append((d, t))) is imager
    n = imap.size
    assert progress[0] == (0, n) and progress[-1] == (n, n) and max(calls) == 7
    assert sum(calls) == n  # each scan frame read once; the parked-beam frames never
    monkeypatch.setattr(series, "read_frames", real)
    k = rings(CENTRE)
    with monkeypatch.context() as m:  # disks, rings, CoM and patterns: no frame is read again
        no_reads(series, m)
        for r in (0, 0.5, 3, 4.2, 7, 200):
            eq(imager.image("disk", radius=r), brute(frames, imap, k < np.ceil(r)))
        for a, b in ((0, 3), (4, 9.5), (10.1, 60), (6, 6)):
            mask = (k >= np.ceil(a)) & (k < np.ceil(b))
            eq(imager.image("annulus", inner=a, outer=b), brute(frames, imap, mask))
        eq(imager.total(), brute(frames, imap, np.ones(FRAME)))
        f = frames[imap].astype(np.float64)
        yy, xx = np.indices(FRAME)
        tot = f.sum(axis=(-2, -1))
        com_y, com_x = imager.com()
        np.testing.assert_allclose(com_y, (f * yy).sum(axis=(-2, -1)) / tot - CENTRE[0], atol=1e-9)
        np.testing.assert_allclose(com_x, (f * xx).sum(axis=(-2, -1)) / tot - CENTRE[1], atol=1e-9)
        assert np.ptp(com_y) > 0.5 and np.ptp(com_x) > 0.5  # the beam moves with the specimen
        np.testing.assert_allclose(imager.pattern("mean"), f.mean(axis=(0, 1)), rtol=1e-12)
        eq(imager.pattern("max"), frames[imap].max(axis=(0, 1)))
    # detectors that need a new pass
    box = (5, 7.5, 40, 33)
    rect = (yy >= 5) & (yy < 40) & (xx >= 7.5) & (xx < 33)
    eq(imager.image("rectangle", box=box), brute(frames, imap, rect))
    point = np.zeros(FRAME, bool)
    point[31, 12] = True
    eq(imager.image("point", at=(30.6, 12.4)), brute(frames, imap, point))
    off = (29.5, 33.25)
    eq(imager.image("disk", radius=5, centre=off), brute(frames, imap, rings(off) < 5))
    ring = (rings(off) >= 3) & (rings(off) < 8)
    eq(imager.image("annulus", inner=3, outer=8, centre=off), brute(frames, imap, ring))
    region = np.zeros(imap.shape, bool)
    region[2:5, 3:9] = True
    np.testing.assert_allclose(imager.pattern("mean", region), f[region].mean(axis=0), rtol=1e-12)
    eq(imager.pattern("max", (slice(0, 2), slice(None))), frames[imap[:2]].max(axis=(0, 1)))
    with monkeypatch.context() as m:  # a repeated mask detector comes from the cache
        no_reads(series, m)
        imager.image("rectangle", box=box)
    # a new centre is a new first pass about it
    imager.centre = off
    assert not imager.complete and np.isnan(imager.image("disk", radius=3)).all()
    imager.run()
    eq(imager.image("disk", radius=5), brute(frames, imap, rings(off) < 5))


def test_engines_agree_and_centre_is_estimated(scan) -> None:
    series, _frames, imap = scan
    imager = VirtualImager(series, imap, block_bytes=1 << 16).run()
    cy, cx = imager.centre
    assert abs(cy - CENTRE[0]) < 1.5 and abs(cx - CENTRE[1]) < 1.5
    other = VirtualImager(series, imap, imager.centre, engine="numpy", threads=1).run()
    eq(other.image("disk", radius=6), imager.image("disk", radius=6))
    eq(other.com()[1], imager.com()[1])
    eq(other.pattern("max"), imager.pattern("max"))


def test_partial_results_and_cancel(scan) -> None:
    series, frames, imap = scan
    imager = VirtualImager(
        series, imap, CENTRE, threads=1, block_bytes=FRAME[0] * FRAME[1] * 2 * 10
    )
    with pytest.raises(PassCancelled, match="cancelled"):
        imager.run(lambda done, total: imager.cancel() if done >= 20 else None)
    done = imager.done
    assert 20 <= done.sum() < imap.size
    part = imager.image("disk", radius=5)
    mask = rings(CENTRE) < 5
    eq(part[done], brute(frames, imap, mask)[done])
    assert np.isnan(part[~done]).all()
    gen = imager.iter_run()
    first = next(gen)
    assert first == (0, imap.size - done.sum())
    gen.close()  # closing the generator stops the pass (a napari worker's quit())
    imager.run()
    assert imager.complete
    eq(imager.image("disk", radius=5), brute(frames, imap, mask))


def test_remap_keeps_done_frames(scan, monkeypatch) -> None:
    series, frames, imap = scan
    imager = VirtualImager(series, imap, CENTRE).run()
    flat = imap.reshape(-1)
    other = np.sort(flat)[: 9 * 10].reshape(10, 9)  # another layout over frames already done
    moved = imager.remap(other)
    with monkeypatch.context() as m:
        no_reads(series, m)
        eq(moved.image("disk", radius=4), brute(frames, other, rings(CENTRE) < 4))
    assert moved.complete
    np.testing.assert_allclose(moved.pattern("mean"), frames[other].mean(axis=(0, 1)), rtol=1e-12)
    same = imager.remap(imap.copy())
    with monkeypatch.context() as m:
        no_reads(series, m)
        eq(same.pattern("max"), frames[imap].max(axis=(0, 1)))
    wider = imager.remap(np.arange(series.n_frames))  # the parked frames are new
    assert not wider.complete and wider.done.sum() == imap.size
    wider.run()
    eq(wider.image("disk", radius=4), brute(frames, np.arange(series.n_frames), rings(CENTRE) < 4))


def test_stack_uint8_and_uint32_overflow_choice(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (30, 20, 24), dtype=np.uint8)
    write_recording(tmp_path / "u8", frames)
    series = Series(tmp_path / "u8_000.tvips")
    for engine in ENGINES:
        imager = VirtualImager(series, centre=(9.5, 11.0), engine=engine).run()
        k = np.floor(np.hypot(*(np.indices((20, 24)) - np.array([9.5, 11.0])[:, None, None])))
        eq(imager.image("disk", radius=7), (frames.astype(int) * (k < 7)).sum((1, 2)))
    assert acc_dtype(65536, np.dtype(np.uint16)) == np.uint32
    assert acc_dtype(65538, np.dtype(np.uint16)) == np.uint64


def test_bad_arguments(scan) -> None:
    series, _frames, imap = scan
    with pytest.raises(ValueError, match="outside the recording"):
        VirtualImager(series, imap + series.n_frames, CENTRE)
    with pytest.raises(ValueError, match="integer"):
        VirtualImager(series, imap.astype(float), CENTRE)
    with pytest.raises(ValueError, match="engine"):
        VirtualImager(series, imap, CENTRE, engine="cuda")
    imager = VirtualImager(series, imap, CENTRE)
    with pytest.raises(ValueError, match="radius"):
        imager.image("disk")
    with pytest.raises(ValueError, match="smaller than inner"):
        imager.image("annulus", inner=5, outer=2)
    with pytest.raises(ValueError, match="outside the 64 x 60 detector"):
        imager.image("point", at=(64, 3))
    with pytest.raises(ValueError, match="unknown detector"):
        imager.image("hexagon")
    with pytest.raises(ValueError, match="unknown pattern"):
        imager.pattern("median")
    with pytest.raises(ValueError, match="no scan position"):
        imager.pattern("mean", np.zeros(imap.shape, bool))


def test_auto_engine_without_numba(monkeypatch) -> None:
    from napari_tvips import _kernels

    monkeypatch.setattr(_kernels, "_numba_kernels", lambda: None)
    assert engine_name("auto") == "numpy"
    with pytest.raises(ImportError, match=r"napari-tvips\[fast\]"):
        engine_name("numba")
    with pytest.raises(ValueError, match="unknown engine"):
        engine_name("gpu")


def test_partial_image_while_a_pass_runs(scan) -> None:
    series, frames, imap = scan
    imager = VirtualImager(series, imap, CENTRE, threads=1, block_bytes=10 * 64 * 60 * 2)
    box = (0, 0, 10, 10)
    gen = imager.iter_image("rectangle", box=box)
    assert next(gen) == (0, imap.size) and next(gen) == (10, imap.size)
    part = imager.partial("rectangle", box=box)
    done = np.isfinite(part)
    assert done.sum() == 10 and imager.cached("rectangle", box=box) is None
    yy, xx = np.indices(FRAME)
    mask = (yy < 10) & (xx < 10)
    eq(part[done], brute(frames, imap, mask)[done])
    gen.close()  # stopped: nothing half-done is kept
    assert imager.partial("rectangle", box=box) is None
    assert imager.cached("rectangle", box=box) is None


def test_coarse_to_fine_order_shows_a_preview_early(scan) -> None:
    series, frames, imap = scan
    groups = coarse_to_fine((40, 48), first=100)
    assert [g.size for g in groups] == [120, 360, 1440]  # every 4th, then 2nd, then the rest
    eq(np.sort(np.concatenate(groups)), np.arange(40 * 48))
    eq(groups[0], np.flatnonzero(np.add.outer(np.arange(40) % 4, np.arange(48) % 4) == 0))
    three = coarse_to_fine((2, 9, 11), first=20)  # lead axes: every scan of the stack
    assert three[0].size == 2 * 5 * 6 and sum(g.size for g in three) == 2 * 99
    assert [g.size for g in coarse_to_fine((3, 4), first=100)] == [12]
    # a pass in that order over the scan's frames (positions index the imager's frames)
    imager = VirtualImager(series, None, CENTRE, threads=1, block_bytes=64 * 60 * 2 * 16)
    order = [np.searchsorted(imager.frames, imap.reshape(-1)[g]) for g in
             coarse_to_fine(imap.shape, first=12)]  # fmt: skip
    assert order[0].size == 9  # rows 0, 4, 8 and columns 0, 4, 8 of 9 x 11
    params = {"centre": (30.0, 33.0), "radius": 7.0}
    gen = imager.iter_image("disk", order=order, **params)
    assert next(gen) == (0, series.n_frames)
    assert next(gen) == (order[0].size, series.n_frames)  # the first group alone: one update
    part = imager.partial("disk", **params)[imap]
    done = np.isfinite(part)
    want = brute(frames, imap, rings(params["centre"]) < 7)
    assert done.sum() == order[0].size and done[::4, ::4].all()
    eq(part[done], want[done])
    preview = fill_coarse(part)
    assert np.isfinite(preview).all()
    eq(preview[5, 6], part[4, 4])  # blocky: the top-left computed point of its 4 x 4 cell
    eq(preview[done], part[done])
    for _ in gen:
        pass
    eq(imager.cached("disk", **params)[imap], want)
    with pytest.raises(ValueError, match="order refers to position"):
        next(imager.iter_image("rectangle", box=(0, 0, 4, 4), order=[np.array([10**6])]))
