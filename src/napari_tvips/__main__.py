"""The ``napari-tvips`` command: ``demo`` (open the demo in napari) and ``info`` (describe a file).

``napari-tvips info PATH`` prints what the headers say about a recording (parts, frames, header
fields, a summary of every frame-header field, the scan detected from them) without reading
pixels. ``napari-tvips demo [--screenshot PNG]`` writes the synthetic 4D-STEM recording, opens
it in napari with the "TVIPS scan" widget docked, and either runs napari or saves a screenshot of
the whole window and exits. napari is imported only by ``demo``; diagnostics go to logging.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._version import __version__

__all__ = ["main"]

logger = logging.getLogger("napari_tvips")


# -- info ------------------------------------------------------------------------------------
def _field_summary(name: str, values: np.ndarray) -> str:
    if values.size == 0:
        return f"  {name:<22} (no frames)"
    lo, hi, first = (_num(v) for v in (values.min(), values.max(), values[0]))
    if lo == hi:
        return f"  {name:<22} constant {lo}"
    distinct = np.unique(values).size
    return f"  {name:<22} {lo} .. {hi}  ({distinct} distinct; first {first})"


def _num(value: np.generic) -> str:
    return str(int(value)) if np.issubdtype(value.dtype, np.integer) else f"{float(value):.7g}"


def _scan_summary(headers: dict[str, np.ndarray]) -> str:
    from ._scan import header_scan

    try:
        return header_scan(headers).text()
    except ValueError as exc:
        return f"none ({exc})"


def info(path: str) -> int:
    """Print a description of the recording ``path`` belongs to; return the exit status."""
    from ._errors import TvipsError
    from ._series import Series

    try:
        series = Series(path)
    except (TvipsError, OSError) as exc:
        logger.error("%s", exc)
        return 1
    h = series.header
    print(f"recording   {series.name}")
    print(f"parts       {len(series.parts)}")
    for part in series.parts:
        extra = f", {part.leftover} bytes after the last frame" if part.leftover else ""
        if part.path in series.truncated_parts:
            extra += " (NOT the last part: later frames are shifted by one; a header map recovers)"
        print(f"  {part.path}: {part.n_frames} frames{extra}")
    print(f"frames      {series.n_frames}")
    print(f"frame shape {h.dimy} x {h.dimx} (dimy x dimx)")
    print(f"dtype       {series.dtype.name}")
    print(f"version     {h.version}")
    print("header")
    for name, value in h.as_dict().items():
        if name == "dummy":
            text = bytes(value).rstrip(b"\0").decode("latin-1")
            print(f"  {name:<22} {text[:60]!r}")
        else:
            print(f"  {name:<22} {int(value)}")
    headers = series.frame_headers()
    print(f"frame headers ({h.frame_header_bytes} bytes each)")
    for name, values in headers.items():
        print(_field_summary(name, values))
    print(f"scan        {_scan_summary(headers)}")
    return 0


# -- demo ------------------------------------------------------------------------------------
def _process_events(rounds: int = 20) -> None:
    from qtpy.QtWidgets import QApplication

    app = QApplication.instance()
    for _ in range(rounds):
        if app is not None:
            app.processEvents()


def _show_scan(widget: Any, viewer: Any, wait: bool) -> None:
    """Re-slice the demo as the widget suggests, so a newcomer sees a 4D-STEM scan at once.

    Header evidence (rotidx) gives the shape and start at once; with ``wait`` the navigator pass
    is awaited first, so the suggestion also includes the hysteresis found from the trace.
    """
    if wait:
        from qtpy.QtWidgets import QApplication

        deadline = time.monotonic() + 60
        while getattr(widget, "_worker", None) is not None and time.monotonic() < deadline:
            QApplication.processEvents()
            time.sleep(0.02)
    if widget.suggest() is not None and widget.accept_suggestion():
        layer = viewer.layers[0]
        scan_y, scan_x = layer.data.shape[-4:-2]
        step = list(viewer.dims.current_step)
        step[-4:-2] = [scan_y // 3, scan_x // 2]
        viewer.dims.current_step = tuple(step)
        if hasattr(widget, "show_navigator"):
            _process_events()
            widget.show_navigator()


def demo(folder: str | None, screenshot: str | None) -> int:
    """Write the demo recording, open it in napari with the scan widget, run or screenshot."""
    import napari

    from ._demo import write_demo

    target = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="napari-tvips-demo-"))
    target.mkdir(parents=True, exist_ok=True)
    path = write_demo(target)
    logger.info("demo recording written to %s", path)
    viewer = napari.Viewer(title="napari-tvips demo", show=True)
    viewer.window.resize(1366, 768)
    viewer.open(str(path), plugin="napari-tvips")
    widget = None
    if importlib.util.find_spec("napari_tvips._napari._widget") is None:
        logger.warning("the 'TVIPS scan' widget is not available in this version; not docked")
    else:
        try:
            _dock, widget = viewer.window.add_plugin_dock_widget("napari-tvips", "TVIPS scan")
        except Exception:
            logger.warning("could not dock the 'TVIPS scan' widget", exc_info=True)
    if widget is not None:
        _show_scan(widget, viewer, wait=bool(screenshot))
    if screenshot:
        _process_events()
        viewer.screenshot(screenshot, canvas_only=False, flash=False)
        logger.info("screenshot saved to %s", screenshot)
        viewer.close()
        return 0
    napari.run()
    return 0


# -- entry point -----------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="napari-tvips", description="TVIPS camera recordings (.tvips) in napari and Python."
    )
    parser.add_argument("--version", action="version", version=f"napari-tvips {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debugging details")
    sub = parser.add_subparsers(dest="command", required=True)
    p_info = sub.add_parser("info", help="describe a recording from its headers")
    p_info.add_argument("path", help="any part of the recording (x_000.tvips, x_001.tvips, ...)")
    p_demo = sub.add_parser("demo", help="open a synthetic 4D-STEM recording in napari")
    p_demo.add_argument("--screenshot", metavar="PNG", help="save the window as PNG and exit")
    p_demo.add_argument("--folder", help="where to write the recording (default: a temp folder)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``napari-tvips`` command line; return the exit status."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.command == "info":
        return info(args.path)
    return demo(args.folder, args.screenshot)


if __name__ == "__main__":
    sys.exit(main())
