"""Playback: every frame reachable and shown in order; the widget says when the rate is not kept."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

from napari_tvips._napari._movie_time import exact_step
from tvips_bytes import write_recording

pytestmark = pytest.mark.napari
T0 = 1_700_000_000


def _movie(tmp_path, n=12, ms=50):
    frames = np.arange(n, dtype=np.uint16)[:, None, None] * np.ones((1, 16, 16), np.uint16)
    t = [ms * i for i in range(n)]
    headers = {"timestamp": [T0 + x // 1000 for x in t], "ms": [x % 1000 for x in t]}
    return write_recording(tmp_path / f"play{n}_{ms}", frames, headers=headers)[0]


@pytest.mark.parametrize("n, ms", [(12, 50), (48, 50), (12, 40), (1000, 33), (7, 90)])
def test_slider_reaches_the_last_frame(make_napari_viewer, tmp_path, n, ms):
    # napari counts steps as int(stop / step) + 1: 0.04999999999999999 s steps lost frame 11
    viewer = make_napari_viewer()
    (layer,) = viewer.open(str(_movie(tmp_path, n, ms)), plugin="napari-tvips")
    assert layer.scale[0] == pytest.approx(ms / 1000, abs=1e-8)
    assert viewer.dims.nsteps[0] == n
    viewer.dims.set_current_step(0, n - 1)
    assert viewer.dims.current_step[0] == n - 1
    assert int(np.asarray(layer._slice.image.raw).flat[0]) == n - 1


def test_exact_step_is_close_and_dyadic():
    for step in (0.04999999999999999, 0.1, 1 / 3, 12.5, 1e-4):
        e = exact_step(step)
        assert abs(e - step) <= 2**-31
        assert (e * 2**30).is_integer()
    assert exact_step(0.0) == 0.0


def _play(qtbot, viewer, widget, seconds):
    steps: list[int] = []
    viewer.dims.events.current_step.connect(lambda e: steps.append(viewer.dims.current_step[0]))
    widget.toggle_play()
    assert widget.player.playing and widget.play_button.text == "Stop"
    qtbot.wait(round(seconds * 1000))
    widget.toggle_play()
    assert not widget.player.playing
    return steps


def test_play_every_frame_in_order_and_report_the_rate(make_napari_viewer, qtbot, tmp_path):
    from napari_tvips._napari._movie_widget import MovieWidget

    viewer = make_napari_viewer(show=True)  # the player waits for each frame to be drawn
    (layer,) = viewer.open(str(_movie(tmp_path, 12, 40)), plugin="napari-tvips")
    widget = MovieWidget(viewer)
    viewer.window.add_dock_widget(widget)
    qtbot.waitUntil(lambda: widget._headers_worker is None, timeout=60_000)
    assert widget.fps.value == pytest.approx(25.0)  # the recording's rate
    viewer.dims.set_current_step(0, 0)
    widget.fps.value = 10  # well within reach of 16 x 16 frames, even on a busy machine
    steps = _play(qtbot, viewer, widget, 2.0)
    assert widget.player._canvas is not None  # it follows the canvas's paints
    assert len(steps) > 12  # looped at least once
    assert all((b - a) % 12 == 1 for a, b in itertools.pairwise(steps)), steps
    assert 11 in steps  # the last frame is shown
    assert widget.play_status.value.startswith("Playing at")

    # a frame that takes longer than the interval: slower, still every frame, and said so
    real = type(layer.data).__getitem__

    def slow(self, key):
        time.sleep(0.06)
        return real(self, key)

    widget.fps.value = 50
    type(layer.data).__getitem__ = slow
    try:
        steps = _play(qtbot, viewer, widget, 2.5)
    finally:
        type(layer.data).__getitem__ = real
    assert all((b - a) % 12 == 1 for a, b in itertools.pairwise(steps)), steps
    assert widget.play_status.value.startswith("Cannot keep 50 frames/s"), widget.play_status.value
