"""Per-frame times, rate, gaps and duplicates from byte-built movies (napari_tvips.frame_times)."""

from __future__ import annotations

import numpy as np
import pytest

import napari_tvips
from napari_tvips.__main__ import main
from napari_tvips._time import frame_times, gap_message, summary
from tvips_bytes import write_recording

T0 = 1_700_000_000


def _stamps(times_ms: list[int]) -> dict[str, list[int]]:
    return {
        "timestamp": [T0 + t // 1000 for t in times_ms],
        "ms": [t % 1000 for t in times_ms],
    }


def _movie(tmp_path, times_ms, counter=None, name="m"):
    n = len(times_ms)
    frames = np.arange(n * 4 * 6, dtype=np.uint16).reshape(n, 4, 6)
    headers = _stamps(times_ms)
    if counter is not None:
        headers["num"] = counter
    return write_recording(tmp_path / name, frames, headers=headers)[0]


def test_regular_movie_rate_and_times(tmp_path):
    # 40 ms frames (25 fps) crossing second boundaries
    path = _movie(tmp_path, [990 + 40 * i for i in range(30)], counter=list(range(5, 35)))
    out = napari_tvips.frame_times(path)
    assert out["time"].dtype == np.float64
    np.testing.assert_allclose(out["time"], 0.040 * np.arange(30), atol=1e-9)
    assert out["rate"] == pytest.approx(25.0)
    assert out["gaps"] == []
    assert out["duplicates"] == []
    assert out["counter"].tolist() == list(range(5, 35))
    assert out["start"] == pytest.approx(T0 + 0.99)


def test_counter_jumps_are_gaps_and_repeats_duplicates(tmp_path):
    # frames 0..9 every 10 ms; 3 dropped after frame 4 (counter 4 -> 8), frame 7 repeated
    counter = [0, 1, 2, 3, 4, 8, 9, 10, 10, 11]
    times = [10 * c for c in counter]
    path = _movie(tmp_path, times, counter=counter)
    out = frame_times(path)
    assert out["gaps"] == [(4, 3)]
    assert out["duplicates"] == [8]
    assert out["rate"] == pytest.approx(100.0)


def test_time_gaps_without_counter(tmp_path):
    # RosettaSciIO-written files leave the counter 0: gaps come from the time steps
    times = [0, 20, 40, 60, 140, 160, 180, 180, 200]
    path = _movie(tmp_path, times, counter=[0] * len(times))
    out = frame_times(path)
    assert out["gaps"] == [(3, 3)]
    assert out["duplicates"] == [7]
    assert out["rate"] == pytest.approx(50.0)


def test_cycling_counter_is_not_a_gap(tmp_path):
    # counter wraps (or restarts) while time runs on regularly: no gap, no duplicate
    counter = [65533, 65534, 65535, 0, 1, 2]
    path = _movie(tmp_path, [10 * i for i in range(6)], counter=counter)
    out = frame_times(path)
    assert out["gaps"] == []
    assert out["duplicates"] == []


def test_counter_jump_contradicted_by_time_is_ignored(tmp_path):
    # a garbage counter value with a normal time step: trust the time
    counter = [1, 2, 3, 500, 501, 502]
    path = _movie(tmp_path, [10 * i for i in range(6)], counter=counter)
    assert frame_times(path)["gaps"] == []


def test_one_frame_and_constant_time(tmp_path):
    one = frame_times(_movie(tmp_path, [0], name="one"))
    assert one["time"].tolist() == [0.0]
    assert one["rate"] == 0.0
    assert one["gaps"] == [] and one["duplicates"] == []
    same = frame_times(_movie(tmp_path, [5, 5, 5], counter=[1, 2, 3], name="same"))
    assert same["rate"] == 0.0
    assert same["gaps"] == []


def test_backwards_step_is_reported_not_a_gap(tmp_path):
    times = [0, 10, 20, 5, 15, 25]
    out = frame_times(_movie(tmp_path, times))
    assert out["gaps"] == []
    assert out["time"][3] == pytest.approx(0.005)
    assert any("backwards: 1" in line for line in summary(out))


def test_info_prints_duration_rate_and_gaps(tmp_path, capsys):
    counter = [0, 1, 2, 3, 4, 8, 9, 10, 10, 11]
    path = _movie(tmp_path, [10 * c for c in counter], counter=counter)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "duration    0.110 s (10 frames)" in out
    assert "rate        100 frames/s" in out
    assert "gaps        1 (3 frames dropped): after frame 4 (3 missing)" in out
    assert "duplicates  1: frames 8" in out


def test_gap_message_names_the_gaps(tmp_path):
    counter = [0, 1, 5, 6]
    out = frame_times(_movie(tmp_path, [10 * c for c in counter], counter=counter))
    message = gap_message("m", out)
    assert message is not None and "3 frames dropped" in message and "after frame 1" in message
    assert gap_message("m", frame_times(_movie(tmp_path, [0, 10], name="ok"))) is None


def test_v1_file_without_counter(tmp_path):
    frames = np.zeros((3, 2, 2), np.uint8)
    path = write_recording(tmp_path / "v1", frames, version=1)[0]
    out = frame_times(path)
    assert out["time"].shape == (3,)


def test_layer_time_scale_is_the_median_interval_and_gaps_warn(tmp_path):
    from napari_tvips._napari._reader import read_tvips

    # second frame late (t1 - t0 = 60 ms), then 20 ms frames; 2 frames dropped after frame 5
    counter = [0, 3, 4, 5, 6, 7, 10, 11, 12]
    times = [0, 60, 80, 100, 120, 140, 200, 220, 240]
    path = _movie(tmp_path, times, counter=counter)
    with pytest.warns(UserWarning, match=r"m: 4 frames dropped in 2 gaps \(after frame 0 \(2\)"):
        ((_data, kwargs, _kind),) = read_tvips(str(path))
    assert kwargs["scale"][0] == pytest.approx(0.020)
    # file_reader keeps RosettaSciIO's t[1] - t[0]
    axes = napari_tvips.file_reader(str(path))[0]["axes"]
    assert axes[0]["scale"] == pytest.approx(0.060)


def test_long_recordings_take_the_interval_from_a_sample(tmp_path, monkeypatch):
    from napari_tvips import open_series
    from napari_tvips._napari import _movie_time

    monkeypatch.setattr(_movie_time, "FULL_TABLE_FRAMES", 8)
    monkeypatch.setattr(_movie_time, "SAMPLE_FRAMES", 6)
    counter = [0, 1, 2, 5, 6, 7, 8, 9, 10, 11]
    series = open_series(_movie(tmp_path, [20 * c for c in counter], counter=counter))
    monkeypatch.setattr(series, "frame_headers", lambda: pytest.fail("full table read"))
    with pytest.warns(UserWarning, match=r"first 6 of 10 frames.*2 frames dropped"):
        assert _movie_time.stack_time_step(series) == pytest.approx(0.020)
