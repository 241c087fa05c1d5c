"""Property-based fuzzing of the reader: nothing a file contains may crash, exhaust memory or lie.

Valid recordings are built byte by byte with ``tvips_bytes`` and then mutated: main header fields
set to edge and random 32-bit values, random bytes overwritten anywhere, truncation inside the
main header / a frame header / the pixels / exactly at record ends, parts removed (gaps), extra
parts, zero-length parts, a part that is a directory and a part that cannot be opened. An
independent model of the format (struct, not our parser) says what must happen: either the
reader returns exactly the complete frames the parts hold, or it raises a ``TvipsError`` naming
the file. ``tracemalloc`` bounds every call's peak allocation by the bytes on disk.

Profiles: ``ci`` (default, bounded) and ``deep``::

    HYPOTHESIS_PROFILE=deep pytest tests/test_fuzz.py
"""

from __future__ import annotations

import builtins
import contextlib
import os
import shutil
import struct
import tempfile
import tracemalloc
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import napari_tvips as nt
from napari_tvips._napari._reader import napari_get_reader
from tvips_bytes import write_recording

settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=False,
)
settings.register_profile(
    "deep",
    max_examples=5000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

BASE = "rec"
FIELDS = (
    "size",
    "version",
    "dimx",
    "dimy",
    "bitsperpixel",
    "offsetx",
    "offsety",
    "binx",
    "biny",
    "pixelsize",
    "ht",
    "magtotal",
    "frameheaderbytes",
)
U32_EDGES = (
    0,
    1,
    2,
    3,
    4,
    7,
    8,
    12,
    15,
    16,
    17,
    24,
    32,
    60,
    64,
    108,
    255,
    256,
    257,
    1 << 15,
    1 << 16,
    (1 << 20),
    (1 << 20) + 1,
    (1 << 31) - 1,
    1 << 31,
    (1 << 32) - 2,
    (1 << 32) - 1,
)
u32 = st.one_of(st.sampled_from(U32_EDGES), st.integers(0, (1 << 32) - 1))
#: Slack for interpreter and dask bookkeeping on top of the bytes the files hold.
ALLOC_SLACK = 4 << 20


# -- building recordings ---------------------------------------------------------------------
@dataclass(frozen=True)
class Spec:
    """A valid recording before mutation."""

    version: int
    fhb: int
    dtype: str
    dimy: int
    dimx: int
    split: tuple[int, ...]
    seed: int

    @property
    def header_bytes(self) -> int:
        return 12 if self.version == 1 else self.fhb

    @property
    def frame_bytes(self) -> int:
        return self.dimy * self.dimx * np.dtype(self.dtype).itemsize

    @property
    def record(self) -> int:
        return self.header_bytes + self.frame_bytes


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    version = draw(st.sampled_from([1, 2, 2]))
    fhb = draw(st.sampled_from([0, 1, 4, 12, 13, 60, 64, 108, 112]))
    split = draw(st.lists(st.integers(0, 5), min_size=1, max_size=4))
    if sum(split) == 0:
        split[0] = 1
    return Spec(
        version=version,
        fhb=fhb,
        dtype=draw(st.sampled_from(["uint8", "uint16"])),
        dimy=draw(st.integers(1, 4)),
        dimx=draw(st.integers(1, 5)),
        split=tuple(split),
        seed=draw(st.integers(0, 2**16)),
    )


def build(folder: Path, spec: Spec) -> list[Path]:
    n = sum(spec.split)
    rng = np.random.default_rng(spec.seed)
    info = np.iinfo(spec.dtype)
    frames = rng.integers(0, int(info.max) + 1, size=(n, spec.dimy, spec.dimx), dtype=spec.dtype)
    return write_recording(
        folder / BASE, frames, version=spec.version, fhb=spec.fhb, frames_per_part=spec.split
    )


def part_path(folder: Path, number: int) -> Path:
    return folder / f"{BASE}_{number:03d}.tvips"


# -- mutations -------------------------------------------------------------------------------
mutation = st.one_of(
    st.tuples(st.just("field"), st.integers(0, len(FIELDS) - 1), u32),
    st.tuples(
        st.just("overwrite"),
        st.integers(0, 4),
        st.integers(0, 4000),
        st.binary(min_size=1, max_size=16),
    ),
    st.tuples(
        st.just("truncate"),
        st.integers(0, 4),
        st.sampled_from(["main", "fheader", "pixels", "record_end", "zero"]),
        st.integers(0, 10_000),
    ),
    st.tuples(st.just("remove"), st.integers(0, 4)),
    st.tuples(st.just("extra"), st.integers(0, 2), st.binary(max_size=300)),
    st.tuples(st.just("directory"), st.integers(0, 4)),
    st.tuples(st.just("unreadable"), st.integers(0, 4)),
)


def _existing(folder: Path) -> list[int]:
    return sorted(int(p.name[len(BASE) + 1 : -6]) for p in folder.glob(f"{BASE}_*.tvips"))


def apply(folder: Path, spec: Spec, mut: tuple, unreadable: set[str]) -> None:
    """Apply one mutation to the recording in ``folder``."""
    kind = mut[0]
    numbers = _existing(folder)
    if not numbers:
        return
    if kind == "field":
        p = part_path(folder, 0)
        if p.is_file() and p.stat().st_size >= 4 * (mut[1] + 1):
            with open(p, "r+b") as fh:
                fh.seek(4 * mut[1])
                fh.write(struct.pack("<I", mut[2]))
        return
    target = part_path(folder, numbers[mut[1] % len(numbers)]) if kind != "extra" else None
    if kind == "overwrite":
        if target.is_file() and target.stat().st_size:
            size = target.stat().st_size
            with open(target, "r+b") as fh:
                fh.seek(mut[2] % size)
                fh.write(mut[3][: size - mut[2] % size])
    elif kind == "truncate":
        if not target.is_file():
            return
        size = target.stat().st_size
        off = 256 if target.name.endswith("_000.tvips") else 0
        where, k = mut[2], mut[3]
        count = max(size - off, 0) // spec.record
        j = k % max(count, 1)
        if where == "main":
            cut = k % 256
        elif where == "fheader" and spec.header_bytes > 1:
            cut = off + j * spec.record + 1 + k % (spec.header_bytes - 1)
        elif where == "pixels" and spec.frame_bytes > 1:
            cut = off + j * spec.record + spec.header_bytes + 1 + k % (spec.frame_bytes - 1)
        elif where == "zero":
            cut = 0
        else:
            cut = off + (k % (count + 1)) * spec.record
        os.truncate(target, min(cut, size))
    elif kind == "remove":
        if target.is_dir():
            target.rmdir()
        else:
            target.unlink()
    elif kind == "extra":
        number = max(numbers) + 1 + mut[1]  # 0: next part, >0: after a gap
        part_path(folder, number).write_bytes(mut[2])
    elif kind == "directory":
        if target.is_file():
            target.unlink()
            target.mkdir()
    elif kind == "unreadable":
        unreadable.add(str(target))


@contextlib.contextmanager
def cannot_open(paths: set[str]) -> Iterator[None]:
    """Make ``open``/``os.open`` of ``paths`` fail as with mode 000 (we may run as root)."""
    if not paths:
        yield
        return
    real_open, real_os_open = builtins.open, os.open

    def check(file: object) -> None:
        if isinstance(file, (str, bytes, os.PathLike)) and os.fsdecode(file) in paths:
            raise PermissionError(13, "Permission denied", os.fsdecode(file))

    def fake_open(file, *args, **kwargs):
        check(file)
        return real_open(file, *args, **kwargs)

    def fake_os_open(path, *args, **kwargs):
        check(path)
        return real_os_open(path, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(builtins, "open", fake_open)
        mp.setattr(os, "open", fake_os_open)
        yield


# -- the independent model -------------------------------------------------------------------
@dataclass
class Expected:
    """What the files allow: an error, or the exact frames."""

    ok: bool
    frames: np.ndarray | None = None
    total_bytes: int = 0


def model(folder: Path, unreadable: set[str]) -> Expected:
    """Decode the recording with struct/numpy following shared/tvips-format.md."""
    paths = []
    while os.path.lexists(part_path(folder, len(paths))):
        paths.append(part_path(folder, len(paths)))
    total_disk = sum(p.stat().st_size for p in folder.glob("*") if p.is_file())
    if not paths or any(not p.is_file() for p in paths) or str(paths[0]) in unreadable:
        return Expected(False, total_bytes=total_disk)
    raw = paths[0].read_bytes()
    if len(raw) < 256:
        return Expected(False, total_bytes=total_disk)
    size, version, dimx, dimy, bpp, *_rest, fhb = struct.unpack("<13I", raw[:52])
    sizes = [p.stat().st_size for p in paths]
    if size != 256 or version not in (1, 2) or bpp not in (8, 16, 32, 64) or not dimx or not dimy:
        return Expected(False, total_bytes=total_disk)
    if version == 2 and fhb > 1 << 20:
        return Expected(False, total_bytes=total_disk)
    hb = 12 if version == 1 else fhb
    frame_bytes = dimx * dimy * bpp // 8
    record = hb + frame_bytes
    if record > sum(sizes) - 256:
        return Expected(False, total_bytes=total_disk)
    frames = []
    for i, p in enumerate(paths):
        off = 256 if i == 0 else 0
        count = (sizes[i] - off) // record
        if count and str(p) in unreadable:
            return Expected(False, total_bytes=total_disk)
        buf = raw if i == 0 else p.read_bytes()
        for j in range(count):
            start = off + j * record + hb
            frames.append(
                np.frombuffer(buf[start : start + frame_bytes], dtype=f"<u{bpp // 8}").reshape(
                    dimy, dimx
                )
            )
    if not frames:
        return Expected(False, total_bytes=total_disk)
    return Expected(True, np.stack(frames), total_bytes=total_disk)


# -- checking the reader ---------------------------------------------------------------------
@contextlib.contextmanager
def bounded_allocation(limit: int) -> Iterator[None]:
    """Fail if the peak of traced allocations inside the block exceeds ``limit`` bytes."""
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    try:
        yield
    finally:
        peak = tracemalloc.get_traced_memory()[1] - base
        if started:
            tracemalloc.stop()
    assert peak <= limit, f"allocated {peak} bytes at peak for {limit} allowed"


def names_file(message: str, folder: Path) -> bool:
    return str(folder) in message or f"{BASE}_" in message


def attempt(fn, folder: Path, exp: Expected, *, scan: bool = False):
    """Run ``fn``; return its result, or None after checking the error it raised."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with bounded_allocation(3 * exp.total_bytes + ALLOC_SLACK):
                return fn()
    except nt.TvipsError as exc:
        assert names_file(str(exc), folder), f"error does not name the file: {exc}"
        assert not exp.ok or scan, f"valid recording refused: {exc!r}"
        return None
    except ValueError as exc:
        # scan-shape problems are plain ValueErrors (as rsciio raises): headers give no scan
        assert scan, f"unexpected ValueError {exc!r}"
        assert "scan" in str(exc).lower() or "shape" in str(exc).lower(), str(exc)
        return None


def check_reader(folder: Path, given: str, unreadable: set[str]) -> None:
    exp = model(folder, unreadable)
    path = str(folder / given)
    with cannot_open(unreadable):
        out = attempt(lambda: nt.file_reader(path), folder, exp)
        assert (out is not None) == exp.ok
        if out is not None:
            data = out[0]["data"]
            assert isinstance(data, np.ndarray)
            assert data.shape == exp.frames.shape
            np.testing.assert_array_equal(data, exp.frames)
            heads = out[0]["original_metadata"]["frame_headers"]
            assert all(len(v) == len(exp.frames) for v in heads.values())

        def lazy() -> np.ndarray:
            got = nt.file_reader(path, lazy=True)[0]["data"]
            if exp.ok:  # a broken recording may open lazily, but computing it must then fail
                assert got.shape == exp.frames.shape
            return got.compute()

        lazy_data = attempt(lazy, folder, exp)
        assert (lazy_data is not None) == exp.ok
        if lazy_data is not None:
            np.testing.assert_array_equal(lazy_data, exp.frames)

        auto = attempt(lambda: nt.file_reader(path, scan_shape="auto"), folder, exp, scan=True)
        if auto is not None:
            data = auto[0]["data"]
            assert data.shape[-2:] == exp.frames.shape[1:]
            assert data.nbytes <= 2 * exp.frames.nbytes
            known = {f.tobytes() for f in exp.frames}
            assert all(f.tobytes() in known for f in data.reshape(-1, *data.shape[-2:]))

        def napari_reader():
            reader = napari_get_reader(path)
            if reader is None:
                assert not (exp.ok and path.endswith(".tvips")), "valid recording not claimed"
                return None
            layers = reader(path)
            assert len(layers) == 1
            frames, kwargs, kind = layers[0]
            if not exp.ok:  # opened lazily (a few frames read): reading everything must fail
                frames[:]
                raise AssertionError("a broken recording was read without error")
            assert kind == "image" and frames.shape == exp.frames.shape
            lo, hi = kwargs["contrast_limits"]
            assert lo < hi
            np.testing.assert_array_equal(frames[len(exp.frames) - 1], exp.frames[-1])
            return layers

        attempt(napari_reader, folder, exp)


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="tvips-fuzz-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _warm_up() -> None:
    """Import everything once so first-use imports do not count as allocations."""
    with scratch() as folder:
        build(folder, Spec(2, 60, "uint16", 2, 3, (4,), 0))
        path = folder / f"{BASE}_000.tvips"
        nt.file_reader(path)
        nt.file_reader(path, lazy=True)[0]["data"].compute()
        nt.file_reader(path, scan_shape="auto")
        napari_get_reader(str(path))(str(path))
        check_reader(folder, path.name, set())


_warm_up()


# -- properties ------------------------------------------------------------------------------
given_paths = st.sampled_from([f"{BASE}_000.tvips", f"{BASE}_001.tvips", BASE])


@given(spec=specs(), mutations=st.lists(mutation, max_size=3), given_path=given_paths)
def test_mutated_recordings_load_exactly_or_fail_cleanly(spec, mutations, given_path):
    with scratch() as folder:
        build(folder, spec)
        unreadable: set[str] = set()
        for mut in mutations:
            apply(folder, spec, mut, unreadable)
        if not os.path.lexists(folder / given_path) and given_path != BASE:
            given_path = f"{BASE}_000.tvips"
        check_reader(folder, given_path, unreadable)


@given(spec=specs(), field=st.integers(0, len(FIELDS) - 1), value=u32)
def test_every_main_header_field_at_every_value(spec, field, value):
    with scratch() as folder:
        build(folder, spec)
        apply(folder, spec, ("field", field, value), set())
        check_reader(folder, f"{BASE}_000.tvips", set())


@given(
    spec=specs(),
    where=st.sampled_from(["main", "fheader", "pixels", "record_end", "zero"]),
    part=st.integers(0, 4),
    k=st.integers(0, 10_000),
)
def test_truncation_at_every_kind_of_boundary(spec, where, part, k):
    with scratch() as folder:
        build(folder, spec)
        apply(folder, spec, ("truncate", part, where, k), set())
        check_reader(folder, f"{BASE}_000.tvips", set())


@given(
    spec=specs(),
    mode=st.sampled_from([2, 1, 0, 2**32 - 1]),
    rotidx=st.lists(
        st.one_of(st.sampled_from([0, 1, 2, 3, 4, 9, 16, 65535**2, 2**32 - 1]), u32),
        min_size=1,
        max_size=12,
    ),
    scan=st.lists(st.one_of(st.integers(-2, 6), st.floats(width=32, allow_nan=True)), max_size=24),
    times=st.lists(u32, max_size=4),
)
def test_frame_header_values_never_crash(spec, mode, rotidx, scan, times):
    """Frame header fields feed scan detection and metadata: rotidx, scan_x/y, time, mode."""
    n = sum(spec.split)
    headers = {
        "rotidx": [rotidx[i % len(rotidx)] for i in range(n)],
        "mode": [mode] * n,
    }
    if scan:
        headers["scan_x"] = [float(scan[(2 * i) % len(scan)]) for i in range(n)]
        headers["scan_y"] = [float(scan[(2 * i + 1) % len(scan)]) for i in range(n)]
    if times:
        headers["timestamp"] = [times[i % len(times)] for i in range(n)]
        headers["ms"] = [times[-1 - i % len(times)] for i in range(n)]
    with scratch() as folder:
        rng = np.random.default_rng(spec.seed)
        frames = rng.integers(0, 200, size=(n, spec.dimy, spec.dimx), dtype=spec.dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # float32 packing of huge values
            write_recording(
                folder / BASE,
                frames,
                version=spec.version,
                fhb=spec.fhb,
                frames_per_part=spec.split,
                headers=headers,
            )
        check_reader(folder, f"{BASE}_000.tvips", set())


@pytest.mark.parametrize("number", [0, 1])
def test_unreadable_part_by_mode_000(tmp_path, number):
    """Real permission bits (only meaningful when not root; root reads mode-000 files)."""
    if os.geteuid() == 0:
        pytest.skip("running as root: mode 000 does not block reads (simulated in the fuzz)")
    spec = Spec(2, 60, "uint16", 2, 3, (2, 2), 1)
    build(tmp_path, spec)
    target = part_path(tmp_path, number)
    target.chmod(0)
    try:
        with pytest.raises(nt.TvipsError, match=target.name):
            nt.file_reader(tmp_path / f"{BASE}_000.tvips")
    finally:
        target.chmod(0o644)


@pytest.mark.parametrize("number", [0, 1])
def test_unreadable_part_simulated(tmp_path, number):
    spec = Spec(2, 60, "uint16", 2, 3, (2, 2), 1)
    build(tmp_path, spec)
    target = str(part_path(tmp_path, number))
    with cannot_open({target}), pytest.raises(nt.TvipsError) as info:
        nt.file_reader(tmp_path / f"{BASE}_000.tvips")
    assert Path(target).name in str(info.value)
    assert "ermission" in str(info.value)


def test_model_agrees_with_reader_on_pristine_recordings(tmp_path):
    """The oracle itself: an unmutated recording is valid and decodes to what was written."""
    spec = Spec(2, 60, "uint16", 3, 4, (3, 0, 2), 7)
    build(tmp_path, spec)
    exp = model(tmp_path, set())
    assert exp.ok and exp.frames.shape == (5, 3, 4)
    np.testing.assert_array_equal(nt.file_reader(tmp_path / "rec_000.tvips")[0]["data"], exp.frames)
