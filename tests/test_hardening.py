"""Hardening: live recordings, recordings larger than memory, and file-content security.

- A recording still being written loads its complete frames; ``Series.refresh`` picks up new
  frames and parts, and arrays (and layers) built before the refresh keep working.
- A sparse 40 GiB recording opens lazily with bounded memory and without reading the frame
  header table.
- Nothing in a file is used as a path, unpickled or evaluated; part discovery stays in the
  recording's folder and matches its base name literally.
"""

from __future__ import annotations

import builtins
import os
import re
import shutil
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import psutil
import pytest

import napari_tvips as nt
from napari_tvips._lazy import FrameArray, to_dask
from napari_tvips._napari._layers import layer_data_tuple
from napari_tvips._napari._reader import napari_get_reader, read_tvips
from napari_tvips._record import record_of
from napari_tvips._series import find_parts
from tvips_bytes import frame_header, main_header, write_recording

SRC = Path(nt.__file__).parent


def _record(frames: np.ndarray, i: int, fhb: int = 60) -> bytes:
    return frame_header(fhb, {"rotidx": i + 1, "timestamp": 1_700_000_000}) + frames[i].tobytes()


# -- recordings still being written ---------------------------------------------------------
@pytest.fixture
def movie() -> np.ndarray:
    return np.arange(12 * 3 * 4, dtype=np.uint16).reshape(12, 3, 4)


def test_growing_last_part_loads_complete_frames(tmp_path: Path, movie: np.ndarray) -> None:
    half = _record(movie, 5)[:40]  # the recorder stopped (or is) inside frame 5's header
    write_recording(tmp_path / "live", movie[:5], frames_per_part=[2, 3], trailing=half)
    with pytest.warns(UserWarning, match=r"live_001\.tvips: 40 bytes after its last complete"):
        out = nt.file_reader(tmp_path / "live_000.tvips")[0]
    np.testing.assert_array_equal(out["data"], movie[:5])
    with pytest.warns(UserWarning, match="40 bytes"):
        lazy = nt.file_reader(tmp_path / "live_001.tvips", lazy=True)[0]["data"]
    np.testing.assert_array_equal(lazy.compute(), movie[:5])


def test_refresh_picks_up_frames_and_parts_in_place(tmp_path: Path, movie: np.ndarray) -> None:
    paths = write_recording(tmp_path / "live", movie[:3])
    series = nt.open_series(paths[0])
    before = FrameArray(series, np.arange(3))
    lazy_before = to_dask(before)
    layer_before, kwargs, _ = layer_data_tuple(series)
    assert series.refresh() == 0

    # a frame arrives in two writes: half a record is not a frame yet
    rec = _record(movie, 3)
    with open(paths[0], "ab") as fh:
        fh.write(rec[:70])
    with pytest.warns(UserWarning, match="70 bytes after its last complete frame"):
        assert series.refresh() == 0
    assert series.n_frames == 3
    with open(paths[0], "ab") as fh:
        fh.write(rec[70:] + _record(movie, 4))
    assert series.refresh() == 2
    np.testing.assert_array_equal(series.read_frames(range(5)), movie[:5])

    # the recorder starts a new part
    with open(tmp_path / "live_001.tvips", "wb") as fh:
        fh.write(b"".join(_record(movie, i) for i in range(5, 12)))
    assert series.refresh() == 7
    assert series.n_frames == 12 and len(series.parts) == 2
    np.testing.assert_array_equal(FrameArray(series, np.arange(12))[:], movie)

    # what was built before the refreshes keeps working, over the frames it was built for
    np.testing.assert_array_equal(before[:], movie[:3])
    np.testing.assert_array_equal(np.asarray(before), movie[:3])
    np.testing.assert_array_equal(lazy_before.compute(), movie[:3])
    np.testing.assert_array_equal(layer_before[2], movie[2])
    assert record_of(kwargs["metadata"]).series is series
    # headers of new frames too (the cached table is rebuilt)
    assert series.frame_headers()["rotidx"].tolist() == list(range(1, 13))


