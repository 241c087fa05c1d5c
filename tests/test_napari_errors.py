"""napari stays up whatever is dropped on it.

A broken ``.tvips`` file opened with the napari-tvips reader raises (napari shows the error) with
our message naming the file; the viewer, its existing layers and later opens keep working. A
file named ``.tvips`` that is not TVIPS at all is claimed too, so napari shows our reason
instead of "no reader".
"""

from __future__ import annotations

import struct
import warnings
from pathlib import Path

import numpy as np
import pytest

import napari_tvips as nt
from napari_tvips._napari._reader import napari_get_reader
from tvips_bytes import main_header, write_recording

pytestmark = pytest.mark.napari


def _process(qtbot, ms: int = 50) -> None:
    from qtpy.QtWidgets import QApplication

    for _ in range(3):
        QApplication.processEvents()
    qtbot.wait(ms)


def _chain(exc: BaseException | None) -> str:
    """All messages of an exception and its causes/contexts."""
    parts = []
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        parts.append(f"{type(exc).__name__}: {exc}")
        exc = exc.__cause__ or exc.__context__
    return "\n".join(parts)


@pytest.fixture
def good(tmp_path: Path) -> tuple[Path, np.ndarray]:
    frames = np.arange(6 * 4 * 5, dtype=np.uint16).reshape(6, 4, 5)
    paths = write_recording(tmp_path / "good", frames)
    return paths[0], frames


def _bad_header(tmp_path: Path) -> Path:
    """Size and version look right (so the reader claims it), dimensions are absurd."""
    path = tmp_path / "badhead_000.tvips"
    raw = bytearray(main_header(4, 4) + bytes(60 + 32) * 2)
    struct.pack_into("<2I", raw, 8, 2**32 - 1, 2**32 - 1)
    path.write_bytes(bytes(raw))
    return path


def _header_only(tmp_path: Path) -> Path:
    path = tmp_path / "stub_000.tvips"
    path.write_bytes(main_header(16, 16))
    return path


def _truncated_header(tmp_path: Path) -> Path:
    path = tmp_path / "short_000.tvips"
    path.write_bytes(main_header(16, 16)[:100])
    return path


