"""Column-wise validation of a batch (第十三条, 第十五条).

Rules are derived from the resource schema (required, type, length, code set, pattern, checksum rules, key
uniqueness) plus the rules a department adds. Each rule is a polars expression giving, for every row, whether the
row breaks it; all of them run in one parallel pass over the batch, and only rules that fired are turned into error
rows. So a clean batch costs one vectorized pass, and a dirty one still reports every bad value with its row number.

Input: a DataFrame of strings, one column per field plus `_row` (the row number as the source shows it). Output: the
typed values ready for the store and an error table (row, field, label, value, code, reason, severity).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from tongshu.core.checksums import ID_WEIGHTS, USCC_ALPHABET, USCC_WEIGHTS
from tongshu.dataplane.geojson import is_valid_geometry
from tongshu.dataplane.schema import (
    BOOLEAN_TYPES,
    DATE_TYPES,
    DATETIME_TYPES,
    DECIMAL_TYPES,
    FLOAT_TYPES,
    INTEGER_TYPES,
    Column,
    ResourceSchema,
)

ROW = "_row"
ERROR, WARNING = "error", "warning"
ERROR_SCHEMA = {
    "row": pl.Int64,
    "field": pl.String,
    "label": pl.String,
    "value": pl.String,
    "code": pl.String,
    "reason": pl.String,
    "severity": pl.String,
}
TRUE_WORDS = ("1", "是", "Y", "YES", "TRUE", "T", "真")
FALSE_WORDS = ("0", "否", "N", "NO", "FALSE", "F", "假")
DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%Y/%m/%d", "%Y.%m.%d")
DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y%m%d%H%M%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",  # midnight: spreadsheet readers give a date-time cell at 00:00 as a bare date
)
PHONE_PATTERN = r"^(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(?:-\d{1,6})?|\d{7,8})$"


@dataclass(frozen=True)
class Rule:
    """`broken` is True on rows that break the rule (rows whose value is empty never break a value rule)."""

    code: str
    field: str
    reason: str
    broken: pl.Expr
    severity: str = ERROR
    # Columns `broken` reads that several rules share (name → expression): computed once per chunk, before the rules,
    # by `validate` (polars' common-subexpression elimination did not share a checksum between two rules).
    helpers: tuple[tuple[str, pl.Expr], ...] = ()


@dataclass(frozen=True)
class CrossRule:
    """A rule a department adds across items: `id_birthdate`, `id_sex` or `date_order` (first ≤ second)."""

    kind: str
    fields: tuple[str, ...]
    reason: str = ""
    severity: str = ERROR


@dataclass
class ValidationResult:
    typed: pl.DataFrame
    errors: pl.DataFrame
    bad_rows: pl.Series = field(default_factory=lambda: pl.Series(ROW, [], dtype=pl.Int64))

    @property
    def error_count(self) -> int:
        return int((self.errors["severity"] == ERROR).sum()) if self.errors.height else 0


def _blank(name: str) -> pl.Expr:
    # Values are trimmed and empty strings turned into nulls before any rule runs (see `clean`).
    return pl.col(name).is_null()


def typed_name(name: str) -> str:
    return f"__t_{name}"


def _typed(name: str) -> pl.Expr:
    return pl.col(typed_name(name))


def _parse_boolean(name: str) -> pl.Expr:
    value = pl.col(name).str.to_uppercase()
    return (
        pl.when(value.is_in(TRUE_WORDS)).then(True).when(value.is_in(FALSE_WORDS)).then(False).otherwise(None)
    )


def parse_dates(
    values: pl.Series, formats: tuple[str, ...] = DATE_FORMATS, *, datetime: bool = False
) -> pl.Series:
    """Parse with the first format; only the values it could not parse are tried with the others."""

    def parse(series: pl.Series, fmt: str) -> pl.Series:
        if datetime:
            return series.str.to_datetime(fmt, strict=False, time_unit="us")
        return series.str.to_date(fmt, strict=False)

    parsed = parse(values, formats[0])
    for fmt in formats[1:]:
        missing = parsed.is_null() & values.is_not_null()
        if not missing.any():
            break
        positions = missing.arg_true()
        parsed = parsed.scatter(positions, parse(values.gather(positions), fmt))
    return parsed


_ID_TABLES: list[pl.Series] = []


_ID_GROUPS = ((0, 4), (4, 4), (8, 4), (12, 5))  # (first digit, digits) of the 17-digit body


def _id_tables() -> list[pl.Series]:
    """GB 11643's weighted digit sum of each digit group of the 17-digit body, for every value of the group, as lookup
    tables (built once per process, column-wise, 0.3 MB): four integer divisions and four gathers replace seventeen
    digit extractions."""
    if not _ID_TABLES:
        for start, width in _ID_GROUPS:
            weights = ID_WEIGHTS[start : start + width]
            n = pl.int_range(0, 10**width, dtype=pl.Int64, eager=True)
            digits = [(n // 10 ** (width - 1 - i)) % 10 * weight for i, weight in enumerate(weights)]
            _ID_TABLES.append(pl.select(pl.sum_horizontal(digits).cast(pl.Int16)).to_series())
    return _ID_TABLES


ID_SHAPE = r"^\d{17}[0-9Xx]$"


def resident_id_checks(name: str) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """GB 11643, in three parts that `resident_id_is_valid` combines: the shape (17 digits and a check character),
    for a value of that shape the checksum, and the birth date the number holds (`resident_id_birth`: null where
    digits 7–14 are not a date). The body is read as one integer and its weighted sum looked up by digit groups,
    which is far cheaper on a million rows than seventeen string slices; the check character is compared as a
    number (X is 10: the weighted sum of all eighteen is 1 modulo 11)."""
    value = pl.col(name)
    body = value.str.slice(0, 17).cast(pl.Int64, strict=False)
    parts = []
    for (start, width), table in zip(_ID_GROUPS, _id_tables(), strict=True):
        group = body // 10 ** (17 - start - width) % 10**width
        parts.append(pl.lit(table).gather(group).cast(pl.Int32))
    # Of the right shape, the check character is a digit or X (10).
    check = value.str.slice(17, 1).cast(pl.Int32, strict=False).fill_null(10)
    checksum = (pl.sum_horizontal(parts) + check) % 11 == 1
    return value.str.contains(ID_SHAPE), checksum, resident_id_birth(name)


def resident_id_birth(name: str) -> pl.Expr:
    """The birth date an ID number holds (digits 7–14) as a date; null where they are not one."""
    return pl.col(name).str.slice(6, 8).str.to_date("%Y%m%d", strict=False)


def resident_id_birth_column(name: str) -> str:
    """The helper column (`Rule.helpers`) holding `resident_id_birth`: the ID item's rules and the birth-date cross
    rule read it, so it is parsed once a chunk."""
    return f"__id_birth_{name}"


def resident_id_is_valid(name: str) -> pl.Expr:
    """GB 11643: 17 digits + check character, the checksum right, a valid birth date."""
    shape, checksum, birth = resident_id_checks(name)
    return (shape & checksum & birth.is_not_null()).fill_null(False)


def credit_code_is_valid(name: str) -> pl.Expr:
    """GB 32100: 18 characters of the 31-symbol alphabet with a mod-31 check character."""
    value = pl.col(name).str.to_uppercase()
    symbol = dict(zip(USCC_ALPHABET, range(31), strict=True))
    total = pl.sum_horizontal(
        [
            value.str.slice(i, 1).replace_strict(symbol, default=None, return_dtype=pl.Int32) * weight
            for i, weight in enumerate(USCC_WEIGHTS)
        ]
    )
    expected = ((31 - total % 31) % 31).replace_strict(dict(enumerate(USCC_ALPHABET)), return_dtype=pl.String)
    return value.str.contains(r"^[0-9A-HJ-NP-RTUWXY]{18}$").fill_null(False) & (
        value.str.slice(17, 1) == expected
    ).fill_null(False)


# GB/T 2260's province-level codes: the 31 of the shipped statistical division data (standards/data/divisions) and
# 台湾省 (71), 香港 (81), 澳门 (82), which the standard lists but that data does not.
PROVINCE_CODES = frozenset(
    str(n)
    for n in (11, 12, 13, 14, 15, 21, 22, 23, *range(31, 38), *range(41, 47), *range(50, 55), *range(61, 66))
) | frozenset({"71", "81", "82"})
# 港澳台居民居住证 numbers follow GB 11643 with the address codes 810000, 820000 and 830000 (830000 for residents from
# Taiwan), so 83 is a possible first two digits of an ID number, though not a GB/T 2260 province.
ID_ONLY_PROVINCES = frozenset({"83"})


@functools.lru_cache(maxsize=8)
def province_codes(divisions: frozenset[str] | None) -> frozenset[str]:
    """The possible first two digits of a division code: the provinces of the current division data (codes ending in
    0000, so a province a newer snapshot adds is known) and those of the standard (so a partial code set never turns
    a real province into an error)."""
    return frozenset(code[:2] for code in divisions or () if code.endswith("0000")) | PROVINCE_CODES


def malformed_division(
    value: pl.Expr, divisions: frozenset[str] | None, *, resident_id: bool = False
) -> pl.Expr:
    """Rows whose first six digits cannot be a GB/T 2260 code of any year: the province (digits 1–2) is not one, or
    the city part (digits 3–4) is 00 under a county part (digits 5–6) other than 00 (00 in digits 3–4 stands for the
    province itself, so no county sits under it; every county of the division data has a city code). A well-formed
    prefix missing from today's codes is not malformed: ID numbers keep the codes of abolished divisions. One
    anchored regex: cheaper on a million rows than slicing the string three times."""
    provinces = province_codes(divisions) | (ID_ONLY_PROVINCES if resident_id else frozenset())
    possible = rf"^(?:{'|'.join(sorted(provinces))})(?:\d[1-9]|[1-9]\d|0000)"
    return ~value.str.contains(possible)


@dataclass(frozen=True)
class CodeSetInfo:
    """What the rules need of an item's code set, computed once per set version: the codes and names as polars
    lists (a list of 41,000 township codes costs milliseconds to convert, so not once per rule and batch), the
    codes' shortest and longest lengths, and whether all are digits."""

    codes: pl.Series
    names: pl.Series
    shortest: int
    longest: int
    all_digits: bool
    name_to_code: tuple[
        pl.Series, pl.Series
    ]  # names → their codes, for `typed_values` (a later duplicate name wins)


