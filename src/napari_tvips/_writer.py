"""Placeholder replaced by the writer implementation (issue 3)."""

from __future__ import annotations

from typing import Any


def file_writer(filename: Any, signal: Any, **kwargs: Any) -> None:  # pragma: no cover
    """Not implemented yet."""
    raise NotImplementedError("the TVIPS writer is not implemented yet")
