"""Exception types of napari-tvips.

Every error the package raises on purpose derives from :class:`TvipsError`, so callers can catch
one class. Format problems are also ``ValueError`` (the type RosettaSciIO raises for the same
conditions); read failures of a file that changed under us are also ``OSError``.
"""

from __future__ import annotations

__all__ = ["TvipsError", "TvipsFormatError", "TvipsReadError"]


class TvipsError(Exception):
    """Base class of every error raised by napari-tvips."""


class TvipsFormatError(TvipsError, ValueError):
    """A file is not a readable TVIPS recording; the message names the file and the value."""


class TvipsReadError(TvipsError, OSError):
    """A recording could not be read although its headers were valid (file changed or vanished)."""
