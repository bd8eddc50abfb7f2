"""Length / format notation of data elements and info items (《政务信息资源目录编制指南（试行）》, as data-element
standards write it), and the check of one value against it.

Notation: a data-type letter, then the length.

- ``C18``: exactly 18 characters; ``C..50``: 1 to 50; ``C2..50``: 2 to 50; ``M`` (letter alone): no limit.
- Numeric kinds (N 数值, Y 货币, F 浮点, B 双精度, I 整型) give the precision, the most digits a value may have:
  ``N8`` up to 8 digits, ``N8,2`` or ``N..18,2`` up to 8 (18) digits of which up to 2 after the point. A numeric
  code of fixed width (a postcode, a division code) is a character element (``C6``), not a number.
- Dates and times are fixed: ``D8`` (YYYYMMDD), ``D10`` (YYYY-MM-DD), ``T14`` (YYYYMMDDhhmmss),
  ``T19`` (YYYY-MM-DD hh:mm:ss).

This module is the one reader of the notation: data-element validation, catalog info items (which may leave out the
letter: ``..50`` on a character item, and must fit their data element: `LengthSpec.fits_within`) and the data plane
(column types and load rules, `tongshu.dataplane.schema.Length`) all call `parse_length`. `fits` checks one value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

KINDS = "CNYDTLMGBIF"
NUMERIC_KINDS = frozenset("NYFBI")
SCALED_KINDS = frozenset("NYFB")
DATE_FORMATS = {"D": {8: "%Y%m%d", 10: "%Y-%m-%d"}, "T": {14: "%Y%m%d%H%M%S", 19: "%Y-%m-%d %H:%M:%S"}}
MAX_CHARACTERS = 4000  # longer text is a memo (M)
MAX_PRECISION = 38
LOGICAL_VALUES = frozenset({"0", "1", "true", "false", "t", "f", "y", "n", "是", "否"})

_NOTATION = re.compile(
    r"^(?P<kind>[A-Za-z])?(?:(?P<min>\d+)?\.\.(?P<max>\d+)|(?P<fixed>\d+))?(?:,(?P<scale>\d+))?$"
)


class LengthNotationError(ValueError):
    """The notation cannot be read; the message is Chinese, for people."""


@dataclass(frozen=True)
class LengthSpec:
    kind: str  # the data-type letter
    min: int  # fewest characters (numeric kinds: 1)
    max: int | None  # most characters, or the precision of a numeric kind; None = no limit
    scale: int  # digits after the decimal point (numeric kinds only)
    # How it was written, which the four numbers do not tell and equality ignores: `N..8` and `N8` mean the same
    # (up to 8 digits), but an info item is written back as its author wrote it; and a money column whose scale was
    # not written gets the store's default (2), where a written `,0` means none.
    is_ranged: bool = field(default=False, compare=False)
    is_scale_written: bool = field(default=False, compare=False)

    @property
    def is_fixed(self) -> bool:
        return self.max is not None and self.min == self.max and self.kind not in NUMERIC_KINDS

    @property
    def notation(self) -> str:
        """The canonical writing: letter upper-case, ASCII comma, no spaces (`n..12，2` → `N..12,2`)."""
        size = ""
        if self.max is not None:
            size = f"{self.min if self.min > 1 else ''}..{self.max}" if self.is_ranged else str(self.max)
        return f"{self.kind}{size}" + (f",{self.scale}" if self.is_scale_written else "")

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "min": self.min, "max": self.max, "scale": self.scale}

    def fits_within(self, other: LengthSpec) -> bool:
        """Whether every value this notation allows is allowed by `other` too (an info item narrowing its data
        element): the same letter, no longer text, no more integer digits and no more decimals."""
        if self.kind != other.kind:
            return False
        if other.max is None:
            return self.min >= other.min
        if self.max is None:
            return False
        if self.kind in NUMERIC_KINDS:
            return self.scale <= other.scale and self.max - self.scale <= other.max - other.scale
        return other.min <= self.min and self.max <= other.max


def parse_length(notation: str, data_type: str = "", *, letter_required: bool = False) -> LengthSpec:
    """``"C..50"`` → ``LengthSpec("C", 1, 50, 0)``; raises `LengthNotationError` on anything else.

    With `data_type` (an info item's type) the letter must agree with it, and unless `letter_required` it may be left
    out: ``..50`` on a character item is ``C..50``."""
    text = (notation or "").strip().replace(" ", "").replace("，", ",")
    match = _NOTATION.match(text)
    if match and not match["kind"] and (letter_required or not (match["fixed"] or match["max"])):
        match = None
    kind = (match["kind"] or data_type).upper() if match else ""
    if not match or not kind:
        raise LengthNotationError(f"长度格式“{notation}”无法识别，应写作 C18、C..50、N8,2、D8 等")
    if kind not in KINDS:
        raise LengthNotationError(f"长度格式“{notation}”的类型字母 {kind} 不是指南规定的数据类型")
    if data_type and kind != data_type.upper():
        raise LengthNotationError(f"长度格式“{notation}”的类型字母 {kind} 与数据类型 {data_type} 不一致")
    scale = int(match["scale"] or 0)
    if match["fixed"]:
        size = int(match["fixed"])
        low, high = (1 if kind in NUMERIC_KINDS else size), size
    elif match["max"]:
        low, high = int(match["min"] or 1), int(match["max"])
    else:
        low, high = 1, None
    _check(notation, kind, low, high, scale, ranged=bool(match["max"]))
    return LengthSpec(
        kind, low, high, scale, is_ranged=bool(match["max"]), is_scale_written=bool(match["scale"])
    )


def _check(notation: str, kind: str, low: int, high: int | None, scale: int, *, ranged: bool) -> None:
    def fail(reason: str) -> None:
        raise LengthNotationError(f"长度格式“{notation}”{reason}")

    if high is not None and high < 1:
        fail("的长度必须大于 0")
    if high is not None and low > high:
        fail("的最小长度大于最大长度")
    if scale and kind not in SCALED_KINDS:
        fail("：只有数值型、货币型、浮点型和双精度型可以写小数位数")
    if high is not None and scale >= high:
        fail("的小数位数必须小于总位数")
    if kind in DATE_FORMATS and (ranged or high not in DATE_FORMATS[kind]):
        lengths = "、".join(f"{kind}{size}" for size in DATE_FORMATS[kind])
        fail(f"：日期和日期时间型只能写作 {lengths}")
    if kind in NUMERIC_KINDS and high is not None and high > MAX_PRECISION:
        fail(f"的位数超过 {MAX_PRECISION}")
    if kind == "C" and high is not None and high > MAX_CHARACTERS:
        fail(f"超过 {MAX_CHARACTERS} 个字符，较长的文本请使用备注型 M")
    if kind == "L" and high not in (None, 1):
        fail("：逻辑型只能写作 L 或 L1")


def parse_for_type(data_type: str, notation: str) -> LengthSpec | None:
    """The notation of an element or item of `data_type`; empty means no constraint. The letters must agree."""
    if not (notation or "").strip():
        if data_type in DATE_FORMATS:
            raise LengthNotationError("日期和日期时间型必须写明格式（如 D8、T14）")
        return None
    return parse_length(notation, data_type, letter_required=True)


def fits(spec: LengthSpec, value: str) -> str | None:
    """Why `value` (as text) does not fit `spec`, in Chinese; None when it fits. Empty values are not checked here."""
    if value == "":
        return None
    if spec.kind in DATE_FORMATS:
        pattern = DATE_FORMATS[spec.kind].get(spec.max or 0)
        try:
            if pattern is None or len(value) != spec.max:
                raise ValueError
            datetime.strptime(value, pattern)  # noqa: DTZ007 - a calendar check, no time zone involved
        except ValueError:
            return f"不是 {spec.kind}{spec.max} 格式的有效{'日期' if spec.kind == 'D' else '日期时间'}"
        return None
    if spec.kind in NUMERIC_KINDS:
        return _numeric_reason(spec, value)
    if spec.kind == "L":
        return None if value.strip().lower() in LOGICAL_VALUES else "不是有效的逻辑值（是/否、1/0）"
    if spec.max is not None and not spec.min <= len(value) <= spec.max:
        if spec.is_fixed:
            return f"长度应为 {spec.max} 个字符，实际 {len(value)} 个"
        return f"长度应在 {spec.min} 到 {spec.max} 个字符之间，实际 {len(value)} 个"
    return None


def _numeric_reason(spec: LengthSpec, value: str) -> str | None:
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        return "不是有效的数值"
    if not number.is_finite():
        return "不是有效的数值"
    scale = spec.scale if spec.kind in SCALED_KINDS else 0
    if spec.kind == "I" and number != number.to_integral_value():
        return "应为整数"
    fixed_point = spec.kind in ("N", "Y") or scale > 0  # floats without a stated scale take any decimals
    if fixed_point and spec.max is not None and number != number.quantize(Decimal(1).scaleb(-scale)):
        return f"小数位数超过 {scale} 位"
    if spec.max is not None:
        integer_digits = len(str(int(abs(number)))) if abs(number) >= 1 else 0
        if integer_digits > spec.max - scale:
            return f"整数部分超过 {spec.max - scale} 位"
    return None
