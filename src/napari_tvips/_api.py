"""RosettaSciIO-compatible entry points: :func:`file_reader` (and :func:`file_writer`).

Same arguments and return structure as ``rsciio.tvips``, so scripts switch by changing one
import. Reading builds a :class:`~napari_tvips._series.Series`, an index map from the scan
arguments, and either reads everything once into one array (``lazy=False``) or wraps a
:class:`~napari_tvips._lazy.FrameArray` in dask (``lazy=True``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from ._lazy import FrameArray, to_dask
from ._metadata import FrameHeaders, build_axes, build_metadata
from ._scan import ScanLayout, as_shape, auto_layout
from ._series import Series
from ._writer import file_writer

__all__ = ["file_reader", "file_writer", "index_map_for", "read_series", "saved_layout"]


def saved_layout(series: Series) -> ScanLayout | None:
    """The scan a napari-tvips save recorded in its calibration block (``None``: none).

    Raises
    ------
    ValueError
        If the recording holds fewer frames than that scan (truncated after the save).
    """
    saved = series.calibration.scan_shape if series.calibration is not None else None
    if saved is None:
        return None
    if saved[0] * saved[1] > series.n_frames:
        raise ValueError(
            f"saved as a {saved[0]} x {saved[1]} scan but holds only {series.n_frames} frames "
            "(truncated?); pass scan_shape and scan_start_frame"
        )
    return ScanLayout(saved, 0)


def index_map_for(
    series: Series,
    scan_shape: str | Sequence[int] | int | None = None,
    scan_start_frame: int = 0,
    winding_scan_axis: str | int | None = None,
    hysteresis: int = 0,
) -> np.ndarray:
    """Index map (navigation shape -> frame index) for RosettaSciIO's scan arguments."""
    try:
        if scan_shape is None:
            layout = ScanLayout()
        elif isinstance(scan_shape, str):
            if scan_shape != "auto":
                raise ValueError(
                    f"Invalid scan_shape {scan_shape!r}: use a tuple of ints or 'auto'"
                )
            saved = saved_layout(series)
            if saved is None:
                return auto_layout(series.frame_headers(), winding_scan_axis, hysteresis)[0]
            # written by napari-tvips: frames in scan order
            layout = replace(saved, winding=winding_scan_axis, hysteresis=hysteresis)
        else:
            layout = ScanLayout(
                as_shape(scan_shape), scan_start_frame, winding_scan_axis, hysteresis
            )
        return layout.index_map(series.n_frames)
    except ValueError as exc:  # the same type rsciio raises, naming the file
        raise type(exc)(f"{series.parts[0].path}: {exc}") from exc


def file_reader(
    filename: str | os.PathLike[str],
    lazy: bool = False,
    scan_shape: str | Sequence[int] | None = None,
    scan_start_frame: int = 0,
    winding_scan_axis: str | int | None = None,
    hysteresis: int = 0,
    rechunking: bool | str | dict[int, Any] = "auto",
) -> list[dict[str, Any]]:
    """Read a TVIPS recording, as ``rsciio.tvips.file_reader`` does.

    Parameters
    ----------
    filename : str or os.PathLike
        Any part of the recording (``x_000.tvips``, ``x_003.tvips``) or its base name.
    lazy : bool
        Return a dask array that reads on demand instead of a NumPy array.
    scan_shape : tuple of int, "auto" or None
        Navigation shape (``(..., scan_y, scan_x)``); ``None`` loads the frame stack; ``"auto"``
        detects the scan from ``rotidx`` or EM-Scan ``scan_x``/``scan_y`` frame headers (or, in
        a recording napari-tvips wrote, from the scan shape in its calibration block, which also
        gives the scan step and unit).
    scan_start_frame : int
        Index of the first scan frame (ignored with ``"auto"``).
    winding_scan_axis : {None, "x", "y"}
        Snake scan: reverse the even rows (``"x"``) or columns (``"y"``).
    hysteresis : int
        Roll of the reversed rows or columns, in scan points (only with winding).
    rechunking : bool, str or dict
        Lazy only: ``"auto"``/``True``/``False`` give blocks of whole frames of about 16 MiB;
        a dict gives dask chunks per axis.

    Returns
    -------
    list of dict
        One dictionary with ``data``, ``axes``, ``metadata``, ``original_metadata`` and
        ``mapping``; ``original_metadata`` holds ``tvips_header`` (the main header) and
        ``frame_headers`` (every field of every frame).
    """
    return read_series(
        Series(filename), lazy, scan_shape, scan_start_frame, winding_scan_axis, hysteresis,
        rechunking,
    )  # fmt: skip


def read_series(
    series: Series,
    lazy: bool = False,
    scan_shape: str | Sequence[int] | None = None,
    scan_start_frame: int = 0,
    winding_scan_axis: str | int | None = None,
    hysteresis: int = 0,
    rechunking: bool | str | dict[int, Any] = "auto",
) -> list[dict[str, Any]]:
    """:func:`file_reader` of a recording already open (the arguments are file_reader's)."""
    index_map = index_map_for(series, scan_shape, scan_start_frame, winding_scan_axis, hysteresis)
    first = series.headers_at(range(min(series.n_frames, 2)))
    frames = FrameArray(series, index_map)
    data = to_dask(frames, rechunking) if lazy else frames.read()
    nav_shape = None if scan_shape is None else index_map.shape
    return [
        {
            "data": data,
            "axes": build_axes(series, nav_shape, first),
            "metadata": build_metadata(series, first),
            "original_metadata": {
                "tvips_header": series.header.as_dict(),
                "frame_headers": FrameHeaders(series) if lazy else dict(series.frame_headers()),
            },
            "mapping": {},
        }
    ]
