"""The typed layer record shared by the reader, the widget and the writer."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from napari_tvips._napari._layers import layer_kwargs
from napari_tvips._record import KEY, TvipsRecord, record_of
from napari_tvips._scan import ScanLayout
from napari_tvips._series import Series
from tvips_bytes import write_recording


def test_record_of_layer_metadata_and_attributes(tmp_path: Path) -> None:
    frames = np.arange(12 * 4, dtype=np.uint16).reshape(12, 2, 2)
    write_recording(tmp_path / "r", frames, pixelsize=3)
    series = Series(tmp_path / "r_000.tvips")
    _, kw = layer_kwargs(series, ScanLayout((3, 4), 0, "x"), scan_step=2.5, scan_unit="nm")
    rec = record_of(kw["metadata"])
    assert isinstance(rec, TvipsRecord) and rec.series is series
    assert rec.layout_source == "manual" and rec.is_scan and rec.layout.winding == "x"
    assert rec.scan_step == (2.5, 2.5) and rec.scan_unit == "nm"
    np.testing.assert_array_equal(rec.index_map, ScanLayout((3, 4), 0, "x").index_map(12))
    # napari's layer attributes (what a writer gets), a layer-like object, a record
    assert record_of({"metadata": kw["metadata"]}) is rec
    assert record_of(type("L", (), {"metadata": kw["metadata"]})()) is rec
    assert record_of(rec) is rec
    # anything else is not a TVIPS layer, including the old string-keyed dict
    for other in (None, {}, {KEY: {"series": series}}, {"metadata": None}, 3):
        assert record_of(other) is None
    _, kw = layer_kwargs(series, index_map=np.arange(12).reshape(3, 4))
    assert record_of(kw["metadata"]).layout_source == "headers"
    assert record_of(kw["metadata"]).layout is None
    assert rec.replace(scan_unit="um").scan_unit == "um" and rec.scan_unit == "nm"
