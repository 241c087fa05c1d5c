"""Pattern transforms for export: crop, integer binning and 8-bit intensity scaling.

A :class:`Transform` is resolved once for a frame shape and dtype (the crop box, the binning and
the scaling range are checked there, with messages naming the value) and then applied to blocks
of frames ``(..., dimy, dimx)``, in this order: crop, bin, scale. It also says what the output
frames are (:meth:`Transform.frame_shape`, :meth:`Transform.dtype`) and how the signal axes'
calibration changes (:meth:`Transform.signal_axis`). Exporters stream blocks through it, so
nothing here holds more than the block it is given. No I/O, no napari.

Scaling modes are those of RosettaSciIO's blockfile writer: ``None`` (no change), ``"dtype"``
(the top 8 bits: ``x // 256`` for uint16), ``"minmax"`` (the data's global minimum .. maximum to
0 .. 255; the range is found by a pass before writing), ``"crop"`` (clip to 0 .. 255) or an
explicit ``(low, high)`` range (clipped, then stretched to 0 .. 255). Stretched values are
floored, as ``skimage.exposure.rescale_intensity`` casts them.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Union

import numpy as np

__all__ = ["SCALING_MODES", "Scaling", "Transform", "parse_crop", "parse_scaling"]

logger = logging.getLogger(__name__)

#: Named intensity scaling modes (besides ``None`` and a ``(low, high)`` pair).
SCALING_MODES = ("dtype", "minmax", "crop")
Scaling = Union[str, tuple[float, float], None]  # noqa: UP007 (runtime alias on Python 3.10)
#: Integer inputs up to this many bits are scaled through a lookup table (exact and fast).
_LUT_MAX_BITS = 16


def parse_crop(crop: Any, frame_shape: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """The crop box ``(y0, x0, y1, x1)`` for ``crop`` (a box, ``"square"`` or ``None``).

    ``"square"`` is the centred square of side ``min(dimy, dimx)``.

    Raises
    ------
    ValueError
        If the box is not four integers inside the frame with ``y0 < y1`` and ``x0 < x1``.
    """
    dimy, dimx = frame_shape
    if crop is None:
        return None
    if isinstance(crop, str):
        if crop != "square":
            raise ValueError(f"crop {crop!r} is not known: use 'square' or (y0, x0, y1, x1)")
        side = min(dimy, dimx)
        y0, x0 = (dimy - side) // 2, (dimx - side) // 2
        return y0, x0, y0 + side, x0 + side
    try:
        box = tuple(int(v) for v in crop)
        exact = all(float(v) == int(v) for v in crop)
    except (TypeError, ValueError):
        raise ValueError(f"crop {crop!r} is not (y0, x0, y1, x1) of integers") from None
    if len(box) != 4 or not exact:
        raise ValueError(f"crop {crop!r} is not (y0, x0, y1, x1) of integers")
    y0, x0, y1, x1 = box
    if not (0 <= y0 < y1 <= dimy and 0 <= x0 < x1 <= dimx):
        raise ValueError(
            f"crop {box} is not a box inside the {dimy} x {dimx} pattern: need "
            f"0 <= y0 < y1 <= {dimy} and 0 <= x0 < x1 <= {dimx}"
        )
    return y0, x0, y1, x1


def parse_scaling(scaling: Any) -> Scaling:
    """Check an ``intensity_scaling`` argument; a pair becomes ``(float, float)``."""
    if scaling is None or (isinstance(scaling, str) and scaling in SCALING_MODES):
        return scaling
    if not isinstance(scaling, str):
        try:
            low, high = (float(v) for v in scaling)
        except (TypeError, ValueError):
            low = high = math.nan
        if math.isfinite(low) and math.isfinite(high) and high > low:
            return (low, high)
    raise ValueError(
        f"intensity_scaling {scaling!r} is not known: use None, 'dtype', 'minmax', 'crop' or a "
        "(low, high) pair with low < high"
    )


@dataclass(frozen=True)
class Transform:
    """Crop, bin and scale patterns of one input frame shape and dtype.

    Build it with :meth:`build`; apply it with :meth:`apply`.

    Attributes
    ----------
    in_shape : tuple of int
        Input frame shape ``(dimy, dimx)``.
    in_dtype : numpy.dtype
        Input pixel dtype.
    box : tuple of int
        Crop box ``(y0, x0, y1, x1)`` (the whole frame when not cropping).
    binning : int
        Side of the square block averaged into one output pixel.
    scaling : None, str or tuple
        Intensity scaling (see the module docstring).
    in_range : tuple of float or None
        ``(low, high)`` mapped to 0 .. 255 (``None`` for no scaling, ``"dtype"``, ``"crop"``, and
        for ``"minmax"`` until :meth:`with_range` sets it).
    """

    in_shape: tuple[int, int]
    in_dtype: np.dtype
    box: tuple[int, int, int, int]
    binning: int = 1
    scaling: Scaling = None
    in_range: tuple[float, float] | None = None

    @classmethod
    def build(
        cls,
        frame_shape: Sequence[int],
        dtype: Any,
        *,
        crop: Any = None,
        binning: Any = 1,
        intensity_scaling: Any = None,
    ) -> Transform:
        """Resolve and check the arguments for frames of ``frame_shape`` and ``dtype``.

        Raises
        ------
        ValueError
            For a crop box outside the frame, a binning that is not a positive integer no
            larger than the (cropped) frame, or an unknown scaling.
        TypeError
            For ``"dtype"`` scaling of data that is not an unsigned or signed integer.
        """
        shape = (int(frame_shape[0]), int(frame_shape[1]))
        dtype = np.dtype(dtype)
        box = parse_crop(crop, shape) or (0, 0, shape[0], shape[1])
        if isinstance(binning, bool) or not isinstance(binning, (int, np.integer)):
            raise ValueError(f"binning {binning!r} is not a positive integer")
        b = int(binning)
        side = min(box[2] - box[0], box[3] - box[1])
        if not 1 <= b <= side:
            raise ValueError(f"binning {b} must be between 1 and the pattern side {side}")
        scaling = parse_scaling(intensity_scaling)
        if scaling == "dtype" and dtype.kind not in "ui":
            raise TypeError(f"intensity_scaling 'dtype' needs integer data, not {dtype}")
        in_range = scaling if isinstance(scaling, tuple) else None
        if scaling == "crop":
            in_range = (0.0, 255.0)
        out = cls(shape, dtype, box, b, scaling, in_range)
        height, width = box[2] - box[0], box[3] - box[1]
        if height % b or width % b:
            logger.warning(
                "binning %d does not divide the %d x %d pattern: the last %d row(s) and %d "
                "column(s) are dropped",
                b,
                height,
                width,
                height % b,
                width % b,
            )
        return out

    # -- what comes out ------------------------------------------------------------------------
    @property
    def is_identity(self) -> bool:
        """Whether :meth:`apply` returns its input unchanged."""
        full = self.box == (0, 0, *self.in_shape)
        return full and self.binning == 1 and self.scaling is None

    @property
    def needs_range(self) -> bool:
        """Whether the data's range must be measured first (``"minmax"``)."""
        return self.scaling == "minmax" and self.in_range is None

    def with_range(self, low: float, high: float) -> Transform:
        """A copy with the ``"minmax"`` range measured from the data."""
        return replace(self, in_range=(float(low), float(high)))

    @property
    def frame_shape(self) -> tuple[int, int]:
        """Output frame shape."""
        y0, x0, y1, x1 = self.box
        return (y1 - y0) // self.binning, (x1 - x0) // self.binning

    @property
    def dtype(self) -> np.dtype:
        """Output pixel dtype (uint8 when scaling)."""
        return np.dtype(np.uint8) if self.scaling is not None else self.in_dtype

    def signal_axis(self, axis: Mapping[str, Any], which: int) -> dict[str, Any]:
        """The calibration of signal axis ``which`` (0 = y, 1 = x) after crop and binning.

        The offset moves to the centre of the first output pixel: ``offset + scale * (start +
        (binning - 1) / 2)``; the scale grows by the binning.
        """
        out = dict(axis)
        scale = float(axis.get("scale", 1.0) or 1.0)
        offset = float(axis.get("offset", 0.0) or 0.0)
        start = self.box[which]
        out["scale"] = scale * self.binning
        out["offset"] = offset + scale * (start + (self.binning - 1) / 2)
        out["size"] = self.frame_shape[which]
        return out

    # -- applying ------------------------------------------------------------------------------
    def crop_bin(self, block: np.ndarray) -> np.ndarray:
        """Crop and bin a block ``(..., dimy, dimx)`` (no scaling); a view when possible."""
        y0, x0 = self.box[:2]
        b = self.binning
        h, w = self.frame_shape
        out = block[..., y0 : y0 + h * b, x0 : x0 + w * b]
        if b == 1:
            return out
        n = b * b
        kind, bits = self.in_dtype.kind, self.in_dtype.itemsize * 8
        if kind == "u":
            # the sum of n values fits 32 bits when bits + log2(n) <= 32: half the traffic of 64
            acc_type: Any = np.uint32 if bits + math.ceil(math.log2(n)) <= 32 else np.uint64
        else:
            acc_type = np.int64 if kind == "i" else np.float64
        # b * b strided adds into one accumulator of the output's shape (no reshaped copies)
        acc = out[..., 0::b, 0::b].astype(acc_type)
        for dy in range(b):
            for dx in range(b):
                if dy or dx:
                    acc += out[..., dy::b, dx::b]
        if kind in "ui":
            # integer mean rounded half up: (sum + n // 2) // n, always within the dtype
            acc += acc_type(n // 2)
            acc //= acc_type(n)
        else:
            acc /= n
        return acc.astype(self.in_dtype)

    def scale(self, block: np.ndarray) -> np.ndarray:
        """Apply the intensity scaling to a (cropped, binned) block."""
        if self.scaling is None:
            return block
        if self.scaling == "dtype":
            shift = 8 * (self.in_dtype.itemsize - 1)
            if self.in_dtype.kind == "i":
                block = np.clip(block, 0, None)
            return (block >> shift).astype(np.uint8) if shift else block.astype(np.uint8)
        if self.in_range is None:
            raise RuntimeError("'minmax' scaling needs the data range first (with_range)")
        if self.in_dtype.kind in "ui" and self.in_dtype.itemsize * 8 <= _LUT_MAX_BITS:
            info = np.iinfo(self.in_dtype)
            lut = self._stretch(np.arange(info.min, info.max + 1, dtype=np.float64))
            return lut[block.astype(np.int64) - info.min if info.min else block]
        return self._stretch(block.astype(np.float64, copy=False))

    def _stretch(self, values: np.ndarray) -> np.ndarray:
        """``floor((clip(x, low, high) - low) / (high - low) * 255)`` as uint8."""
        assert self.in_range is not None
        low, high = self.in_range
        if high <= low:
            return (values > low).astype(np.uint8) * np.uint8(255)
        out = np.clip(values, low, high)
        out -= low
        out /= high - low  # skimage's order of operations, for the same floors
        out *= 255.0
        np.floor(out, out=out)
        return out.astype(np.uint8)

    def apply(self, block: np.ndarray) -> np.ndarray:
        """Crop, bin and scale a block of frames ``(..., dimy, dimx)``."""
        if self.is_identity:
            return block
        return self.scale(self.crop_bin(block))
