"""Property-based fuzzing of napari-tvips' calibration block (main header bytes 52..255).

Valid blocks round-trip exactly; any change of their bytes is either caught by the checksum or,
when an attacker reseals the checksum, refused value by value, with a warning and never an
exception. A recording carrying a resealed hostile block still opens as a frame stack, and
``scan_shape="auto"`` either gives a scan the frames on disk can fill or raises a ``ValueError``
naming the file, without allocating beyond the bytes on disk (``tracemalloc``).
"""

from __future__ import annotations

import math
import tracemalloc
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import napari_tvips as nt
from napari_tvips._format import (
    CALIBRATION_UNIT_BYTES,
    MAX_SCAN_SIDE,
    ScanCalibration,
    pack_calibration,
    parse_calibration,
)
from tvips_bytes import write_recording

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
nonzero = finite.filter(lambda v: v != 0.0)
units = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp", "Co", "Cn")), max_size=24
).filter(lambda u: len(u.encode()) <= CALIBRATION_UNIT_BYTES and u.isprintable())


def _opt(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(st.none(), strategy)


calibrations = st.builds(
    ScanCalibration,
    scan_shape=_opt(st.tuples(*[st.integers(1, MAX_SCAN_SIDE)] * 2)),
    scan_step=_opt(st.tuples(nonzero, nonzero)),
    scan_unit=_opt(units),
    signal_scale=_opt(st.tuples(nonzero, nonzero)),
    signal_unit=_opt(units),
    scan_offset=_opt(st.tuples(finite, finite)),
    signal_offset=_opt(st.tuples(finite, finite)),
)


def _reseal(raw: bytearray) -> bytes:
    raw[132:136] = zlib.crc32(bytes(raw[:132])).to_bytes(4, "little")
    return bytes(raw)


def _parse(raw: bytes) -> ScanCalibration | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return parse_calibration(raw, "f")


def _sane(cal: ScanCalibration) -> None:
    """Every value a parsed block may give is usable as it is."""
    if cal.scan_shape is not None:
        assert all(1 <= n <= MAX_SCAN_SIDE for n in cal.scan_shape)
    for pair in (cal.scan_step, cal.signal_scale):
        assert pair is None or all(math.isfinite(v) and v != 0 for v in pair)
    for pair in (cal.scan_offset, cal.signal_offset):
        assert pair is None or all(math.isfinite(v) for v in pair)
    for unit in (cal.scan_unit, cal.signal_unit):
        assert unit is None or (unit.isprintable() and len(unit.encode()) <= 24)


@FUZZ
@given(cal=calibrations, filler=st.binary(max_size=204))
def test_valid_blocks_round_trip_exactly(cal: ScanCalibration, filler: bytes) -> None:
    raw = pack_calibration(cal, filler)
    assert len(raw) == 204
    assert parse_calibration(raw, "f") == cal


@FUZZ
@given(
    cal=calibrations,
    edits=st.lists(st.tuples(st.integers(0, 135), st.integers(0, 255)), min_size=1, max_size=12),
    reseal=st.booleans(),
)
def test_changed_blocks_are_caught_or_refused(
    cal: ScanCalibration, edits: list, reseal: bool
) -> None:
    """Changed bytes fail the checksum; resealed by an attacker, they give sane values or None."""
    raw = bytearray(pack_calibration(cal))
    for at, value in edits:
        raw[at] = value
    if reseal and any(at >= 8 for at, _ in edits):
        parsed = _parse(_reseal(raw))
        if parsed is not None:
            _sane(parsed)
    else:
        parsed = _parse(bytes(raw))
        assert parsed is None or parsed == cal  # bytes unchanged (a CRC-32 collision: never)


@FUZZ
@given(body=st.binary(min_size=124, max_size=124))
def test_random_sealed_blocks_never_raise(body: bytes) -> None:
    raw = bytearray(b"NTVIPSCB" + body + bytes(4) + bytes(68))
    parsed = _parse(_reseal(raw))
    if parsed is not None:
        _sane(parsed)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    shape=st.tuples(st.integers(1, MAX_SCAN_SIDE), st.integers(1, MAX_SCAN_SIDE)),
    edits=st.lists(st.tuples(st.integers(8, 131), st.integers(0, 255)), max_size=6),
)
def test_recording_with_a_hostile_block_opens_bounded(
    tmp_path_factory: pytest.TempPathFactory, shape: tuple[int, int], edits: list
) -> None:
    folder = tmp_path_factory.mktemp("hostile")
    raw = bytearray(pack_calibration(ScanCalibration(shape, (1.0, 1.0), "nm", (1.0, 1.0), "nm")))
    for at, value in edits:
        raw[at] = value
    frames = np.arange(6 * 3 * 4, dtype=np.uint16).reshape(6, 3, 4)
    path = write_recording(folder / "h", frames, dummy=_reseal(raw))[0]
    on_disk = Path(path).stat().st_size
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stack = nt.file_reader(path)[0]
        np.testing.assert_array_equal(stack["data"], frames)
        assert all(math.isfinite(a["scale"]) and math.isfinite(a["offset"]) for a in stack["axes"])
        tracemalloc.start()
        try:
            scan = nt.file_reader(path, scan_shape="auto")[0]
        except ValueError as exc:
            assert "h_000.tvips" in str(exc) or "scan" in str(exc).lower()
            scan = None
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    assert peak < 64 * on_disk + (1 << 20)
    if scan is not None:
        assert scan["data"].size <= frames.size * 2
