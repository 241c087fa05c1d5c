"""EM-Scan Scan_x/Scan_y index maps: the positions place the frames (repeats, gaps, glitches)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

import napari_tvips as nt
from napari_tvips.__main__ import main
from napari_tvips._scan import auto_layout, header_scan, scan_positions_map
from napari_tvips._series import Series
from scan_files import PositionsFile, positions_file
from test_model import opened, run_pass


def _check(f: PositionsFile) -> None:
    """header_scan, scan_shape="auto" (eager and lazy) and the counts all follow the truth."""
    found = header_scan(Series(f.path).frame_headers())
    assert found.source == "scan_x/scan_y"
    np.testing.assert_array_equal(found.index_map, f.truth)
    assert (found.start, found.stop) == (f.start, f.stop)
    assert (found.repeated, found.missing, found.invalid, found.after) == (
        f.repeated, f.missing, f.invalid, f.after,
    )  # fmt: skip
    for lazy in (False, True):
        out = nt.file_reader(f.path, scan_shape="auto", lazy=lazy)[0]
        assert [a["name"] for a in out["axes"]] == ["y", "x", "dy", "dx"]
        np.testing.assert_array_equal(np.asarray(out["data"]), f.frames[f.truth])


@pytest.mark.parametrize(("scan", "pre", "post"), [((5, 7), 3, 2), ((6, 4), 0, 0), ((1, 9), 2, 1)])
def test_clean_raster_is_a_regular_layout(tmp_path: Path, scan: tuple, pre: int, post: int) -> None:
    f = positions_file(tmp_path, scan=scan, pre=pre, post=post)
    _check(f)
    np.testing.assert_array_equal(f.truth, np.arange(pre, pre + scan[0] * scan[1]).reshape(scan))
    found = header_scan(Series(f.path).frame_headers())
    assert found.layout == nt.ScanLayout(scan, pre)
    assert found.text().endswith("0 repeated frames skipped, 0 missing" + (
        f"; {post} frame{'s' * (post != 1)} after the scan" if post else ""))  # fmt: skip


@pytest.mark.parametrize(
    ("scan", "repeat", "drop", "invalid"),
    [
        ((5, 7), (4, 11, 12, 34), (), ()),  # the camera ran while the scan generator waited
        ((4, 9), (), (5, 6, 20, 35), ()),  # frames lost, the last position too
        ((7, 3), (0, 8), (3, 13), (10,)),  # all at once, non-square the other way
    ],
)
def test_repeated_missing_and_invalid_frames(
    tmp_path: Path, scan: tuple, repeat: tuple, drop: tuple, invalid: tuple
) -> None:
    f = positions_file(tmp_path, scan=scan, repeat=repeat, drop=drop, invalid=invalid)
    assert f.repeated == len(set(repeat) - {0}) and f.missing == len(drop)
    _check(f)
    imap, layout = auto_layout(Series(f.path).frame_headers())
    assert layout is None  # not a regular raster any more
    np.testing.assert_array_equal(imap, f.truth)
    # a regular layout of the same shape and start combs the scan after the first repeat or gap
    regular = f.start + np.arange(scan[0] * scan[1]).reshape(scan)
    assert not np.array_equal(regular, f.truth)


def test_beam_parked_on_the_last_position_repeats_it(tmp_path: Path) -> None:
    f = positions_file(tmp_path, scan=(3, 4), post=5, post_at=(3.0, 2.0))
    assert f.repeated == 5 and f.after == 0
    _check(f)


def test_next_scan_and_frames_without_position_after_it(tmp_path: Path) -> None:
    f = positions_file(tmp_path, scan=(3, 4), post=3, post_at=(float("nan"), 0.0))
    assert f.after == 3
    _check(f)
    # a second scan after the first: only the first is taken, the rest are after it
    headers = Series(f.path).frame_headers()
    twice = {k: np.concatenate([v, v[f.start :]]) for k, v in headers.items()}
    found = header_scan(twice)
    np.testing.assert_array_equal(found.index_map, f.truth)
    assert found.after == twice["scan_x"].size - f.stop - 1


def test_winding_applies_on_top_of_the_positions(tmp_path: Path) -> None:
    f = positions_file(tmp_path, scan=(4, 5), repeat=(7,))
    imap, _ = auto_layout(Series(f.path).frame_headers(), "x", 1)
    expected = f.truth.copy()
    expected[::2] = np.roll(expected[::2, ::-1], 1, axis=-1)
    np.testing.assert_array_equal(imap, expected)


@pytest.mark.parametrize(("scan", "pre", "post"), [((5, 7), 3, 0), ((8, 6), 1, 0), ((4, 9), 0, 4)])
def test_libertem_detection_agrees_on_a_clean_raster(
    tmp_path: Path, scan: tuple, pre: int, post: int
) -> None:
    """LiberTEM's detect_shape: sync offset = the frame before the first (x=1, y=0)."""
    tvips = pytest.importorskip("libertem.io.dataset.tvips")
    f = positions_file(tmp_path, scan=scan, pre=pre, post=post)
    found = header_scan(Series(f.path).frame_headers())
    assert tvips.detect_shape(str(f.path)) == (found.start, found.shape)


