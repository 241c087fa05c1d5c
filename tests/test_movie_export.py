"""Movies out: TIFF read back by tifffile (frames, times, ImageJ metadata), MP4 by imageio."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from napari_tvips import open_series
from napari_tvips._movie import MovieSettings, MovieView
from napari_tvips._movie_export import export_movie
from tvips_bytes import write_recording

tifffile = pytest.importorskip("tifffile")


@pytest.fixture
def movie(tmp_path):
    rng = np.random.default_rng(7)
    frames = rng.integers(0, 4000, size=(21, 30, 41), dtype=np.uint16)
    # 25 ms frames, 2 frames dropped after frame 9 (counter and time)
    counter = [i if i < 10 else i + 2 for i in range(21)]
    ms_total = [25 * c for c in counter]
    headers = {
        "num": counter,
        "timestamp": [1_700_000_000 + t // 1000 for t in ms_total],
        "ms": [t % 1000 for t in ms_total],
    }
    path = write_recording(tmp_path / "insitu", frames, headers=headers, pixelsize=3)[0]
    return path, frames, np.array(ms_total) / 1000


def test_tiff_frames_times_and_imagej_metadata(tmp_path, movie):
    path, frames, times = movie
    out = tmp_path / "movie.tif"
    steps = []
    written = export_movie(path, out, frames=slice(2, 19), sum_frames=4, binning=2,
                           progress=lambda d, t: steps.append((d, t)))  # fmt: skip
    assert written == [str(out)]
    assert steps[-1] == (4, 4)
    sel = frames[2:18, :, :40].astype(np.uint64)  # 41 columns: the last is cropped
    expect = sel.reshape(4, 4, 15, 2, 20, 2).sum(axis=(1, 3, 5))
    with tifffile.TiffFile(out) as tif:
        assert tif.is_imagej
        data = tif.asarray()
        ij = tif.imagej_metadata
        page = tif.pages[0]
        xres = page.tags["XResolution"].value
    assert data.dtype == np.float32  # uint32 sums: ImageJ has no 32-bit integers
    np.testing.assert_array_equal(data, expect)
    assert ij["images"] == 4 and ij["frames"] == 4
    assert ij["unit"] == "1/nm"  # diffraction frames (mode 2), pixel size 3 x binning 2
    assert xres[1] / xres[0] == pytest.approx(6.0)
    info = json.loads(ij["Info"])
    expect_t = times[2:18].reshape(4, 4).mean(axis=1) - times[0]
    np.testing.assert_allclose(info["times_s"], expect_t, atol=1e-6)
    assert info["source_frames"][0] == [2, 3, 4, 5]
    assert ij["finterval"] == pytest.approx(0.1)
    assert ij["Labels"][0] == f"t={expect_t[0]:.3f} s (frame 2-5)"
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]


def test_tiff_of_raw_frames_keeps_dtype(tmp_path, movie):
    path, frames, _ = movie
    out = tmp_path / "raw.tiff"
    export_movie(path, out, frames=slice(0, 5))
    with tifffile.TiffFile(out) as tif:
        data = tif.asarray()
        labels = tif.imagej_metadata["Labels"]
    assert data.dtype == np.uint16
    np.testing.assert_array_equal(data, frames[:5])
    assert labels[3] == "t=0.075 s (frame 3)"


def test_tiff_with_drift_table_and_view(tmp_path, movie):
    path, frames, _ = movie
    shifts = np.zeros((21, 2))
    shifts[:, 1] = 2
    out = tmp_path / "shifted.tif"
    view = MovieView(open_series(path), MovieSettings(frames=slice(0, 3), shifts=shifts))
    export_movie(view, out)
    data = tifffile.imread(out)
    np.testing.assert_array_equal(data[:, :, 2:], frames[:3, :, :-2])
    assert not data[:, :, :2].any()


def test_mp4_frame_count_size_and_contrast(tmp_path, movie):
    imageio = pytest.importorskip("imageio")
    path, _frames, _ = movie
    out = tmp_path / "movie.mp4"
    export_movie(path, out, sum_frames=2, binning=1, timestamp=True, scalebar=True,
                 contrast=(0, 8000))  # fmt: skip
    reader = imageio.get_reader(out, format="FFMPEG")
    try:
        got = [np.asarray(f) for f in reader]
        fps = reader.get_meta_data()["fps"]
    finally:
        reader.close()
    assert len(got) == 10
    assert got[0].shape[:2] == (30, 42)  # padded to even width
    assert fps == pytest.approx(20.0)  # real time: 25 ms frames summed by 2
    assert 60 < got[5].mean() < 200  # mid grey with contrast 0..8000 for sums of ~4000


def test_mp4_burn_in_changes_pixels(tmp_path, movie):
    imageio = pytest.importorskip("imageio")
    path, _frames, _ = movie
    plain, stamped = tmp_path / "a.mp4", tmp_path / "b.mp4"
    export_movie(path, plain, frames=slice(0, 4), contrast=(0, 1e9))
    export_movie(path, stamped, frames=slice(0, 4), contrast=(0, 1e9), timestamp=True)
    a = imageio.get_reader(plain, format="FFMPEG").get_data(0)
    b = imageio.get_reader(stamped, format="FFMPEG").get_data(0)
    assert a.max() < 10 and b.max() > 200  # black frames; white text on them


def test_auto_drift_and_errors(tmp_path, movie):
    path, _frames, _ = movie
    out = tmp_path / "auto.tif"
    export_movie(path, out, frames=slice(0, 6), drift="auto")
    assert tifffile.imread(out).shape == (6, 30, 41)
    with pytest.raises(ValueError, match="movie formats"):
        export_movie(path, tmp_path / "x.avi")
    with pytest.raises(ValueError, match="drift must be"):
        export_movie(path, out, drift="yes")


def test_failed_export_leaves_old_file(tmp_path, movie, monkeypatch):
    path, _frames, _ = movie
    out = tmp_path / "keep.tif"
    out.write_bytes(b"old")

    def boom(self, indices):
        if 2 in list(indices):
            raise OSError("disk full")
        return np.zeros((len(indices), *self.shape[1:]), self.dtype)

    monkeypatch.setattr(MovieView, "read", boom)
    with pytest.raises(OSError, match="disk full"):
        export_movie(path, out, frames=slice(0, 5))
    assert out.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["keep.tif", *[p.name for p in tmp_path.glob("insitu*")]]
    )


def test_convert_writes_movies_by_extension(tmp_path, movie):
    from napari_tvips import convert

    path, frames, _ = movie
    out = tmp_path / "conv.tif"
    assert convert(path, out, frames=slice(0, 8), sum_frames=2, binning=2,
                   show_progressbar=False) == [str(out)]  # fmt: skip
    expect = frames[:8, :, :40].astype(np.uint64).reshape(4, 2, 15, 2, 20, 2).sum(axis=(1, 3, 5))
    np.testing.assert_array_equal(tifffile.imread(out), expect)
    mp4 = tmp_path / "conv.mp4"
    convert(path, mp4, frames=slice(0, 6), intensity_scaling=(0, 4000), show_progressbar=False)
    assert mp4.stat().st_size > 0
    with pytest.raises(ValueError, match="frame stack"):
        convert(path, tmp_path / "scan.tif", scan_shape=(4, 5), show_progressbar=False)
    with pytest.raises(ValueError, match="crop is not supported"):
        convert(path, tmp_path / "c.tif", crop=(0, 0, 10, 10), show_progressbar=False)
    with pytest.raises(ValueError, match="MP4 contrast only"):
        convert(path, tmp_path / "c.tif", intensity_scaling="dtype", show_progressbar=False)


def test_convert_movie_progress_counts_the_recording_once(tmp_path, movie):
    from napari_tvips import convert

    path, frames, _ = movie
    for name, options in (
        ("range.tif", {"frames": slice(0, 8), "sum_frames": 3}),
        ("drift.tif", {"frames": slice(0, 12), "sum_frames": 2, "drift": "auto"}),
    ):
        steps: list[int] = []
        convert(path, tmp_path / name, show_progressbar=False, progress=steps.append, **options)
        assert all(n > 0 for n in steps)
        assert sum(steps) == len(frames)  # what convert's bar counts: no overshoot, no stall


def test_cli_convert_movie(tmp_path, movie, capsys):
    from napari_tvips.__main__ import main

    path, frames, _ = movie
    out = tmp_path / "cli.tif"
    code = main(["convert", str(path), str(out), "--frames", "2:12", "--sum", "2", "--bad", "3,5-6",
                 "--bin", "2", "-q"])  # fmt: skip
    assert code == 0
    assert capsys.readouterr().out.strip() == str(out)
    good = [2, 4, 7, 8, 9, 10]
    expect = frames[good][:, :, :40].astype(np.uint64).reshape(3, 2, 15, 2, 20, 2).sum((1, 3, 5))
    np.testing.assert_array_equal(tifffile.imread(out), expect)
    assert main(["convert", str(path), str(tmp_path / "x.mp4"), "--frames", "a:b", "-q"]) == 1
    assert "--frames 'a:b'" in capsys.readouterr().err


def test_cli_bad_movie_numbers_give_one_line_errors(tmp_path, movie, capsys):
    from napari_tvips.__main__ import main

    path, _frames, _ = movie
    for flag, value in (("--sum", "two"), ("--fps", "fast")):
        assert main(["convert", str(path), str(tmp_path / "x.mp4"), flag, value, "-q"]) == 1
        err = capsys.readouterr().err.strip()
        assert err.startswith("napari-tvips convert: error:") and f"{flag} '{value}'" in err
        assert "\n" not in err