def test_refresh_after_recording_vanished_raises_tvips_error(tmp_path: Path) -> None:
    movie = np.zeros((2, 2, 2), np.uint8)
    paths = write_recording(tmp_path / "gone", movie)
    series = nt.open_series(paths[0])
    paths[0].unlink()
    with pytest.raises(nt.TvipsError, match="gone_000"):
        series.refresh()


def test_truncated_after_open_is_a_read_error(tmp_path: Path, movie: np.ndarray) -> None:
    paths = write_recording(tmp_path / "cut", movie, frames_per_part=[6, 6])
    data = nt.file_reader(paths[0], lazy=True)[0]["data"]
    os.truncate(paths[1], 100)
    np.testing.assert_array_equal(data[:6].compute(), movie[:6])
    with pytest.raises(nt.TvipsReadError, match=r"cut_001\.tvips: file ended"):
        data[-1].compute()


# -- larger than memory ---------------------------------------------------------------------
GIB = 1 << 30


@pytest.fixture
def huge(tmp_path: Path) -> Path:
    """A sparse 40 GiB recording of 512 x 512 uint16 frames with 60-byte frame headers."""
    record = 60 + 512 * 512 * 2
    n = (40 * GIB) // record
    path = tmp_path / "huge_000.tvips"
    with open(path, "wb") as fh:
        fh.write(main_header(512, 512, bpp=16, fhb=60))
        fh.write(frame_header(60, {"timestamp": 1_700_000_000, "rotidx": 1, "mode": 2}))
        fh.write(np.full((512, 512), 7, np.uint16).tobytes())
        fh.write(frame_header(60, {"timestamp": 1_700_000_000, "ms": 25, "rotidx": 2}))
    last = 256 + (n - 1) * record
    try:
        os.truncate(path, 256 + n * record)
        with open(path, "r+b") as fh:
            fh.seek(last + 60)
            fh.write(np.full((512, 512), 9, np.uint16).tobytes())
    except OSError as exc:
        pytest.skip(f"cannot create a 40 GiB sparse file here: {exc}")
    info = path.stat()
    if info.st_blocks * 512 > 64 << 20:
        path.unlink()
        pytest.skip("filesystem does not keep sparse files sparse")
    yield path
    path.unlink()


def _rss() -> int:
    return psutil.Process().memory_info().rss


