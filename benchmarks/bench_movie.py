"""Benchmark: in-situ movies of 2k and 4k uint16 frames in napari and through the movie tools.

Writes two recordings under bench-data/ (or $TVIPS_BENCH_DIR): 2048 x 2048 and 4096 x 4096
uint16 frames (``--frames`` each, default 48 and 12: ~384 MiB each) with raw record writes; every
frame carries its index in its first pixels so the benchmark can check what napari shows. Then:

* read: median ``MovieView[i]`` (lazy, one frame) vs. the raw ``os.preadv`` of a frame;
* slider: median time from ``viewer.dims.set_current_step`` to the canvas drawing the frame, for
  the lazy layer (our reader) and the same frames in memory (NumPy);
* playback: napari's own play (``QtDims.play``) at the recording's rate for a few seconds:
  frames drawn per second, and frames skipped (napari issue 2559), for the reader's lazy layer,
  a ``MovieView`` reading ahead in a thread (as the "TVIPS movie" widget sets), and in memory;
* drift: ``estimate_drift`` frames per second (full size, and binned 4x4);
* export: TIFF and MP4 export throughput vs. raw read + write of the same bytes; peak memory
  (VmHWM of a child process doing only the export).

Run under a display: ``xvfb-run -a -s "-screen 0 1366x768x24" python benchmarks/bench_movie.py``.
The page cache is warm (just written; perf-notes.md: re-read after a minute idle). The data is
deleted afterwards.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from napari_tvips._format import MAIN_HEADER_DTYPE, frame_header_dtype

FHB = 60
RATE_MS = 50  # 20 frames/s


def write_movie(path: Path, n: int, side: int) -> Path:
    """``n`` frames of ``side x side`` uint16 noise, frame index in the first 8 pixels."""
    head = np.zeros((), MAIN_HEADER_DTYPE)
    fields = {"size": 256, "version": 2, "dimx": side, "dimy": side, "bitsperpixel": 16,
              "binx": 1, "biny": 1, "pixelsize": 1, "ht": 200, "magtotal": 80,
              "frameheaderbytes": FHB}  # fmt: skip
    for key, value in fields.items():
        head[key] = value
    rng = np.random.default_rng(0)
    base = rng.poisson(100, (side, side)).astype("<u2")
    header = np.zeros((), frame_header_dtype(FHB))
    with open(path, "wb") as fh:
        fh.write(head.tobytes())
        for i in range(n):
            header["num"] = i
            header["timestamp"] = 1_700_000_000 + (i * RATE_MS) // 1000
            header["ms"] = (i * RATE_MS) % 1000
            header["mode"] = 1
            frame = np.roll(base, (i, 2 * i), axis=(0, 1))
            frame[0, :8] = (i >> np.arange(0, 16, 2)) & 3
            fh.write(header.tobytes())
            fh.write(frame.tobytes())
    return path


def frame_id(image: np.ndarray) -> int:
    return int((np.asarray(image)[0, :8].astype(np.int64) << np.arange(0, 16, 2)).sum())


def raw_read_ms(path: Path, n: int, side: int) -> float:
    buf = np.empty((side, side), "<u2")
    view = memoryview(buf).cast("B")
    fd = os.open(path, os.O_RDONLY)
    times = []
    try:
        for k in range(n):
            t = time.perf_counter()
            os.preadv(fd, [view], 256 + k * (FHB + buf.nbytes) + FHB)
            times.append(time.perf_counter() - t)
    finally:
        os.close(fd)
    return statistics.median(times) * 1e3


def lazy_read_ms(path: Path, n: int) -> float:
    from napari_tvips import open_series
    from napari_tvips._movie import MovieView

    view = MovieView(open_series(path))
    times = []
    for k in range(n):
        t = time.perf_counter()
        view[k]
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def viewer_figures(path: Path, n: int, play_seconds: float) -> dict[str, Any]:
    """Slider step (lazy, in memory) and napari playback on the lazy layer."""
    import napari
    from qtpy.QtWidgets import QApplication

    from napari_tvips import open_series
    from napari_tvips._movie import MovieView
    from napari_tvips._napari._movie_play import MoviePlayer
    from napari_tvips._napari._movie_widget import READ_AHEAD

    viewer = napari.Viewer(show=True)
    app = QApplication.instance()
    canvas = viewer.window._qt_viewer.canvas._scene_canvas  # vispy SceneCanvas (private API)
    drawn: list[tuple[float, int]] = []
    current: dict[str, object] = {}

    def on_draw(_event: object) -> None:
        layer = current.get("layer")
        if layer is not None:
            drawn.append((time.perf_counter(), frame_id(layer._slice.image.raw)))

    canvas.events.draw.connect(on_draw)

    def wait_for_draw(before: int, timeout: float = 30.0) -> None:
        end = time.perf_counter() + timeout
        while len(drawn) == before and time.perf_counter() < end:
            app.processEvents()

    def slider(layer: object) -> float:
        current["layer"] = layer
        for _ in range(10):
            app.processEvents()
        steps = []
        for k in [*range(1, n), 0] * 2:
            before = len(drawn)
            t = time.perf_counter()
            viewer.dims.set_current_step(0, k)
            app.processEvents()
            wait_for_draw(before)
            steps.append(time.perf_counter() - t)
            assert drawn[-1][1] == k, "the canvas shows the wrong frame"
        return statistics.median(steps) * 1e3

    player = MoviePlayer(viewer, host=viewer.window._qt_window)

    def play(layer: object, ours: bool = False) -> dict[str, float]:
        """napari's animation (or ours) for ``play_seconds``: frames drawn per second, skipped."""
        current["layer"] = layer
        viewer.dims.set_current_step(0, 0)
        for _ in range(10):
            app.processEvents()
        drawn.clear()
        qt_dims = viewer.window._qt_viewer.dims
        if ours:
            player.play(1000 / RATE_MS, axis=0)
        else:
            qt_dims.play(axis=0, fps=1000 / RATE_MS, loop_mode="loop")
        end = time.perf_counter() + play_seconds
        while time.perf_counter() < end:
            app.processEvents()
        player.stop()
        qt_dims.stop()
        # a frame may be painted more than once (napari redraws a lazy layer's frame): count
        # the changes of the frame on screen
        changes = [(t, i) for k, (t, i) in enumerate(drawn) if k == 0 or drawn[k - 1][1] != i]
        ids = [i for _t, i in changes]
        seconds = changes[-1][0] - changes[0][0] if len(changes) > 1 else float("nan")
        skipped = sum(max((b - a) % n - 1, 0) for a, b in itertools.pairwise(ids))
        return {"fps": (len(ids) - 1) / seconds, "skipped": skipped, "shown": len(ids)}

    [lazy] = viewer.open(str(path), plugin="napari-tvips")
    out: dict[str, Any] = {"slider_lazy_ms": slider(lazy), "play_lazy": play(lazy)}
    lazy.data = MovieView(open_series(path), read_ahead=READ_AHEAD)
    out["play_read-ahead"] = play(lazy)
    out["ours_read-ahead"] = play(lazy, ours=True)
    current["layer"] = None
    frames = np.asarray(lazy.data)
    viewer.layers.clear()
    memory = viewer.add_image(frames, contrast_limits=(0, 300))
    out["slider_memory_ms"] = slider(memory)
    out["play_memory"] = play(memory)
    out["ours_memory"] = play(memory, ours=True)
    viewer.close()
    return out


