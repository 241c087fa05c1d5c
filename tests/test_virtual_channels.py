"""Navigator channels of the scan model (Qt-free): which detector, which pass, which values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from napari_tvips import Series
from napari_tvips._imager import VirtualImager
from napari_tvips._imager_channels import ChannelValues, DetectorState, display
from tvips_bytes import write_recording


@pytest.fixture
def imager(tmp_path: Path) -> tuple[VirtualImager, np.ndarray]:
    rng = np.random.default_rng(2)
    frames = rng.poisson(5, (24, 20, 22)).astype(np.uint16)
    write_recording(tmp_path / "c", frames, frames_per_part=[10, 14])
    return VirtualImager(Series(tmp_path / "c_000.tvips"), centre=(9.5, 10.0)).run(), frames


def test_channels_need_passes_only_off_the_kept_rings(imager) -> None:
    im, frames = imager
    f = frames.astype(np.int64)
    yy, xx = np.indices(frames.shape[1:])
    k = np.floor(np.hypot(yy - 9.5, xx - 10.0))
    state = DetectorState(radii=(3, 4, 8))
    values = ChannelValues(im, state)
    assert values.complete and values.n_frames == 24 and values.done == 24
    for name in ("bf", "adf", "total", "com_x", "com_y", "com_mag"):
        assert values.request(name) is None
    np.testing.assert_array_equal(values.channel("bf"), (f * (k < 3)).sum((1, 2)))
    np.testing.assert_array_equal(values.channel("adf"), (f * ((k >= 4) & (k < 8))).sum((1, 2)))
    cy, cx = im.com()
    np.testing.assert_array_equal(values.channel("com_mag"), np.hypot(cy, cx))
    # within 0.01 px of the beam centre is the beam centre (spin boxes show 2 decimals)
    assert ChannelValues(im, state.with_(centre=(9.504, 9.996))).request("bf") is None
    moved = ChannelValues(im, state.with_(centre=(8, 12), channel="bf"))
    assert moved.request("bf") == ("disk", {"radius": 3.0, "centre": (8.0, 12.0)})
    assert not moved.complete and np.isnan(moved.channel("bf")).all()
    im.image("disk", radius=3, centre=(8, 12))
    assert moved.request("bf") is None and moved.complete
    k2 = np.floor(np.hypot(yy - 8, xx - 12))
    np.testing.assert_array_equal(moved.channel("bf"), (f * (k2 < 3)).sum((1, 2)))
    rect = ChannelValues(im, state.with_(channel="rectangle"))
    kind, params = rect.request("rectangle")
    assert kind == "rectangle" and params["box"] == (5.0, 5.5, 15.0, 16.5)  # middle half
    point = ChannelValues(im, state.with_(point=(2.4, 3.6), channel="point"))
    im.image(*point.request("point")[:1], **point.request("point")[1])
    np.testing.assert_array_equal(point.channel("point"), f[:, 2, 4])


def test_state_and_display() -> None:
    with pytest.raises(ValueError, match="unknown channel"):
        DetectorState(channel="haadf")
    with pytest.raises(ValueError, match="unknown display"):
        DetectorState(display="gamma")
    s = DetectorState().with_(radii=[1, 2, 3], centre=np.array([4, 5]))
    assert s.radii == (1.0, 2.0, 3.0) and s.centre == (4.0, 5.0)
    img = np.array([-1.0, 0.0, 3.0, np.nan])
    np.testing.assert_array_equal(display(img, "log"), [0, 0, np.log1p(3), np.nan])
    np.testing.assert_array_equal(display(img, "sqrt"), [0, 0, np.sqrt(3), np.nan])
    assert display(img, "linear") is img


def test_navigator_tiff_round_trip_and_refusals(tmp_path: Path) -> None:
    pytest.importorskip("tifffile")
    from napari_tvips._imager_export import read_navigator_tiff, write_navigator_tiff

    image = np.arange(12.0).reshape(3, 4)
    image[0, 0] = np.nan  # not computed yet: kept as NaN
    out = write_navigator_tiff(tmp_path / "nav", image, step=2.5, unit="µm", info={"a": 1})
    assert out == [str(tmp_path / "nav.tif")] and sorted(p.name for p in tmp_path.iterdir()) == [
        "nav.tif"
    ]  # no temporary left behind
    data, step, unit, info = read_navigator_tiff(out[0])
    np.testing.assert_array_equal(data, image.astype(np.float32))
    assert (step, unit, info) == (pytest.approx(2.5), "micron", {"a": 1})  # ImageJ's name
    with pytest.raises(ValueError, match=r"nav3\.tif.*2-D.*\(2, 3, 4\)"):
        write_navigator_tiff(tmp_path / "nav3.tif", np.zeros((2, 3, 4)))
    assert not (tmp_path / "nav3.tif").exists()