_CODE_SETS: dict[int, tuple[tuple[tuple[str, str], ...], CodeSetInfo]] = {}


def code_set_info(column: Column) -> CodeSetInfo | None:
    """None when the item has no code set. Keyed by the identity of the schema's value tuple, which
    `standards.lookups.code_pairs` shares while the set's version is current (the tuple is kept alongside, so its
    identity cannot be reused)."""
    values = column.code_values
    if not values:
        return None
    cached = _CODE_SETS.get(id(values))
    if cached is not None and cached[0] is values:
        return cached[1]
    codes = [code for code, _name in values]
    lengths = [len(code) for code in codes]
    info = CodeSetInfo(
        codes=pl.Series(codes, dtype=pl.String).implode(),
        names=pl.Series([name for _code, name in values], dtype=pl.String).implode(),
        shortest=min(lengths),
        longest=max(lengths),
        all_digits=all(code.isdigit() for code in codes),
        name_to_code=_name_to_code(values),
    )
    if len(_CODE_SETS) >= 256:
        _CODE_SETS.clear()
    _CODE_SETS[id(values)] = (values, info)
    return info


def _name_to_code(values: tuple[tuple[str, str], ...]) -> tuple[pl.Series, pl.Series]:
    mapping = {name: code for code, name in values}
    return pl.Series(list(mapping), dtype=pl.String), pl.Series(list(mapping.values()), dtype=pl.String)