def drift_fps(path: Path, binning: int) -> float:
    from napari_tvips import open_series
    from napari_tvips._drift import estimate_drift

    series = open_series(path)
    t = time.perf_counter()
    estimate_drift(series, binning=binning)
    return series.n_frames / (time.perf_counter() - t)


def raw_copy_s(path: Path, target: Path) -> float:
    """Read every frame with ``Series.read_frames`` and write its bytes: the export limit."""
    from napari_tvips import open_series

    series = open_series(path)
    t = time.perf_counter()
    with open(target, "wb") as fh:
        for i in range(series.n_frames):
            fh.write(series.read_frames([i]).tobytes())
        fh.flush()
        os.fsync(fh.fileno())
    return time.perf_counter() - t


_CHILD = """
import sys, time
import tifffile, imageio_ffmpeg, PIL.Image, scipy.ndimage
from napari_tvips import open_series
from napari_tvips._movie_export import export_movie
from napari_tvips._time import frame_times


def hwm():  # VmHWM is per address space (ru_maxrss would carry the parent's over exec)
    with open("/proc/self/status") as fh:
        return next(int(x.split()[1]) for x in fh if x.startswith("VmHWM"))


frame_times(open_series(sys.argv[1]))  # headers read: not part of the pixel streaming
base = hwm()
t = time.perf_counter()
export_movie(sys.argv[1], sys.argv[2], contrast=(0, 300))
print(time.perf_counter() - t, base, hwm())
"""


