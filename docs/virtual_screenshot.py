"""Make docs/virtual.png: the demo scan with the ADF ring on the pattern and the navigator.

Run under a display (``xvfb-run -a -s "-screen 0 1366x768x24" python docs/virtual_screenshot.py
[PNG]``). Writes the demo recording, opens it with the "TVIPS scan" widget, re-slices it as the
widget suggests, gives the scan a step of 2.5 nm (the demo's headers carry none), computes the
navigator, shows the ADF channel with its ring on the pattern (napari's select tool active),
draws a region on the navigator for its mean pattern, and saves the window at 1366 x 768.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _settle(app, until, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not until() and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.02)
    for _ in range(20):
        app.processEvents()


def main() -> None:
    """Write, open, set up and save the screenshot."""
    import napari
    from qtpy.QtWidgets import QApplication

    from napari_tvips._demo import write_demo

    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("virtual.png")
    path = write_demo(Path(tempfile.mkdtemp(prefix="virtual-shot-")))
    viewer = napari.Viewer(title="napari-tvips virtual imaging", show=True)
    viewer.window.resize(1366, 768)
    viewer.open(str(path), plugin="napari-tvips")
    _dock, w = viewer.window.add_plugin_dock_widget("napari-tvips", "TVIPS scan")
    app = QApplication.instance()
    _settle(app, lambda: w._worker is None)
    w.suggest()
    w.accept_suggestion()
    w.compute_navigator()
    _settle(app, lambda: w._worker is None and w.model.values().complete)
    w.model.update(scan_step=2.5, scan_unit="nm")  # as typed in the calibration section
    w.model.set_detector(radii=(8.0, 14.0, 40.0))
    w.navigator.channel.value = "adf"
    w.navigator.units.value = w.model.signal_unit
    canvas = w.navigator.canvas
    canvas.region.add_rectangles(np.array([[4.0, 34.0], [4.0, 42.0], [12.0, 42.0], [12.0, 34.0]]))
    _settle(app, lambda: "mean pattern (region)" in viewer.layers)
    viewer.layers["mean pattern (region)"].visible = False
    shapes = w.detector_shapes.shapes
    viewer.layers.selection.active = shapes
    shapes.mode = "select"
    step = list(viewer.dims.current_step)
    step[:2] = [30, 15]
    viewer.dims.current_step = tuple(step)
    w.show_navigator()
    _settle(app, lambda: True)
    viewer.screenshot(str(out), canvas_only=False, flash=False)
    viewer.close()
    print(out)


if __name__ == "__main__":
    main()
