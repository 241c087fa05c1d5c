"""Navigator channels of the scan model: which virtual detector a channel is, and its values.

The scan model keeps one :class:`~napari_tvips._imager.VirtualImager` per recording over *all*
frames (so a re-slice only re-indexes), and a :class:`DetectorState`: the BF disk and ADF ring
radii, the detector centre (``None`` = the beam centre the imager's pass used), a rectangle, a
point, the channel on the navigator and its display transform. :class:`ChannelValues` turns the
two into per-frame values: BF/ADF about the beam centre, the total and the centre of mass come
from the kept pass at once; off-centre disks and rings, rectangles and points need a pass of
their own (:meth:`ChannelValues.request` says which), after which they are cached by the imager.

No Qt, napari or file access here; the pass itself runs where the model runs it (a worker).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ._imager import VirtualImager

__all__ = ["CHANNELS", "DISPLAYS", "ChannelValues", "DetectorState", "display", "fill_coarse"]

#: Navigator channels: sums inside a detector, the total, and the centre of mass.
CHANNELS: tuple[str, ...] = (
    "bf",
    "adf",
    "rectangle",
    "point",
    "total",
    "com_x",
    "com_y",
    "com_mag",
)
#: Display transforms of the navigator image.
DISPLAYS: tuple[str, ...] = ("linear", "log", "sqrt")
#: Detector drawn on the pattern for each channel (``None``: only the centre).
SHAPE_OF: dict[str, str | None] = {
    "bf": "disk", "adf": "annulus", "rectangle": "rectangle", "point": "point",
    "total": None, "com_x": None, "com_y": None, "com_mag": None,
}  # fmt: skip


@dataclass(frozen=True)
class DetectorState:
    """The virtual detector and navigator settings (detector pixels, ``(y, x)`` order).

    Attributes
    ----------
    radii : tuple of float
        BF disk radius, ADF inner and outer radii.
    centre : tuple of float or None
        Centre of the disk and ring; ``None`` follows the beam centre.
    box : tuple of float or None
        Rectangle ``(y0, x0, y1, x1)``; ``None`` = the middle half of the frame.
    point : tuple of float or None
        Point detector; ``None`` = the beam centre.
    channel : str
        One of :data:`CHANNELS`.
    display : str
        One of :data:`DISPLAYS`.
    """

    radii: tuple[float, float, float] = (10.0, 20.0, 60.0)
    centre: tuple[float, float] | None = None
    box: tuple[float, float, float, float] | None = None
    point: tuple[float, float] | None = None
    channel: str = "bf"
    display: str = "linear"

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(f"unknown channel {self.channel!r}; use one of {', '.join(CHANNELS)}")
        if self.display not in DISPLAYS:
            raise ValueError(f"unknown display {self.display!r}; use one of {', '.join(DISPLAYS)}")

    def with_(self, **changes: Any) -> DetectorState:
        """A copy with ``changes`` (tuples normalised to floats)."""
        for key in ("radii", "centre", "box", "point"):
            if changes.get(key) is not None:
                changes[key] = tuple(float(v) for v in changes[key])
        return replace(self, **changes)


#: A detector centre this close to the beam centre (pixels) is the beam centre: the spin boxes
#: show two decimals, and rings act in whole pixels anyway.
CENTRE_TOLERANCE = 0.01


def same_centre(a: Sequence[float], b: Sequence[float]) -> bool:
    """Whether two centres are the same within :data:`CENTRE_TOLERANCE`."""
    return bool(np.allclose(a, b, rtol=0, atol=CENTRE_TOLERANCE))


def _default_box(shape: Sequence[int]) -> tuple[float, float, float, float]:
    h, w = shape
    return (h / 4, w / 4, 3 * h / 4, 3 * w / 4)


class ChannelValues:
    """Per-frame values of a channel from an imager over every frame of the recording.

    Parameters
    ----------
    imager : VirtualImager
        Built with ``index_map=None`` (every frame).
    state : DetectorState
        The detector and channel.
    """

    def __init__(self, imager: VirtualImager, state: DetectorState) -> None:
        self.imager: VirtualImager = imager
        self.state: DetectorState = state

    # per-frame progress surface used by the scan model and the widget ---------------------------
    @property
    def n_frames(self) -> int:
        """Frames covered (the whole recording)."""
        return int(self.imager.frames.size)

    @property
    def done(self) -> int:
        """Frames through the first pass."""
        return int(self.imager.done.sum())

    @property
    def complete(self) -> bool:
        """Whether the first pass is complete and the channel needs no pass of its own."""
        return self.imager.complete and self.request(self.state.channel) is None

    def image(self, name: str, index_map: np.ndarray) -> np.ndarray:
        """Values of channel ``name`` arranged by ``index_map`` (NaN = not computed)."""
        return self.channel(name)[index_map]

    # channels -------------------------------------------------------------------------------
    def beam_centre(self) -> tuple[float, float]:
        """The centre of the imager's rings."""
        return self.imager.centre

    def geometry(self, name: str) -> tuple[str, dict[str, Any]] | None:
        """``(kind, parameters)`` of the detector of channel ``name`` (``None``: no detector)."""
        s = self.state
        centre = self.imager.centre
        if s.centre is not None and not same_centre(s.centre, centre):
            centre = s.centre
        if name == "bf":
            return "disk", {"radius": s.radii[0], "centre": centre}
        if name == "adf":
            return "annulus", {"inner": s.radii[1], "outer": s.radii[2], "centre": centre}
        if name == "rectangle":
            box = s.box if s.box is not None else _default_box(self.imager.series.frame_shape)
            return "rectangle", {"box": box}
        if name == "point":
            return "point", {"at": s.point if s.point is not None else self.imager.centre}
        return None

    def request(self, name: str) -> tuple[str, dict[str, Any]] | None:
        """The detector pass channel ``name`` still needs (``None``: its values are at hand)."""
        geom = self.geometry(name)
        if geom is None:
            return None
        kind, params = geom
        if kind in ("disk", "annulus") and tuple(params["centre"]) == self.imager.centre:
            return None
        return None if self.imager.cached(kind, **params) is not None else geom

    def streaming(self, name: str) -> bool:
        """Whether channel ``name`` shows a detector pass still running (partial values)."""
        geom = self.geometry(name)
        if geom is None or self.request(name) is None:
            return False
        return self.imager.partial(geom[0], **geom[1]) is not None

    def channel(self, name: str) -> np.ndarray:
        """Per-frame float64 values of channel ``name`` (NaN where not computed yet)."""
        imager = self.imager
        if name == "total":
            return imager.total()
        if name in ("com_x", "com_y", "com_mag"):
            cy, cx = imager.com()
            return {"com_y": cy, "com_x": cx, "com_mag": np.hypot(cy, cx)}[name]
        if name not in CHANNELS:
            raise ValueError(f"unknown channel {name!r}; use one of {', '.join(CHANNELS)}")
        kind, params = self.geometry(name)  # type: ignore[misc]
        if kind in ("disk", "annulus") and tuple(params["centre"]) == imager.centre:
            return imager.image(kind, **params)
        for found in (imager.cached(kind, **params), imager.partial(kind, **params)):
            if found is not None:
                return found
        return np.full(imager.nav_shape, np.nan)


def display(image: np.ndarray, mode: str) -> np.ndarray:
    """The navigator image under a display transform (``log``: ``log1p`` of the non-negative)."""
    if mode == "log":
        return np.log1p(np.clip(image, 0, None))
    if mode == "sqrt":
        return np.sqrt(np.clip(image, 0, None))
    return image


def fill_coarse(image: np.ndarray) -> np.ndarray:
    """A preview of a partly computed image: each NaN takes the value of a computed grid point.

    A pass in :func:`~napari_tvips._imager.coarse_to_fine` order computes every ``s``-th row
    and column first; a position not done yet shows the value at the top-left corner of its
    finest complete ``s`` x ``s`` cell (so the preview is blocky, never shifted). Works on the
    last two axes; computed values are unchanged.
    """
    out = np.array(image, dtype=np.float64)
    if out.ndim < 2:
        return out
    ny, nx = out.shape[-2:]
    ii, jj = np.indices((ny, nx))
    s = 2
    while np.isnan(out).any() and s < 2 * max(ny, nx):
        src = out[..., (ii // s) * s, (jj // s) * s]
        holes = np.isnan(out)
        out[holes] = src[holes]
        s *= 2
    return out
