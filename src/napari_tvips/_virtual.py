"""Virtual detector geometry and the beam-centre estimate shared by the imager and navigator.

:class:`Detector` holds a bright-field disk and an annular dark-field ring about a centre;
:func:`estimate_centre` finds the bright disk in the mean of a few frames. The per-frame values
themselves come from :class:`~napari_tvips._imager.VirtualImager` (one pass, then any radius).

This module must not import Qt, napari or magicgui, and never modifies the recording.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._series import Series

__all__ = ["Detector", "estimate_centre"]


@dataclass(frozen=True)
class Detector:
    """Virtual detector geometry in detector pixels.

    Parameters
    ----------
    centre : tuple of float
        ``(y, x)`` of the pattern centre.
    bf_radius : float
        Radius of the bright-field disk.
    adf_inner, adf_outer : float
        Radii of the annular dark-field ring (inner inclusive, outer exclusive).
    """

    centre: tuple[float, float]
    bf_radius: float
    adf_inner: float
    adf_outer: float

    @classmethod
    def default(
        cls, frame_shape: tuple[int, int], centre: tuple[float, float] | None = None
    ) -> Detector:
        """Radii scaled to the frame: BF 1/10 of the smaller side, ADF from 1/6 to 1/2."""
        side = float(min(frame_shape))
        c = centre if centre is not None else ((frame_shape[0] - 1) / 2, (frame_shape[1] - 1) / 2)
        return cls((float(c[0]), float(c[1])), side / 10, side / 6, side / 2)


def estimate_centre(
    series: Series, n: int = 8, frames: np.ndarray | None = None
) -> tuple[float, float]:
    """Pattern centre from the mean of ``n`` frames spread over the recording (or ``frames``).

    The centre of mass of the pixels above the midpoint between the mean frame's median and
    maximum (the bright disk); the frame centre when the mean frame is flat.
    """
    dimy, dimx = series.frame_shape
    pool = np.arange(series.n_frames) if frames is None else np.asarray(frames).reshape(-1)
    picks = np.unique(pool[np.linspace(0, pool.size - 1, min(n, pool.size)).astype(int)])
    mean = series.read_frames(picks).mean(axis=0, dtype=np.float64)
    lo, hi = float(np.median(mean)), float(mean.max())
    if hi <= lo:
        return (dimy - 1) / 2, (dimx - 1) / 2
    weight = np.clip(mean - (lo + hi) / 2, 0, None)
    total = weight.sum()
    yy, xx = np.indices(mean.shape)
    return float((weight * yy).sum() / total), float((weight * xx).sum() / total)
