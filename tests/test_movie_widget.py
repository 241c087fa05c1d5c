"""The "TVIPS movie" widget end to end in napari: open, sum 4, correct drift, export a range."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from napari_tvips._movie import MovieView
from napari_tvips._napari._movie_model import MOVIE_METADATA_KEY, MovieModel
from test_movie_drift import drifting_movie
from tvips_bytes import write_recording

pytestmark = pytest.mark.napari
tifffile = pytest.importorskip("tifffile")


@pytest.fixture
def movie_path(tmp_path):
    frames, true = drifting_movie(n=16, size=96)
    headers = {"stagex": [100.0 + 2 * i for i in range(16)]}
    return write_recording(tmp_path / "heat", frames, headers=headers)[0], true


def _wait(qtbot, widget):
    # the worker may finish before a waitSignal would connect: wait for the widget's state
    qtbot.waitUntil(lambda: widget._worker is None, timeout=60_000)


def test_model_without_qt(movie_path):
    from napari_tvips import open_series

    path, _true = movie_path
    model = MovieModel(open_series(path))
    seen = []
    model.changed.connect(lambda: seen.append(1))
    view = model.update(sum_frames=4)
    assert view.shape[0] == 4 and seen
    assert model.output_index(9) == 2 and model.source_frame(2) == 8
    assert "stagex" in model.fields() and "time step (s)" in model.fields()
    with pytest.raises(ValueError):
        model.update(sum_frames=100)
    assert model.sum_frames == 4  # unchanged after a bad value
    model.mark_bad(0, 3)
    assert model.view().members[0].tolist() == [4, 5, 6, 7]
    restored = MovieModel(model.series, model.state())
    assert restored.bad == model.bad and restored.sum_frames == 4
    gen = model.totals_steps(block_bytes=5 * 96 * 96 * 2)
    steps = []
    while True:
        try:
            steps.append(next(gen))
        except StopIteration as stop:
            totals = stop.value
            break
    assert steps == [(5, 16), (10, 16), (15, 16), (16, 16)]
    frames = np.asarray(MovieView(model.series))
    np.testing.assert_array_equal(totals, frames.reshape(16, -1).sum(axis=1))


def test_widget_sum_drift_export(make_napari_viewer, qtbot, movie_path, tmp_path, monkeypatch):
    from napari_tvips._napari import _movie_time
    from napari_tvips._series import Series

    path, true = movie_path
    # as for a long recording, the reader takes the frame interval from a few frames' headers
    monkeypatch.setattr(_movie_time, "FULL_TABLE_FRAMES", 8)
    monkeypatch.setattr(_movie_time, "SAMPLE_FRAMES", 6)
    viewer = make_napari_viewer()
    [layer] = viewer.open(str(path), plugin="napari-tvips")
    readers: list[threading.Thread] = []
    read_table = Series.frame_headers

    def frame_headers(self: Series) -> dict[str, np.ndarray]:
        if self._frame_table is None:  # a read of the files (later calls return the cache)
            readers.append(threading.current_thread())
        return read_table(self)

    monkeypatch.setattr(Series, "frame_headers", frame_headers)
    _dock, widget = viewer.window.add_plugin_dock_widget("napari-tvips", "TVIPS movie")
    assert widget.layer.value is layer
    qtbot.waitUntil(lambda: widget._headers_worker is None, timeout=60_000)
    # the header table is read in a worker, not in napari's thread
    assert readers and threading.main_thread() not in readers
    assert "stagex" in widget.field.choices
    step = layer.scale[0]

    widget.sum_frames.value = 4
    assert isinstance(layer.data, MovieView)
    assert layer.data.shape == (4, 96, 96)
    assert layer.scale[0] == pytest.approx(4 * step)
    assert layer.metadata[MOVIE_METADATA_KEY]["sum_frames"] == 4

    # clicking source frame 9 on the plot shows the sum holding it
    widget.on_trace_click(9)
    assert viewer.dims.current_step[0] == 2
    assert widget.now.value == "t = 0.080 s, frames 8-11"  # recorded start of the sum
    # the canvas shows the same time next to the slider
    from napari_tvips._napari._movie_clock import OVERLAY_KEY

    assert viewer.canvas.overlays[OVERLAY_KEY].text == f"{widget.now.value} (slider 2)"

    assert widget.correct_drift() is not None
    _wait(qtbot, widget)
    shifts = layer.metadata[MOVIE_METADATA_KEY]["shifts"]
    assert shifts.shape == (16, 2)
    # the sums' shifts: mean drift of their 4 frames, within 0.2 px
    expect = -true[:16].reshape(4, 4, 2).mean(axis=1)
    got = shifts[::4]
    assert np.abs((got - got[0]) - (expect - expect[0])).max() < 0.2
    assert layer.data.settings.shifts is not None
    assert "drift dx (px)" in widget.field.choices

    assert widget.compute_totals() is not None
    _wait(qtbot, widget)
    assert widget.field.value == "frame total"

    # pick a bad range on the plot: frames 13..15 leave the movie (the last sum)
    widget.pick_bad.value = True
    widget.on_trace_click(15)
    widget.on_trace_click(13)
    assert layer.data.shape[0] == 3 and widget.model.bad == {13, 14, 15}
    widget.pick_bad.value = False
    widget.clear_bad()
    assert layer.data.shape[0] == 4

    widget.first.value, widget.last.value = 4, 11
    assert layer.data.shape[0] == 2
    out = tmp_path / "range.tif"
    widget.export_path.value = str(out)
    assert widget.export() is not None
    _wait(qtbot, widget)
    data = tifffile.imread(out)
    assert data.shape == (2, 96, 96)
    np.testing.assert_allclose(data[1], np.asarray(layer.data[1]), rtol=1e-6)
    assert "Wrote" in widget.message.value