def _in_code_set(column: Column, info: CodeSetInfo) -> pl.Expr:
    """Whether the value is a code of the item's code set or the name of one (what `typed_values` turns into its
    code)."""
    value = pl.col(column.field_name)
    return value.is_in(pl.lit(info.codes)) | value.is_in(pl.lit(info.names))


def column_rules(column: Column, *, divisions: frozenset[str] | None = None) -> list[Rule]:
    name, rules = column.field_name, []
    present = ~_blank(name)
    raw = pl.col(name)
    code_set = code_set_info(column)
    in_code_set = _in_code_set(column, code_set) if code_set is not None else None
    if column.is_required:
        rules.append(Rule("required", name, "必填项为空", _blank(name)))
    dtype = column.data_type
    if dtype in INTEGER_TYPES:
        rules.append(Rule("type", name, "不是整数", present & _typed(name).is_null()))
    elif dtype in DECIMAL_TYPES:
        integer_digits = (column.length.maximum or 38) - (column.length.scale or 0)
        scale = column.length.scale if column.length.scale is not None else (2 if dtype == "Y" else 0)
        pattern = (
            rf"^[+-]?\d{{1,{max(integer_digits, 1)}}}(?:\.\d{{1,{scale}}})?$"
            if scale
            else rf"^[+-]?\d{{1,{max(integer_digits, 1)}}}$"
        )
        rules.append(Rule("type", name, "不是有效数值或超出位数", present & ~raw.str.contains(pattern)))
    elif dtype in FLOAT_TYPES:
        rules.append(Rule("type", name, "不是数值", present & _typed(name).is_null()))
    elif dtype in DATE_TYPES:
        rules.append(
            Rule(
                "type", name, "不是有效日期（应为 YYYY-MM-DD 或 YYYYMMDD）", present & _typed(name).is_null()
            )
        )
    elif dtype in DATETIME_TYPES:
        rules.append(Rule("type", name, "不是有效的日期时间", present & _typed(name).is_null()))
    elif dtype in BOOLEAN_TYPES:
        rules.append(Rule("type", name, "不是有效的逻辑值（是/否）", present & _typed(name).is_null()))
    else:
        length = _typed(name).str.len_chars()  # after a code set's name became its code
        # A value outside the item's code set is reported once, as such. So the length rules are left out when
        # every code fits the item; otherwise (a catalog that disagrees with its code set) they only look at codes.
        checked = present if in_code_set is None else present & in_code_set
        lowest, highest = column.length.minimum, column.length.maximum
        if code_set is not None and (lowest is None or code_set.shortest >= lowest):
            lowest = None
        if code_set is not None and (highest is None or code_set.longest <= highest):
            highest = None
        if highest is not None:
            rules.append(
                Rule(
                    "length",
                    name,
                    f"超过最大长度 {highest}",
                    checked & (length > highest),
                )
            )
        if lowest is not None and column.check_rule not in ("resident_id", "credit_code"):
            rules.append(
                Rule(
                    "length",
                    name,
                    f"长度应为 {lowest}" if lowest == column.length.maximum else f"长度不应少于 {lowest}",
                    checked & (length < lowest),
                )
            )
    if in_code_set is not None:
        rules.append(Rule("code_set", name, "不在代码集中", present & ~in_code_set))
    if column.pattern:
        rules.append(
            Rule("pattern", name, "格式不符合要求", present & ~raw.str.contains(f"^(?:{column.pattern})$"))
        )
    if column.check_rule == "resident_id":
        # A number shaped like an ID whose address code no GB/T 2260 code can have is reported for that, once,
        # whatever its check character; every other bad number fails the checksum rule. The checksum and the
        # address check are the costly part of a load and serve three rules: computed once, as helper columns.
        shape, checksum, birth = resident_id_checks(name)
        birth_column = resident_id_birth_column(name)
        helpers = (
            (f"__id_shape_{name}", shape.fill_null(False)),
            (f"__id_checksum_{name}", checksum.fill_null(False)),
            (birth_column, birth),
            (f"__id_malformed_{name}", malformed_division(raw, divisions, resident_id=True).fill_null(False)),
        )
        shaped = pl.col(f"__id_shape_{name}")
        valid = shaped & pl.col(f"__id_checksum_{name}") & pl.col(birth_column).is_not_null()
        impossible = shaped & pl.col(f"__id_malformed_{name}")
        rules.append(
            Rule(
                "resident_id",
                name,
                "居民身份证号码校验失败（GB 11643）",
                present & ~impossible & ~valid,
                helpers=helpers,
            )
        )
        rules.append(
            Rule(
                "division_malformed",
                name,
                "身份证号码的地址码不是可能的行政区划代码（省级代码或地市代码不成立，GB/T 2260）",
                present & impossible,
                helpers=helpers,
            )
        )
        if divisions:
            prefix = raw.str.slice(0, 6)
            rules.append(
                Rule(
                    "division_unknown",
                    name,
                    "身份证号码的地址码不在现行行政区划代码中（可能是已撤销的区划）",
                    present & valid & ~impossible & ~prefix.is_in(list(divisions)),
                    severity=WARNING,
                    helpers=helpers,
                )
            )
    elif column.check_rule == "credit_code":
        rules.append(
            Rule(
                "credit_code",
                name,
                "统一社会信用代码校验失败（GB 32100）",
                present & ~credit_code_is_valid(name),
            )
        )
    elif column.check_rule == "division":
        wellformed = raw.str.contains(r"^\d{6}(?:\d{3}|\d{6})?$")
        malformed = malformed_division(raw, divisions).fill_null(False)
        rules.append(Rule("division", name, "行政区划代码格式错误", present & ~wellformed))
        rules.append(
            Rule(
                "division_malformed",
                name,
                "不是可能的行政区划代码（省级代码或地市代码不成立，GB/T 2260）",
                present & wellformed & malformed,
            )
        )
        if divisions:
            rules.append(
                Rule(
                    "division_unknown",
                    name,
                    "行政区划代码不在现行代码中（可能是已撤销的区划）",
                    present & wellformed & ~malformed & ~raw.str.slice(0, 6).is_in(list(divisions)),
                    severity=WARNING,
                )
            )
    elif column.check_rule == "phone":
        rules.append(Rule("phone", name, "电话号码格式错误", present & ~raw.str.contains(PHONE_PATTERN)))
    elif column.check_rule == "geojson":
        valid = raw.map_elements(is_valid_geometry, return_dtype=pl.Boolean, skip_nulls=True)
        rules.append(
            Rule("geojson", name, "不是合法的 GeoJSON 几何对象（type、coordinates）", present & ~valid)
        )
    return rules


