"""The ``napari-tvips`` command: ``demo``, ``info`` (describe a file) and ``convert`` (export).

``napari-tvips info PATH`` prints what the headers say about a recording (parts, frames, header
fields, a summary of every frame-header field, the scan detected from them) without reading
pixels. ``napari-tvips demo [--screenshot PNG]`` writes the synthetic 4D-STEM recording, opens
it in napari with the "TVIPS scan" widget docked, and either runs napari or saves a screenshot of
the whole window and exits. ``napari-tvips convert SOURCE DEST [options]`` exports a recording
to any format :func:`napari_tvips.convert` knows (picked by DEST's extension), with a progress
bar; bad input gives a one-line error and exit status 1. napari is imported only by ``demo``;
diagnostics go to logging.
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
    from ._time import frame_times, summary

    for line in summary(frame_times(headers)):
        print(line)
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


# -- convert ---------------------------------------------------------------------------------
def _ints(text: str, what: str, count: int | None = None) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.replace("x", ",").split(","))
    except ValueError:
        raise ValueError(f"{what} {text!r} is not comma-separated integers") from None
    if count is not None and len(values) != count:
        raise ValueError(f"{what} {text!r} needs {count} comma-separated integers")
    return values


def _convert_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """``convert`` keyword arguments from the command line strings (ValueError when bad)."""
    kwargs: dict[str, Any] = {}
    if args.scan_shape is not None:
        kwargs["scan_shape"] = (
            "auto" if args.scan_shape == "auto" else _ints(args.scan_shape, "--scan-shape")
        )
    for name, flag in (("scan_start_frame", "start"), ("hysteresis", "hysteresis")):
        text = getattr(args, flag)
        if text is not None:
            kwargs[name] = _ints(text, f"--{flag}", 1)[0]
    if args.winding is not None:
        if args.winding not in ("x", "y"):
            raise ValueError(f"--winding {args.winding!r} is not x or y")
        kwargs["winding_scan_axis"] = args.winding
    if args.bin is not None:
        kwargs["binning"] = _ints(args.bin, "--bin", 1)[0]
    if args.crop is not None:
        kwargs["crop"] = "square" if args.crop == "square" else _ints(args.crop, "--crop", 4)
    if args.scale is not None:
        if "," in args.scale:
            try:
                kwargs["intensity_scaling"] = tuple(float(v) for v in args.scale.split(","))
            except ValueError:
                raise ValueError(f"--scale {args.scale!r} is not LOW,HIGH numbers") from None
        else:
            kwargs["intensity_scaling"] = None if args.scale == "none" else args.scale
    if args.scan_step is not None:
        try:
            steps = tuple(float(v) for v in args.scan_step.split(","))
        except ValueError:
            raise ValueError(f"--scan-step {args.scan_step!r} is not one or two numbers") from None
        kwargs["scan_step"] = steps[0] if len(steps) == 1 else steps
    if args.scan_unit is not None:
        kwargs["scan_unit"] = args.scan_unit
    from ._movie_cli import movie_kwargs

    kwargs.update(movie_kwargs(args))
    return kwargs


def convert(args: argparse.Namespace) -> int:
    """Run ``napari-tvips convert``; return the exit status (1 with a one-line error)."""
    from ._convert import convert as run_convert

    try:
        paths = run_convert(
            args.source, args.destination, show_progressbar=not args.quiet, **_convert_kwargs(args)
        )
    except (ValueError, TypeError, OSError, ImportError) as exc:
        message = " ".join(str(exc).split())
        print(f"napari-tvips convert: error: {message}", file=sys.stderr)
        return 1
    for path in paths:
        print(path)
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
    from ._convert import known_extensions

    p_conv = sub.add_parser(
        "convert",
        help="export a recording (" + ", ".join(known_extensions()) + ")",
        description="Export a recording; DESTINATION's extension picks the format: "
        + ", ".join(known_extensions()),
    )
    p_conv.add_argument("source", help="any part of the recording")
    p_conv.add_argument("destination", help="output path (.zspy, .blo, .tvips, ...)")
    p_conv.add_argument("--scan-shape", metavar="auto|NY,NX", help="scan shape, or auto")
    p_conv.add_argument("--start", metavar="N", help="first scan frame")
    p_conv.add_argument("--winding", metavar="x|y", help="snake scan axis")
    p_conv.add_argument("--hysteresis", metavar="N", help="shift of the reversed rows")
    p_conv.add_argument("--bin", metavar="N", help="average N x N pattern pixels into one")
    p_conv.add_argument(
        "--crop", metavar="square|y0,x0,y1,x1", help="keep the centred square or a box"
    )
    p_conv.add_argument(
        "--scale", metavar="MODE", help="8-bit scaling: dtype, minmax, crop, none or LOW,HIGH"
    )
    p_conv.add_argument("--scan-step", metavar="S|SY,SX", help="scan step (default unit nm)")
    p_conv.add_argument("--scan-unit", metavar="UNIT", help="unit of the scan step")
    p_conv.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    from ._movie_cli import add_movie_arguments

    add_movie_arguments(p_conv)
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
    if args.command == "convert":
        return convert(args)
    return demo(args.folder, args.screenshot)


if __name__ == "__main__":
    sys.exit(main())
