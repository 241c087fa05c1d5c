"""napari sample-data contribution "TVIPS 4D-STEM demo".

Writes the synthetic recording of :mod:`napari_tvips._demo` to a temporary folder (kept for the
session, removed at exit) and opens it through our reader, so the sample behaves exactly like a
dropped file: one lazy layer, headers in its :class:`~napari_tvips._record.TvipsRecord`, ready
for the "TVIPS scan" widget. It renders nothing itself and knows nothing about the format.
"""

from __future__ import annotations

import atexit
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from .._demo import write_demo
from ._reader import read_tvips

__all__ = ["demo_folder", "demo_recording"]

logger = logging.getLogger(__name__)

_FOLDER: Path | None = None


def demo_folder() -> Path:
    """The session's temporary folder for demo recordings (created on first use)."""
    global _FOLDER
    if _FOLDER is None or not _FOLDER.is_dir():
        _FOLDER = Path(tempfile.mkdtemp(prefix="napari-tvips-demo-"))
        atexit.register(shutil.rmtree, _FOLDER, ignore_errors=True)
    return _FOLDER


def demo_recording() -> list[tuple[Any, dict[str, Any], str]]:
    """Write the demo recording (if not yet written this session) and return its layer."""
    path = demo_folder() / "demo_000.tvips"
    if not path.exists():
        path = write_demo(demo_folder())
        logger.info("wrote the TVIPS demo recording to %s", path.parent)
    return read_tvips(path)
