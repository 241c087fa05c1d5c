"""Virtual imaging benchmark: VirtualImager's first pass against the raw read and read+sum limits.

Usage: ``python benchmarks/bench_virtual.py [--small] [--keep] [--numpy-frames N]``.

Builds the recording of ``bench_read.py`` (16384 frames of 256 x 256 uint16, 2 GiB, one part and
512 MiB parts) and measures, each in a fresh interpreter with a warm page cache:

- the raw limits: ``os.preadv`` of every frame (2 threads) and ``preadv`` + a NumPy per-frame sum;
- the first pass (ring sums, moments, sum/max patterns) with the numba engine: time, throughput
  against both limits, peak memory over the interpreter (VmHWM after imports) for the whole
  scan and for a quarter of it (flat in size?), kept bytes per frame;
- after the pass: a new disk, a new annulus and the centre of mass (median of 20, ms);
- a rectangle pass, and the first pass with the NumPy engine on the first ``--numpy-frames``
  frames (extrapolated);
- numba: first compile (empty cache) and cached import + load times.

Prints figures and ratios; asserts nothing. ``--small`` uses 1024 frames of 128 x 128.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))
import bench_read  # noqa: E402  (the data set and raw limits are bench_read's)


def _median_ms(fn: Any, repeat: int = 20) -> float:
    times = []
    for i in range(repeat):
        t0 = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    """One measurement in this (fresh) interpreter."""
    op, paths, n, side = spec["op"], spec["paths"], spec["n"], spec["side"]
    if op in ("raw", "raw_sum"):
        base = bench_read._rss()
        res = bench_read._raw(paths, n, side, do_sum=op == "raw_sum")
        res["mem"] = bench_read._peak() - base
        return res
    if op == "jit":
        t0 = time.perf_counter()
        from napari_tvips import _kernels

        t1 = time.perf_counter()
        name = _kernels.engine_name("numba")
        frames = np.zeros((3, 8, 8), np.uint16)
        _kernels.label_sums(frames, np.zeros(64, np.int32), 2, np.dtype(np.uint32), name)
        _kernels.pattern_stats(frames, name)
        return {"import": t1 - t0, "ready": time.perf_counter() - t1}
    from napari_tvips import Series
    from napari_tvips._imager import VirtualImager
    from napari_tvips._kernels import engine_name

    engine = spec.get("engine", "numba")
    engine_name(engine)
    # compile/load the kernels outside the measurement (they are cached on disk)
    warm = VirtualImager(Series(paths[0]), np.arange(2), (1.0, 1.0), engine=engine).run()
    warm.image("rectangle", box=(0, 0, 2, 2))
    series = Series(paths[0])
    count = spec.get("frames") or n
    scan = round(count**0.5) if round(count**0.5) ** 2 == count else None
    imap = np.arange(count) if scan is None else np.arange(count).reshape(scan, scan)
    centre = ((side - 1) / 2, (side - 1) / 2)
    base = bench_read._rss()
    imager = VirtualImager(series, imap, centre, engine=engine)
    t0 = time.perf_counter()
    imager.run()
    res: dict[str, Any] = {"time": time.perf_counter() - t0, "mem": bench_read._peak() - base}
    res["kept_per_frame"] = imager.nbytes / imager.frames.size
    res["rings"] = imager.n_rings
    if op == "pass":
        return res
    rng = np.random.default_rng(0)
    radii = rng.uniform(2, side / 2, 64)
    res["disk_ms"] = _median_ms(lambda i: imager.image("disk", radius=radii[i]))
    res["annulus_ms"] = _median_ms(
        lambda i: imager.image("annulus", inner=radii[i] / 2, outer=radii[i])
    )
    res["com_ms"] = _median_ms(lambda i: imager.com())
    res["mean_ms"] = _median_ms(lambda i: imager.pattern("mean"))
    bench_read._warm([Path(p) for p in paths])
    t0 = time.perf_counter()
    imager.image("rectangle", box=(side // 4, side // 4, side // 2, side // 2))
    res["rect_pass"] = time.perf_counter() - t0
    res["mem_after"] = bench_read._peak() - base
    return res


def run(spec: dict[str, Any], paths: list[Path]) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter after warming the page cache."""
    if paths:
        bench_read._warm(paths)
    return bench_read.run_child(HERE, spec, spec.pop("env", {}))