def cross_rules(rules: Iterable[CrossRule]) -> list[Rule]:
    built = []
    for rule in rules:
        if rule.kind == "id_birthdate":
            id_field, date_field = rule.fields
            birth_column = resident_id_birth_column(id_field)  # shared with the ID item's own rules
            agree = pl.col(birth_column) == _typed(date_field)
            broken = ~_blank(id_field) & ~_blank(date_field) & ~agree.fill_null(False)
            built.append(
                Rule(
                    "id_birthdate",
                    date_field,
                    rule.reason or "出生日期与身份证号码不一致",
                    broken,
                    rule.severity,
                    helpers=((birth_column, resident_id_birth(id_field)),),
                )
            )
        elif rule.kind == "id_sex":
            id_field, sex_field = rule.fields
            # GB 11643: the 17th digit is odd for men (GB/T 2261.1 code 1), even for women (2). Compared as parities
            # (integers, not strings); a sex value that is neither code nor name, or an ID without a digit there,
            # is left to the other rules.
            digit = pl.col(id_field).str.slice(16, 1).cast(pl.Int8, strict=False)
            sex = pl.col(sex_field).replace_strict(
                {"1": 1, "2": 2, "男": 1, "女": 2, "男性": 1, "女性": 2}, default=None, return_dtype=pl.Int8
            )
            broken = (digit % 2 != sex % 2).fill_null(False)
            built.append(
                Rule("id_sex", sex_field, rule.reason or "性别与身份证号码不一致", broken, rule.severity)
            )
        elif rule.kind == "date_order":
            first, second = rule.fields
            broken = (_typed(first) > _typed(second)).fill_null(False)
            built.append(
                Rule("date_order", second, rule.reason or "日期先后顺序不正确", broken, rule.severity)
            )
        else:
            raise ValueError(f"unknown cross rule {rule.kind}")
    return built


