"""Physical units through pint: parse RosettaSciIO / napari unit strings and convert values.

One lazily built :class:`pint.UnitRegistry` (building it costs ~0.1 s, so only writers that meet
units pay for it). Every function returns ``None`` rather than raising for units pint does not
understand, so callers decide what an unknown unit means. No file format knowledge here.

Unit strings may come from files (the calibration block): pint evaluates them as expressions, and
``"9^9^8"`` would compute a number of hundreds of millions of digits, hanging the reader (and
napari, which parses layer units the same way). :func:`safe_unit_text` refuses such strings
before pint sees them.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

__all__ = ["convert", "known_unit", "quantity", "safe_unit_text", "unit_kind"]

#: Longest unit string handed to pint.
MAX_UNIT_CHARS = 64
_POWER = re.compile(r"\*\*|\^")
#: A power whose exponent is a small integer literal not followed by another power.
_SMALL_POWER = re.compile(r"(?:\*\*|\^)\s*[-+]?\d{1,2}(?![\d.eE(]|\s*(?:\*\*|\^))")


@cache
def _ureg() -> Any:
    import pint

    return pint.UnitRegistry()


def safe_unit_text(text: object) -> bool:
    """Whether ``text`` is a string pint can parse in bounded time.

    At most :data:`MAX_UNIT_CHARS` printable characters, and every power (``**`` or ``^``) has a
    one- or two-digit integer exponent that is not raised again, on a base that is not a group
    (``m^2``, ``nm^-1``; not ``9^9^8``, ``2**(99)``, ``((9^99)^99)^99``).
    """
    if not isinstance(text, str) or len(text) > MAX_UNIT_CHARS or not text.isprintable():
        return False
    if re.search(r"\)\s*(?:\*\*|\^)", text):
        return False
    return len(_POWER.findall(text)) == len(_SMALL_POWER.findall(text))


def known_unit(text: object) -> bool:
    """Whether napari understands ``text`` as a unit (pint's application registry, as napari)."""
    return safe_unit_text(text) and _parses(str(text))


@cache
def _parses(text: str) -> bool:
    import pint

    try:
        pint.get_application_registry().parse_expression(text).units  # noqa: B018
    except Exception:  # pint raises several unrelated types (ZeroDivisionError for "1/0", ...)
        return False
    return True


def quantity(value: float, units: object) -> Any | None:
    """``value * units`` as a pint quantity, or ``None`` when the units are not understood."""
    if units is None or not isinstance(units, str) or not units.strip():
        return None
    if not safe_unit_text(units):
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
