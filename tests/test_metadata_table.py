"""The metadata <-> header table of ``_metadata`` drives the reader and the writer alike."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import napari_tvips as nt
from napari_tvips._metadata import FRAME_METADATA, MAIN_METADATA, TEM, frame_values, get_path


def _set(tree: dict, path: str, value: float) -> None:
    *parents, key = path.split(".")
    for parent in parents:
        tree = tree.setdefault(parent, {})
    tree[key] = value


@pytest.mark.parametrize("field", sorted(FRAME_METADATA))
@pytest.mark.parametrize("which", [0, -1], ids=["reader-path", "last-path"])
def test_each_frame_field_round_trips(tmp_path: Path, field: str, which: int) -> None:
    value = 12.5
    metadata: dict = {}
    _set(metadata, f"{TEM}.{FRAME_METADATA[field][which]}", value)
    assert frame_values(metadata)[field] == value
    data = np.zeros((2, 3, 3), np.uint16)
    nt.file_writer(tmp_path / "m", {"data": data, "metadata": metadata}, show_progressbar=False)
    back = nt.file_reader(tmp_path / "m_000.tvips")[0]
    assert back["original_metadata"]["frame_headers"][field].tolist() == [value, value]
    assert get_path(back["metadata"], f"{TEM}.{FRAME_METADATA[field][0]}") == value
    others = set(FRAME_METADATA) - {field}
    assert all(back["original_metadata"]["frame_headers"][o].tolist() == [0, 0] for o in others)


@pytest.mark.parametrize("field", sorted(MAIN_METADATA))
def test_each_main_field_round_trips(tmp_path: Path, field: str) -> None:
    metadata: dict = {}
    _set(metadata, f"{TEM}.{MAIN_METADATA[field]}", 300)
    axes = [{"units": "nm", "scale": 1.0, "navigate": k == 0} for k in range(3)]  # imaging: mag
    data = np.zeros((2, 3, 3), np.uint16)
    signal = {"data": data, "axes": axes, "metadata": metadata}
    nt.file_writer(tmp_path / "h", signal, show_progressbar=False)
    back = nt.file_reader(tmp_path / "h_000.tvips")[0]
    assert int(back["original_metadata"]["tvips_header"][field]) == 300
    assert get_path(back["metadata"], f"{TEM}.{MAIN_METADATA[field]}") == 300
