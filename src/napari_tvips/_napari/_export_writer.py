"""napari writer contributions: save an image layer as HyperSpy ``.zspy`` or ASTAR ``.blo``.

*File > Save Selected Layers...* offers both for image layers. The layer becomes a signal dict
through the ``.tvips`` writer's :func:`~napari_tvips._napari._writer.layer_signal` (the layer's
scale, units and axis labels, i.e. the scan widget's calibration, plus the recording's headers),
and :func:`napari_tvips.convert` writes it, streaming from the recording's files. napari's writer
contract is synchronous (the writer returns the written paths), so the export runs on a worker
thread while the calling thread waits, keeping Qt's event loop turning so that napari's progress
bar (activity dock) moves and the window stays drawn. The progress bar is updated from the
waiting (main) thread only.

A ``.blo`` needs square 8-bit patterns and the save dialog has no options, so from napari a
non-square pattern is cropped to its centred square and non-8-bit data are stretched from their
global minimum .. maximum (``"minmax"``, one extra pass); use :func:`napari_tvips.convert` or
``napari-tvips convert`` for other choices. napari turns a writer's ``ValueError`` into a
misleading "No data written!", so refusals are raised as ``OSError`` (``TypeError`` for data
types) with the same message.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from .._convert import convert
from .._units import quantity
from ._writer import layer_signal

__all__ = ["export_total", "layer_export_signal", "write_blo", "write_zspy"]

logger = logging.getLogger(__name__)

#: Seconds between Qt event-loop turns while an export runs.
_POLL = 0.05


def _short_units(text: Any) -> str:
    """``"1 / nanometer"`` (napari's pint units) as ``"1/nm"``; other text unchanged."""
    text = "" if text is None else str(text)
    q = quantity(1.0, text)
    return text if q is None else format(q.units, "~C")


def layer_export_signal(data: Any, attributes: dict[str, Any]) -> dict[str, Any]:
    """The signal dict of a layer for export (units as short pint text, e.g. ``1/nm``)."""
    if attributes.get("rgb"):
        raise TypeError("RGB layers cannot be exported: diffraction patterns hold one channel")
    try:
        signal = layer_signal(data, attributes)
    except ValueError as exc:
        raise OSError(str(exc)) from exc
    for axis in signal["axes"]:
        axis["units"] = _short_units(axis.get("units"))
    return signal


def _run(
    path: str, work: Callable[[Callable[[int], None]], list[str]], total: int, desc: str
) -> list[str]:
    """Run ``work(progress)`` on a thread; show napari progress while waiting; re-raise."""
    done = [0]
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["paths"] = work(lambda n: done.__setitem__(0, done[0] + n))
        except BaseException as exc:  # handed to the calling thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="tvips-export", daemon=True)
    app = _qt_app()
    bar = None  # created at the first frame written, so refusals show no bar
    shown = 0
    try:
        thread.start()
        while thread.is_alive():
            thread.join(_POLL)
            if done[0] != shown:
                bar = bar or _napari_progress(total, desc)
                if bar is not None:
                    bar.update(done[0] - shown)
                shown = done[0]
            if app is not None:
                app.processEvents()
    finally:
        if bar is not None:
            bar.close()
    if "error" in outcome:
        exc = outcome["error"]
        if isinstance(exc, ValueError):
            raise OSError(f"{path}: {exc}") from exc
        raise exc
    return outcome["paths"]


def _qt_app() -> Any:
    try:
        from qtpy.QtWidgets import QApplication
    except Exception:  # no Qt binding: plain waiting
        return None
    return QApplication.instance()


def _napari_progress(total: int, desc: str) -> Any:
    try:
        from napari.utils import progress
    except ImportError:  # pragma: no cover - napari is there when napari calls us
        return None
    return progress(total=total, desc=desc)


def export_total(shape: tuple[int, ...], options: dict[str, Any]) -> int:
    """Frames :func:`~napari_tvips.convert` reports for a layer of ``shape`` with ``options``.

    One per pattern, twice with ``intensity_scaling="minmax"`` (its extra pass).
    """
    frames = math.prod(int(n) for n in shape[:-2])
    return frames * (2 if options.get("intensity_scaling") == "minmax" else 1)


def _export(path: str, data: Any, attributes: dict[str, Any], **kwargs: Any) -> list[str]:
    signal = layer_export_signal(data, attributes)
    name = os.path.basename(path.rstrip("/"))
    return _run(
        path,
        lambda report: convert(signal, path, show_progressbar=False, progress=report, **kwargs),
        export_total(tuple(data.shape), kwargs),
        f"Exporting {name}",
    )


def write_zspy(path: str, data: Any, attributes: dict[str, Any]) -> list[str]:
    """Write one image layer as a HyperSpy ``.zspy`` store (``.zspy`` added when missing).

    Raises
    ------
    OSError
        When the layer cannot be exported (bad shape, file system errors).
    TypeError
        For data types the format cannot hold.
    """
    if not path.lower().endswith(".zspy"):
        path = f"{path}.zspy"
    return _export(path, data, attributes)


def write_blo(path: str, data: Any, attributes: dict[str, Any]) -> list[str]:
    """Write one image layer as an ASTAR blockfile (``.blo`` added when missing).

    Non-square patterns are cropped to their centred square; data that are not 8-bit are
    stretched from their global minimum .. maximum to 0 .. 255.

    Raises
    ------
    OSError
        When the layer cannot be exported (more than two scan axes, file system errors).
    TypeError
        For data types the format cannot hold.
    """
    if not path.lower().endswith(".blo"):
        path = f"{path}.blo"
    shape = tuple(data.shape)
    kwargs: dict[str, Any] = {}
    if len(shape) >= 2 and shape[-1] != shape[-2]:
        kwargs["crop"] = "square"
        logger.info("%s: %d x %d patterns cropped to their centred square", path, *shape[-2:])
    if np.dtype(data.dtype) != np.uint8:
        kwargs["intensity_scaling"] = "minmax"
    return _export(path, data, attributes, **kwargs)
