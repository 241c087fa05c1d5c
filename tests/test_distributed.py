"""Lazy arrays compute on a dask.distributed cluster of worker processes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import napari_tvips as nt
from tvips_bytes import write_recording

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
        worker_dashboard_address=None,
    )  # fmt: skip
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def test_compute_on_process_cluster(client, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    frames = rng.integers(0, 65535, size=(60, 8, 10), dtype=np.uint16)
    write_recording(tmp_path / "dist", frames, fhb=64, frames_per_part=[25, 25, 10])
    path = tmp_path / "dist_001.tvips"
    for args in (
        {},
        {"scan_shape": (6, 9), "scan_start_frame": 4, "winding_scan_axis": "x", "hysteresis": 1},
    ):
        eager = nt.file_reader(path, **args)[0]["data"]
        data = nt.file_reader(path, lazy=True, rechunking={0: 2}, **args)[0]["data"]
        assert data.numblocks[0] > 1
        np.testing.assert_array_equal(client.compute(data).result(), eager)
        sums = client.compute(data.sum(axis=(-2, -1))).result()
        np.testing.assert_array_equal(sums, eager.sum(axis=(-2, -1)))
    # the work really ran in other processes
    pids = set(client.run(lambda: __import__("os").getpid()).values())
    assert len(pids) == 2 and __import__("os").getpid() not in pids


def test_zspy_export_on_the_cluster_gives_the_same_store(client, tmp_path: Path) -> None:
    """With a client active, .zspy chunks are written by the workers; the store is the same."""
    import zarr

    rng = np.random.default_rng(9)
    frames = rng.integers(0, 4000, size=(8 * 9 + 2, 16, 16), dtype=np.uint16)
    write_recording(tmp_path / "cl", frames, frames_per_part=[30, 44])
    args = {"scan_shape": (8, 9), "scan_start_frame": 2, "winding_scan_axis": "x", "binning": 2}
    before = sum(client.run(_executed).values())
    nt.convert(tmp_path / "cl_000.tvips", tmp_path / "cluster.zspy", show_progressbar=False,
               chunk_bytes=4 * 128, **args)  # fmt: skip
    assert sum(client.run(_executed).values()) >= before + 20  # 20 chunks, written by workers
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("napari_tvips._zspy.active_client", lambda: None)
        nt.convert(tmp_path / "cl_000.tvips", tmp_path / "local.zspy", show_progressbar=False,
                   chunk_bytes=4 * 128, **args)  # fmt: skip
    a = zarr.open(str(tmp_path / "cluster.zspy"), mode="r")
    b = zarr.open(str(tmp_path / "local.zspy"), mode="r")
    for name in ("Experiments/__unnamed__/data",
                 "Experiments/__unnamed__/metadata/_HyperSpy/_sig_navigator/data"):  # fmt: skip
        np.testing.assert_array_equal(a[name][...], b[name][...])
    assert a["Experiments/__unnamed__/data"].chunks == (2, 2, 8, 8)
    assert dict(a["Experiments/__unnamed__/axis-3"].attrs) == dict(
        b["Experiments/__unnamed__/axis-3"].attrs
    )


def _executed(dask_worker) -> int:
    return dask_worker.state.executed_count
