"""napari writer contribution: save one image layer as a TVIPS recording.

:func:`write_tvips` turns the layer's data, scale, translate, units, axis labels and
:class:`~napari_tvips._record.TvipsRecord` (filled by our reader: main header, per-frame headers,
rsciio-style metadata and the index map from layer position to frame) into a RosettaSciIO signal
dict and hands it to :func:`napari_tvips._writer.file_writer`. It holds no format knowledge.
napari reports a writer's ``ValueError`` as "No data written!", so those are re-raised as
``OSError`` with the same message.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._record import TvipsRecord, record_of
from .._writer import file_writer

__all__ = ["layer_signal", "write_tvips"]

logger = logging.getLogger(__name__)


def _units(value: Any) -> str:
    """A pint unit (napari's layer units) or string as text pint parses back (``""`` if none)."""
    text = "" if value is None else str(value)
    return "" if text in ("pixel", "pixels", "px") else text


def _frame_headers(record: TvipsRecord, nav_shape: tuple[int, ...]) -> dict[str, Any]:
    """``frame_headers`` of the recording and ``frame_index`` (layer order), if they still fit."""
    table = record.frame_headers
    index_map = np.asarray(record.index_map)
    if index_map.shape != nav_shape and not (nav_shape == () and index_map.size == 1):
        logger.info("layer shape changed since it was read; frame headers not kept")
        return {}
    return {"frame_headers": table, "frame_index": index_map.reshape(-1)}


def layer_signal(data: Any, attributes: Mapping[str, Any]) -> dict[str, Any]:
    """The RosettaSciIO signal dict of an image layer (``data`` and napari's layer attributes).

    Parameters
    ----------
    data : array-like
        Layer data: one frame ``(y, x)``, a stack ``(t, y, x)`` or a scan ``(sy, sx, y, x)``.
    attributes : dict
        napari's layer state (``scale``, ``translate``, ``units``, ``axis_labels``, ``metadata``).

    Returns
    -------
    dict
        ``data``, ``axes``, ``metadata``, ``original_metadata`` and ``attributes``.
    """
    if attributes.get("rgb"):
        raise TypeError("RGB layers cannot be written as TVIPS (frames hold one channel)")
    if attributes.get("multiscale"):
        raise TypeError("multiscale layers cannot be written as TVIPS; save one level")
    ndim = len(data.shape)
    record = record_of(attributes.get("metadata") or {})
    header = record.header if record is not None else None

    def per_axis(key: str, default: Any) -> Sequence[Any]:
        values = attributes.get(key)
        return list(values) if values is not None and len(values) == ndim else [default] * ndim

    scale = [float(s) for s in per_axis("scale", 1.0)]
    if record is not None and record.scan_step is not None and ndim >= 4:
        # the layer shows the scan step a few ulps larger (reachable_step); save the exact one
        for axis, exact in zip((ndim - 4, ndim - 3), record.scan_step, strict=True):
            if exact > 0 and abs(scale[axis] - exact) <= 1e-12 * exact:
                scale[axis] = float(exact)
    translate = [float(t) for t in per_axis("translate", 0.0)]
    units = [_units(u) for u in per_axis("units", "")]
    labels = [str(a) for a in per_axis("axis_labels", "")]
    if isinstance(header, Mapping) and ndim >= 2:
        # our reader gives no translate; the header's ROI offsets are in the signal units
        for axis, key in ((ndim - 2, "offsety"), (ndim - 1, "offsetx")):
            if translate[axis] == 0 and key in header:
                translate[axis] = float(header[key])
    axes = [
        {
            "name": labels[i],
            "size": int(data.shape[i]),
            "scale": scale[i],
            "offset": translate[i],
            "units": units[i],
            "navigate": i < ndim - 2,
            "index_in_array": i,
        }
        for i in range(ndim)
    ]
    original: dict[str, Any] = {}
    if isinstance(header, Mapping):
        original["tvips_header"] = dict(header)
    if record is not None and ndim >= 2:
        original.update(_frame_headers(record, tuple(data.shape[:-2])))
    metadata = record.metadata if record is not None else None
    return {
        "data": data,
        "axes": axes,
        "metadata": copy.deepcopy(dict(metadata)) if isinstance(metadata, Mapping) else {},
        "original_metadata": original,
        "attributes": {"_lazy": not isinstance(data, np.ndarray)},
    }


def write_tvips(path: str, data: Any, attributes: dict[str, Any]) -> list[str]:
    """Write one image layer to ``path`` (``.tvips`` added when the name has no extension).

    Parameters
    ----------
    path : str
        Target file name; parts are written as ``<name>_000.tvips, _001 ...``.
    data : array-like
        The layer data (NumPy, dask or the reader's lazy frames).
    attributes : dict
        napari's layer attributes.

    Returns
    -------
    list of str
        The written parts.

    Raises
    ------
    OSError
        When the layer cannot be written (bad shape, unknown time zone, file system errors).
    TypeError
        When the pixel type is not an unsigned integer, or for RGB / multiscale layers.
    """
    if not os.path.splitext(os.path.basename(path))[1]:
        path = f"{path}.tvips"
    try:
        return file_writer(path, layer_signal(data, attributes), show_progressbar=False)
    except ValueError as exc:
        raise OSError(str(exc)) from exc
