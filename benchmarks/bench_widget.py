"""Benchmark of the "TVIPS scan" widget: re-slice time vs recording size, navigator throughput.

Writes a small and (without ``--small``) a 2 GiB recording (16384 frames of 256 x 256 u16) with
raw record writes under bench-data/ (or $TVIPS_BENCH_DIR), deletes them afterwards, and prints:

- the time of an in-place re-slice (shape, winding, hysteresis changes) through the widget on a
  ``ViewerModel`` (must not grow with the recording's size);
- the virtual imager pass's throughput against the raw limit: ``os.preadv`` of the same bytes
  into a reused buffer, and the same read plus a hand-written per-frame sum.

Run under a display (``xvfb-run -a python benchmarks/bench_widget.py [--small]``).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np

log = logging.getLogger("bench_widget")
DATA = (
    Path(os.environ.get("TVIPS_BENCH_DIR", Path(__file__).resolve().parents[1] / "bench-data"))
    / "widget"
)


def write_raw(path: Path, n: int, shape: tuple[int, int]) -> Path:
    """Write a v2 recording (60-byte frame headers) with ``os.writev`` of record batches."""
    sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
    from tvips_bytes import frame_header, main_header

    rng = np.random.default_rng(0)
    frame_bytes = shape[0] * shape[1] * 2
    pool = [rng.poisson(5, shape).astype("<u2").tobytes() for _ in range(16)]
    out = path.parent / f"{path.name}_000.tvips"
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, main_header(shape[1], shape[0]))
        batch: list[bytes] = []
        for i in range(n):
            batch += [frame_header(60, {"num": i, "rotidx": i + 1}), pool[i % 16]]
            if len(batch) >= 1024:
                os.writev(fd, batch)
                batch = []
        if batch:
            os.writev(fd, batch)
    finally:
        os.close(fd)
    assert out.stat().st_size == 256 + n * (60 + frame_bytes)
    return out


def median_ms(fn, repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def bench_reslice(path: Path) -> dict[str, float]:
    from napari.components import ViewerModel
    from qtpy.QtWidgets import QApplication

    from napari_tvips._napari._reader import read_tvips
    from napari_tvips._napari._widget import ScanWidget

    app = QApplication.instance() or QApplication([])
    viewer = ViewerModel()
    for data, kwargs, _ in read_tvips(path):
        viewer.add_image(data, **kwargs)
    w = ScanWidget(viewer, auto_navigator=False)
    n = w.series.n_frames
    side = int(np.sqrt(n))
    c = w.controls
    w.model.update(source="manual", shape=(side, side), start=0)
    toggle = iter(range(10**6))
    out = {
        "shape": median_ms(lambda: setattr(c.shape_y, "value", side - 1 - next(toggle) % 2)),
        "winding": median_ms(
            lambda: setattr(c.winding, "value", "x" if c.winding.value != "x" else "none")
        ),
        "hysteresis": median_ms(lambda: setattr(c.hysteresis, "value", next(toggle) % 5)),
        "3D<->4D": median_ms(lambda: w.apply_stack() and w.apply_scan()) / 2,
    }
    w.model.headers()  # the frame header table is read once, at the first Suggest
    c.source.value = "headers"
    out["header map winding"] = median_ms(
        lambda: setattr(c.winding, "value", "x" if c.winding.value != "x" else "none")
    )
    out["manual<->headers"] = median_ms(
        lambda: setattr(c.source, "value", "manual" if c.source.value != "manual" else "headers")
    )
    assert c.message.value == "", c.message.value
    w.native.close()
    app.processEvents()
    return out


def bench_values(path: Path) -> dict[str, float]:
    from napari_tvips import Series
    from napari_tvips._imager import VirtualImager

    series = Series(path)
    part = series.parts[0]
    record = series.header.record_bytes
    frame = series.header.frame_bytes
    nblock = max((32 << 20) // frame, 1)
    buf = np.empty((nblock, *series.frame_shape), series.dtype)
    heads = bytearray(record - frame)

    def raw(sum_frames: bool) -> None:
        fd = os.open(part.path, os.O_RDONLY)
        try:
            for lo in range(0, series.n_frames, nblock):
                k = min(nblock, series.n_frames - lo)
                for a in range(0, k, 256):  # IOV_MAX is 1024
                    b = min(a + 256, k)
                    iov: list = []
                    for j in range(a, b):
                        iov += [heads, memoryview(buf[j]).cast("B")]
                    os.preadv(fd, iov, part.data_offset - len(heads) + (lo + a) * record)
                if sum_frames:
                    buf[:k].reshape(k, -1).sum(axis=1, dtype=np.uint64)
        finally:
            os.close(fd)

    def warm() -> None:  # the page cache does not stay warm here (perf-notes.md)
        with open(part.path, "rb") as fh:
            while fh.read(1 << 24):
                pass

    centre = ((series.frame_shape[0] - 1) / 2, (series.frame_shape[1] - 1) / 2)
    out = {}
    for name, fn in [
        ("raw preadv", lambda: raw(False)),
        ("raw preadv + sum", lambda: raw(True)),
        ("imager pass 1 thread", lambda: VirtualImager(series, centre=centre, threads=1).run()),
        ("imager pass 2 threads", lambda: VirtualImager(series, centre=centre, threads=2).run()),
    ]:
        times = []
        for _ in range(3):
            warm()
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        out[name] = statistics.median(times)
    out["GiB"] = series.nbytes / 2**30
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="skip the 2 GiB recording")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    sizes = [("small", 1024, (128, 128))]
    if not args.small:
        sizes.append(("2GiB", 16384, (256, 256)))
    DATA.mkdir(parents=True, exist_ok=True)
    try:
        for label, n, shape in sizes:
            t = time.perf_counter()
            path = write_raw(DATA / label, n, shape)
            log.info(
                "%s: %d frames of %s written in %.1f s", label, n, shape, time.perf_counter() - t
            )
            for op, ms in bench_reslice(path).items():
                log.info("  re-slice %-10s %7.2f ms", op, ms)
            res = bench_values(path)
            gib = res.pop("GiB")
            base = res["raw preadv"]
            for op, sec in res.items():
                log.info(
                    "  %-24s %6.3f s  %5.2f GiB/s  %4.2fx raw read", op, sec, gib / sec, sec / base
                )
    finally:
        shutil.rmtree(DATA, ignore_errors=True)


if __name__ == "__main__":
    main()
