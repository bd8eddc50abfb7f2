"""From stored rules to the checks the pipeline runs (第十三条, 第十五条).

`rules_for_resource(resource)` gathers everything a load of the resource is checked against: the rules derived from
its info items, data elements and code sets (`engine.rules_for`, with today's division codes), the value rules a
department added (range, pattern), the cross-item rules (`engine.CrossRule`), and the reference checks, which look
the chunk's values up in another resource's live rows through the store.

`check_definition` validates a rule before it is saved: the items exist in the resource's published version and fit
the kind, the parameters are sane.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

import polars as pl

from tongshu.core.errors import ValidationFailed
from tongshu.dataplane import store
from tongshu.dataplane.schema import (
    DATE_TYPES,
    DATETIME_TYPES,
    DECIMAL_TYPES,
    FLOAT_TYPES,
    INTEGER_TYPES,
    ResourceSchema,
    schema_for_version,
)

from .engine import (
    ERROR,
    ROW,
    CrossRule,
    Rule,
    cross_rules,
    derived_rules,
    implied_cross_rules_except,
    typed_name,
)
from .models import CROSS_KINDS, QualityRule, RuleKind, Severity

NUMBER_TYPES = INTEGER_TYPES | DECIMAL_TYPES | FLOAT_TYPES
TEMPORAL_TYPES = DATE_TYPES | DATETIME_TYPES


class ResourceRules(NamedTuple):
    column: list[Rule]  # derived from the info items + department value rules (range, pattern)
    cross: list[Rule]  # cross-item rules: those the data elements imply and the department's
    references: list[Callable[[pl.DataFrame], pl.DataFrame]]  # chunk → error rows


@dataclass(frozen=True)
class ReferenceCheck:
    """Values of `field` must exist among `target_field` of the target resource's live rows ("the ID exists in the
    population base library"). Called with a validated chunk (typed values + `_row`), returns its error rows."""

    field: str
    label: str
    target: ResourceSchema
    target_field: str
    reason: str
    severity: str = ERROR
    batch_size: int = 500

    def __call__(self, typed: pl.DataFrame) -> pl.DataFrame:
        values = typed.get_column(self.field)
        present = values.drop_nulls().unique()
        candidates = present.to_list()
        found = store.existing_values(self.target, self.target_field, candidates, batch_size=self.batch_size)
        missing = pl.Series([value for value in candidates if value not in found], dtype=present.dtype)
        hits = typed.filter(pl.col(self.field).is_in(missing.implode()))
        return hits.select(
            pl.col(ROW).cast(pl.Int64).alias("row"),
            pl.lit(self.field).alias("field"),
            pl.lit(self.label).alias("label"),
            pl.col(self.field).cast(pl.String).alias("value"),
            pl.lit("reference").alias("code"),
            pl.lit(self.reason).alias("reason"),
            pl.lit(self.severity).alias("severity"),
        )


# -- validation of a definition -------------------------------------------------------------------------------------
def _fail(message: str, field_name: str, code: str = "invalid_rule") -> ValidationFailed:
    return ValidationFailed(message, code=code, field=field_name)


