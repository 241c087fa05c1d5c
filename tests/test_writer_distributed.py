"""file_writer with a dask.distributed cluster active: workers compute, this process writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import napari_tvips as nt
import test_distributed  # skips this module too when distributed is not installed
from tvips_bytes import write_recording

client = test_distributed.client  # its process cluster fixture (one cluster per module)


def test_write_dask_input_with_a_cluster_active(client, tmp_path: Path) -> None:
    """Workers compute the blocks, this process writes the files (writers do not pickle)."""
    rng = np.random.default_rng(6)
    frames = rng.integers(0, 65535, size=(40, 8, 10), dtype=np.uint16)
    write_recording(tmp_path / "src", frames, frames_per_part=[25, 15])
    lazy = nt.file_reader(tmp_path / "src_000.tvips", lazy=True, rechunking={0: 3})[0]
    assert lazy["data"].numblocks[0] > 4
    paths = nt.file_writer(
        tmp_path / "out", lazy, max_file_size=256 + 9 * 220, show_progressbar=False
    )
    assert len(paths) == 5
    back = nt.file_reader(paths[0])[0]
    np.testing.assert_array_equal(back["data"], frames)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