def test_larger_than_memory_recording_opens_lazily(huge: Path, monkeypatch) -> None:
    size = huge.stat().st_size
    assert size > 39 * GIB
    n = (size - 256) // (60 + 512 * 512 * 2)

    def no_table(*args, **kwargs):
        raise AssertionError("a lazy open must not read the frame header table")

    monkeypatch.setattr(nt.Series, "_read_part_headers", no_table)
    rss0 = _rss()
    series = nt.open_series(huge)
    assert series.n_frames == n and series.nbytes > 39 * GIB
    out = nt.file_reader(huge, lazy=True)[0]
    data = out["data"]
    assert data.shape == (n, 512, 512)
    assert out["axes"][0]["scale"] == pytest.approx(0.025, abs=1e-6)
    assert int(data[0, 0, 0].compute()) == 7
    assert int(data[n // 2].max().compute()) == 0  # a hole reads as zeros
    assert int(data[-1, -1, -1].compute()) == 9
    np.testing.assert_array_equal(series.read_frames([n - 1, 0])[:, 5, 5], [9, 7])
    layers = read_tvips(str(huge))  # the napari reader: contrast limits from a few frames
    assert layers[0][0].shape == (n, 512, 512)
    grown = _rss() - rss0
    assert grown < 100 << 20, f"RSS grew by {grown / 2**20:.0f} MiB"


def test_frame_header_table_of_a_huge_recording_is_bounded(huge: Path) -> None:
    """The table (n x 60 bytes) is read with a strided copy of a memory map; note its cost."""
    series = nt.open_series(huge)
    rss0 = _rss()
    t0 = time.perf_counter()
    table = series.frame_headers()
    seconds = time.perf_counter() - t0
    assert table["rotidx"][:2].tolist() == [1, 2] and table["rotidx"].size == series.n_frames
    table_bytes = sum(v.nbytes for v in table.values())
    grown = _rss() - rss0
    print(
        f"frame table: {series.n_frames} frames, {table_bytes} B, {seconds:.2f} s, +{grown} B RSS"
    )
    assert grown < table_bytes * 3 + (100 << 20)


# -- security: file content is data, never code or paths -------------------------------------
def test_no_pickle_eval_or_exec_in_the_package() -> None:
    banned = re.compile(
        r"\bpickle\.loads?\(|\beval\(|\bexec\(|allow_pickle\s*=\s*True|\bmarshal\.|"
        r"\bshelve\.|\byaml\.load\(|\bos\.system\(|\bsubprocess\.|__import__\("
    )
    hits = [
        f"{path.relative_to(SRC)}:{i}: {line.strip()}"
        for path in SRC.rglob("*.py")
        for i, line in enumerate(path.read_text().splitlines(), 1)
        if banned.search(line)
    ]
    assert not hits, hits


class OpenLog:
    """Records every path opened through ``open``, ``os.open`` and ``os.listdir``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.opened: list[str] = []
        self.listed: list[str] = []
        real_open, real_os_open, real_listdir = builtins.open, os.open, os.listdir

        def fake_open(file, *args, **kwargs):
            if isinstance(file, (str, bytes, os.PathLike)):
                self.opened.append(os.path.realpath(os.fsdecode(file)))
            return real_open(file, *args, **kwargs)

        def fake_os_open(path, *args, **kwargs):
            self.opened.append(os.path.realpath(os.fsdecode(path)))
            return real_os_open(path, *args, **kwargs)

        def fake_listdir(path="."):
            self.listed.append(os.path.realpath(os.fsdecode(path)))
            return real_listdir(path)

        monkeypatch.setattr(builtins, "open", fake_open)
        monkeypatch.setattr(os, "open", fake_os_open)
        monkeypatch.setattr(os, "listdir", fake_listdir)


def test_paths_inside_headers_are_never_opened(tmp_path: Path, monkeypatch) -> None:
    rec, bait = tmp_path / "rec", tmp_path / "bait"
    rec.mkdir()
    bait.mkdir()
    for name in ("secret_000.tvips", "secret.txt"):
        shutil.copyfile(__file__, bait / name)
    evil = [str(bait / "secret_000.tvips"), "../bait/secret_000.tvips", "/etc/passwd"]
    dummy = b"\0".join(p.encode() for p in evil)[:204]
    fhb = 256
    frames = np.arange(4 * 2 * 3, dtype=np.uint8).reshape(4, 2, 3)
    paths = write_recording(rec / "x", frames, fhb=fhb, frames_per_part=[2, 2], dummy=dummy)
    # also put the paths into the unknown tail of every frame header
    for path in paths:
        raw = bytearray(path.read_bytes())
        off = 256 if path.name.endswith("_000.tvips") else 0
        for j in range(2):
            start = off + j * (fhb + 6) + 110
            raw[start : start + 140] = b"\0".join(p.encode() for p in evil)[:140].ljust(140, b"\0")
        path.write_bytes(bytes(raw))

    log = OpenLog(monkeypatch)
    out = nt.file_reader(paths[1])[0]
    np.testing.assert_array_equal(out["data"], frames)
    assert out["original_metadata"]["tvips_header"]["dummy"] == dummy.rstrip(b"\0")
    nt.file_reader(paths[0], lazy=True)[0]["data"].compute()
    assert nt.file_reader(paths[0], scan_shape="auto")[0]["data"].shape == (2, 2, 2, 3)
    reader = napari_get_reader(str(paths[0]))
    layers = reader(str(paths[0]))
    layers[0][0][:]
    allowed = {os.path.realpath(p) for p in paths}
    assert log.opened and set(log.opened) <= allowed, set(log.opened) - allowed
    assert set(log.listed) <= {os.path.realpath(rec)}
    # and the dummy text is returned as data, byte for byte
    assert str(bait) not in "".join(log.opened)


@pytest.mark.parametrize("base", ["a.b[1]", "a*", "(x|y)+", "a%s{0}", "rec..", "a_000"])
def test_discovery_matches_the_base_name_literally(tmp_path: Path, base: str) -> None:
    folder = tmp_path / "data"
    other = tmp_path / "other"
    folder.mkdir()
    other.mkdir()
    frames = np.arange(3 * 2 * 2, dtype=np.uint8).reshape(3, 2, 2)
    paths = write_recording(folder / base, frames, frames_per_part=[1, 2])
    decoys = [
        folder / f"{base}_000.tvips.bak",
        folder / f"{base}_002.tvips.bak",
        folder / f"x{base}_002.tvips",
        folder / f"{base}x_002.tvips",
        folder / f"{base}_02.tvips",
        folder / f"{base}_002.tvipsx",
        folder / f"{base[:-1]}Z_002.tvips" if len(base) > 1 else folder / "Z_002.tvips",
        other / f"{base}_002.tvips",
        folder / f".{base}_002.tvips",
    ]
    for decoy in decoys:
        decoy.write_bytes(paths[1].read_bytes())
    expected = [str(p) for p in paths]
    for given in (paths[0], paths[1], folder / base, other / ".." / "data" / paths[1].name):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no "missing part" warnings from decoys
            series = nt.open_series(given)
        assert [os.path.realpath(p) for p in series.paths] == expected, given
        assert series.n_frames == 3
    assert [os.path.realpath(p) for p in find_parts(folder / base)] == expected


def test_symlinked_part_is_read_but_special_files_are_refused(tmp_path: Path) -> None:
    """Documented behaviour: a part that is a symlink is followed (the folder's owner made it);
    anything that is not a regular file (directory, FIFO, device) is refused, never read."""
    frames = np.arange(3 * 2 * 2, dtype=np.uint8).reshape(3, 2, 2)
    outside = tmp_path / "outside"
    outside.mkdir()
    paths = write_recording(outside / "r", frames, frames_per_part=[1, 2])
    rec = tmp_path / "rec"
    rec.mkdir()
    shutil.copyfile(paths[0], rec / "r_000.tvips")
    (rec / "r_001.tvips").symlink_to(paths[1])
    np.testing.assert_array_equal(nt.file_reader(rec / "r_000.tvips")[0]["data"], frames)

    (rec / "r_001.tvips").unlink()
    (rec / "r_001.tvips").symlink_to("/dev/zero")
    with pytest.raises(nt.TvipsFormatError, match=r"r_001\.tvips: is not a regular file"):
        nt.file_reader(rec / "r_000.tvips")
    (rec / "r_001.tvips").unlink()
    (rec / "r_001.tvips").symlink_to(outside)
    with pytest.raises(nt.TvipsFormatError, match="is not a regular file"):
        nt.file_reader(rec / "r_000.tvips")


def _returns_within(fn, seconds: float) -> tuple[bool, object]:
    result: list[object] = []

    def run() -> None:
        try:
            result.append(fn())
        except Exception as exc:
            result.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    return (not thread.is_alive()), (result[0] if result else None)


def test_fifo_named_tvips_never_blocks(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe_000.tvips"
    os.mkfifo(fifo)
    try:
        done, result = _returns_within(lambda: napari_get_reader(str(fifo))(str(fifo)), 5)
        assert done, "the napari reader blocked opening a FIFO"
        assert isinstance(result, nt.TvipsFormatError) and "not a regular file" in str(result)
        done, result = _returns_within(lambda: nt.file_reader(fifo), 5)
        assert done, "file_reader blocked opening a FIFO"
        assert isinstance(result, nt.TvipsFormatError) and "pipe_000.tvips" in str(result)
    finally:
        # unblock a reader stuck in open(): open the write end without blocking
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)
        except OSError:
            pass


def test_huge_part_numbers_and_many_parts(tmp_path: Path) -> None:
    frames = np.arange(2 * 2 * 2, dtype=np.uint8).reshape(2, 2, 2)
    write_recording(tmp_path / "r", frames)
    (tmp_path / ("r_" + "9" * 40 + ".tvips")).write_bytes(b"x")
    for i in range(1, 300):
        (tmp_path / f"r_{i:03d}.tvips").write_bytes(b"")
    with pytest.warns(UserWarning, match="part _300 is missing"):
        series = nt.open_series(tmp_path / ("r_" + "9" * 40 + ".tvips"))
    assert len(series.parts) == 300 and series.n_frames == 2


# -- saves never lose data ------------------------------------------------------------------
def _writer_ready(tmp: Path) -> None:
    try:
        nt.file_writer(
            tmp / "probe", {"data": np.zeros((1, 2, 2), np.uint8)}, show_progressbar=False
        )
    except NotImplementedError:
        pytest.skip("napari_tvips.file_writer is not implemented yet")
    for p in tmp.glob("probe*"):
        p.unlink()


RECORD = 60 + 6 * 7 * 2  # frame header + 6 x 7 uint16


@pytest.fixture
def old_set(tmp_path: Path) -> tuple[Path, np.ndarray, dict[str, bytes]]:
    """A previous recording ``out_000..002`` (written byte by byte, not by our writer)."""
    folder = tmp_path / "save"
    folder.mkdir()
    _writer_ready(tmp_path)
    old = np.arange(6 * 6 * 7, dtype=np.uint16).reshape(6, 6, 7)
    write_recording(folder / "out", old, frames_per_part=[2, 2, 2])
    return folder, old, _snapshot(folder)


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every entry of the folder (hidden temporaries too) with its bytes."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _new_signal(n: int = 10, seed: int = 3) -> dict:
    rng = np.random.default_rng(seed)
    return {"data": rng.integers(0, 60000, (n, 6, 7), dtype=np.uint16), "axes": [], "metadata": {}}


def _fail_after(real, exc: BaseException, after: int):
    calls = {"n": 0}

    def wrapped(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > after:
            raise exc
        return real(*args, **kwargs)

    wrapped.calls = calls
    return wrapped


def _save(folder: Path, signal: dict, **kwargs) -> list[str]:
    kwargs.setdefault("max_file_size", 256 + 3 * RECORD)  # 4 parts for 10 frames
    return nt.file_writer(folder / "out", signal, show_progressbar=False, **kwargs)


def _assert_untouched(folder: Path, before: dict[str, bytes], old: np.ndarray) -> None:
    after = _snapshot(folder)
    assert sorted(after) == sorted(before), f"left behind: {sorted(set(after) - set(before))}"
    assert after == before, "previous set changed"
    np.testing.assert_array_equal(nt.file_reader(folder / "out_000.tvips")[0]["data"], old)


@pytest.mark.parametrize("after", [0, 1, 2, 3])
@pytest.mark.parametrize("source", ["numpy", "dask"])
def test_disk_full_at_any_write_keeps_previous_set(old_set, monkeypatch, after, source) -> None:
    folder, old, before = old_set
    signal = _new_signal()
    if source == "dask":
        import dask.array as da

        signal["data"] = da.from_array(signal["data"], chunks=(2, 6, 7))
    full = OSError(28, os.strerror(28))
    monkeypatch.setattr(os, "pwritev", _fail_after(os.pwritev, full, after))
    with pytest.raises(OSError) as info:
        _save(folder, signal, max_file_size=256 + RECORD)  # one frame per call and part
    assert info.value.errno == 28 and "No space left on device" in str(info.value)
    _assert_untouched(folder, before, old)


def test_disk_full_writing_the_main_header(old_set, monkeypatch) -> None:
    folder, old, before = old_set
    monkeypatch.setattr(os, "pwrite", _fail_after(os.pwrite, OSError(28, os.strerror(28)), 0))
    with pytest.raises(OSError, match="No space left on device"):
        _save(folder, _new_signal())
    _assert_untouched(folder, before, old)


@pytest.mark.parametrize("exc", [RuntimeError("injected"), KeyboardInterrupt()], ids=repr)
@pytest.mark.parametrize("after", [0, 2])
def test_exception_mid_write_keeps_previous_set(old_set, monkeypatch, exc, after) -> None:
    folder, old, before = old_set
    monkeypatch.setattr(os, "pwritev", _fail_after(os.pwritev, exc, after))
    with pytest.raises(type(exc)):
        _save(folder, _new_signal(), max_file_size=256 + RECORD)
    _assert_untouched(folder, before, old)


@pytest.mark.parametrize("exc", [OSError(5, "Input/output error"), KeyboardInterrupt()], ids=repr)
@pytest.mark.parametrize(
    ("per_part", "after"),
    [(3, 0), (3, 1), (3, 2), (1, 4)],  # 3 new parts over 3 old ones; 6 new parts, fail at 5th
)
def test_failure_while_renaming_restores_previous_set(
    old_set, monkeypatch, exc, per_part, after
) -> None:
    """Some new parts already renamed over old ones when the failure hits: all are put back."""
    folder, old, before = old_set
    replace = _fail_after(os.replace, exc, after)
    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(type(exc)):
        _save(folder, _new_signal(), max_file_size=256 + per_part * RECORD)
    assert replace.calls["n"] == after + 1
    _assert_untouched(folder, before, old)


def test_failing_lazy_source_keeps_previous_set(old_set, tmp_path: Path) -> None:
    """Saving a layer whose recording was truncated meanwhile: the read error, nothing lost."""
    folder, old, before = old_set
    movie = np.arange(10 * 6 * 7, dtype=np.uint16).reshape(10, 6, 7)
    src = write_recording(tmp_path / "src", movie, frames_per_part=[5, 5])
    signal = nt.file_reader(src[0], lazy=True)[0]
    os.truncate(src[1], 100)
    with pytest.raises(nt.TvipsReadError, match=r"src_001\.tvips"):
        _save(folder, signal)
    _assert_untouched(folder, before, old)


def _deny_create_in(folder: Path):
    """``os.open``/``open`` creating a file in ``folder`` fail as in a read-only folder."""
    real_os_open, real_open = os.open, builtins.open
    flags_create = os.O_CREAT | os.O_WRONLY | os.O_RDWR

    def denied(path) -> bool:
        return os.path.dirname(os.path.abspath(os.fsdecode(path))) == str(folder)

    def fake_os_open(path, flags, *args, **kwargs):
        if flags & flags_create and denied(path):
            raise PermissionError(13, os.strerror(13), os.fsdecode(path))
        return real_os_open(path, flags, *args, **kwargs)

    def fake_open(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and set(mode) & set("wax+") and denied(file):
            raise PermissionError(13, os.strerror(13), os.fsdecode(file))
        return real_open(file, mode, *args, **kwargs)

    return fake_os_open, fake_open


def test_read_only_folder_simulated(old_set, monkeypatch) -> None:
    folder, old, before = old_set
    fake_os_open, fake_open = _deny_create_in(folder)
    monkeypatch.setattr(os, "open", fake_os_open)
    monkeypatch.setattr(builtins, "open", fake_open)
    with pytest.raises(PermissionError) as info:
        _save(folder, _new_signal())
    assert "Permission denied" in str(info.value) and str(folder) in str(info.value)
    monkeypatch.undo()
    _assert_untouched(folder, before, old)


def test_read_only_folder_chmod(old_set) -> None:
    if os.geteuid() == 0:
        pytest.skip("running as root: mode 555 does not block writes (simulated above)")
    folder, old, before = old_set
    folder.chmod(0o555)
    try:
        with pytest.raises(PermissionError, match="Permission denied"):
            _save(folder, _new_signal())
    finally:
        folder.chmod(0o755)
    _assert_untouched(folder, before, old)


def test_no_hard_links_and_a_failing_rename_keeps_previous_set(old_set, monkeypatch) -> None:
    """Filesystems without hard links (FAT, some network shares): renaming may still fail."""
    folder, old, before = old_set
    monkeypatch.setattr(os, "link", _fail_after(os.link, OSError(1, os.strerror(1)), 0))
    monkeypatch.setattr(os, "replace", _fail_after(os.replace, OSError(5, os.strerror(5)), 1))
    with pytest.raises(OSError):
        _save(folder, _new_signal())
    monkeypatch.undo()
    _assert_untouched(folder, before, old)


def test_successful_save_replaces_the_whole_set(old_set) -> None:
    """The control: the same calls without faults replace old parts and remove stale ones."""
    folder, _old, _before = old_set
    signal = _new_signal(n=2)
    paths = _save(folder, signal)
    assert sorted(p.name for p in folder.iterdir()) == ["out_000.tvips"]
    assert paths == [str(folder / "out_000.tvips")]
    np.testing.assert_array_equal(nt.file_reader(paths[0])[0]["data"], signal["data"])
