"""Recordings from any of their paths, gaps, truncated parts, frame reads."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest

import napari_tvips as nt
from tvips_bytes import write_recording


@pytest.mark.parametrize("name", ["rec_000.tvips", "rec_002.tvips", "rec_001.tvips", "rec"])
def test_any_path_opens_whole_set(recording: Path, frames: np.ndarray, name: str) -> None:
    out = nt.file_reader(recording.parent / name)[0]
    np.testing.assert_array_equal(out["data"], frames)
    series = nt.open_series(recording.parent / name)
    assert [Path(p).name for p in series.paths] == [f"rec_{i:03d}.tvips" for i in range(3)]
    assert [p.n_frames for p in series.parts] == [10, 12, 8]


def test_upper_case_extension(tmp_path: Path, frames: np.ndarray) -> None:
    paths = write_recording(tmp_path / "up", frames, frames_per_part=[20, 10])
    for p in paths:
        p.rename(p.with_suffix(".TVIPS"))
    for name in ("up_000.TVIPS", "up_001.TVIPS", "up"):
        out = nt.file_reader(tmp_path / name)[0]
        np.testing.assert_array_equal(out["data"], frames)


def test_gap_ends_set_with_warning(tmp_path: Path, frames: np.ndarray) -> None:
    write_recording(tmp_path / "g", frames, frames_per_part=[5, 5, 5, 5, 10])
    (tmp_path / "g_002.tvips").unlink()
    with pytest.warns(UserWarning, match=r"g_003\.tvips.*g_004\.tvips|_002") as rec:
        out = nt.file_reader(tmp_path / "g_000.tvips")[0]
    message = " ".join(str(w.message) for w in rec)
    assert "g_003.tvips" in message and "g_004.tvips" in message
    np.testing.assert_array_equal(out["data"], frames[:10])


def test_no_first_part_names_what_was_looked_for(tmp_path: Path, frames: np.ndarray) -> None:
    write_recording(tmp_path / "nf", frames, frames_per_part=[15, 15])
    (tmp_path / "nf_000.tvips").unlink()
    with pytest.raises(nt.TvipsFormatError, match=r"nf_000\.tvips"):
        nt.file_reader(tmp_path / "nf_001.tvips")
    with pytest.raises(nt.TvipsFormatError, match=r"nf_000\.tvips"):
        nt.open_series(tmp_path / "nf")
    with pytest.raises(nt.TvipsFormatError, match=r"other_000\.tvips"):
        nt.open_series(tmp_path / "other_000.tvips")


def test_other_recordings_in_folder_are_ignored(tmp_path: Path, frames: np.ndarray) -> None:
    write_recording(tmp_path / "a", frames[:4])
    write_recording(tmp_path / "a_b", frames[4:9], frames_per_part=[2, 3])
    assert nt.open_series(tmp_path / "a_000.tvips").n_frames == 4
    assert nt.open_series(tmp_path / "a_b_001.tvips").n_frames == 5


@pytest.mark.parametrize("extra", [1, 17, 60 + 5 * 7 * 2 - 1])
def test_truncated_last_part(tmp_path: Path, frames: np.ndarray, extra: int) -> None:
    write_recording(tmp_path / "t", frames, frames_per_part=[20, 10], trailing=b"\x07" * extra)
    with pytest.warns(UserWarning, match=rf"t_001\.tvips: {extra} bytes"):
        out = nt.file_reader(tmp_path / "t_000.tvips")[0]
    np.testing.assert_array_equal(out["data"], frames)
    with pytest.warns(UserWarning, match=rf"{extra} bytes"):
        lazy = nt.file_reader(tmp_path / "t", lazy=True)[0]
    np.testing.assert_array_equal(lazy["data"].compute(), frames)
    assert lazy["original_metadata"]["frame_headers"]["rotidx"].size == 30


def test_truncated_single_part_with_one_frame(tmp_path: Path, frames: np.ndarray) -> None:
    write_recording(tmp_path / "one", frames[:1], trailing=b"\0" * 30)
    with pytest.warns(UserWarning, match="30 bytes"):
        out = nt.file_reader(tmp_path / "one_000.tvips")[0]
    np.testing.assert_array_equal(out["data"], frames[:1])
    assert out["axes"][0]["size"] == 1


def test_complete_files_do_not_warn(recording: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nt.file_reader(recording)


def test_read_frames_any_order_with_repeats(recording: Path, frames: np.ndarray) -> None:
    series = nt.open_series(recording)
    idx = [29, 0, 9, 10, 10, 21, 22, 3, 29, 11]
    np.testing.assert_array_equal(series.read_frames(idx), frames[idx])
    out = np.empty((len(idx), 5, 7), np.uint16)
    assert series.read_frames(idx, out=out) is out
    with pytest.raises(IndexError):
        series.read_frames([30])


def test_read_frames_threads_with_repeats(tmp_path: Path) -> None:
    """Threaded eager reads (> 64 MiB) copy repeated frames only after they are read."""
    n, side = 300, 512
    frames = np.empty((n, side, side), np.uint8)
    frames[:] = (np.arange(n) % 251 + 1).astype(np.uint8)[:, None, None]
    write_recording(tmp_path / "big", frames, fhb=60, frames_per_part=[150, 150])
    series = nt.open_series(tmp_path / "big_000.tvips")
    # first half reads 0..149 (part 0); repeats of late frames are copied at the end
    idx = np.r_[np.arange(n), np.repeat(np.arange(n - 20, n), 5)]
    got = series.read_frames(idx, threads=2)
    np.testing.assert_array_equal(got[:, 0, 0], frames[idx, 0, 0])
    np.testing.assert_array_equal(got[:, -1, -1], frames[idx, -1, -1])


def test_series_pickles_small(recording: Path) -> None:
    series = nt.open_series(recording)
    series.frame_headers()
    blob = pickle.dumps(series)
    assert len(blob) < 4096
    clone = pickle.loads(blob)
    assert clone.n_frames == 30
    np.testing.assert_array_equal(clone.read_frames([12]), series.read_frames([12]))


def test_refresh_sees_new_frames(tmp_path: Path, frames: np.ndarray) -> None:
    write_recording(tmp_path / "live", frames[:10])
    series = nt.open_series(tmp_path / "live_000.tvips")
    write_recording(tmp_path / "live", frames, frames_per_part=[10, 20])
    assert series.refresh() == 20
    np.testing.assert_array_equal(series.read_frames(range(30)), frames)


def test_headers_at_matches_table(recording: Path) -> None:
    series = nt.open_series(recording)
    table = series.frame_headers()
    few = series.headers_at([0, 11, 29])
    for name in table:
        np.testing.assert_array_equal(few[name], table[name][[0, 11, 29]])