BROKEN = {
    "bad header": (_bad_header, "badhead_000.tvips: header says records of"),
    "header-only _000": (_header_only, "stub_000.tvips: header says records of"),
    # size and version are there, so the reader claims it and says what is wrong
    "truncated main header": (_truncated_header, "short_000.tvips: 100 bytes is too short"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_file_reports_our_message_and_viewer_survives(
    make_napari_viewer, qtbot, tmp_path: Path, good, case: str
) -> None:
    make, message = BROKEN[case]
    bad = make(tmp_path)
    viewer = make_napari_viewer(show=True)
    before = np.random.default_rng(0).integers(0, 255, (20, 30)).astype(np.uint8)
    viewer.add_image(before.copy(), name="mine")
    _process(qtbot)

    assert napari_get_reader(str(bad)) is not None  # header looks like TVIPS: our reader runs
    with pytest.raises(Exception) as info:  # napari wraps it (ReaderPluginError)
        viewer.open(str(bad), plugin="napari-tvips")
    assert message in _chain(info.value), _chain(info.value)
    assert "TvipsFormatError" in _chain(info.value)
    _process(qtbot)

    # the viewer and the existing layer are intact ...
    assert [layer.name for layer in viewer.layers] == ["mine"]
    np.testing.assert_array_equal(viewer.layers["mine"].data, before)
    viewer.layers["mine"].contrast_limits = (0, 100)
    viewer.dims.ndisplay = 2
    shot = viewer.screenshot(canvas_only=True, flash=False)
    assert shot[..., :3].std() > 1

    # ... and a valid recording still opens afterwards
    path, frames = good
    layers = viewer.open(str(path), plugin="napari-tvips")
    _process(qtbot)
    assert len(layers) == 1 and len(viewer.layers) == 2
    viewer.dims.set_current_step(0, 4)
    _process(qtbot)
    np.testing.assert_array_equal(np.asarray(viewer.layers["good"]._slice.image.raw), frames[4])


@pytest.mark.parametrize(
    "content",
    [b"", b"\x89PNG\r\n\x1a\n" + bytes(100), b"hello world, not a camera file", b"\0\1\0\0"],
    ids=["empty", "png", "text", "4-bytes"],
)
def test_non_tvips_file_named_tvips_shows_our_reason(
    make_napari_viewer, qtbot, tmp_path: Path, good, content: bytes
) -> None:
    path = tmp_path / "fake_000.tvips"
    path.write_bytes(content)
    reader = napari_get_reader(str(path))  # claimed: the reason comes from us
    with pytest.raises(nt.TvipsFormatError, match=r"fake_000\.tvips.*(TVIPS main header|not a)"):
        reader(str(path))

    viewer = make_napari_viewer(show=True)
    viewer.add_points([[1, 1], [5, 5]], name="pts")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as info:  # napari: no plugin can read this file
            viewer.open(str(path), plugin="napari-tvips")
    text = _chain(info.value)
    assert path.name in text and "TVIPS main header" in text, text
    _process(qtbot)
    assert [layer.name for layer in viewer.layers] == ["pts"]
    np.testing.assert_array_equal(viewer.layers["pts"].data, [[1, 1], [5, 5]])

    layers = viewer.open(str(good[0]), plugin="napari-tvips")
    assert layers[0].data.shape == good[1].shape


def test_directory_and_missing_part_named_tvips(
    make_napari_viewer, qtbot, tmp_path: Path, good
) -> None:
    folder = tmp_path / "dir_000.tvips"
    folder.mkdir()
    missing = tmp_path / "nothing_000.tvips"
    assert napari_get_reader(str(folder)) is None
    with pytest.raises(nt.TvipsFormatError, match=r"no first part nothing_000\.tvips"):
        napari_get_reader(str(missing))(str(missing))
    viewer = make_napari_viewer(show=True)
    for path in (folder, missing):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(Exception):  # noqa: B017 - whatever napari raises, it raises
                viewer.open(str(path), plugin="napari-tvips")
    _process(qtbot)
    assert len(viewer.layers) == 0
    layers = viewer.open(str(good[0]), plugin="napari-tvips")
    assert len(layers) == 1


def test_file_truncated_after_opening_does_not_kill_the_viewer(
    make_napari_viewer, qtbot, tmp_path: Path
) -> None:
    """The recording shrinks under an open layer: moving the slider shows our read error
    (napari logs it) and the viewer keeps working."""
    frames = np.arange(8 * 4 * 5, dtype=np.uint16).reshape(8, 4, 5)
    paths = write_recording(tmp_path / "shrink", frames, frames_per_part=[4, 4])
    viewer = make_napari_viewer(show=True)
    viewer.open(str(paths[0]), plugin="napari-tvips")
    _process(qtbot)
    import os

    os.truncate(paths[1], 10)
    from napari_tvips import TvipsReadError

    with pytest.raises(TvipsReadError, match=r"shrink_001\.tvips: file ended"):
        np.asarray(viewer.layers["shrink"].data[7])
    viewer.dims.set_current_step(0, 2)
    _process(qtbot)
    np.testing.assert_array_equal(np.asarray(viewer.layers["shrink"]._slice.image.raw), frames[2])
    viewer.add_image(np.ones((3, 3)), name="after")
    assert len(viewer.layers) == 2


def test_failed_save_reports_and_keeps_old_file_and_layer(
    make_napari_viewer, qtbot, tmp_path: Path, good, monkeypatch
) -> None:
    """File > Save Selected Layers onto a full disk: napari gets our OSError, nothing is lost."""
    import os

    path, frames = good
    target = tmp_path / "saved"
    target.mkdir()
    old = write_recording(target / "out", frames[:2])[0]
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    viewer = make_napari_viewer(show=True)
    viewer.open(str(path), plugin="napari-tvips")
    layer = viewer.layers["good"]
    viewer.layers.selection = {layer}

    real = os.pwritev

    def full(*args, **kwargs):
        raise OSError(28, os.strerror(28))

    monkeypatch.setattr(os, "pwritev", full)
    with pytest.raises(Exception) as info:  # napari may wrap the writer's error
        viewer.layers.save(str(target / "out.tvips"), selected=True, plugin="napari-tvips")
    assert "No space left on device" in _chain(info.value), _chain(info.value)
    monkeypatch.setattr(os, "pwritev", real)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    np.testing.assert_array_equal(np.asarray(layer.data[:]), frames)

    saved = viewer.layers.save(str(target / "out.tvips"), selected=True, plugin="napari-tvips")
    assert saved == [str(old)]
    from napari_tvips import file_reader

    np.testing.assert_array_equal(file_reader(old)[0]["data"], frames)