def rules_for(
    schema: ResourceSchema, extra: Iterable[CrossRule] = (), divisions: frozenset[str] | None = None
) -> list[Rule]:
    rules: list[Rule] = []
    for column in schema.columns:
        rules.extend(column_rules(column, divisions=divisions))
    keys = list(schema.key_fields)
    if keys:
        # Keys compare as stored (typed: an ID's check letter upper-cased, a code set's name as its code), as the
        # store's unique index and the pipeline's check across chunks compare them; a value that does not parse as
        # it was written.
        parts = [pl.coalesce(_typed(k).cast(pl.String), pl.col(k)) for k in keys]
        key = pl.struct(parts) if len(parts) > 1 else parts[0]
        rules.append(Rule("duplicate_key", keys[0], "主键重复（同一批次中已出现）", ~key.is_first_distinct()))
    rules.extend(cross_rules(extra))
    return rules


BIRTH_DATE_ELEMENT, SEX_ELEMENT = "DE0004", "DE0003"  # the shipped standard data elements (standards/data)


def implied_cross_rules(schema: ResourceSchema) -> list[CrossRule]:
    """Cross rules the bound data elements imply: a resident ID's birth date and sex digit must agree with the
    resource's birth-date and sex items."""
    ids = [column.field_name for column in schema.columns if column.check_rule == "resident_id"]
    if not ids:
        return []
    found = []
    for column in schema.columns:
        if column.element == BIRTH_DATE_ELEMENT and column.data_type in DATE_TYPES:
            found.append(CrossRule("id_birthdate", (ids[0], column.field_name)))
        elif column.element == SEX_ELEMENT:
            found.append(CrossRule("id_sex", (ids[0], column.field_name)))
    return found


