"""Every scan position is reachable with napari's slider, whatever the scan step.

napari 0.9 counts slider positions as ``int((stop - start) / step) + 1``; with a step such as
0.1 nm a 44-row scan gets 43 positions unless the layer's step is nudged (``reachable_step``).
The saved calibration keeps the exact step.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from napari_tvips import ScanLayout, file_reader, open_series
from napari_tvips._napari._layers import layer_kwargs, reachable_step
from napari_tvips._napari._writer import layer_signal, write_tvips
from tvips_bytes import write_recording

pytestmark = pytest.mark.napari


def test_reachable_step_is_the_step_or_barely_larger() -> None:
    for n in range(2, 400):
        for step in (0.1, 0.3, 0.7, 2.5e-3, 1.0):
            for start in (0.0, 0.35, -1.2):
                r = reachable_step(n, step, start)
                assert r >= step and (r - step) <= 1e-4 * step
                assert int(((start + (n - 1) * r) - start) / r) + 1 >= n
    assert reachable_step(44, 0.1) != 0.1  # the case napari loses a row on
    assert reachable_step(48, 0.1) == 0.1  # left alone when napari gets it right
    assert reachable_step(1, 0.1) == 0.1


@pytest.mark.parametrize("rows", [44, 47, 50])
def test_every_scan_row_is_reachable_and_the_step_saves_exactly(
    make_napari_viewer, tmp_path: Path, rows: int
) -> None:
    cols = 3
    frames = np.arange(rows * cols * 4 * 4, dtype=np.uint16).reshape(rows * cols, 4, 4)
    [path] = write_recording(tmp_path / "s", frames)
    series = open_series(path)
    data, kwargs = layer_kwargs(
        series, ScanLayout((rows, cols), 0), scan_step=(0.1, 0.1), scan_unit="nm"
    )
    viewer = make_napari_viewer()
    layer = viewer.add_image(data, **kwargs)
    assert viewer.dims.nsteps[:2] == (rows, cols)
    viewer.dims.set_current_step(0, rows - 1)
    assert viewer.dims.current_step[0] == rows - 1
    signal = layer_signal(layer.data, layer._get_state())
    assert [a["scale"] for a in signal["axes"][:2]] == [0.1, 0.1]
    [saved] = write_tvips(str(tmp_path / "out.tvips"), layer.data, layer._get_state())
    [back] = file_reader(saved, scan_shape="auto")
    assert [a["scale"] for a in back["axes"][:2]] == [0.1, 0.1]
    np.testing.assert_array_equal(back["data"], frames.reshape(rows, cols, 4, 4))
