"""napari-tvips: read, re-slice and write TVIPS camera recordings (``.tvips``) in napari and Python.

The public API mirrors ``rsciio.tvips`` (:func:`file_reader`, :func:`file_writer`) and adds
:func:`open_series` and :class:`ScanLayout` for direct, lazy access to a recording, and
:func:`convert` to export a recording to HyperSpy (``.zspy``), ASTAR (``.blo``) or ``.tvips``,
and :class:`VirtualImager` for virtual detector images of a scan.
"""

from __future__ import annotations

from ._api import file_reader, file_writer
from ._convert import convert
from ._errors import TvipsError, TvipsFormatError, TvipsReadError
from ._format import ScanCalibration
from ._imager import VirtualImager
from ._lazy import FrameArray
from ._scan import ScanLayout
from ._series import Series, open_series
from ._time import frame_times
from ._version import __version__

__all__ = [
    "FrameArray",
    "ScanCalibration",
    "ScanLayout",
    "Series",
    "TvipsError",
    "TvipsFormatError",
    "TvipsReadError",
    "VirtualImager",
    "__version__",
    "convert",
    "file_reader",
    "file_writer",
    "frame_times",
    "open_series",
]
