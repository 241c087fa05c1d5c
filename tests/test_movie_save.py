"""A summed / binned movie layer saved as .tvips from napari keeps its frames' headers."""

from __future__ import annotations

import numpy as np
import pytest

from napari_tvips import open_series
from napari_tvips._napari._movie_widget import MovieWidget
from napari_tvips._time import frame_times
from test_movie_clock import TIMES_MS, _movie

pytestmark = pytest.mark.napari


def test_summed_binned_layer_saves_and_reads_back(make_napari_viewer, tmp_path):
    source = _movie(tmp_path)
    original = open_series(source)
    viewer = make_napari_viewer()
    with pytest.warns(UserWarning, match="dropped"):
        (layer,) = viewer.open(str(source), plugin="napari-tvips")
    widget = MovieWidget(viewer)
    widget.first.value = 2
    widget.sum_frames.value = 4
    widget.binning.value = 2
    widget.model.mark_bad(5, 5)
    widget.apply()
    members = layer.data.members
    assert members[:, 0].tolist() == [2, 7, 11, 15, 19]  # frame 5 left out, 23 does not fill
    expect = np.asarray(layer.data)
    assert expect.dtype == np.uint32

    out = tmp_path / "summed.tvips"
    viewer.layers.selection.active = layer
    with pytest.warns(UserWarning, match="dropped"):  # the reopened movie has its gap again
        written = viewer.layers.save(str(out), selected=True, plugin="napari-tvips")
        (back,) = viewer.open(written[0], plugin="napari-tvips")
    saved = open_series(written[0])
    np.testing.assert_array_equal(saved.read_frames(np.arange(saved.n_frames)), expect)
    np.testing.assert_array_equal(np.asarray(back.data), expect)
    # each frame keeps the header of the first frame of its sum: its time stamp and counter
    heads, orig = saved.frame_headers(), original.frame_headers()
    for name in ("timestamp", "ms", "num"):
        np.testing.assert_array_equal(heads[name], orig[name][members[:, 0]])
    times = frame_times(saved)["time"]
    t = np.array(TIMES_MS) / 1000.0
    np.testing.assert_allclose(times, t[members[:, 0]] - t[2], atol=1e-9)
    # the time step (median of the sums' start times) and pixel size follow sum and binning
    assert layer.scale[0] == pytest.approx(4 * 0.020)
    assert back.scale[0] == pytest.approx(np.median(np.diff(times)))
    np.testing.assert_allclose(back.scale[1:], layer.scale[1:])


def test_averaged_layer_is_refused_with_the_reason(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    with pytest.warns(UserWarning, match="dropped"):
        (layer,) = viewer.open(str(_movie(tmp_path)), plugin="napari-tvips")
    widget = MovieWidget(viewer)
    widget.sum_frames.value = 2
    widget.average.value = True
    assert np.asarray(layer.data).dtype == np.float32
    with pytest.raises(TypeError, match="unsigned"):
        viewer.layers.save(str(tmp_path / "avg.tvips"), selected=True, plugin="napari-tvips")
