"""napari reader contribution: any part (or parts) of a TVIPS recording -> one lazy image layer.

``napari_get_reader`` is cheap and never raises. It claims every file named ``*.tvips`` (no
other reader can open one) and returns ``None`` for other names and folders, so other readers can
try. The returned function opens each distinct recording once; its errors (our ``TvipsError``
messages: "x_000.tvips: header says ...", "no first part ...") are what napari shows the user,
so a broken or mis-named file gets our reason instead of napari's "no reader".
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .._api import saved_layout
from .._series import Series, find_parts
from ._layers import layer_data_tuple

__all__ = ["napari_get_reader", "read_tvips"]

_TVIPS = re.compile(r"\.tvips$", re.IGNORECASE)
PathLike = str | os.PathLike[str]


def napari_get_reader(path: PathLike | Sequence[PathLike]) -> Callable[..., list[Any]] | None:
    """Return :func:`read_tvips` if every path is named like a TVIPS part, else ``None``.

    Files whose header is not TVIPS are claimed too: reading them raises our reason, which
    napari shows (a ``.tvips`` name is ours; no other reader would explain it).
    """
    try:
        paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
        if not paths or not all(_TVIPS.search(os.fspath(p)) for p in paths):
            return None
        if any(os.path.isdir(p) for p in paths):
            return None
    except Exception:
        return None
    return read_tvips


def _layer(series: Series) -> tuple[Any, dict[str, Any], str]:
    """The frame stack, or the scan a napari-tvips save recorded, with its calibration."""
    try:
        layout = saved_layout(series)
    except ValueError as exc:
        warnings.warn(f"{series.parts[0].path}: {exc}; opened as the frame stack", stacklevel=3)
        layout = None
    cal = series.calibration
    if layout is None or cal is None:
        return layer_data_tuple(series)
    return layer_data_tuple(
        series,
        layout,
        scan_step=cal.scan_step,
        scan_unit=cal.scan_unit or "pixel",
    )


def read_tvips(path: PathLike | Sequence[PathLike]) -> list[tuple[Any, dict[str, Any], str]]:
    """Open each distinct recording among ``path`` as one lazy image layer.

    The layer is the frame stack, or, for a recording napari-tvips saved from a scan, that scan
    with its saved calibration (scan step and unit, exact pattern pixel size and offsets).
    """
    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    seen: set[Path] = set()
    layers = []
    for p in paths:
        first = find_parts(p)[0].resolve()
        if first in seen:
            continue
        seen.add(first)
        layers.append(_layer(Series(p)))
    return layers
