"""Suggestions for scan parameters: header evidence first, then the per-frame trace.

Each function returns a :class:`Suggestion` (or ``None``) with the evidence it used, for the
widget to show and the user to accept. Header evidence (``rotidx``, EM-Scan ``scan_x``/``scan_y``
via :func:`napari_tvips._scan.auto_layout`) is exact; the trace-based guesses (row period from the
autocorrelation, start frame from a level change, hysteresis from row alignment) are heuristics.

This module must not import Qt, napari or magicgui, must not read pixels (it works on headers and
per-frame values given to it) and never applies anything itself.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ._scan import HeaderScan, ScanLayout, apply_winding, header_scan

__all__ = [
    "Suggestion",
    "suggest_from_headers",
    "suggest_hysteresis",
    "suggest_hysteresis_map",
    "suggest_layout",
    "suggest_row_width",
    "suggest_start",
    "suggest_winding",
    "suggest_winding_map",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Suggestion:
    """Suggested scan parameters; ``None`` fields are not suggested.

    Attributes
    ----------
    shape : tuple of int or None
        ``(scan_y, scan_x)``.
    start : int or None
        First scan frame.
    winding : str or None
        ``"none"``, ``"x"`` or ``"y"`` when suggested.
    hysteresis : int or None
        Shift of the reversed rows.
    reasons : tuple of str
        One sentence of evidence per suggested value.
    header_scan : HeaderScan or None
        The scan found in the frame headers: accepting uses its index map (repeated frames
        skipped, missing positions filled), not a regular layout.
    """

    shape: tuple[int, ...] | None = None
    start: int | None = None
    winding: str | None = None
    hysteresis: int | None = None
    reasons: tuple[str, ...] = field(default_factory=tuple)
    header_scan: HeaderScan | None = None

    def merged(self, other: Suggestion | None) -> Suggestion:
        """Fields of ``self``, with the gaps filled from ``other``."""
        if other is None:
            return self
        return Suggestion(
            self.shape if self.shape is not None else other.shape,
            self.start if self.start is not None else other.start,
            self.winding if self.winding is not None else other.winding,
            self.hysteresis if self.hysteresis is not None else other.hysteresis,
            self.reasons + tuple(r for r in other.reasons if r not in self.reasons),
            self.header_scan if self.header_scan is not None else other.header_scan,
        )

    def text(self) -> str:
        """A short human-readable summary."""
        parts = []
        if self.header_scan is not None:
            parts.append(self.header_scan.text())
        else:
            if self.shape is not None:
                parts.append("shape " + " x ".join(str(s) for s in self.shape))
            if self.start is not None:
                parts.append(f"start {self.start}")
        if self.winding is not None:
            parts.append(f"winding {self.winding}")
        if self.hysteresis is not None:
            parts.append(f"hysteresis {self.hysteresis}")
        return ", ".join(parts) if parts else "no suggestion"


def suggest_from_headers(headers: Mapping[str, np.ndarray]) -> Suggestion | None:
    """The scan of the ``rotidx`` or ``scan_x``/``scan_y`` frame headers, with its index map."""
    try:
        found = header_scan(headers)
    except ValueError as exc:
        log.debug("no header evidence: %s", exc)
        return None
    return Suggestion(
        shape=found.shape, start=found.start, reasons=(found.text(),), header_scan=found
    )


def _normalise(trace: np.ndarray) -> np.ndarray:
    t = np.asarray(trace, dtype=np.float64)
    t = np.where(np.isfinite(t), t, np.nanmean(t) if np.isfinite(t).any() else 0.0)
    t = t - t.mean()
    scale = t.std()
    return t / scale if scale > 0 else t


def row_roughness(image: np.ndarray) -> float:
    """Mean squared difference of neighbouring rows relative to the image variance."""
    var = float(np.var(image))
    if image.shape[0] < 2 or var <= 0:
        return math.inf
    return float(np.mean((image[1:] - image[:-1]) ** 2)) / var


def _best_hysteresis(image: np.ndarray, max_shift: int) -> tuple[int, float, float]:
    """Shift of the even rows that best matches the neighbouring odd rows (winding "x" image)."""
    even, odd = image[0::2], image[1::2]
    scores = {}
    for h in range(-max_shift, max_shift + 1):
        rolled = np.roll(even, h, axis=-1)
        diffs = [np.mean((rolled[: odd.shape[0]] - odd) ** 2)]
        if even.shape[0] > 1:
            diffs.append(np.mean((rolled[1:] - odd[: even.shape[0] - 1]) ** 2))
        scores[h] = float(np.mean(diffs))
    best = min(scores, key=lambda h: (scores[h], abs(h)))
    return best, scores[best], float(np.median(list(scores.values())))


def suggest_hysteresis(
    values: np.ndarray, layout: ScanLayout, max_shift: int = 8
) -> Suggestion | None:
    """Hysteresis of a winding scan from per-frame values (e.g. bright field).

    Parameters
    ----------
    values : numpy.ndarray
        One value per frame of the recording.
    layout : ScanLayout
        The scan (its ``winding`` must be ``"x"`` or ``"y"``; its hysteresis is ignored).
    max_shift : int
        Largest shift tried.
    """
    if layout.is_stack or layout.winding is None or len(layout.shape or ()) < 2:
        return None
    try:
        grid = ScanLayout(layout.shape, layout.start).index_map(len(values))
    except ValueError:
        return None
    return suggest_hysteresis_map(values, grid, layout.winding, max_shift)


def suggest_hysteresis_map(
    values: np.ndarray, grid: np.ndarray, winding: str, max_shift: int = 8
) -> Suggestion | None:
    """Hysteresis of a winding scan whose frames (in scan order) ``grid`` lists.

    The virtual image is built with hysteresis 0; the even (reversed) rows are rolled by each
    ``h`` in ``-max_shift..max_shift`` and compared with the odd rows above and below them.
    ``grid`` may come from the headers (repeated frames skipped) or a regular layout.
    """
    if winding not in ("x", "y") or grid.ndim < 2:
        return None
    imap = apply_winding(grid, winding, 0)
    image = np.asarray(values, dtype=np.float64)[imap].reshape(-1, *imap.shape[-2:])
    if not np.isfinite(image).all():
        return None
    image = image.mean(axis=0)
    if winding == "y":
        image = image.T
    if image.shape[0] < 2:
        return None
    max_shift = min(max_shift, image.shape[1] - 1)
    best, score, typical = _best_hysteresis(image, max_shift)
    return Suggestion(
        hysteresis=best,
        reasons=(f"row alignment: shift {best} scores {score:.3g} (median shift {typical:.3g})",),
    )


def suggest_row_width(
    trace: np.ndarray,
    start: int = 0,
    *,
    min_width: int = 4,
    max_width: int | None = None,
    max_shift: int = 8,
) -> Suggestion | None:
    """Scan width (and winding) from the periodicity of a per-frame trace after ``start``.

    Candidate periods are the highest peaks of the trace's autocorrelation (by FFT); each
    candidate width ``p`` and ``p / 2`` is scored, with and without winding, by the roughness
    between neighbouring rows of the resulting virtual image (:func:`row_roughness`; for
    winding, after the best hysteresis up to ``max_shift``); the smoothest image wins.
    """
    t = _normalise(np.asarray(trace)[start:])
    n = t.size
    max_width = min(max_width or n // 3, n // 3)
    if max_width < min_width or n < 3 * min_width:
        return None
    size = 1 << (2 * n - 1).bit_length()
    spec = np.fft.rfft(t, size)
    ac = np.fft.irfft(spec * np.conj(spec), size)[: max_width * 2 + 1]
    ac = ac / ac[0] if ac[0] > 0 else ac
    lags = np.arange(ac.size)
    peaks = lags[1:-1][(ac[1:-1] > ac[:-2]) & (ac[1:-1] >= ac[2:])]
    peaks = peaks[peaks >= min_width]
    candidates: set[int] = set()
    for p in peaks[np.argsort(ac[peaks])[::-1][:8]]:
        for w in (int(p), int(p) // 2, (int(p) + 1) // 2):
            if min_width <= w <= max_width:
                candidates.add(w)
    if not candidates:
        return None
    best: tuple[float, int, str] | None = None
    for w in sorted(candidates):
        rows = n // w
        if rows < 2:
            continue
        block = t[: rows * w].reshape(rows, w)
        for winding in ("none", "x"):
            if winding == "x":
                img = apply_winding(block, "x", 0)
                shift = min(max_shift, w - 1)
                score = _best_hysteresis(img, shift)[1] / max(float(np.var(img)), 1e-300)
            else:
                score = row_roughness(block)
            if best is None or score < best[0] - 1e-9:
                best = (score, w, winding)
    if best is None:
        return None
    score, width, winding = best
    height = n // width
    return Suggestion(
        shape=(height, width),
        winding=winding,
        reasons=(f"trace period {width} frames (row roughness {score:.3g}, {winding} winding)",),
    )


def suggest_winding(trace: np.ndarray, layout: ScanLayout, max_shift: int = 8) -> Suggestion | None:
    """Winding (``"none"`` or ``"x"``) of a known scan from the roughness of its virtual image.

    For ``"x"`` the roughness is taken after the best hysteresis up to ``max_shift``.
    """
    if layout.is_stack or len(layout.shape or ()) < 2:
        return None
    h, w = (layout.shape or ())[-2:]
    rows = min((len(trace) - layout.start) // w, h)
    if rows < 2:
        return None
    grid = layout.start + np.arange(rows * w).reshape(rows, w)
    return suggest_winding_map(trace, grid, max_shift)


def suggest_winding_map(
    trace: np.ndarray, grid: np.ndarray, max_shift: int = 8
) -> Suggestion | None:
    """Winding (``"none"`` or ``"x"``) of the scan whose frames (in scan order) ``grid`` lists."""
    if grid.ndim < 2 or grid.shape[-2] < 2:
        return None
    t = _normalise(np.asarray(trace)[int(grid.min()) :])
    block = t[grid - int(grid.min())].reshape(-1, *grid.shape[-2:]).mean(axis=0)
    plain = row_roughness(block)
    img = apply_winding(block, "x", 0)
    snake = _best_hysteresis(img, min(max_shift, block.shape[1] - 1))[1] / max(
        float(np.var(img)), 1e-300
    )
    winding = "x" if snake < plain else "none"
    return Suggestion(
        winding=winding,
        reasons=(f"row roughness {plain:.3g} without winding, {snake:.3g} with winding x",),
    )


def suggest_start(trace: np.ndarray, max_start: int | None = None) -> Suggestion | None:
    """First scan frame from where the trace changes level at the start of the recording.

    Pre-scan frames (beam parked or blanked) differ from the scan: the split ``s`` maximising
    the difference of the mean of ``trace[:s]`` and of the ``trace[s:s + window]`` that follows,
    in units of the pre-scan noise, is taken when it is clear (more than 5 noise units).
    At least two similar pre-scan frames are needed (a single one is indistinguishable from scan
    contrast).
    """
    t = np.asarray(trace, dtype=np.float64)
    n = t.size
    max_start = min(max_start if max_start is not None else n // 4, n - 2)
    if max_start < 2:
        return None
    window = max(16, max_start)
    csum = np.concatenate([[0.0], np.cumsum(t)])
    csq = np.concatenate([[0.0], np.cumsum(t * t)])
    spread = float(np.std(t)) or 1.0
    best_s, best_z = 0, 0.0
    for s in range(2, max_start + 1):  # one frame gives no noise estimate
        pre_mean = csum[s] / s
        pre_var = max(csq[s] / s - pre_mean**2, 0.0)
        hi = min(n, s + window)
        post_mean = (csum[hi] - csum[s]) / (hi - s)
        noise = math.sqrt(pre_var) + 0.02 * spread
        z = abs(post_mean - pre_mean) / noise
        # a run of similar frames, then the first frame that leaves it
        if abs(t[s] - pre_mean) > 5 * noise and z > best_z:
            best_s, best_z = s, z
    if best_z < 5:
        return None
    return Suggestion(
        start=best_s, reasons=(f"trace changes at frame {best_s} ({best_z:.1f} noise units)",)
    )


def suggest_layout(
    headers: Mapping[str, np.ndarray] | None,
    trace: np.ndarray | None = None,
    *,
    winding: str | None = None,
    current: ScanLayout | None = None,
) -> Suggestion:
    """All suggestions: headers first, then the trace for whatever they leave open.

    Parameters
    ----------
    headers : mapping, optional
        Frame header fields (``Series.frame_headers()``).
    trace : numpy.ndarray, optional
        One value per frame (bright field or total intensity); enables the trace guesses.
    winding : str, optional
        Winding to assume for the hysteresis when none is suggested.
    current : ScanLayout, optional
        The current layout, used for whatever is neither in the headers nor in the trace.
    """
    out = Suggestion()
    if headers:
        out = out.merged(suggest_from_headers(headers))
    if trace is not None and np.isfinite(trace).any():
        found = out.header_scan
        if found is not None:  # the headers' own map: winding and hysteresis from the trace
            if winding not in ("x", "y"):
                out = out.merged(suggest_winding_map(trace, found.index_map))
            wind = out.winding if out.winding not in (None, "none") else winding
            if wind in ("x", "y"):
                out = out.merged(suggest_hysteresis_map(trace, found.index_map, wind))
            return out
        if out.start is None:
            out = out.merged(suggest_start(trace))
        start = out.start if out.start is not None else (current.start if current else 0)
        if out.shape is None:
            out = out.merged(suggest_row_width(trace, start))
        if out.winding is None and out.shape is not None and winding not in ("x", "y"):
            out = out.merged(suggest_winding(trace, ScanLayout(out.shape, start)))
        wind = out.winding if out.winding not in (None, "none") else winding
        if wind in ("x", "y") and out.shape is not None:
            layout = ScanLayout(out.shape, start, wind, 0)
            out = out.merged(suggest_hysteresis(trace, layout))
    return out
