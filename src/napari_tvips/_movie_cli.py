"""Command-line options of ``napari-tvips convert`` for movies (``.tif``, ``.tiff``, ``.mp4``).

:func:`add_movie_arguments` adds ``--frames``, ``--sum``, ``--average``, ``--bad``, ``--drift``,
``--fps``, ``--timestamp`` and ``--scalebar`` to the convert sub-command; :func:`movie_kwargs`
turns them into :func:`napari_tvips.convert` keyword arguments (only those given, so other
formats never see them). Parsing only; no I/O.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_movie_arguments", "movie_kwargs", "parse_frames"]


def parse_frames(text: str) -> slice:
    """``"A:B"``, ``"A:B:STEP"``, ``"A:"`` or ``":B"`` as a slice (``ValueError`` when bad)."""
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise ValueError(f"--frames {text!r} is not FIRST:STOP or FIRST:STOP:STEP")
    try:
        values = [int(p) if p.strip() else None for p in parts]
    except ValueError:
        raise ValueError(f"--frames {text!r} holds a value that is not an integer") from None
    return slice(*values)


def add_movie_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the movie options to the ``convert`` sub-command's parser."""
    group = parser.add_argument_group("movies (.tif, .tiff, .mp4)")
    group.add_argument("--frames", metavar="FIRST:STOP", help="frame range (Python slice)")
    group.add_argument("--sum", metavar="N", help="sum every N frames")
    group.add_argument("--average", action="store_true", help="average instead of summing")
    group.add_argument("--bad", metavar="I,J,A-B", help="frames left out of the movie and sums")
    group.add_argument("--drift", choices=["auto"], help="estimate and correct drift")
    group.add_argument("--fps", metavar="F", help="MP4 frame rate (default: real time)")
    group.add_argument("--timestamp", action="store_true", help="burn the time into MP4 frames")
    group.add_argument("--scalebar", action="store_true", help="burn a scale bar into MP4 frames")


def _number(text: str, flag: str, kind: type) -> Any:
    """``text`` as ``kind`` (int or float); ValueError (a one-line CLI error) otherwise."""
    kind_name = {int: "a whole number", float: "a number"}
    try:
        return kind(text)
    except ValueError:
        raise ValueError(f"{flag} {text!r} is not {kind_name[kind]}") from None


def _bad(text: str) -> list[int]:
    out: list[int] = []
    for item in text.split(","):
        lo, _, hi = item.strip().partition("-")
        try:
            first, last = int(lo), int(hi or lo)
        except ValueError:
            raise ValueError(f"--bad {text!r}: {item!r} is not I or A-B") from None
        out.extend(range(first, last + 1))
    return out


def movie_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The movie keyword arguments given on the command line."""
    kwargs: dict[str, Any] = {}
    if getattr(args, "frames", None):
        kwargs["frames"] = parse_frames(args.frames)
    if getattr(args, "sum", None) is not None:
        kwargs["sum_frames"] = _number(args.sum, "--sum", int)
    if getattr(args, "bad", None):
        kwargs["bad"] = _bad(args.bad)
    for name in ("average", "timestamp", "scalebar"):
        if getattr(args, name, False):
            kwargs[name] = True
    if getattr(args, "drift", None) is not None:
        kwargs["drift"] = args.drift
    if getattr(args, "fps", None) is not None:
        kwargs["fps"] = _number(args.fps, "--fps", float)
    return kwargs
