"""Make docs/movie.png: a synthetic heating movie in napari with the "TVIPS movie" widget.

Run under a display (``xvfb-run -a -s "-screen 0 1366x768x24" python docs/movie_screenshot.py``).
Writes a drifting, noisy movie of particles (with a temperature ramp and two dropped frames) by
byte-built headers, opens it, sums 4 frames, corrects drift and saves the window.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import ndimage

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "tests"))

from tvips_bytes import write_recording  # noqa: E402


def particles_movie(n: int = 64, size: int = 256, seed: int = 0) -> tuple[np.ndarray, dict]:
    """Frames of drifting particles with Poisson noise, and their frame-header fields."""
    rng = np.random.default_rng(seed)
    big = np.zeros((2 * size, 2 * size))
    ys, xs = rng.integers(0, 2 * size, (2, 120))
    big[ys, xs] = rng.uniform(0.5, 1.0, 120)
    big = ndimage.gaussian_filter(big, 4) * 60
    big += ndimage.gaussian_filter(rng.random(big.shape), 2) * 0.6
    spectrum = np.fft.fft2(big)
    frames = np.empty((n, size, size), np.uint16)
    for i in range(n):
        shift = (0.35 * i, -0.25 * i + 2 * np.sin(i / 9))
        img = np.fft.ifft2(ndimage.fourier_shift(spectrum, shift)).real[
            size // 2 : size // 2 + size, size // 2 : size // 2 + size
        ]
        frames[i] = rng.poisson(np.clip(img, 0, None) * 40 + 20)
    counter = [i if i < 40 else i + 2 for i in range(n)]
    ms = [50 * c for c in counter]
    headers = {
        "num": counter,
        "timestamp": [1_700_000_000 + t // 1000 for t in ms],
        "ms": [t % 1000 for t in ms],
        "temperature": [25 + 5 * c for c in counter],
        "mode": [1] * n,
    }
    return frames, headers


def main(out: Path = HERE / "movie.png") -> None:
    """Write the movie, open it with the widget, sum 4, correct drift, save the window."""
    import napari
    from qtpy.QtWidgets import QApplication

    folder = Path(tempfile.mkdtemp(prefix="tvips-movie-"))
    frames, headers = particles_movie()
    path = write_recording(folder / "heating", frames, headers=headers, pixelsize=2)[0]
    viewer = napari.Viewer(title="napari-tvips: in-situ movie", show=True)
    viewer.window.resize(1366, 768)
    viewer.open(str(path), plugin="napari-tvips")
    _dock, widget = viewer.window.add_plugin_dock_widget("napari-tvips", "TVIPS movie")
    widget.field.value = "temperature"
    widget.sum_frames.value = 4
    worker = widget.correct_drift()
    deadline = time.monotonic() + 120
    while widget._worker is not None and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.02)
    viewer.dims.set_current_step(0, 9)
    viewer.scale_bar.visible = True
    for _ in range(20):
        QApplication.processEvents()
    viewer.reset_view()
    for _ in range(20):
        QApplication.processEvents()
    del worker
    viewer.screenshot(str(out), canvas_only=False, flash=False)
    viewer.close()
    print(out)


if __name__ == "__main__":
    main()
