"""Unit strings from files and from the person: never a hang, a crash or a nameless error."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from napari_tvips._format import ScanCalibration, pack_calibration
from napari_tvips._napari._layers import layer_kwargs
from napari_tvips._record import record_of
from napari_tvips._series import Series
from napari_tvips._units import known_unit, quantity, safe_unit_text
from test_model import opened
from tvips_bytes import write_recording

# each of these makes pint compute a number of millions of digits (or fail) when parsed
EXPLOSIVE = ["9^9^8", "9**9**9", "(((9^99)^99)^99)^99", "2**(999)", "9^999999", "e^1e9"]


@pytest.mark.parametrize("text", ["nm", "1/nm", "1 / nanometer", "Å^-1", "m^2/s^2", "mrad", ""])
def test_units_napari_knows(text: str) -> None:
    assert safe_unit_text(text) and known_unit(text)


@pytest.mark.parametrize("text", [*EXPLOSIVE, "zzz", "1/0", "nm\x00", "x" * 65, "__class__"])
def test_units_refused_at_once(text: str) -> None:
    t0 = time.perf_counter()
    assert not known_unit(text) and quantity(1.0, text) is None
    assert time.perf_counter() - t0 < 1.0


def _calibrated(tmp_path: Path, name: str, cal: ScanCalibration) -> Path:
    frames = np.arange(12 * 16, dtype=np.uint16).reshape(12, 4, 4)
    write_recording(tmp_path / name, frames, dummy=pack_calibration(cal))
    return tmp_path / f"{name}_000.tvips"


@pytest.mark.parametrize("unit", ["9^9^8", "zzz", "1/0"])
def test_a_calibration_block_unit_napari_cannot_parse_opens(tmp_path: Path, unit: str) -> None:
    """The layer shows pixel with a warning naming the file and the unit; the record keeps it."""
    napari = pytest.importorskip("napari")
    from napari_tvips._napari._reader import napari_get_reader

    path = _calibrated(tmp_path, "u", ScanCalibration(
        scan_shape=(3, 4), scan_step=(2.0, 2.0), scan_unit=unit,
        signal_scale=(0.25, 0.25), signal_unit=unit,
    ))  # fmt: skip
    t0 = time.perf_counter()
    viewer = napari.components.ViewerModel()
    with pytest.warns(UserWarning, match=rf"u_000\.tvips: unit '{unit.replace('^', '.')}'"):
        for data, kwargs, _ in napari_get_reader(str(path))(str(path)):
            viewer.add_image(data, **kwargs)
    viewer.reset_view()
    assert time.perf_counter() - t0 < 10
    layer = viewer.layers[0]
    assert layer.data.shape == (3, 4, 4, 4)
    assert [str(u) for u in layer.units] == ["pixel"] * 4
    np.testing.assert_allclose(layer.scale, [2.0, 2.0, 0.25, 0.25])
    rec = record_of(layer)
    assert rec.signal_unit == unit and rec.scan_unit == unit  # saved back as it was


def test_the_model_refuses_a_unit_it_cannot_show(tmp_path: Path) -> None:
    path = _calibrated(tmp_path, "m", ScanCalibration(signal_scale=(0.25, 0.25), signal_unit="nm"))
    model, layer = opened(path)
    assert model.update(source="manual", shape=(3, 4), start=0, scan_step=2.0, scan_unit="nm")
    for bad in ("zzz", "9^9^8"):
        assert not model.update(signal_unit=bad)
        assert "m_000.tvips" in model.message and repr(bad) in model.message
        assert model.signal_unit == "nm" and layer.record.signal_unit == "nm"
    assert model.update(signal_unit="Å^-1") and model.message == ""
    assert layer.record.signal_unit == "Å^-1"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a known unit: no warning
        layer_kwargs(Series(path), limits=(0, 1))
