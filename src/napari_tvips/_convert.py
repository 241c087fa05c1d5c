"""``napari_tvips.convert``: one call from a recording (or a signal dict) to an analysis format.

The destination's extension picks the exporter from :data:`EXPORTERS` (``.zspy``, ``.blo``,
``.tvips`` here; other modules add theirs with :func:`register_exporter`). This module resolves
the source (a path read through :func:`~napari_tvips.file_reader` with the scan arguments, or a
RosettaSciIO signal dict), builds the :class:`~napari_tvips._transform.Transform` (crop, binning,
intensity scaling; a ``"minmax"`` range is measured in a first streaming pass), applies the scan
calibration given as arguments, sets up the progress bar, and hands over. Exporters stream: they
read blocks of frames in scan order and never hold more than a few.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from ._source import ExportSource, nav_chunks, run_tiles, tile_size, tiles
from ._transform import Transform

__all__ = ["EXPORTERS", "Exporter", "convert", "known_extensions", "register_exporter"]

logger = logging.getLogger(__name__)

Progress = Callable[[int], None]
#: Input bytes read at once when the .tvips writer asks a transformed array for a block.
_READ_BYTES = 16 << 20


class Exporter(Protocol):
    """Writes an export source through a transform; returns the written paths."""

    def __call__(
        self,
        source: ExportSource,
        destination: str,
        *,
        transform: Transform,
        progress: Progress | None = None,
        **options: Any,
    ) -> list[str]:
        """Write ``source`` to ``destination``."""


#: Exporters by lower-case extension (with the dot).
EXPORTERS: dict[str, Exporter] = {}


def register_exporter(extensions: str | Sequence[str], exporter: Exporter) -> None:
    """Make ``convert`` write ``extensions`` (e.g. ``".tif"`` or ``[".tif", ".tiff"]``)."""
    for ext in [extensions] if isinstance(extensions, str) else extensions:
        ext = ext.lower() if ext.startswith(".") else f".{ext.lower()}"
        EXPORTERS[ext] = exporter


def known_extensions() -> list[str]:
    """The extensions ``convert`` writes, sorted."""
    return sorted(EXPORTERS)


def exporter_for(destination: str) -> Exporter:
    """The exporter for ``destination``'s extension.

    Raises
    ------
    ValueError
        For an unknown extension; the message lists the known ones.
    """
    ext = os.path.splitext(os.path.basename(destination.rstrip("/\\")))[1].lower()
    if ext not in EXPORTERS:
        known = ", ".join(known_extensions())
        raise ValueError(
            f"{destination}: cannot export to {ext or 'a name without extension'!r}; "
            f"known extensions: {known}"
        )
    return EXPORTERS[ext]


# -- the .tvips exporter (through the .tvips writer) -------------------------------------------
class TransformedArray:
    """A lazy array-like of ``source``'s frames after ``transform`` (for the .tvips writer).

    A request is read in sub-tiles of at most :data:`_READ_BYTES` of input, so a binned export
    never holds more than that of the source at once, whatever block size the writer asks for.
    ``progress(n)`` is called after every ``n`` frames read (from the writer's reading thread).
    """

    def __init__(
        self, source: ExportSource, transform: Transform, progress: Progress | None = None
    ) -> None:
        self._read = source.reader(transform)
        self._progress = progress
        self._frame_bytes = int(np.prod(source.frame_shape)) * source.dtype.itemsize
        self.shape: tuple[int, ...] = source.nav_shape + transform.frame_shape
        self.dtype: np.dtype = transform.dtype
        self.ndim: int = len(self.shape)

    def __getitem__(self, key: Any) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        nnav = self.ndim - 2
        nav, sig = key[:nnav], key[nnav:]
        region = [k if isinstance(k, slice) else slice(int(k), int(k) + 1) for k in nav] + [
            slice(None)
        ] * (nnav - len(nav))
        region = [slice(*r.indices(n)) for r, n in zip(region, self.shape[:nnav], strict=True)]
        if any(r.step != 1 for r in region):
            raise IndexError("TransformedArray supports unit-step slices of the scan only")
        sub_shape = tuple(r.stop - r.start for r in region)
        out = np.empty(sub_shape + self.shape[nnav:], dtype=self.dtype)
        for sub in tiles(
            sub_shape, nav_chunks(sub_shape, self._frame_bytes, _READ_BYTES, square=False)
        ):
            src = tuple(
                slice(r.start + s.start, r.start + s.stop) for r, s in zip(region, sub, strict=True)
            )
            out[sub] = self._read(src)
            if self._progress is not None:
                self._progress(tile_size(sub))
        drop = tuple(0 if not isinstance(k, slice) else slice(None) for k in nav)
        return out[(*drop, *sig)]


def write_tvips(
    source: ExportSource,
    destination: str,
    *,
    transform: Transform,
    progress: Progress | None = None,
) -> list[str]:
    """Write a TVIPS recording through :func:`napari_tvips.file_writer` (headers kept)."""
    from ._writer import file_writer

    om = dict(source.original_metadata)
    if source.frames is not None and "frame_index" not in om:
        om["frame_index"] = source.frames.index_map.reshape(-1)
    signal = {
        "data": TransformedArray(source, transform, progress),
        "axes": source.output_axes(transform),
        "metadata": source.metadata,
        "original_metadata": om,
        "attributes": {"_lazy": True},
    }
    return file_writer(destination, signal, show_progressbar=False)


def _write_zspy(source: ExportSource, destination: str, **kwargs: Any) -> list[str]:
    from ._zspy import write_zspy

    return write_zspy(source, destination, **kwargs)


def _write_blo(source: ExportSource, destination: str, **kwargs: Any) -> list[str]:
    from ._blo import write_blo

    return write_blo(source, destination, **kwargs)


register_exporter(".zspy", _write_zspy)
register_exporter(".blo", _write_blo)
register_exporter(".tvips", write_tvips)


# -- sources and calibration -------------------------------------------------------------------
def resolve_source(
    source: Any,
    *,
    scan_shape: Any = None,
    scan_start_frame: int = 0,
    winding_scan_axis: Any = None,
    hysteresis: int = 0,
) -> ExportSource:
    """An :class:`ExportSource` from a path of a recording or a signal dict."""
    if isinstance(source, ExportSource):
        return source
    if isinstance(source, Mapping):
        return ExportSource.from_signal(source)
    if isinstance(source, (str, os.PathLike)):
        from ._api import read_series
        from ._series import Series

        series = Series(source)  # opened once: its calibration, then its frames
        if scan_shape is None:
            saved = series.calibration
            if saved is not None and saved.scan_shape is not None:
                scan_shape = "auto"  # a scan napari-tvips saved: its shape, step and unit
        [signal] = read_series(
            series,
            lazy=True,
            scan_shape=scan_shape,
            scan_start_frame=scan_start_frame,
            winding_scan_axis=winding_scan_axis,
            hysteresis=hysteresis,
        )
        return ExportSource.from_signal(signal)
    raise TypeError(
        f"convert needs a path of a recording or a signal dict from file_reader, not "
        f"{type(source).__name__}"
    )


def calibrate(source: ExportSource, scan_step: Any, scan_unit: str | None) -> ExportSource:
    """Set the scan axes' step (one value, or ``(y, x)``) and unit."""
    nav = [i for i, ax in enumerate(source.axes) if ax.get("navigate")]
    if scan_step is None:
        if scan_unit:
            for i in nav[-2:]:
                source.axes[i]["units"] = scan_unit
        return source
    try:
        steps = [float(scan_step)] * 2 if np.ndim(scan_step) == 0 else [float(s) for s in scan_step]
    except (TypeError, ValueError):
        steps = []
    if len(steps) != 2 or not all(np.isfinite(s) and s > 0 for s in steps):
        raise ValueError(f"scan_step {scan_step!r} is not one or two positive numbers")
    for i, step in zip(nav[-2:], steps[-len(nav[-2:]) :] if nav else [], strict=False):
        source.axes[i]["scale"] = step
        source.axes[i]["units"] = scan_unit or source.axes[i].get("units") or "nm"
    return source


def measure_range(
    source: ExportSource, transform: Transform, progress: Progress | None = None
) -> Transform:
    """The ``"minmax"`` transform with the data range found in one streaming pass."""
    crop_bin = Transform(transform.in_shape, transform.in_dtype, transform.box, transform.binning)
    reader = source.reader(crop_bin)
    frame_bytes = int(np.prod(source.frame_shape)) * source.dtype.itemsize
    keys = list(
        tiles(source.nav_shape, nav_chunks(source.nav_shape, frame_bytes, 16 << 20, square=False))
    )

    def work(key: tuple[slice, ...]) -> tuple[float, float]:
        block = reader(key)
        return float(block.min()), float(block.max())

    ranges = run_tiles(work, keys, progress=progress)
    low = min(r[0] for r in ranges)
    high = max(r[1] for r in ranges)
    logger.debug("intensity range of the data: %g .. %g", low, high)
    return transform.with_range(low, high)


def convert(
    source: str | os.PathLike[str] | Mapping[str, Any],
    destination: str | os.PathLike[str],
    *,
    scan_shape: Any = None,
    scan_start_frame: int = 0,
    winding_scan_axis: str | int | None = None,
    hysteresis: int = 0,
    binning: int = 1,
    crop: str | Sequence[int] | None = None,
    intensity_scaling: str | tuple[float, float] | None = None,
    scan_step: float | Sequence[float] | None = None,
    scan_unit: str | None = None,
    show_progressbar: bool = True,
    progress: Progress | None = None,
    **options: Any,
) -> list[str]:
    """Convert a TVIPS recording (or a signal dict) to the format of ``destination``.

    Parameters
    ----------
    source : str, os.PathLike or dict
        Any part of a recording, or a signal dict from :func:`napari_tvips.file_reader` (or
        any RosettaSciIO-style dict of 2-D frames).
    destination : str or os.PathLike
        Output path; its extension picks the format (:func:`known_extensions`: ``.zspy``
        HyperSpy/pyxem, ``.blo`` ASTAR blockfile, ``.tvips``; others may be registered).
    scan_shape, scan_start_frame, winding_scan_axis, hysteresis
        Scan arguments as in :func:`napari_tvips.file_reader` (path sources only). A recording
        napari-tvips saved as a scan opens as that scan, calibrated, without them.
    binning : int
        Side of the square block of pattern pixels averaged into one (integer mean, rounded,
        in the data's dtype); trailing rows/columns that do not fill a block are dropped.
    crop : "square", (y0, x0, y1, x1) or None
        Pattern box to keep, applied before binning; ``"square"`` is the centred square.
    intensity_scaling : None, "dtype", "minmax", "crop" or (low, high)
        8-bit scaling as RosettaSciIO's blockfile writer names it: ``"dtype"`` keeps the top 8
        bits (``x // 256`` for uint16), ``"minmax"`` stretches the data's global range (found
        in a first pass), ``"crop"`` clips to 0 .. 255, a pair is clipped and stretched.
    scan_step : float or (float, float), optional
        Scan step (``y, x``) when the source does not record it.
    scan_unit : str, optional
        Unit of the scan step (default ``"nm"`` when a step is given).
    show_progressbar : bool
        Show a tqdm progress bar (frames).
    progress : callable, optional
        ``progress(n)`` after every ``n`` frames written (for GUIs).
    **options
        Passed to the exporter (formats registered by other modules take more options).

    Returns
    -------
    list of str
        The written paths.

    Raises
    ------
    ValueError
        Unknown extension (the message lists the known ones), bad scan arguments, crop box,
        binning or scaling, patterns that the format cannot hold (non-square ``.blo``).
    TypeError
        Data types the format cannot hold (float data to ``.blo`` without scaling).
    OSError
        When reading or writing fails; nothing partial is left at ``destination``.
    """
    destination = os.fspath(destination)
    exporter = exporter_for(destination)
    src = resolve_source(
        source,
        scan_shape=scan_shape,
        scan_start_frame=scan_start_frame,
        winding_scan_axis=winding_scan_axis,
        hysteresis=hysteresis,
    )
    src = calibrate(src, scan_step, scan_unit)
    transform = Transform.build(
        src.frame_shape, src.dtype, crop=crop, binning=binning, intensity_scaling=intensity_scaling
    )
    passes = 2 if transform.needs_range else 1
    bar: Any = None

    def report(n: int) -> None:
        nonlocal bar
        if bar is None and show_progressbar:  # created at the first frame: refusals print none
            from tqdm import tqdm

            name = os.path.basename(destination.rstrip("/"))
            bar = tqdm(total=src.n_frames * passes, unit="frame", desc=f"Exporting {name}")
        if bar is not None:
            bar.update(n)
        if progress is not None:
            progress(n)

    try:
        if transform.needs_range:
            transform = measure_range(src, transform, report)
        return exporter(src, destination, transform=transform, progress=report, **options)
    finally:
        if bar is not None:
            bar.close()


def _write_movie(source: ExportSource, destination: str, **kwargs: Any) -> list[str]:
    from ._movie_export import convert_movie

    return convert_movie(source, destination, **kwargs)


register_exporter((".tif", ".tiff", ".mp4"), _write_movie)
