"""Fault injection helpers shared by the safety tests (not a test module)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def fail_after(real: Callable[..., Any], exc: BaseException, after: int) -> Callable[..., Any]:
    """``real`` that raises ``exc`` from its ``after + 1``-th call on (``.calls["n"]`` counts)."""
    calls = {"n": 0}

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] > after:
            raise exc
        return real(*args, **kwargs)

    wrapped.calls = calls  # type: ignore[attr-defined]
    return wrapped
