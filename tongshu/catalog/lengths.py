"""Length notation of info items and data elements, as data-element standards write it: `C18` (fixed 18),
`C..50` (up to 50), `N8,2` (8 digits, 2 after the point), `N..12,2`.

The standards app may ship its own parser (`tongshu.standards.formats.parse_length`); the catalog keeps this small one
so validation does not depend on its exact return shape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NOTATION = re.compile(r"^(?P<type>[A-Z])?(?P<variable>\.\.)?(?P<size>\d{1,5})(?:,(?P<scale>\d{1,3}))?$")

# Types whose values carry no length of their own (a date is a date); a length may still be written.
LENGTH_REQUIRED_TYPES = frozenset({"C", "N"})


@dataclass(frozen=True)
class Length:
    data_type: str
    size: int
    is_fixed: bool
    scale: int | None = None

    @property
    def notation(self) -> str:
        text = f"{self.data_type}{'' if self.is_fixed else '..'}{self.size}"
        return f"{text},{self.scale}" if self.scale is not None else text

    def fits_within(self, other: Length) -> bool:
        """Whether every value of this length is a valid value of `other` (an item narrowing its data element)."""
        if other.is_fixed:
            return self.is_fixed and self.size == other.size and (self.scale or 0) == (other.scale or 0)
        if self.size > other.size:
            return False
        return (self.scale or 0) <= (other.scale or 0)


class LengthError(ValueError):
    pass


def parse_length(notation: str, data_type: str = "") -> Length:
    """Parse `notation`; a bare `18` or `..50` takes the letter of `data_type`. Raises LengthError."""
    text = (notation or "").strip().upper().replace("，", ",")
    match = _NOTATION.match(text)
    if not match:
        raise LengthError(notation)
    letter = match.group("type") or data_type.upper()
    if not letter:
        raise LengthError(notation)
    if data_type and letter != data_type.upper():
        raise LengthError(notation)
    size = int(match.group("size"))
    scale = int(match.group("scale")) if match.group("scale") is not None else None
    if size == 0 or (scale is not None and scale >= size):
        raise LengthError(notation)
    return Length(data_type=letter, size=size, is_fixed=not match.group("variable"), scale=scale)
