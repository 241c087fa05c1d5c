"""Vectored positional I/O shared by the reader and the writer: ``preadv`` / ``pwritev`` loops.

One system call moves many (frame header, frame) buffers at once; the kernel caps the number of
buffers per call at :data:`IOV_MAX` and may move fewer bytes than asked (a short read or write),
so both loops continue where the call stopped. A read that hits the end of the file raises
:class:`~napari_tvips.TvipsReadError` naming the file. This module knows nothing of the format.
"""

from __future__ import annotations

import os

from ._errors import TvipsReadError

__all__ = ["IOV_MAX", "preadv_all", "pwritev_all"]


def _iov_max() -> int:
    try:
        value = os.sysconf("SC_IOV_MAX")
    except (AttributeError, ValueError, OSError):
        value = -1
    return min(value, 1024) if value > 0 else 1024


#: Most buffers one ``preadv`` / ``pwritev`` call takes (Linux: 1024).
IOV_MAX = _iov_max()


def _advance(buffers: list[memoryview], done: int) -> list[memoryview]:
    """The buffers still to move after ``done`` bytes of ``buffers`` were moved."""
    first = 0
    while first < len(buffers) and done >= buffers[first].nbytes:
        done -= buffers[first].nbytes
        first += 1
    rest = buffers[first:]
    if rest and done:
        rest[0] = rest[0][done:]
    return rest


def pwritev_all(fd: int, buffers: list[memoryview], offset: int) -> None:
    """Write every buffer at ``offset`` of ``fd`` (at most :data:`IOV_MAX` buffers).

    Raises
    ------
    OSError
        When the file system refuses (e.g. ``ENOSPC``) or a write makes no progress.
    """
    while buffers:
        done = os.pwritev(fd, buffers, offset)
        if done <= 0:
            raise OSError(f"pwritev wrote {done} bytes")
        offset += done
        buffers = _advance(buffers, done)


def preadv_all(fd: int, buffers: list[memoryview], offset: int, path: str) -> None:
    """Fill every buffer from ``offset`` of ``fd`` (at most :data:`IOV_MAX` buffers).

    Raises
    ------
    TvipsReadError
        When the file ends first (``path`` names it in the message).
    """
    want = sum(b.nbytes for b in buffers)
    while buffers:
        got = os.preadv(fd, buffers, offset)
        if got == want:
            return
        if got == 0:
            raise TvipsReadError(
                f"{path}: file ended at byte {offset} while {want} more bytes were expected "
                "(was it truncated after it was opened?)"
            )
        offset += got
        want -= got
        buffers = _advance(buffers, got)