def _parse_bound(value: Any, data_type: str) -> Any:
    """A range bound as the typed value the engine compares with (None: no bound)."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if data_type in DATE_TYPES:
        for fmt in ("%Y-%m-%d", "%Y%m%d"):
            try:
                return datetime.strptime(text, fmt).date()
            except ValueError:
                continue
        raise _fail(f"“{text}”不是有效日期（应为 YYYY-MM-DD）", "parameters")
    if data_type in DATETIME_TYPES:
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            raise _fail(f"“{text}”不是有效的日期时间", "parameters") from None
    try:
        return float(text)
    except ValueError:
        raise _fail(f"“{text}”不是数值", "parameters") from None


def check_definition(
    resource: Any, kind: str, items: list[str], parameters: dict[str, Any], severity: str
) -> dict[str, Any]:
    """Validate a rule against the resource's published version; return the normalized parameters."""
    if kind not in RuleKind.values:
        raise _fail("规则类型无效", "kind")
    if severity not in Severity.values:
        raise _fail("级别无效", "severity")
    if resource.published_version_id is None:
        raise _fail("只有已发布的信息资源可以设置质量规则", "resource", "resource_not_published")
    schema = schema_for_version(resource.published_version)
    fields = {column.field_name: column for column in schema.columns}
    items = [str(item) for item in items or []]
    unknown = [item for item in items if item not in fields]
    if unknown:
        raise _fail(f"信息项不存在：{'、'.join(unknown)}", "items")
    expected = 2 if kind in CROSS_KINDS else 1
    if len(items) != expected or len(set(items)) != len(items):
        raise _fail(f"该类规则需要选择 {expected} 个不同的信息项", "items")
    columns = [fields[item] for item in items]
    parameters = dict(parameters or {})
    if kind == RuleKind.ID_BIRTHDATE:
        if columns[0].data_type in NUMBER_TYPES | TEMPORAL_TYPES or columns[1].data_type not in DATE_TYPES:
            raise _fail("第一个信息项应为身份证号码（字符型），第二个应为日期型的出生日期", "items")
        return {}
    if kind == RuleKind.ID_SEX:
        if columns[0].data_type in NUMBER_TYPES | TEMPORAL_TYPES:
            raise _fail("第一个信息项应为身份证号码（字符型）", "items")
        return {}
    if kind == RuleKind.DATE_ORDER:
        if any(column.data_type not in TEMPORAL_TYPES for column in columns):
            raise _fail("日期先后规则的两个信息项都应为日期或日期时间型", "items")
        return {}
    column = columns[0]
    if kind == RuleKind.RANGE:
        if column.data_type not in NUMBER_TYPES | TEMPORAL_TYPES:
            raise _fail("取值范围只适用于数值型和日期型信息项", "items")
        low = _parse_bound(parameters.get("min"), column.data_type)
        high = _parse_bound(parameters.get("max"), column.data_type)
        if low is None and high is None:
            raise _fail("请至少填写最小值或最大值", "parameters")
        if low is not None and high is not None and low > high:
            raise _fail("最小值不能大于最大值", "parameters")
        return {"min": _bound_text(low), "max": _bound_text(high)}
    if kind == RuleKind.PATTERN:
        pattern = str(parameters.get("pattern") or "").strip()
        if not pattern or len(pattern) > 300:
            raise _fail("请填写正则表达式（不超过 300 个字符）", "parameters")
        try:
            re.compile(pattern)
            pl.Series([""]).str.contains(pattern)
        except Exception:
            raise _fail("正则表达式无效", "parameters") from None
        return {"pattern": pattern}
    # reference
    from tongshu.catalog.models import Resource

    try:
        target_id = int(parameters.get("resource") or 0)
    except (TypeError, ValueError):
        target_id = 0
    target = Resource.objects.select_related("published_version").filter(pk=target_id).first()
    if target is None or target.published_version_id is None or target.is_retired:
        raise _fail("被引用的信息资源不存在或未发布", "parameters")
    target_schema = schema_for_version(target.published_version)
    target_field = str(parameters.get("field") or "")
    if not target_field:
        if len(target_schema.key_fields) != 1:
            raise _fail("被引用资源没有唯一的主键信息项，请指定被引用的信息项", "parameters")
        target_field = target_schema.key_fields[0]
    target_fields = {c.field_name: c for c in target_schema.columns}
    if target_field not in target_fields:
        raise _fail(f"被引用资源中没有信息项 {target_field}", "parameters")
    target_column = target_fields[target_field]
    if not (target_column.is_key or target_column.is_queryable):
        raise _fail("被引用的信息项应为主键或可查询项（有索引）", "parameters")
    referable = lambda c: c.is_text or c.data_type in INTEGER_TYPES | DATE_TYPES  # noqa: E731
    if not referable(column) or not referable(target_column):
        raise _fail("引用规则只适用于字符型、整数型和日期型信息项", "items")
    if column.is_text != target_column.is_text or (
        not column.is_text and column.data_type != target_column.data_type
    ):
        raise _fail("两个信息项的数据类型不一致", "parameters")
    return {"resource": target.pk, "field": target_field}