def implied_cross_rules_except(
    schema: ResourceSchema, overridden: Iterable[CrossRule] = ()
) -> list[CrossRule]:
    """The implied cross rules, without those on the same items as one in `overridden` (a department's own rule,
    with its wording and severity), so a broken row is reported once."""
    taken = {(rule.kind, rule.fields) for rule in overridden}
    return [rule for rule in implied_cross_rules(schema) if (rule.kind, rule.fields) not in taken]


def derived_rules(
    schema: ResourceSchema,
    extra: Iterable[CrossRule] = (),
    *,
    overridden: Iterable[CrossRule] = (),
    implied: bool = True,
) -> list[Rule]:
    """Every rule derived from the schema, the cross rules its data elements imply (unless `implied` is False: the
    caller runs them with its cross rules), and the division-code checks against the current GB/T 2260 codes (read
    once per process, see `standards.lookups`). An implied cross rule on the same items as one in `overridden` is
    left out (`implied_cross_rules_except`)."""
    divisions = None
    if any(column.check_rule in ("resident_id", "division") for column in schema.columns):
        from tongshu.standards.lookups import division_codes

        divisions = division_codes() or None
    cross = implied_cross_rules_except(schema, overridden) if implied else []
    return rules_for(schema, [*cross, *extra], divisions=divisions)


def clean(frame: pl.DataFrame, schema: ResourceSchema) -> pl.DataFrame:
    """Trim every value and turn empty strings into nulls, once, before any rule looks at them (two flat passes,
    cheaper than one conditional pass that trims twice)."""
    names = [column.field_name for column in schema.columns]
    frame = frame.with_columns([pl.col(name).str.strip_chars() for name in names])
    return frame.with_columns([pl.when(pl.col(name) != "").then(pl.col(name)).alias(name) for name in names])


def padded_code_width(column: Column) -> int | None:
    """The width to zero-pad a short all-digit value of the column to, when its code set's codes are all digits of
    one width (2 or more); None otherwise (no set, mixed widths, letters: padding would be a guess)."""
    info = code_set_info(column)
    if info is None or info.shortest != info.longest or info.longest < 2 or not info.all_digits:
        return None
    return info.longest


