"""Movies out: a frame range (summed, binned, drift-corrected) to multi-page TIFF or MP4.

:func:`export_movie` builds a :class:`~napari_tvips._movie.MovieView` from the arguments (and
estimates drift first with ``drift="auto"``), then streams it, one output frame at a time, to

- **TIFF** (``.tif``/``.tiff``, tifffile): an ImageJ hyperstack (``axes="TYX"``) with the frame
  interval (``finterval``), the pixel size (resolution and unit), one slice label per frame
  giving its time and source frames, and the per-frame times as JSON in the ``Info`` text.
  ImageJ reads 8/16-bit integer and 32-bit float pixels, so sums that need 32 bits are written
  as float32 (exact below 2**24 counts per pixel).
- **MP4** (``.mp4``, H.264 through the ffmpeg binary shipped in the imageio-ffmpeg wheel): 8-bit
  grey frames scaled with the display contrast, padded to even sizes, optionally with the time
  stamp and a scale bar burnt in.

Memory stays at a few frames whatever the movie's length. Output goes to a hidden temporary file
beside the target, installed over it only when complete (:mod:`napari_tvips._install`).
Imports no Qt or napari.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._install import installing
from ._movie import MovieSettings, MovieView
from ._series import Series
from ._time import median_interval

__all__ = ["MOVIE_SUFFIXES", "export_movie", "movie_contrast", "write_mp4", "write_tiff"]

logger = logging.getLogger(__name__)

MOVIE_SUFFIXES = (".tif", ".tiff", ".mp4")
Progress = Callable[[int, int], None]
#: Output frames sampled for the default contrast limits.
_CONTRAST_SAMPLES = 5


def _pixel_size(view: MovieView) -> tuple[float, str] | None:
    """Physical size of one output pixel and its unit, or ``None`` when not recorded."""
    from ._metadata import signal_units

    size = float(view.series.header.pixelsize)
    if size <= 0:
        return None
    first = view.series.headers_at([0])
    return size * view.settings.binning, signal_units(first)


def movie_contrast(
    view: MovieView, percentiles: tuple[float, float] = (0.1, 99.9)
) -> tuple[float, float]:
    """Contrast limits from a few output frames spread over the movie (robust percentiles)."""
    n = view.shape[0]
    picks = np.unique(np.linspace(0, n - 1, min(_CONTRAST_SAMPLES, n)).astype(int))
    sample = view.read(picks)
    lo, hi = (float(v) for v in np.percentile(sample, percentiles))
    if hi <= lo:
        hi = lo + 1.0
    return lo, hi


def _frames(view: MovieView, progress: Progress | None, dtype: Any = None) -> Iterator[np.ndarray]:
    n = view.shape[0]
    for i in range(n):
        frame = view[i]
        yield frame if dtype is None else frame.astype(dtype, copy=False)
        if progress is not None:
            progress(i + 1, n)


def _labels(view: MovieView, times: np.ndarray) -> list[str]:
    out = []
    for t, members in zip(times, view.members, strict=True):
        src = str(members[0]) if members.size == 1 else f"{members[0]}-{members[-1]}"
        out.append(f"t={t:.3f} s (frame {src})")
    return out


def write_tiff(
    view: MovieView, path: str | os.PathLike[str], *, progress: Progress | None = None
) -> list[str]:
    """Stream ``view`` to an ImageJ multi-page TIFF at ``path``; return ``[path]``.

    Metadata: ``finterval`` (median interval of the output frames, s), resolution and unit from
    the header's pixel size (times the binning), per-frame slice labels, and
    ``Info = {"times_s": [...], "source_frames": [[...], ...]}`` as JSON.
    """
    import tifffile

    target = Path(os.fspath(path))
    dtype = view.dtype if view.dtype in (np.uint8, np.uint16, np.float32) else np.dtype(np.float32)
    if dtype != view.dtype:
        logger.info(
            "%s: %s sums written as float32 (ImageJ has no 32-bit integers)", target, view.dtype
        )
    times = view.times()
    interval = median_interval(times)
    metadata: dict[str, Any] = {
        "axes": "TYX",
        "Labels": _labels(view, times),
        "Info": json.dumps(
            {"times_s": [round(float(t), 6) for t in times], "source_frames": view.members.tolist()}
        ),
    }
    if interval > 0:
        metadata["finterval"] = interval
    resolution = None
    pixel = _pixel_size(view)
    if pixel is not None:
        metadata["unit"] = pixel[1]
        resolution = (1.0 / pixel[0], 1.0 / pixel[0])
    with installing([target]) as (tmp,):
        tifffile.imwrite(
            tmp,
            data=_frames(view, progress, dtype),
            shape=view.shape,
            dtype=dtype,
            imagej=True,
            metadata=metadata,
            resolution=resolution,
        )
    return [str(target)]


def _nice_length(target: float) -> float:
    """1, 2 or 5 times a power of ten, at most ``target``."""
    power = 10 ** math.floor(math.log10(target))
    return max(m * power for m in (1, 2, 5) if m * power <= target)


def _burn_in(
    frame8: np.ndarray, text: str | None, bar: tuple[int, str] | None, font: Any
) -> np.ndarray:
    """Draw ``text`` (top left) and a scale bar of ``bar = (pixels, label)`` (bottom right)."""
    from PIL import Image, ImageDraw

    image = Image.fromarray(frame8, mode="L")
    draw = ImageDraw.Draw(image)
    h, w = frame8.shape
    pad = max(2, h // 40)
    if text:
        draw.text((pad, pad), text, fill=255, font=font, stroke_width=2, stroke_fill=0)
    if bar is not None:
        length, label = bar
        thick = max(2, h // 80)
        x1, y1 = w - pad, h - pad
        draw.rectangle((x1 - length, y1 - thick, x1, y1), fill=255, outline=0)
        box = draw.textbbox((0, 0), label, font=font)
        tw, th = box[2] - box[0], box[3] - box[1]
        draw.text(
            (x1 - length / 2 - tw / 2, y1 - thick - th - pad),
            label, fill=255, font=font, stroke_width=2, stroke_fill=0,
        )  # fmt: skip
    return np.asarray(image)


def write_mp4(
    view: MovieView,
    path: str | os.PathLike[str],
    *,
    fps: float | None = None,
    contrast: tuple[float, float] | None = None,
    timestamp: bool = False,
    scalebar: bool = False,
    quality: int = 8,
    preset: str = "veryfast",
    progress: Progress | None = None,
) -> list[str]:
    """Stream ``view`` to an H.264 MP4 at ``path``; return ``[path]``.

    Parameters
    ----------
    fps : float, optional
        Frame rate of the file; default: real time (the recording's rate over ``sum_frames``),
        10 when the headers hold no time.
    contrast : tuple of float, optional
        Values shown black and white (the display's contrast limits); default: 0.1 and 99.9
        percentiles of a few frames.
    timestamp, scalebar : bool
        Burn in the time since the first frame (top left) and a scale bar (bottom right; only
        when the header records a pixel size).
    quality : int
        imageio-ffmpeg quality, 1 (smallest) to 10 (best).
    preset : str
        x264 speed preset; ``"veryfast"`` encodes 2k frames ~1.8x faster than x264's
        default ``"medium"`` here (``"ultrafast"`` ~5x, larger files).
    """
    target = Path(os.fspath(path))
    times = view.times()
    if fps is None:
        interval = median_interval(times)
        fps = 1.0 / interval if interval > 0 else 10.0
    lo, hi = contrast if contrast is not None else movie_contrast(view)
    if hi <= lo:
        raise ValueError(f"{target}: contrast limits {lo}..{hi} are empty")
    even_h = view.shape[1] + view.shape[1] % 2
    w = view.shape[2]
    font = None
    bar = None
    if timestamp or scalebar:
        from PIL import ImageFont

        font = ImageFont.load_default(size=max(10, even_h // 24))
    if scalebar:
        pixel = _pixel_size(view)
        if pixel is None:
            logger.warning("%s: no pixel size in the header; no scale bar drawn", target)
        else:
            length = _nice_length(w * pixel[0] / 5)
            bar = (max(1, round(length / pixel[0])), f"{length:g} {pixel[1]}")
    with installing([target]) as (tmp,):
        _encode(view, tmp, times, (lo, hi), fps, quality, preset, text=timestamp, bar=bar,
                font=font, progress=progress)  # fmt: skip
    return [str(target)]


def _encode(
    view: MovieView,
    tmp: str,
    times: np.ndarray,
    contrast: tuple[float, float],
    fps: float,
    quality: int,
    preset: str,
    *,
    text: bool,
    bar: tuple[int, str] | None,
    font: Any,
    progress: Progress | None,
) -> None:
    """Feed ffmpeg 8-bit grey frames (padded to even sizes, burn-ins drawn) one at a time."""
    import imageio_ffmpeg

    lo, hi = contrast
    scale = 255.0 / (hi - lo)
    h, w = view.shape[1:]
    even_h, even_w = h + h % 2, w + w % 2
    writer = imageio_ffmpeg.write_frames(
        tmp,
        (even_w, even_h),
        pix_fmt_in="gray",
        fps=fps,
        quality=quality,
        macro_block_size=1,
        codec="libx264",
        output_params=["-preset", preset, "-f", "mp4"],  # the temporary has no .mp4 suffix
    )
    try:
        writer.send(None)
        buf = np.zeros((even_h, even_w), np.uint8)
        for i, frame in enumerate(_frames(view, progress)):
            scaled = np.clip((frame.astype(np.float32) - lo) * scale, 0, 255)
            buf[:h, :w] = (scaled + 0.5).astype(np.uint8)
            out = buf
            if text or bar is not None:
                stamp = f"{times[i] - times[0]:.2f} s" if text else None
                out = _burn_in(buf, stamp, bar, font)
            writer.send(np.ascontiguousarray(out))
    finally:
        writer.close()


def movie_view(
    source: Series | str | os.PathLike[str],
    *,
    frames: slice | None = None,
    sum_frames: int = 1,
    binning: int = 1,
    average: bool = False,
    bad: Sequence[int] = (),
    drift: str | np.ndarray | None = None,
    subpixel: bool = True,
    progress: Progress | None = None,
) -> MovieView:
    """The :class:`MovieView` the export arguments describe (estimates drift for ``"auto"``)."""
    series = source if isinstance(source, Series) else Series(source)
    settings = MovieSettings(
        frames=frames if frames is not None else slice(None),
        sum_frames=int(sum_frames),
        binning=int(binning),
        average=bool(average),
        bad=tuple(int(b) for b in bad),
        subpixel=subpixel,
    )
    view = MovieView(series, settings)
    if drift is None:
        return view
    if isinstance(drift, str):
        if drift != "auto":
            raise ValueError(f'drift must be None, "auto" or a (n_frames, 2) table, not {drift!r}')
        from ._drift import estimate_drift

        shifts = estimate_drift(view, progress=progress)
    else:
        shifts = np.asarray(drift, dtype=np.float64)
    return MovieView(series, settings.with_(shifts=shifts))


def export_movie(
    source: Series | MovieView | str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    fps: float | None = None,
    contrast: tuple[float, float] | None = None,
    timestamp: bool = False,
    scalebar: bool = False,
    preset: str = "veryfast",
    progress: Progress | None = None,
    **view_options: Any,
) -> list[str]:
    """Write a movie of ``source`` to ``target`` (``.tif``, ``.tiff`` or ``.mp4``).

    Parameters
    ----------
    source : Series, MovieView or path
        The recording (or a view already set up, e.g. the one on screen).
    target : str or os.PathLike
        Output file; the suffix picks the format.
    fps, contrast, timestamp, scalebar, preset
        MP4 only (see :func:`write_mp4`).
    progress : callable, optional
        ``progress(done, total)`` after each frame (drift estimation, then writing).
    **view_options
        For a recording: :func:`movie_view`'s ``frames``, ``sum_frames``, ``binning``,
        ``average``, ``bad``, ``drift`` (``None``, ``"auto"`` or an ``(n_frames, 2)`` table)
        and ``subpixel``.

    Returns
    -------
    list of str
        The written path.
    """
    suffix = Path(os.fspath(target)).suffix.lower()
    if suffix not in MOVIE_SUFFIXES:
        raise ValueError(f"{target}: movie formats are {', '.join(MOVIE_SUFFIXES)}")
    if isinstance(source, MovieView):
        if view_options:
            raise TypeError(f"{target}: {sorted(view_options)} apply to a recording, not a view")
        view = source
    else:
        view = movie_view(source, progress=progress, **view_options)
    if suffix == ".mp4":
        return write_mp4(
            view, target, fps=fps, contrast=contrast, timestamp=timestamp, scalebar=scalebar,
            preset=preset, progress=progress,
        )  # fmt: skip
    return write_tiff(view, target, progress=progress)


def convert_movie(
    source: Any,
    destination: str,
    *,
    transform: Any,
    progress: Callable[[int], None] | None = None,
    contrast: tuple[float, float] | None = None,
    **options: Any,
) -> list[str]:
    """The ``.tif``/``.tiff``/``.mp4`` exporter of :func:`napari_tvips.convert`.

    ``source`` is the export source of a recording opened as its frame stack (no
    ``scan_shape``); ``options`` are :func:`export_movie`'s (``frames``, ``sum_frames``,
    ``average``, ``bad``, ``drift``, ``fps``, ``timestamp``, ...). From the shared transform,
    ``binning`` is used (summed, like ``sum_frames``; ``average=True`` averages both), and an
    ``intensity_scaling=(low, high)`` pair is the MP4 contrast; cropping and the other scalings
    are refused. ``progress(n)`` adds up to the recording's frame count over the whole export.
    """
    stack = getattr(source, "frames", None)
    if (
        stack is None
        or stack.index_map.ndim != 1
        or not np.array_equal(stack.index_map, np.arange(stack.series.n_frames))
    ):
        raise ValueError(
            f"{destination}: a movie is made from a recording's frame stack; open it without "
            "scan_shape (and pass a path, not a signal dict)"
        )
    if transform.box != (0, 0, *transform.in_shape):
        raise ValueError(f"{destination}: crop is not supported for movies")
    scaling = transform.scaling
    if scaling is not None:
        if not isinstance(scaling, tuple) or not destination.lower().endswith(".mp4"):
            raise ValueError(
                f"{destination}: movies take intensity_scaling=(low, high) for MP4 contrast "
                f"only, not {scaling!r}"
            )
        contrast = contrast or (float(scaling[0]), float(scaling[1]))
    # convert's bar counts the recording's frames once; spread them over the passes (drift
    # estimation, then writing) so it ends at exactly n_frames whatever the range and sums
    n_frames = stack.series.n_frames
    passes = 2 if isinstance(options.get("drift"), str) else 1
    state = {"pass": 0, "sent": 0}

    def report(done: int, total: int) -> None:
        if progress is None:
            return
        reached = round(n_frames * (state["pass"] + done / total) / passes)
        if reached > state["sent"]:
            progress(reached - state["sent"])
            state["sent"] = reached
        if done == total:
            state["pass"] += 1

    return export_movie(
        stack.series, destination, binning=transform.binning, contrast=contrast, progress=report,
        **options,
    )  # fmt: skip
