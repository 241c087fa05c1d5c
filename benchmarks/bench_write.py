"""Benchmark the TVIPS writer: throughput against ``ndarray.tofile`` and RosettaSciIO, and memory.

Usage::

    python benchmarks/bench_write.py [--small] [--repeat N] [--dir FOLDER]

Writes a synthetic recording (full size: 16384 frames of 256 x 256 uint16, 2 GiB; ``--small``:
1024 frames) under a temporary folder that is deleted afterwards. Every measurement runs in a
fresh subprocess so that its peak memory (``ru_maxrss``) is its own:

- ``tofile``: the same bytes (main header + interleaved records, built beforehand) written with
  one ``ndarray.tofile``, the raw limit we compare against (target: ours >= 0.8x);
- ``ours-numpy``: :func:`napari_tvips.file_writer` from a NumPy array in memory;
- ``rsciio-numpy``: ``rsciio.tvips.file_writer`` from the same array;
- ``ours-dask``: :func:`napari_tvips.file_writer` from a lazily generated dask array (32 MiB
  chunks), whose peak memory over the interpreter must stay under 256 MB;
- ``ours-distributed``: the same with a ``dask.distributed`` client active (a local cluster of 2
  worker processes, started before the timing): workers compute the blocks, the writing process
  receives and writes them; its peak memory is the writing process's (workers excluded).

Times cover the write call only (data generation excluded); files are removed between runs.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

import numpy as np

FRAME = (256, 256)
DTYPE = np.dtype("<u2")
MIB = 1 << 20


def _pattern(first: int, count: int) -> np.ndarray:
    """Frames ``first .. first + count`` of the synthetic recording (cheap, non-constant)."""
    base = (np.arange(FRAME[0] * FRAME[1]) % 4099).astype(DTYPE).reshape(FRAME)
    ids = (np.arange(first, first + count) * 7 % 65536).astype(DTYPE)[:, None, None]
    return base + ids  # uint16 throughout: no temporaries bigger than the output


def _block(block_info: Any = None) -> np.ndarray:
    """One dask block of the synthetic recording (module level: it pickles to workers)."""
    return _pattern(block_info[None]["array-location"][0][0], block_info[None]["chunk-shape"][0])


def _signal(data: Any) -> dict[str, Any]:
    nav = {"name": "time", "scale": 1.0, "offset": 0.0, "units": "1/nm", "navigate": True}
    sig = {"scale": 1.0, "offset": 0.0, "units": "1/nm", "navigate": False}
    axes = [{**nav, "size": data.shape[0]}]
    axes += [{**sig, "name": "dy", "size": FRAME[0]}, {**sig, "name": "dx", "size": FRAME[1]}]
    return {
        "data": data,
        "axes": axes,
        "metadata": {},
        "original_metadata": {},
        "attributes": {"_lazy": not isinstance(data, np.ndarray)},
    }


def _rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def child(method: str, frames: int, folder: str) -> dict[str, float]:
    """Run one measurement in this process; returns seconds and memory figures."""
    logging.getLogger("rsciio").setLevel(logging.ERROR)
    import napari_tvips as nt

    if method.startswith("rsciio"):
        import rsciio.tvips  # noqa: F401  (import cost outside the timing)
    import dask.array as da

    cluster = client = None
    if method == "ours-distributed":
        import distributed

        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = distributed.Client(cluster)
    baseline = _rss()
    target = os.path.join(folder, "bench.tvips")
    data: Any
    if method in ("ours-dask", "ours-distributed"):
        per = max(1, (32 * MIB) // (FRAME[0] * FRAME[1] * DTYPE.itemsize))
        chunks = ((per,) * (frames // per) + ((frames % per,) if frames % per else ()),)
        data = da.map_blocks(
            _block, dtype=DTYPE, chunks=(*chunks, (FRAME[0],), (FRAME[1],))
        )  # fmt: skip
    else:
        data = np.empty((frames, *FRAME), DTYPE)
        step = 32
        for i in range(0, frames, step):
            data[i : i + step] = _pattern(i, min(step, frames - i))
    records = None
    if method == "tofile":
        rec = np.dtype([("h", "V60"), ("d", DTYPE, FRAME)])
        records = np.zeros(frames, rec)
        records["d"] = data
        head = np.zeros(256, np.uint8)
        data = data[:8].copy()  # free the source: the same memory footprint as the other methods
    # warm-up (not timed): pint's unit registry, dask's thread pool, first-call imports
    warm = os.path.join(folder, "warm")
    if method == "rsciio-numpy":
        import rsciio.tvips as rs

        rs.file_writer(warm + ".tvips", _signal(data[:8]), show_progressbar=False)
    elif method != "tofile":
        nt.file_writer(warm, _signal(data[:8]), show_progressbar=False)
    for name in os.listdir(folder):
        os.unlink(os.path.join(folder, name))
    os.sync()  # no dirty pages of earlier runs throttling this one
    before = _rss()
    start = time.perf_counter()
    if method == "tofile":
        assert records is not None
        with open(target.replace(".tvips", "_000.tvips"), "wb") as fh:
            head.tofile(fh)
            records.tofile(fh)
    elif method == "rsciio-numpy":
        import rsciio.tvips as rs

        rs.file_writer(target, _signal(data), show_progressbar=False)
    else:
        nt.file_writer(target, _signal(data), show_progressbar=False)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
    if client is not None:
        client.close()
        cluster.close()
    return {
        "seconds": seconds,
        "bytes": size,
        "baseline_mib": baseline / MIB,
        "peak_over_interpreter_mib": (peak - baseline) / MIB,
        "peak_over_data_mib": (peak - before) / MIB,
    }


def run(method: str, frames: int, folder: str) -> dict[str, float]:
    """One measurement in a fresh interpreter; the written files are removed afterwards."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", method, "--frames", str(frames), "--dir", folder],
        check=True,
        capture_output=True,
        text=True,
    )
    for name in os.listdir(folder):
        os.unlink(os.path.join(folder, name))
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    """Command line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", action="store_true", help="1024 frames instead of 16384")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", default=None, help="folder for the temporary files")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--frames", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    frames = args.frames or (1024 if args.small else 16384)
    if args.child:
        print(json.dumps(child(args.child, frames, args.dir)))
        return
    folder = tempfile.mkdtemp(prefix="bench-write-", dir=args.dir)
    methods = ["tofile", "ours-numpy", "rsciio-numpy", "ours-dask", "ours-distributed"]
    results: dict[str, list[dict[str, float]]] = {m: [] for m in methods}
    try:
        print(f"{frames} frames of {FRAME[0]}x{FRAME[1]} uint16, {args.repeat} runs each")
        for _ in range(args.repeat):
            for method in methods:
                results[method].append(run(method, frames, folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    ref = statistics.median(r["seconds"] for r in results["tofile"])
    print(f"{'method':<18}{'median s':>10}{'GiB/s':>8}{'vs tofile':>11}{'peak MiB*':>11}")
    for method in methods:
        runs = results[method]
        secs = statistics.median(r["seconds"] for r in runs)
        gib = runs[0]["bytes"] / secs / (1 << 30)
        lazy = method in ("ours-dask", "ours-distributed")
        key = "peak_over_interpreter_mib" if lazy else "peak_over_data_mib"
        peak = max(r[key] for r in runs)
        print(f"{method:<18}{secs:>10.2f}{gib:>8.2f}{ref / secs:>10.2f}x{peak:>11.0f}")
    print(
        "* peak RSS during the write over the RSS before it (numpy input, tofile: the data and "
        "record array already allocated); ours-dask/-distributed: over the bare interpreter "
        "(with the cluster's client; worker processes not counted)"
    )


if __name__ == "__main__":
    main()
