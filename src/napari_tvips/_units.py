"""Physical units through pint: parse RosettaSciIO / napari unit strings and convert values.

One lazily built :class:`pint.UnitRegistry` (building it costs ~0.1 s, so only writers that meet
units pay for it). Every function returns ``None`` rather than raising for units pint does not
understand, so callers decide what an unknown unit means. No file format knowledge here.
"""

from __future__ import annotations

from functools import cache
from typing import Any

__all__ = ["convert", "quantity", "unit_kind"]


@cache
def _ureg() -> Any:
    import pint

    return pint.UnitRegistry()


def quantity(value: float, units: object) -> Any | None:
    """``value * units`` as a pint quantity, or ``None`` when the units are not understood."""
    if units is None or not isinstance(units, str) or not units.strip():
        return None
    try:
        return _ureg().Quantity(float(value), units)
    except Exception:  # pint raises several unrelated types for unparsable strings
        return None


def convert(value: float, units: object, target: str) -> float | None:
    """``value`` in ``units`` expressed in ``target``, or ``None`` when pint cannot convert."""
    q = quantity(value, units)
    if q is None:
        return None
    try:
        return float(q.to(target).magnitude)
    except Exception:
        return None


def unit_kind(units: object) -> int | None:
    """1 for lengths, 2 for inverse lengths, ``None`` otherwise (RosettaSciIO's mode guess)."""
    q = quantity(1.0, units)
    if q is None:
        return None
    if q.is_compatible_with("m"):
        return 1
    if q.is_compatible_with("1/m"):
        return 2
    return None
