"""The recorded time of the frame on screen: FrameClock (bounded reads) and the canvas overlay."""

from __future__ import annotations

import numpy as np
import pytest

from napari_tvips import open_series
from napari_tvips._napari import _movie_time
from napari_tvips._napari._movie_time import FrameClock
from napari_tvips._time import frame_times
from tvips_bytes import write_recording

T0 = 1_700_000_000
#: 20 ms frames, 5 frames dropped after frame 9 (its next frame comes 120 ms later)
TIMES_MS = [20 * i for i in range(10)] + [20 * i + 100 for i in range(10, 24)]


def _movie(tmp_path, name="insitu"):
    n = len(TIMES_MS)
    frames = np.arange(n, dtype=np.uint16)[:, None, None] * 10 + np.ones((1, 8, 10), np.uint16)
    headers = {
        "timestamp": [T0 + t // 1000 for t in TIMES_MS],
        "ms": [t % 1000 for t in TIMES_MS],
        "num": list(range(10)) + list(range(15, 29)),
    }
    return write_recording(tmp_path / name, frames, headers=headers)[0]


def test_clock_of_a_short_recording_uses_the_table(tmp_path):
    series = open_series(_movie(tmp_path))
    clock = FrameClock(series)
    np.testing.assert_allclose(clock.times(range(24)), np.array(TIMES_MS) / 1000.0)
    assert clock.describe([10]) == "t = 0.300 s, frame 10"
    assert clock.describe(np.array([8, 9, 10, 11])) == "t = 0.160 s, frames 8-11"


def test_clock_of_a_long_recording_reads_only_the_frames_asked(tmp_path, monkeypatch):
    monkeypatch.setattr(_movie_time, "FULL_TABLE_FRAMES", 8)
    series = open_series(_movie(tmp_path))
    asked: list[list[int]] = []
    real = series.headers_at
    monkeypatch.setattr(series, "headers_at", lambda f: asked.append(list(f)) or real(f))
    monkeypatch.setattr(series, "frame_headers", lambda: pytest.fail("read every header"))
    clock = FrameClock(series)
    assert asked == [[0, 23]]  # origin and "does time move at all"
    expect = frame_times(real(range(24)))["time"]
    assert clock.times([17])[0] == pytest.approx(expect[17])
    assert clock.times([17, 3])[1] == pytest.approx(expect[3])
    assert asked[1:] == [[17], [3]]  # one bounded read per new frame, cached after
    assert clock.describe([10]) == "t = 0.300 s, frame 10"


def test_clock_without_time_stamps_shows_the_frame(tmp_path):
    frames = np.zeros((3, 4, 4), np.uint16)
    path = write_recording(tmp_path / "still", frames, headers={"timestamp": [T0] * 3,
                                                                "ms": [0] * 3})[0]  # fmt: skip
    assert FrameClock(open_series(path)).describe([2]) == "frame 2"


@pytest.mark.napari
def test_overlay_shows_recorded_time_of_the_frame_on_screen(make_napari_viewer, tmp_path):
    from napari_tvips._movie import MovieSettings, MovieView
    from napari_tvips._napari._movie_clock import OVERLAY_KEY

    viewer = make_napari_viewer()
    with pytest.warns(UserWarning, match="5 frames dropped"):
        (layer,) = viewer.open(str(_movie(tmp_path)), plugin="napari-tvips")
    overlay = viewer.canvas.overlays[OVERLAY_KEY]
    assert overlay.visible and overlay.position == "bottom_left"
    assert overlay.text == "t = 0.320 s, frame 11 (slider 11)"  # napari opens mid-stack
    viewer.dims.set_current_step(0, 0)
    assert overlay.text == "t = 0.000 s, frame 0 (slider 0)"
    viewer.dims.set_current_step(0, 10)  # the first frame after the gap: 0.3 s, not 0.2 s
    assert overlay.text == "t = 0.300 s, frame 10 (slider 10)"
    # the vispy canvas draws it (napari follows added canvas overlays)
    canvas = viewer.window._qt_viewer.canvas
    visual = canvas._viewer_overlay_to_visual[overlay][0]
    assert visual.node.text == overlay.text

    # a sum of 4 put in place: the slider steps over sums, the text names their frames
    layer.data = MovieView(layer.data.series, MovieSettings(sum_frames=4))
    viewer.dims.set_current_step(0, 2)
    assert overlay.text == "t = 0.160 s, frames 8-11 (slider 2)"

    # no movie layer left: the overlay goes away
    viewer.layers.clear()
    viewer.add_image(np.zeros((3, 4, 4)))
    assert not overlay.visible


@pytest.mark.napari
def test_plot_x_axis_is_recorded_time_and_clicks_pick_frames(make_napari_viewer, qtbot, tmp_path):
    from qtpy.QtCore import QPoint, Qt

    from napari_tvips._napari._movie_widget import MovieWidget

    viewer = make_napari_viewer()
    with pytest.warns(UserWarning, match="dropped"):
        viewer.open(str(_movie(tmp_path)), plugin="napari-tvips")
    widget = MovieWidget(viewer)
    viewer.window.add_dock_widget(widget)
    qtbot.waitUntil(lambda: widget._headers_worker is None, timeout=60_000)
    trace = widget.trace
    trace.resize(600, 120)
    np.testing.assert_allclose(trace.times, np.array(TIMES_MS) / 1000.0)
    step = trace._x(1) - trace._x(0)
    assert step > 0
    # 5 frames dropped after frame 9: the plot jumps 6 frame intervals there
    assert trace._x(10) - trace._x(9) == pytest.approx(6 * step, rel=1e-6)
    name, ticks = trace._axis()
    assert name == "time" and ticks[0][1] == "0 s"
    # clicking the plot at frame 12's time shows frame 12 (and not frame 12 of a frame axis)
    qtbot.mouseClick(trace, Qt.MouseButton.LeftButton, pos=QPoint(round(trace._x(12)), 30))
    assert viewer.dims.current_step[0] == 12
    # inside the gap: the frame recorded nearest
    assert trace.frame_at(trace._x(10) - 4 * step) == 9
    assert trace.frame_at(trace._x(10) - 2 * step) == 10
    # with a sum of 4 the plot keeps the source frames' times; a click shows the sum holding it
    widget.sum_frames.value = 4
    qtbot.mouseClick(trace, Qt.MouseButton.LeftButton, pos=QPoint(round(trace._x(13)), 30))
    assert viewer.dims.current_step[0] == 3


@pytest.mark.napari
def test_overlay_of_a_long_recording_reads_no_header_table(
    make_napari_viewer, tmp_path, monkeypatch
):
    from napari_tvips._napari._movie_clock import OVERLAY_KEY
    from napari_tvips._series import Series

    monkeypatch.setattr(_movie_time, "FULL_TABLE_FRAMES", 8)
    monkeypatch.setattr(_movie_time, "SAMPLE_FRAMES", 6)
    monkeypatch.setattr(Series, "frame_headers", lambda self: pytest.fail("read every header"))
    viewer = make_napari_viewer()
    viewer.open(str(_movie(tmp_path)), plugin="napari-tvips")
    overlay = viewer.canvas.overlays[OVERLAY_KEY]
    for frame in (0, 10, 23):
        viewer.dims.set_current_step(0, frame)
        assert overlay.text == f"t = {TIMES_MS[frame] / 1000:.3f} s, frame {frame} (slider {frame})"
