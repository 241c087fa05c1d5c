"""The typed record a napari layer carries about its TVIPS recording.

:class:`TvipsRecord` is what the reader, the "TVIPS scan" widget and the napari writer share about
a layer (stored as ``layer.metadata["tvips"]``): the recording, how the layer's navigation maps to
its frames, and the calibration shown. It is built by :mod:`napari_tvips._napari._layers` and read
back through :func:`record_of` only, never by string keys.

This module holds data, not logic: it reads no file and imports no Qt or napari.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ._scan import ScanLayout
from ._series import Series

__all__ = ["KEY", "LayoutSource", "TvipsRecord", "record_of"]

#: The key of the record in ``layer.metadata``.
KEY = "tvips"

LayoutSource = Literal["stack", "manual", "headers"]


@dataclass(frozen=True, eq=False)
class TvipsRecord:
    """What a layer shows of a TVIPS recording.

    Attributes
    ----------
    series : Series
        The recording on disk.
    index_map : numpy.ndarray
        Frame index of every navigation position of the layer (its navigation shape).
    layout : ScanLayout or None
        The regular layout that made ``index_map``, or ``None`` for a header index map.
    layout_source : {"stack", "manual", "headers"}
        The plain frame stack, a layout set by hand, or an index map from frame headers.
    header : dict
        The main header fields.
    frame_headers : Mapping
        Every frame header field (read lazily on first access).
    metadata : dict
        RosettaSciIO-style metadata (``General``, ``Acquisition_instrument``, ...).
    scan_step : tuple of float or None
        Scan step ``(y, x)`` of the navigation's scan axes, when known.
    scan_unit : str or None
        Unit of ``scan_step``.
    signal_scale : tuple of float or None
        Pixel size ``(ky, kx)`` of the frames, when known.
    signal_unit : str or None
        Unit of ``signal_scale`` (``"nm"``, ``"1/nm"``, ...).
    start_time : float or None
        POSIX time of the first frame.
    """

    series: Series
    index_map: np.ndarray
    layout: ScanLayout | None = None
    layout_source: LayoutSource = "stack"
    header: dict[str, Any] = field(default_factory=dict)
    frame_headers: Mapping[str, np.ndarray] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    scan_step: tuple[float, float] | None = None
    scan_unit: str | None = None
    signal_scale: tuple[float, float] | None = None
    signal_unit: str | None = None
    start_time: float | None = None

    @property
    def paths(self) -> list[str]:
        """Paths of the recording's parts."""
        return self.series.paths

    @property
    def is_scan(self) -> bool:
        """Whether the layer's navigation is a scan (at least two navigation axes)."""
        return self.layout_source != "stack" and np.ndim(self.index_map) >= 2

    def replace(self, **changes: Any) -> TvipsRecord:
        """A copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)


def record_of(layer_or_metadata: Any) -> TvipsRecord | None:
    """The :class:`TvipsRecord` of a napari layer, or of its ``metadata`` mapping.

    Parameters
    ----------
    layer_or_metadata : napari layer, Mapping or TvipsRecord
        A layer (anything with a ``metadata`` mapping), a layer's metadata, napari's layer
        attributes (a mapping with ``"metadata"``) or a record.

    Returns
    -------
    TvipsRecord or None
        ``None`` when the layer does not show a TVIPS recording.
    """
    obj = layer_or_metadata
    if isinstance(obj, TvipsRecord):
        return obj
    meta = getattr(obj, "metadata", obj)
    if not isinstance(meta, Mapping):
        return None
    value = meta.get(KEY)
    if value is None and isinstance(meta.get("metadata"), Mapping):  # napari's attributes
        value = meta["metadata"].get(KEY)
    return value if isinstance(value, TvipsRecord) else None
