"""The virtual bright-field (VBF) image that exports store as a navigator.

The detector is a disk around the bright (central) beam of the *output* patterns: its centre is
estimated on the recording (:func:`napari_tvips._virtual.estimate_centre`) and mapped through
the crop and binning; its radius is a tenth of the output pattern's smaller side, as the scan
widget's default bright-field disk. :class:`VirtualBrightField` sums that disk on each tile while
the exporter writes it, so the navigator costs no extra pass. No I/O beyond the few frames the
centre estimate reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._source import ExportSource
from ._transform import Transform
from ._virtual import Detector, estimate_centre

__all__ = ["VirtualBrightField", "to_uint8"]


@dataclass(frozen=True)
class VirtualBrightField:
    """Sums of a disk of output pixels, per pattern.

    Attributes
    ----------
    pixels : numpy.ndarray
        Flat indices of the disk's pixels in an output pattern.
    centre : tuple of float
        Disk centre in output pixels ``(y, x)``.
    radius : float
        Disk radius in output pixels.
    """

    pixels: np.ndarray
    centre: tuple[float, float]
    radius: float

    @classmethod
    def for_export(cls, source: ExportSource, transform: Transform) -> VirtualBrightField:
        """The disk for ``source``'s patterns after ``transform``."""
        shape = transform.frame_shape
        if source.frames is not None:
            cy, cx = estimate_centre(source.frames.series)
            b = transform.binning
            centre = (
                (cy - transform.box[0] - (b - 1) / 2) / b,
                (cx - transform.box[1] - (b - 1) / 2) / b,
            )
            if not (0 <= centre[0] < shape[0] and 0 <= centre[1] < shape[1]):
                centre = ((shape[0] - 1) / 2, (shape[1] - 1) / 2)
        else:
            centre = ((shape[0] - 1) / 2, (shape[1] - 1) / 2)
        detector = Detector.default(shape, centre)
        yy, xx = np.indices(shape, dtype=np.float64)
        inside = np.hypot(yy - detector.centre[0], xx - detector.centre[1]) <= detector.bf_radius
        if not inside.any():  # tiny patterns: at least the centre pixel
            inside[round(centre[0]), round(centre[1])] = True
        return cls(np.flatnonzero(inside), detector.centre, detector.bf_radius)

    def __call__(self, block: np.ndarray) -> np.ndarray:
        """The VBF values of a block ``tile shape + pattern shape`` (float64, tile shape)."""
        lead = block.shape[:-2]
        flat = block.reshape(-1, block.shape[-2] * block.shape[-1])
        return np.take(flat, self.pixels, axis=1).sum(axis=1, dtype=np.float64).reshape(lead)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """``image`` stretched from its minimum .. maximum to 0 .. 255 (zeros when flat)."""
    lo, hi = float(np.min(image)), float(np.max(image)) if image.size else (0.0, 0.0)
    if not image.size or hi <= lo:
        return np.zeros(image.shape, dtype=np.uint8)
    return np.floor((image - lo) / (hi - lo) * 255).astype(np.uint8)
