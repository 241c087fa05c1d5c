"""A layer re-sliced by a header map (repeated and missing frames) saves as the clean scan."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from napari_tvips._napari._layers import layer_kwargs
from napari_tvips._napari._reader import read_tvips
from napari_tvips._napari._writer import write_tvips
from napari_tvips._record import record_of
from napari_tvips._scan import apply_winding, header_scan
from napari_tvips._series import Series
from scan_files import scan_file


def test_header_map_layer_saves_as_the_clean_scan(tmp_path: Path) -> None:
    f = scan_file(tmp_path, repeat_every=97, drop=(40,))
    series = Series(f.path)
    imap = apply_winding(header_scan(series.frame_headers()).index_map, "x", f.hysteresis)
    data, kw = layer_kwargs(series, index_map=imap, scan_step=2.0, scan_unit="nm")
    attrs = {k: kw[k] for k in ("scale", "units", "axis_labels", "metadata", "translate")}
    paths = write_tvips(str(tmp_path / "clean.tvips"), data, attrs)
    ((again, kw2, _),) = read_tvips(paths[0])
    assert again.shape == (24, 24, 32, 32)
    np.testing.assert_array_equal(np.asarray(again), f.truth)
    assert kw2["scale"][:2] == [2.0, 2.0] and kw2["units"][:2] == ["nm", "nm"]
    assert record_of(kw2["metadata"]).layout.shape == (24, 24)
    rsciio = pytest.importorskip("rsciio.tvips")
    theirs = rsciio.file_reader(paths[0], scan_shape="auto")[0]["data"]
    np.testing.assert_array_equal(theirs, f.truth)