def _bound_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(int(value)) if float(value).is_integer() else str(value)


# -- building the checks --------------------------------------------------------------------------------------------
def value_rule(rule: QualityRule, schema: ResourceSchema) -> Rule | None:
    """A range or pattern rule as an engine Rule (None if its item left the schema)."""
    name = rule.items[0] if rule.items else ""
    try:
        column = schema.column(name)
    except KeyError:
        return None
    present = pl.col(name).is_not_null()
    if rule.kind == RuleKind.PATTERN:
        pattern = rule.parameters.get("pattern", "")
        broken = present & ~pl.col(name).str.contains(f"^(?:{pattern})$")
        return Rule("rule_pattern", name, rule.reason or "不符合部门设定的格式", broken, rule.severity)
    value = pl.col(typed_name(name))
    if column.data_type in DECIMAL_TYPES:
        value = value.cast(pl.Float64, strict=False)
    low = _parse_bound(rule.parameters.get("min"), column.data_type)
    high = _parse_bound(rule.parameters.get("max"), column.data_type)
    broken = pl.lit(False)
    if low is not None:
        broken = broken | (value < pl.lit(low))
    if high is not None:
        broken = broken | (value > pl.lit(high))
    text = f"{'' if low is None else _bound_text(low)} ~ {'' if high is None else _bound_text(high)}"
    return Rule("rule_range", name, rule.reason or f"超出取值范围（{text}）", present & broken, rule.severity)


def _cross(rules: Iterable[QualityRule], schema: ResourceSchema) -> list[CrossRule]:
    fields = {column.field_name for column in schema.columns}
    return [
        CrossRule(kind=rule.kind, fields=tuple(rule.items), reason=rule.reason, severity=rule.severity)
        for rule in rules
        if rule.kind in CROSS_KINDS and all(item in fields for item in rule.items)
    ]


def reference_check(rule: QualityRule, schema: ResourceSchema) -> ReferenceCheck | None:
    from tongshu.catalog.models import Resource

    name = rule.items[0] if rule.items else ""
    target = (
        Resource.objects.select_related("published_version", "provider")
        .filter(pk=rule.parameters.get("resource"))
        .first()
    )
    if (
        target is None
        or target.published_version is None
        or name not in {c.field_name for c in schema.columns}
    ):
        return None
    target_schema = schema_for_version(target.published_version)
    label = schema.column(name).label
    version_name = target.published_version.name
    return ReferenceCheck(
        field=name,
        label=label,
        target=target_schema,
        target_field=rule.parameters.get("field") or target_schema.key_fields[0],
        reason=rule.reason or f"在“{version_name}”中不存在",
        severity=rule.severity,
    )


def active_rules(resource: Any) -> list[QualityRule]:
    return list(QualityRule.objects.filter(resource=resource, is_active=True).order_by("pk"))


def rules_for_resource(resource: Any, schema: ResourceSchema | None = None) -> ResourceRules:
    """Every check a load of `resource` runs: derived column rules and department value rules, cross-item rules,
    reference checks (called by dataplane.services.apply_batch)."""
    schema = schema or schema_for_version(resource.published_version)
    stored = active_rules(resource)
    department_cross = _cross(stored, schema)
    # The cross rules the bound data elements imply (ID ↔ birth date, ID ↔ sex) join the department's own (which
    # replace an implied one on the same items): all of them are cross-item rules, scored under consistency.
    implied = implied_cross_rules_except(schema, department_cross)
    column = derived_rules(schema, implied=False)
    column += [
        built
        for rule in stored
        if rule.kind in (RuleKind.RANGE, RuleKind.PATTERN)
        if (built := value_rule(rule, schema))
    ]
    cross = cross_rules([*implied, *department_cross])
    references: list[Callable[[pl.DataFrame], pl.DataFrame]] = [
        check
        for rule in stored
        if rule.kind == RuleKind.REFERENCE
        if (check := reference_check(rule, schema))
    ]
    return ResourceRules(column=column, cross=cross, references=references)