def restore_leading_zeros(frame: pl.DataFrame, schema: ResourceSchema) -> pl.DataFrame:
    """Spreadsheets turn a typed code such as 民族 01 into the number 1: an all-digit value shorter than the code set's
    width whose zero-padded form is a code of the set (and which is not itself one of its names) is read as that
    code, so the cell is loaded instead of being reported twice (length and code set). Run on each mapped chunk
    before validation; a chunk without such columns is returned as it is."""
    expressions = []
    for column in schema.columns:
        width = padded_code_width(column)
        if width is None or column.field_name not in frame.columns:
            continue
        info = code_set_info(column)
        assert info is not None  # a padded width implies a code set
        value = pl.col(column.field_name).str.strip_chars()
        padded = value.str.zfill(width)
        short = (
            value.str.contains(r"^\d+$")
            & (value.str.len_chars() < width)
            & padded.is_in(pl.lit(info.codes))
            & ~value.is_in(pl.lit(info.names))
        )
        expressions.append(
            pl.when(short.fill_null(False))
            .then(padded)
            .otherwise(pl.col(column.field_name))
            .alias(column.field_name)
        )
    return frame.with_columns(expressions) if expressions else frame


def typed_values(frame: pl.DataFrame, schema: ResourceSchema) -> pl.DataFrame:
    """Each field parsed into its storage type (dates as dates, numbers as numbers); unparseable values → null."""
    columns = []
    for column in schema.columns:
        values = frame.get_column(column.field_name)
        dtype = column.data_type
        if dtype in INTEGER_TYPES:
            typed = values.cast(pl.Int64, strict=False)
        elif dtype in FLOAT_TYPES:
            typed = values.cast(pl.Float64, strict=False)
        elif dtype in DATE_TYPES:
            typed = parse_dates(values)
        elif dtype in DATETIME_TYPES:
            typed = parse_dates(values, DATETIME_FORMATS, datetime=True)
        elif dtype in BOOLEAN_TYPES:
            typed = frame.select(_parse_boolean(column.field_name)).to_series()
        elif (info := code_set_info(column)) is not None:
            typed = values.replace(*info.name_to_code)
        elif column.check_rule in ("resident_id", "credit_code"):
            typed = values.str.to_uppercase()
        else:
            typed = values  # text (and decimals, kept exact as text; the database stores them as numbers)
        columns.append(typed.alias(column.field_name))
    return pl.DataFrame(columns)


def validate(frame: pl.DataFrame, schema: ResourceSchema, rules: list[Rule]) -> ValidationResult:
    """Run every rule over the batch in one pass; return typed rows and the errors with row numbers."""
    frame = clean(frame, schema)
    typed = typed_values(frame, schema)
    both = frame.hstack(typed.rename({name: typed_name(name) for name in typed.columns}))
    helpers = {name: expression for rule in rules for name, expression in rule.helpers}
    if helpers:
        both = both.with_columns([expression.alias(name) for name, expression in helpers.items()])
    # One lazy query: polars evaluates the rules in parallel (what several rules share is in the helper columns).
    masks = (
        both.lazy()
        .select([rule.broken.fill_null(False).alias(f"m{i}") for i, rule in enumerate(rules)])
        .collect()
    )
    fired = [i for i, hits in enumerate(masks.select(pl.all().any()).row(0)) if hits]
    error_frames = []
    labels = {column.field_name: column.label for column in schema.columns}
    for i in fired:
        rule = rules[i]
        hits = frame.filter(masks.get_column(f"m{i}"))
        error_frames.append(
            hits.select(
                pl.col(ROW).cast(pl.Int64).alias("row"),
                pl.lit(rule.field).alias("field"),
                pl.lit(labels.get(rule.field, rule.field)).alias("label"),
                pl.col(rule.field).cast(pl.String).alias("value"),
                pl.lit(rule.code).alias("code"),
                pl.lit(rule.reason).alias("reason"),
                pl.lit(rule.severity).alias("severity"),
            )
        )
    errors = pl.concat(error_frames) if error_frames else pl.DataFrame(schema=ERROR_SCHEMA)
    bad_rows = errors.filter(pl.col("severity") == ERROR)["row"].unique()
    return ValidationResult(
        typed=typed.insert_column(0, frame.get_column(ROW)), errors=errors.sort("row"), bad_rows=bad_rows
    )


def empty_errors() -> pl.DataFrame:
    return pl.DataFrame(schema=ERROR_SCHEMA)


def as_records(errors: pl.DataFrame, limit: int | None = None) -> list[dict[str, Any]]:
    frame = errors if limit is None else errors.head(limit)
    return frame.to_dicts()
