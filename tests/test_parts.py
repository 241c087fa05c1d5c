"""Part names in one place (``_format.part_name`` / ``split_part_name`` / ``part_paths``), used
by discovery (``_series``) and by the writer's stale-part removal alike."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import napari_tvips as nt
from napari_tvips._format import part_name, part_paths, split_part_name
from napari_tvips._series import find_parts, numbered_parts


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("x_000.tvips", ("x", 0)),
        ("x_y_012.TVIPS", ("x_y", 12)),
        ("x_1000.tvips", ("x", 1000)),
        ("x_01.tvips", ("x_01", None)),
        ("x.tvips", ("x", None)),
        ("x", ("x", None)),
        ("x_000.tvips.bak", ("x_000.tvips.bak", None)),
    ],
)
def test_split_part_name(name: str, expected: tuple[str, int | None]) -> None:
    assert split_part_name(name) == expected


@pytest.mark.parametrize(
    ("given", "first"),
    [("a", "a_000.tvips"), ("a.tvips", "a_000.tvips"), ("a_000.TVIPS", "a_000.TVIPS"),
     ("a_000", "a_000.tvips"), ("a.raw", "a.raw_000.tvips")],
)  # fmt: skip
def test_writer_names_are_what_discovery_finds(tmp_path: Path, given: str, first: str) -> None:
    paths = part_paths(tmp_path / given, 3)
    assert [Path(p).name for p in paths] == [first] + [
        part_name(split_part_name(first)[0], i, Path(first).suffix) for i in (1, 2)
    ]
    for p in paths:
        Path(p).write_bytes(b"")
    assert [str(p) for p in find_parts(paths[1])] == paths
    assert sorted(numbered_parts(tmp_path, split_part_name(first)[0])) == [0, 1, 2]


def test_stale_parts_of_another_spelling_of_the_base_are_kept(tmp_path: Path) -> None:
    data = np.zeros((3, 4, 4), np.uint16)
    (tmp_path / "ST_003.tvips").write_bytes(b"other recording")
    (tmp_path / "st_003.tvips").write_bytes(b"stale")
    nt.file_writer(tmp_path / "st", {"data": data, "axes": []}, show_progressbar=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ST_003.tvips", "st_000.tvips"]
