"""Live detector moves in napari: latency from a move of the BF disk to the navigator's update.

Usage (napari needs a display): ``xvfb-run -a -s "-screen 0 1366x768x24" python
benchmarks/bench_virtual_live.py [--big SCAN] [--moves N]``.

Writes the demo (48 x 48 scan of 128 x 128 frames, 72 MiB) and a bigger demo (``--big``:
128 x 128 scan by default, 512 MiB), opens each in napari with the "TVIPS scan" widget, lets
the first pass finish, reads the files once (warm page cache), then moves the BF disk off the
beam centre with napari's select-mode mouse events, ``--moves`` times, and prints for each
recording the median:

- first update: from the mouse move to the first navigator image of the new detector (the
  restart is throttled to at most one per ``LIVE_MS``; the pass goes coarse to fine, so this
  image is a blocky preview of the whole scan);
- complete: to the exact image (the pass over every frame done);
- the core alone (no GUI): the first coarse group and the whole pass of
  :meth:`VirtualImager.iter_image` in :func:`coarse_to_fine` order; the mean pattern of an
  8 x 8 region and of a quarter of the scan (they stream their frames), and of the whole scan
  (kept by the first pass).

Prints figures; asserts nothing. The machine may be shared: the load average is printed.
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


def _wait(app: Any, done: Any, timeout: float = 120.0) -> float:
    t0 = time.perf_counter()
    while not done():
        app.processEvents()
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError("the navigator did not update")
        time.sleep(0.0005)
    return time.perf_counter()


def _core(path: Path, truth: Any, centre: tuple[float, float], radius: float) -> tuple[float, ...]:
    from napari_tvips import Series
    from napari_tvips._imager import VirtualImager, coarse_to_fine

    series = Series(path)
    imap = truth.layout.index_map(series.n_frames)
    imager = VirtualImager(series, None, centre=(centre[0] - 5, centre[1] - 5))
    imager.run()
    order = [imap.reshape(-1)[g] for g in coarse_to_fine(imap.shape)]
    t0 = time.perf_counter()
    gen = imager.iter_image("disk", centre=centre, radius=radius, order=order)
    next(gen)
    next(gen)
    t1 = time.perf_counter()
    for _ in gen:
        pass
    t2 = time.perf_counter()
    regions = []
    for side in (8, imap.shape[-1] // 2):  # a small region, and a quarter of the scan
        region = np.zeros(imap.shape, dtype=bool)
        region[:side, :side] = True
        t3 = time.perf_counter()
        imager.pattern("mean", region=imap[region])
        regions.append((int(region.sum()), (time.perf_counter() - t3) * 1e3))
    t4 = time.perf_counter()
    imager.pattern("mean")
    whole = (time.perf_counter() - t4) * 1e3
    return (t1 - t0) * 1e3, (t2 - t0) * 1e3, order[0].size, regions, whole


def measure(path: Path, truth: Any, moves: int) -> None:
    import napari
    from napari.utils._test_utils import read_only_mouse_event
    from napari.utils.interactions import mouse_move_callbacks, mouse_press_callbacks
    from qtpy.QtWidgets import QApplication

    from napari_tvips import Series
    from napari_tvips._napari._widget import LIVE_MS

    viewer = napari.Viewer(show=True)
    app = QApplication.instance()
    try:
        viewer.open(str(path), plugin="napari-tvips")
        _dock, w = viewer.window.add_plugin_dock_widget("napari-tvips", "TVIPS scan")
        w.model.update(source="manual", shape=truth.scan_shape, start=truth.start,
                       winding=truth.winding, hysteresis=truth.hysteresis)  # fmt: skip
        w.compute_navigator()
        _wait(app, lambda: w._worker is None and w.model.values().complete)
        series = Series(path)
        for i in range(0, series.n_frames, 1024):  # warm page cache
            series.read_frames(np.arange(i, min(i + 1024, series.n_frames)))
        shapes = w.detector_shapes.shapes
        shapes.mode = "select"
        canvas = w.navigator.canvas
        centre = w.model.imager().centre
        radius = w.model.radii[0]
        first, full = [], []
        for k in range(moves):
            w.detector_shapes.sync()  # back to the drawn state
            at = tuple(shapes.data_to_world(np.add(np.mean(shapes.data[0], axis=0), [1.5, 1.5])))

            def event(kind: str, pos: Any, dragging: bool) -> Any:
                return read_only_mouse_event(type=kind, position=pos, is_dragging=dragging)

            mouse_press_callbacks(shapes, event("mouse_press", at, False))
            mouse_move_callbacks(shapes, event("mouse_move", at, True))
            before = canvas.image.data.copy()
            step = 2 + k % 3
            if os.environ.get("BENCH_PROFILE"):
                import cProfile

                prof = cProfile.Profile()
                prof.enable()
            t0 = time.perf_counter()
            mouse_move_callbacks(shapes, event("mouse_move", (at[0] + step, at[1] - 1), True))
            t1 = _wait(app, lambda before=before: not np.array_equal(canvas.image.data, before))
            t2 = _wait(app, lambda: w._worker is None and w.model.values().complete)
            if os.environ.get("BENCH_PROFILE"):
                prof.disable()
                prof.dump_stats(os.environ["BENCH_PROFILE"])
            first.append((t1 - t0) * 1e3)
            full.append((t2 - t0) * 1e3)
            # release elsewhere is not needed: the next sync() redraws the shapes
            w.detector_shapes._on_data(type("E", (), {"action": "changed"})())
            _wait(app, lambda: w._worker is None)
        core = _core(path, truth, (centre[0] + 2, centre[1] - 1), radius)
        n = series.n_frames
        mib = n * series.header.frame_bytes / 2**20
        print(f"{path.name}: {n} frames ({mib:.0f} MiB), scan {truth.scan_shape}, "
              f"load {os.getloadavg()[0]:.1f}")  # fmt: skip
        print(f"  GUI move -> first update {statistics.median(first):.0f} ms "
              f"(throttle {LIVE_MS} ms; min {min(first):.0f}, max {max(first):.0f}), "
              f"-> complete {statistics.median(full):.0f} ms "
              f"(min {min(full):.0f}, max {max(full):.0f}); {moves} moves")  # fmt: skip
        print(f"  core: first coarse group ({core[2]} frames) {core[0]:.0f} ms, whole pass "
              f"{core[1]:.0f} ms")  # fmt: skip
        regions = ", ".join(f"{n} positions {ms:.0f} ms" for n, ms in core[3])
        print(f"  region mean pattern (streams its frames): {regions}; whole scan (kept by "
              f"the first pass) {core[4]:.1f} ms")  # fmt: skip
    finally:
        viewer.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--big", type=int, default=128, help="scan side of the bigger recording")
    ap.add_argument("--moves", type=int, default=7)
    args = ap.parse_args()
    from napari_tvips._demo import demo_truth, write_demo

    folder = Path(tempfile.mkdtemp(prefix="bench-live-"))
    try:
        for scan in ((48, 48), (args.big, args.big))[: 1 if args.big <= 48 else 2]:
            (folder / f"s{scan[0]}").mkdir()
            path = Path(write_demo(folder / f"s{scan[0]}", scan_shape=scan))
            measure(path, demo_truth(scan_shape=scan), args.moves)
            sys.stdout.flush()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