_t, _m = bench_read._fmt_t, bench_read._fmt_m


def report(label: str, paths: list[Path], n: int, side: int, numpy_frames: int) -> None:
    """Measure one set of files and print its table."""
    spec = {"paths": [str(p) for p in paths], "n": n, "side": side}
    data = n * side * side * 2
    raw = run({**spec, "op": "raw"}, paths)
    raw_sum = run({**spec, "op": "raw_sum"}, paths)
    full = run({**spec, "op": "all"}, paths)
    quarter = run({**spec, "op": "pass", "frames": n // 4}, paths)
    numpy = run({**spec, "op": "pass", "frames": numpy_frames, "engine": "numpy"}, paths)
    for name, res in [("raw", raw), ("raw_sum", raw_sum), ("pass", full), ("quarter", quarter),
                      ("numpy", numpy)]:  # fmt: skip
        if "error" in res:
            print(f"  !! {name}: {res['error']}")
    t_raw, t_sum, t = raw.get("time"), raw_sum.get("time"), full.get("time")
    ratio = lambda a, b: f"{a / b:.2f}" if a and b else "-"  # noqa: E731
    print(f"\n== {label} ({len(paths)} file(s)) ==")
    print(f"  raw preadv (2 threads)              {_t(t_raw)}  "
          f"({data / t_raw / 2**30:.2f} GiB/s)" if t_raw else "  raw: -")  # fmt: skip
    print(f"  raw preadv + per-frame sum          {_t(t_sum)}")
    print(f"  first pass (numba, 2 threads)       {_t(t)}  throughput x raw {ratio(t_raw, t)}, "
          f"x read+sum {ratio(t_sum, t)}")  # fmt: skip
    print(
        f"  peak memory over interpreter        {_m(full.get('mem'))} (whole scan), "
        f"{_m(quarter.get('mem'))} (a quarter); after all images {_m(full.get('mem_after'))}"
    )
    print(f"  kept per frame                      {full.get('kept_per_frame', 0):.0f} B "
          f"({full.get('rings')} rings)")  # fmt: skip
    print(f"  after the pass, per new image       disk {full.get('disk_ms', 0):.2f} ms, "
          f"annulus {full.get('annulus_ms', 0):.2f} ms, CoM {full.get('com_ms', 0):.2f} ms, "
          f"mean pattern {full.get('mean_ms', 0):.2f} ms")  # fmt: skip
    print(f"  rectangle (new pass)                {_t(full.get('rect_pass'))}  "
          f"x raw {ratio(t_raw, full.get('rect_pass'))}")  # fmt: skip
    tn = numpy.get("time")
    if tn:
        est = tn * n / numpy_frames
        print(f"  first pass, NumPy engine            {_t(tn)} for {numpy_frames} frames "
              f"(~{_t(est)} for all: x read+sum {ratio(t_sum, est)})")  # fmt: skip


def main() -> None:
    def options(ap: argparse.ArgumentParser) -> None:
        ap.add_argument("--numpy-frames", type=int, default=1024)

    with bench_read.session(__doc__, measure, "bench-virtual-", options) as args:
        if args is None:
            return
        n, side, folder = args.n, args.side, args.folder
        part_bytes = (8 << 20) if args.small else bench_read.PART_BYTES
        one, split = bench_read.generate(folder, n, side, part_bytes)
        print(f"{n} frames of {side}x{side} uint16 ({n * side * side * 2 / 2**30:.2f} GiB); "
              f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")  # fmt: skip
        cache = tempfile.mkdtemp(prefix="numba-cache-")
        cold = run({"op": "jit", "paths": [], "n": 0, "side": 0,
                    "env": {"NUMBA_CACHE_DIR": cache}}, [])  # fmt: skip
        hot = run({"op": "jit", "paths": [], "n": 0, "side": 0,
                   "env": {"NUMBA_CACHE_DIR": cache}}, [])  # fmt: skip
        shutil.rmtree(cache, ignore_errors=True)
        print(
            f"numba import + kernels: first (compile) {_t(cold.get('ready'))}, cached "
            f"{_t(hot.get('ready'))} (import napari_tvips {_t(hot.get('import'))})"
        )
        report("one part", one, n, side, min(args.numpy_frames, n))
        report(f"{part_bytes >> 20} MiB parts", split, n, side, min(args.numpy_frames, n))


if __name__ == "__main__":
    main()
