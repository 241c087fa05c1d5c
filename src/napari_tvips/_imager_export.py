"""Saving a virtual image (the navigator) as a calibrated TIFF (ImageJ / Fiji / tifffile).

:func:`write_navigator_tiff` writes one float32 ImageJ TIFF: the scan step as the resolution
(pixels per unit) and its unit in the ImageJ metadata (ASCII: micrometres are "micron"), so
the image opens at its true size; the detector and channel go to ImageJ's ``Info`` as JSON.
napari's own TIFF writer (``layer.save``) drops the scale, which is why the navigator saves
through here. The file is written to a temporary name and renamed over the target (no
half-written file is left). No Qt.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ._install import installing

__all__ = ["read_navigator_tiff", "write_navigator_tiff"]


def write_navigator_tiff(
    path: str | os.PathLike[str],
    image: np.ndarray,
    *,
    step: float | None = None,
    unit: str = "pixel",
    info: dict[str, Any] | None = None,
) -> list[str]:
    """Write a 2-D virtual image to ``path`` (``.tif`` appended when missing).

    Parameters
    ----------
    path : path-like
        Target file.
    image : numpy.ndarray
        ``(scan_y, scan_x)`` values (NaN where not computed is kept).
    step : float, optional
        Scan step in ``unit`` (``None`` or <= 0: not calibrated, one pixel per position).
    unit : str
        Unit of ``step``.
    info : dict, optional
        JSON-serialisable description (detector, channel), stored in ImageJ's ``Info``.

    Returns
    -------
    list of str
        The written path.

    Raises
    ------
    ValueError
        If ``image`` is not 2-D.
    """
    try:
        import tifffile
    except ImportError as exc:  # napari and napari-tvips[movie] bring it
        raise ImportError("saving a TIFF needs tifffile: pip install napari-tvips[movie]") from exc

    data = np.asarray(image, dtype=np.float32)
    if data.ndim != 2:
        raise ValueError(f"{os.fspath(path)}: a navigator image is 2-D, got shape {data.shape}")
    target = Path(os.fspath(path))
    if target.suffix.lower() not in (".tif", ".tiff"):
        target = target.with_name(target.name + ".tif")
    metadata: dict[str, Any] = {"axes": "YX", "Info": json.dumps(info or {})}
    resolution = None
    if step is not None and step > 0 and unit and unit != "pixel":
        metadata["unit"] = _imagej_unit(unit)
        resolution = (1.0 / float(step), 1.0 / float(step))
    with installing([target]) as (tmp,):
        tifffile.imwrite(tmp, data, imagej=True, metadata=metadata, resolution=resolution)
    return [str(target)]


def _imagej_unit(unit: str) -> str:
    """ImageJ's metadata is ASCII: micrometres are "micron" (as ImageJ writes them)."""
    unit = str(unit).strip()
    if unit in ("µm", "μm", "um", "micrometer", "micrometre"):
        return "micron"
    return unit.encode("ascii", "backslashreplace").decode("ascii")


def read_navigator_tiff(path: str | os.PathLike[str]) -> tuple[np.ndarray, float, str, dict]:
    """Read back what :func:`write_navigator_tiff` wrote: image, step, unit and info."""
    import tifffile

    with tifffile.TiffFile(os.fspath(path)) as tif:
        data = tif.asarray()
        meta = tif.imagej_metadata or {}
        tags = tif.pages[0].tags
        res = tags["YResolution"].value if "YResolution" in tags else (1, 1)
        step = float(res[1]) / float(res[0]) if res[0] else 1.0
    return data, step, str(meta.get("unit", "pixel")), json.loads(meta.get("Info", "{}") or "{}")
