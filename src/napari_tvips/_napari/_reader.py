"""napari reader contribution: any part (or parts) of a TVIPS recording -> one lazy image layer.

``napari_get_reader`` is cheap and never raises: it checks the extension and the main header's
size and version fields, and returns ``None`` for anything else so other readers can try. The
returned function opens each distinct recording once; its errors (our ``TvipsError`` messages)
are what napari shows the user.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .._format import looks_like_main_header
from .._series import Series, find_parts
from ._layers import layer_data_tuple

__all__ = ["napari_get_reader", "read_tvips"]

_TVIPS = re.compile(r"\.tvips$", re.IGNORECASE)
PathLike = str | os.PathLike[str]


def _looks_like_tvips(path: PathLike) -> bool:
    """Extension and first-part header check; never raises."""
    try:
        if not _TVIPS.search(os.fspath(path)):
            return False
        with warnings.catch_warnings():  # a gap in the parts is reported when reading
            warnings.simplefilter("ignore")
            first = find_parts(path)[0]
        if not first.is_file():  # never open a FIFO or device: a FIFO would block napari
            return False
        with open(first, "rb") as fh:
            return looks_like_main_header(fh.read(8))
    except Exception:
        return False


def napari_get_reader(path: PathLike | Sequence[PathLike]) -> Callable[..., list[Any]] | None:
    """Return :func:`read_tvips` if every path is part of a TVIPS recording, else ``None``."""
    try:
        paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
        if not paths or not all(_looks_like_tvips(p) for p in paths):
            return None
    except Exception:
        return None
    return read_tvips


def read_tvips(path: PathLike | Sequence[PathLike]) -> list[tuple[Any, dict[str, Any], str]]:
    """Open each distinct recording among ``path`` as one lazy image layer (the frame stack)."""
    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    seen: set[Path] = set()
    layers = []
    for p in paths:
        first = find_parts(p)[0].resolve()
        if first in seen:
            continue
        seen.add(first)
        layers.append(layer_data_tuple(Series(p)))
    return layers