def export_child(path: Path, target: Path) -> tuple[float, float, float]:
    """Seconds, RSS high-water mark (MiB) after the imports and after an export (fresh process)."""
    done = subprocess.run([sys.executable, "-c", _CHILD, str(path), str(target)],
                          capture_output=True, text=True, check=True)  # fmt: skip
    seconds, base, peak = done.stdout.split()
    return float(seconds), int(base) / 1024, int(peak) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, nargs=2, default=(48, 12), metavar=("N2K", "N4K"))
    parser.add_argument("--play-seconds", type=float, default=4.0)
    parser.add_argument("--no-viewer", action="store_true", help="skip the napari figures")
    parser.add_argument("--viewer-only", action="store_true", help="skip drift and export")
    default = Path(
        os.environ.get("TVIPS_BENCH_DIR", Path(__file__).resolve().parents[1] / "bench-data")
    )
    parser.add_argument("--folder", default=str(default / "movie"))
    args = parser.parse_args()
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        for side, n in ((2048, args.frames[0]), (4096, args.frames[1])):
            label = f"{side // 1024}k"
            path = write_movie(folder / f"movie{label}_000.tvips", n, side)
            mib = n * side * side * 2 / 2**20
            print(f"--- {label}: {n} frames of {side} x {side} uint16 ({mib:.0f} MiB)")
            raw = raw_read_ms(path, n, side)
            lazy = lazy_read_ms(path, n)
            print(f"read one frame            : {lazy:7.1f} ms lazy, {raw:7.1f} ms raw preadv "
                  f"({lazy / raw:.2f} x)")  # fmt: skip
            if not args.no_viewer:
                v = viewer_figures(path, n, args.play_seconds)
                print(f"slider -> frame drawn     : {v['slider_lazy_ms']:7.1f} ms lazy, "
                      f"{v['slider_memory_ms']:7.1f} ms in memory")  # fmt: skip
                for key in ("play_lazy", "play_read-ahead", "play_memory", "ours_read-ahead",
                            "ours_memory"):  # fmt: skip
                    p, (who, kind) = v[key], key.split("_")
                    who = "napari play" if who == "play" else "TVIPS play "
                    print(f"{who} at {1000 / RATE_MS:.0f} fps ({kind:10}): {p['fps']:5.1f} "
                          f"frames/s drawn, {p['skipped']} of {p['shown'] + p['skipped']} "
                          "frames skipped")  # fmt: skip
            if args.viewer_only:
                continue
            for k in (1, 4):
                print(f"drift estimate, bin {k}    : {drift_fps(path, k):7.1f} frames/s")
            target = folder / f"out{label}.tif"
            raw_s = raw_copy_s(path, folder / f"raw{label}.bin")
            tif_s, tif_base, tif_peak = export_child(path, target)
            mp4_s, mp4_base, mp4_peak = export_child(path, folder / f"out{label}.mp4")
            print(f"raw read + write          : {mib / raw_s:7.0f} MiB/s")
            print(f"TIFF export               : {mib / tif_s:7.0f} MiB/s "
                  f"({raw_s / tif_s:.2f} x raw), peak RSS {tif_peak:.0f} MiB "
                  f"({tif_base:.0f} after imports)")  # fmt: skip
            print(f"MP4 export                : {n / mp4_s:7.1f} frames/s ({mib / mp4_s:.0f} "
                  f"MiB/s, {raw_s / mp4_s:.2f} x raw), peak RSS {mp4_peak:.0f} MiB "
                  f"({mp4_base:.0f} after imports)")  # fmt: skip
            for p in folder.iterdir():
                p.unlink()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
