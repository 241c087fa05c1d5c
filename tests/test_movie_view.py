"""Lazy movie views (sum, average, bin, bad frames, shifts) equal NumPy on byte-built movies."""

from __future__ import annotations

import numpy as np
import pytest

from napari_tvips import open_series
from napari_tvips._movie import MovieSettings, MovieView, shift_frame
from tvips_bytes import write_recording


@pytest.fixture
def movie(tmp_path):
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 65535, size=(23, 10, 13), dtype=np.uint16)
    path = write_recording(tmp_path / "mov", frames, frames_per_part=[9, 14])[0]
    return open_series(path), frames


def test_identity_view_is_the_stack(movie):
    series, frames = movie
    view = MovieView(series)
    assert view.shape == frames.shape and view.dtype == np.uint16
    np.testing.assert_array_equal(view[7], frames[7])
    np.testing.assert_array_equal(np.asarray(view), frames)
    np.testing.assert_array_equal(view[2:9:3, 1:4, -2], frames[2:9:3, 1:4, -2])


@pytest.mark.parametrize(("n", "k"), [(4, 1), (1, 3), (4, 2), (5, 4)])
def test_sum_and_bin_equal_numpy(movie, n, k):
    series, frames = movie
    sel = frames[2:21]
    n_out = sel.shape[0] // n
    h, w = sel.shape[1] // k, sel.shape[2] // k
    expect = (
        sel[: n_out * n, : h * k, : w * k]
        .astype(np.uint64)
        .reshape(n_out, n, h, k, w, k)
        .sum(axis=(1, 3, 5))
    )
    view = MovieView(series, MovieSettings(frames=slice(2, 21), sum_frames=n, binning=k))
    assert view.shape == expect.shape
    assert view.dtype == np.uint32  # 65535 * 16 * 5 fits
    assert (len(view), view.size, view.nbytes) == (n_out, expect.size, expect.size * 4)
    np.testing.assert_array_equal(np.asarray(view), expect)
    np.testing.assert_array_equal(view[-1], expect[-1])
    mean = MovieView(
        series, MovieSettings(frames=slice(2, 21), sum_frames=n, binning=k, average=True)
    )
    assert mean.dtype == np.float32
    np.testing.assert_allclose(np.asarray(mean), expect / (n * k * k), rtol=1e-6)


def test_bad_frames_are_left_out_of_sums(movie):
    series, frames = movie
    bad = (1, 2, 10)
    good = np.setdiff1d(np.arange(23), bad)
    view = MovieView(series, MovieSettings(sum_frames=3, bad=bad))
    n_out = good.size // 3
    expect = frames[good[: n_out * 3]].astype(np.uint64).reshape(n_out, 3, 10, 13).sum(axis=1)
    np.testing.assert_array_equal(np.asarray(view), expect)
    assert view.members[0].tolist() == [0, 3, 4]
    # one frame per output: bad frames are simply dropped
    np.testing.assert_array_equal(
        np.asarray(MovieView(series, MovieSettings(bad=bad))), frames[good]
    )


def test_view_reads_only_its_source_frames(movie, monkeypatch):
    series, _frames = movie
    seen = []
    original = series.read_frames
    monkeypatch.setattr(
        series, "read_frames", lambda idx, **kw: seen.append(list(idx)) or original(idx, **kw)
    )
    view = MovieView(series, MovieSettings(sum_frames=4))
    assert seen == []
    view[3]
    assert seen == [[12, 13, 14, 15]]


def test_times_of_summed_frames(tmp_path):
    frames = np.zeros((8, 4, 4), np.uint8)
    path = write_recording(tmp_path / "t", frames)[0]  # 10 ms frames
    view = MovieView(open_series(path), MovieSettings(sum_frames=4))
    np.testing.assert_allclose(view.times(), [0.015, 0.055])


def test_whole_pixel_shifts_match_numpy(movie):
    series, frames = movie
    shifts = np.zeros((23, 2))
    shifts[:, 0] = np.arange(23) % 3 - 1
    shifts[:, 1] = -(np.arange(23) % 4)
    view = MovieView(series, MovieSettings(shifts=shifts, sum_frames=2))
    expect = np.zeros((11, 10, 13), np.uint64)
    for i in range(22):
        dy, dx = (int(v) for v in shifts[i])
        shifted = np.zeros((10, 13), np.uint64)
        ys, xs = slice(max(dy, 0), 10 + min(dy, 0)), slice(max(dx, 0), 13 + min(dx, 0))
        yd, xd = slice(max(-dy, 0), 10 + min(-dy, 0)), slice(max(-dx, 0), 13 + min(-dx, 0))
        shifted[ys, xs] = frames[i][yd, xd]
        expect[i // 2] += shifted
    np.testing.assert_array_equal(np.asarray(view), expect)


def test_subpixel_shift_is_linear_interpolation():
    frame = np.zeros((8, 8), np.uint16)
    frame[4, 4] = 100
    out = shift_frame(frame, (0.25, -0.6), subpixel=True)
    assert out.dtype == np.float32
    assert out.sum() == pytest.approx(100)
    assert out[4, 3] == pytest.approx(45) and out[5, 3] == pytest.approx(15)
    assert out[4, 4] == pytest.approx(30)
    np.testing.assert_array_equal(
        shift_frame(frame, (0.25, -0.6), subpixel=False), np.roll(frame, -1, axis=1)
    )


def test_bad_settings_are_clear_errors(movie):
    series, _frames = movie
    with pytest.raises(ValueError, match="cannot make one sum of 30"):
        MovieView(series, MovieSettings(sum_frames=30))
    with pytest.raises(ValueError, match=">= 1"):
        MovieView(series, MovieSettings(binning=0))
    with pytest.raises(ValueError, match=r"shape \(23, 2\)"):
        MovieView(series, MovieSettings(shifts=np.zeros((3, 2))))
    with pytest.raises(ValueError, match="finite"):
        MovieView(series, MovieSettings(shifts=np.full((23, 2), np.nan)))
    with pytest.raises(IndexError):
        MovieView(series)[23]
    with pytest.raises(IndexError):
        MovieView(series).read([30])


def test_read_ahead_returns_the_same_frames_and_prefetches(movie, monkeypatch):
    import pickle

    series, _frames = movie
    view = MovieView(series, MovieSettings(sum_frames=2), read_ahead=2)
    plain = MovieView(series, MovieSettings(sum_frames=2))
    calls = []
    original = view._frame
    monkeypatch.setattr(view, "_frame", lambda i: calls.append(i) or original(i))
    for i in [0, 1, 2, 3]:
        np.testing.assert_array_equal(view[i], plain[i])
    # frames 1, 2, 3 were read ahead once each, in the background, and not read again
    assert [calls.count(i) for i in range(4)] == [1, 1, 1, 1]
    assert set(view._pending) == {4, 5}
    np.testing.assert_array_equal(view[10], plain[10])  # a jump: the window moves (wraps)
    assert set(view._pending) == {0, 1}
    monkeypatch.undo()
    assert len(pickle.dumps(view)) < 10_000