def test_libertem_agrees_on_the_start_of_a_scan_with_repeats(tmp_path: Path) -> None:
    """LiberTEM takes one frame per position: same start and width, too many rows (combed)."""
    tvips = pytest.importorskip("libertem.io.dataset.tvips")
    f = positions_file(tmp_path, scan=(5, 7), repeat=tuple(range(2, 35, 3)), post=0)
    found = header_scan(Series(f.path).frame_headers())
    sync, shape = tvips.detect_shape(str(f.path))
    assert sync == found.start and shape[1] == found.shape[1] == 7
    assert shape[0] > found.shape[0] == 5
    _check(f)


def test_rotidx_wins_and_positions_are_the_fallback(tmp_path: Path, monkeypatch) -> None:
    from napari_tvips import _scan

    calls: list[int] = []

    def counted(headers):
        calls.append(1)
        return scan_positions_map(headers)

    monkeypatch.setattr(_scan, "scan_positions_map", counted)
    f = positions_file(tmp_path, scan=(3, 4))
    headers = Series(f.path).frame_headers()
    n = headers["scan_x"].size
    # a rotidx that numbers a square scan is used (RosettaSciIO reads it the same way)
    rot = np.r_[np.zeros(n - 9), np.arange(1, 10)].astype(np.uint32)
    assert header_scan({**headers, "rotidx": rot}).source == "rotidx"
    # a rotidx counting every frame (not square) gives way to the positions
    found = header_scan({**headers, "rotidx": np.arange(1, n + 1, dtype=np.uint32)})
    assert found.source == "scan_x/scan_y"
    assert len(calls) == 1  # the positions are mapped once (a pass over every frame)
    np.testing.assert_array_equal(found.index_map, f.truth)
    with pytest.raises(ValueError, match="not square"):
        header_scan({"rotidx": np.arange(1, n + 1, dtype=np.uint32)})


def test_info_and_suggest_say_what_the_positions_gave(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = positions_file(tmp_path, scan=(5, 7), repeat=(4, 11), drop=(20,), invalid=(30,))
    words = (
        "5 x 7 from scan_x/scan_y, first scan frame 3; 2 repeated frames skipped, 1 missing; "
        "1 frame without a position skipped; 2 frames after the scan"
    )
    assert main(["info", str(f.path)]) == 0
    assert f"scan        {words}" in capsys.readouterr().out
    model, layer = opened(f.path)
    run_pass(model)
    sug = model.suggest()
    assert words in model.suggestion_text() and sug.shape == (5, 7) and sug.start == 3
    assert model.accept() and model.source == "headers"
    np.testing.assert_array_equal(layer.record.index_map, f.truth)
    np.testing.assert_array_equal(model.navigator_image(), model.values().channel("bf")[f.truth])


# -- hostile positions ---------------------------------------------------------------------------


def _headers(xs: list[float], ys: list[float]) -> dict[str, np.ndarray]:
    n = len(xs)
    return {
        "rotidx": np.zeros(n, np.uint32),
        "scan_x": np.asarray(xs, np.float32),
        "scan_y": np.asarray(ys, np.float32),
    }


RASTER_X = [0.0, 0, 1, 2, 0, 1, 2]
RASTER_Y = [0.0, 0, 0, 0, 1, 1, 1]


@pytest.mark.parametrize(
    "bad", [float("nan"), float("inf"), -float("inf"), -1.0, 0.5, 2.0**24, 3e38, -3e38]
)
def test_unusable_positions_are_skipped(bad: float) -> None:
    xs, ys = [*RASTER_X[:4], bad, *RASTER_X[4:]], [*RASTER_Y[:4], 1.0, *RASTER_Y[4:]]
    found = header_scan(_headers(xs, ys))
    np.testing.assert_array_equal(found.index_map, [[1, 2, 3], [5, 6, 7]])
    assert (found.invalid, found.repeated, found.missing) == (1, 0, 0)


@pytest.mark.parametrize("far", [2.0**24 - 1, 1e6, 4000.0])
def test_a_far_position_is_refused_without_a_huge_map(far: float) -> None:
    """One glitched position would make a scan of millions of repeated frames: refused at once."""
    xs, ys = [*RASTER_X, far], [*RASTER_Y, 1.0]
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=r"Scan_x/Scan_y has only 7 frames.*largest position x"):
        header_scan(_headers(xs, ys))
    assert time.perf_counter() - t0 < 1.0


@pytest.mark.parametrize(
    ("xs", "ys"),
    [
        ([0.0] * 5, [0.0] * 5),  # never leaves (0, 0): positions not recorded
        ([float("nan")] * 5, [float("nan")] * 5),
        ([1.0, 2, 3, 1, 2], [0.0] * 5),  # never at (0, 0)
        ([], []),
    ],
)
def test_positions_that_are_no_scan(xs: list[float], ys: list[float]) -> None:
    assert scan_positions_map(_headers(xs, ys)) is None
    with pytest.raises(ValueError, match="could not be automatically determined"):
        header_scan(_headers(xs, ys))


def test_file_reader_names_the_file_for_far_positions(tmp_path: Path) -> None:
    from tvips_bytes import write_recording

    n = len(RASTER_X) + 1
    write_recording(
        tmp_path / "glitch", np.zeros((n, 2, 2), np.uint16), fhb=108,
        headers={"rotidx": [0] * n, "scan_x": [*RASTER_X, 1e6], "scan_y": [*RASTER_Y, 1]},
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"glitch_000\.tvips.*Scan_x/Scan_y"):
        nt.file_reader(tmp_path / "glitch_000.tvips", scan_shape="auto")
    assert main(["info", str(tmp_path / "glitch_000.tvips")]) == 0
