"""VirtualImager runs its blocks on a dask.distributed cluster with identical results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from napari_tvips import Series
from napari_tvips._demo import demo_frames
from napari_tvips._imager import VirtualImager
from tvips_bytes import write_recording

distributed = pytest.importorskip("distributed")
import test_distributed  # noqa: E402

cluster = test_distributed.client  # test_distributed's LocalCluster fixture, as "cluster"


def test_run_on_cluster_equals_local(cluster, tmp_path: Path, monkeypatch) -> None:
    frames, _headers, truth = demo_frames((8, 9), (48, 40), pre_frames=3, hysteresis=2, seed=4)
    n = frames.shape[0]
    write_recording(tmp_path / "d", frames, frames_per_part=[30, 25, n - 55])
    series = Series(tmp_path / "d_002.tvips")
    imap = truth.layout.index_map(n)
    centre = (24.0, 20.0)
    monkeypatch.setattr("napari_tvips._imager.TASK_BYTES", 48 * 40 * 2 * 10)  # several tasks
    local = VirtualImager(series, imap, centre).run(client=False)
    with distributed.get_task_stream(cluster) as stream:
        remote = VirtualImager(series, imap, centre).run()  # the active client is used
    tasks = [t for t in stream.data if "_reduce_task" in str(t["key"])]
    assert len(tasks) == 8 and len({t["worker"] for t in tasks}) >= 1
    for r in (0, 4, 7.5, 50):
        np.testing.assert_array_equal(remote.image("disk", radius=r), local.image("disk", radius=r))
    np.testing.assert_array_equal(remote.com()[0], local.com()[0])
    np.testing.assert_array_equal(remote.pattern("max"), local.pattern("max"))
    np.testing.assert_array_equal(remote.pattern("mean"), local.pattern("mean"))
    yy, xx = np.indices((48, 40))
    box = (yy >= 10) & (yy < 30) & (xx >= 5) & (xx < 12)
    want = (frames[imap].astype(np.int64) * box).sum(axis=(-2, -1))
    with distributed.get_task_stream(cluster) as stream:
        got = remote.image("rectangle", box=(10, 5, 30, 12))
    np.testing.assert_array_equal(got, want)
    assert any("_reduce_task" in str(t["key"]) for t in stream.data)
    region = np.zeros(imap.shape, bool)
    region[1:3, 2:6] = True
    np.testing.assert_allclose(
        remote.pattern("mean", region), frames[imap][region].mean(axis=0), rtol=1e-12
    )
