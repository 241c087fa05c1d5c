"""Benchmark: how fast napari shows a big TVIPS recording through our reader.

Writes a 2 GiB recording (16384 frames of 256 x 256 uint16, 60-byte frame headers; ``--small``:
1024 frames) under bench-data/ (or $TVIPS_BENCH_DIR) with raw record writes, then measures
in a shown viewer:

* open -> first frame on screen: from ``viewer.open(path, plugin="napari-tvips")`` until the
  canvas has drawn the layer;
* slider: median time from ``viewer.dims.set_current_step`` to the canvas drawing that frame;
* the raw limit: median ``os.preadv`` of one frame into a reused buffer.

Run under a display, e.g. ``xvfb-run -a -s "-screen 0 1280x1024x24" python
benchmarks/bench_napari.py``. The data is deleted afterwards. Warm page cache (just written).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import time
from pathlib import Path

import numpy as np

from napari_tvips._format import MAIN_HEADER_DTYPE, frame_header_dtype

FHB = 60
SHAPE = (256, 256)


def write_big(folder: Path, n_frames: int) -> Path:
    """Write ``n_frames`` records quickly (16 distinct noise frames, headers with rotidx)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "big_000.tvips"
    head = np.zeros((), MAIN_HEADER_DTYPE)
    fields = {"size": 256, "version": 2, "dimx": SHAPE[1], "dimy": SHAPE[0], "bitsperpixel": 16,
              "binx": 1, "biny": 1, "pixelsize": 1, "ht": 200, "magtotal": 80,
              "frameheaderbytes": FHB}  # fmt: skip
    for key, value in fields.items():
        head[key] = value
    rng = np.random.default_rng(0)
    pool = rng.poisson(20, (16, *SHAPE)).astype("<u2")
    rec = np.dtype([("h", frame_header_dtype(FHB)), ("px", "<u2", SHAPE)])
    batch = 512
    block = np.zeros(batch, rec)
    with open(path, "wb") as fh:
        fh.write(head.tobytes())
        for lo in range(0, n_frames, batch):
            n = min(batch, n_frames - lo)
            i = np.arange(lo, lo + n)
            block["h"]["num"][:n] = i
            block["h"]["timestamp"][:n] = 1_700_000_000 + i // 1000
            block["h"]["ms"][:n] = i % 1000
            block["h"]["mode"][:n] = 2
            block["h"]["rotidx"][:n] = i + 1
            block["px"][:n] = pool[i % 16]
            block["px"][:n, 0, :8] = (i[:, None] >> np.arange(0, 16, 2)) & 3  # frame id
            block[:n].tofile(fh)
    return path


def raw_frame_us(path: Path, n_frames: int, repeats: int = 200) -> float:
    """Median microseconds of one ``os.preadv`` of a random frame into a reused buffer."""
    buf = np.empty(SHAPE, "<u2")
    view = memoryview(buf).cast("B")
    record = FHB + buf.nbytes
    rng = np.random.default_rng(1)
    fd = os.open(path, os.O_RDONLY)
    times = []
    try:
        for k in rng.integers(0, n_frames, repeats):
            t = time.perf_counter()
            os.preadv(fd, [view], 256 + int(k) * record + FHB)
            times.append(time.perf_counter() - t)
    finally:
        os.close(fd)
    return statistics.median(times) * 1e6


def run_viewer(path: Path, n_frames: int, moves: int = 60) -> tuple[float, float, list[float]]:
    """Return open -> first draw seconds (cold napari, then again), slider -> draw seconds."""
    import napari
    from qtpy.QtWidgets import QApplication

    viewer = napari.Viewer(show=True)
    app = QApplication.instance()
    for _ in range(20):
        app.processEvents()
    canvas = viewer.window._qt_viewer.canvas._scene_canvas  # vispy SceneCanvas (private API)
    draws = [0]
    canvas.events.draw.connect(lambda _event: draws.__setitem__(0, draws[0] + 1))

    def wait_for_draw(before: int, timeout: float = 30.0) -> None:
        end = time.perf_counter() + timeout
        while draws[0] == before and time.perf_counter() < end:
            app.processEvents()

    def open_and_draw() -> tuple[float, object]:
        before = draws[0]
        t0 = time.perf_counter()
        [layer] = viewer.open(str(path), plugin="napari-tvips")
        app.processEvents()
        wait_for_draw(before)
        return time.perf_counter() - t0, layer

    first, layer = open_and_draw()  # includes napari's one-time imports (scipy.ndimage, pint)
    viewer.layers.clear()
    for _ in range(5):
        app.processEvents()
    again, layer = open_and_draw()
    assert layer.data.shape[0] == n_frames
    rng = np.random.default_rng(2)
    steps = []
    for k in rng.integers(0, n_frames, moves):
        before = draws[0]
        t = time.perf_counter()
        viewer.dims.set_current_step(0, int(k))
        app.processEvents()
        wait_for_draw(before)
        steps.append(time.perf_counter() - t)
        shown = np.asarray(layer._slice.image.raw)
        ident = (shown[0, :8].astype(np.int64) << np.arange(0, 16, 2)).sum()
        assert ident == (int(k) & 0xFFFF), "the canvas shows the wrong frame"
    viewer.close()
    return first, again, steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", action="store_true", help="1024 frames instead of 16384")
    parser.add_argument(
        "--folder",
        default=str(
            Path(
                os.environ.get(
                    "TVIPS_BENCH_DIR", Path(__file__).resolve().parents[1] / "bench-data"
                )
            )
            / "napari"
        ),
    )
    args = parser.parse_args()
    n = 1024 if args.small else 16384
    folder = Path(args.folder)
    try:
        t = time.perf_counter()
        path = write_big(folder, n)
        size = path.stat().st_size
        print(f"wrote {n} frames of {SHAPE[0]}x{SHAPE[1]} u16 ({size / 2**30:.2f} GiB) "
              f"in {time.perf_counter() - t:.1f} s")  # fmt: skip
        raw = raw_frame_us(path, n)
        first, again, steps = run_viewer(path, n)
        med = statistics.median(steps)
        print(f"open -> first frame on screen : {first * 1000:8.1f} ms (first open of the session)")
        print(f"open -> first frame, again    : {again * 1000:8.1f} ms (napari warm)")
        spread = f"min {min(steps) * 1000:.1f}, max {max(steps) * 1000:.1f}, {len(steps)} moves"
        print(f"slider -> frame on screen     : {med * 1000:8.1f} ms median ({spread})")
        print(f"raw os.preadv of one frame    : {raw:8.1f} us median")
        print(
            f"slider / raw read             : {med * 1e6 / raw:8.0f} x "
            "(the rest is napari slicing + GL upload + draw)"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
