"""Electronic forms (电子表单, 第十九条(三)): departments with no business system add, edit and retire records by
hand. The form is built from the resource's info items; each save is a one-row batch through the shared pipeline
(source `eform`, upsert by key), validated by the same engine as every other way in; retiring a record is a batch
that marks its row deleted (`store.retire_rows`), so it shows in the change history like any other load.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl
from django import forms
from django.db import transaction
from django.utils import timezone

from tongshu.catalog.models import Resource
from tongshu.core.errors import NotFound, PermissionDenied, ValidationFailed
from tongshu.quality.engine import ERROR, ROW, Rule, clean, rules_for, typed_values, validate
from tongshu.security.audit import record

from . import ingest_rows, permissions, store
from .browse import record_reveal
from .browse import reveal_reason as checked_reveal_reason
from .masking import mask_row, mask_value, masked_fields
from .models import Batch, BatchMode, BatchSource, BatchStatus, ResourceData
from .schema import (
    BOOLEAN_TYPES,
    DATE_TYPES,
    DATETIME_TYPES,
    DECIMAL_TYPES,
    FLOAT_TYPES,
    INTEGER_TYPES,
    Column,
    ResourceSchema,
)
from .services import published_schema, resource_data

PAGE_SIZE = 20


def check_editor(actor: Any, resource: Resource) -> None:
    """Only the provider's data_admin or CDO (a person, not an application key) keeps records by hand."""
    if getattr(actor, "prefix", None) is not None or not permissions.can_load_data(actor, resource):
        raise PermissionDenied("只有资源提供部门的数据管理员或首席数据官可以录入数据", code="forbidden")


# --- the form ----------------------------------------------------------------------------------------------------
def field_kind(column: Column) -> str:
    if column.code_values:
        return "select"
    if column.data_type in BOOLEAN_TYPES:
        return "checkbox"
    if column.data_type in DATE_TYPES:
        return "date"
    if column.data_type in DATETIME_TYPES:
        return "datetime"
    if column.data_type in INTEGER_TYPES | DECIMAL_TYPES | FLOAT_TYPES:
        return "number"
    return "text"


def _form_field(column: Column, *, locked: bool, masked: str | None = None) -> forms.Field:
    kind = field_kind(column)
    attrs: dict[str, Any] = {"data-kind": kind}
    if locked:
        attrs["readonly"] = True
    common: dict[str, Any] = {"label": column.label, "required": False}
    if column.is_required and kind != "checkbox":
        common["label_suffix"] = " *"
    if masked is not None:
        # Shown masked: an empty text box with the masked value as its hint; left empty, the stored value stays.
        attrs.update({"data-kind": "text", "placeholder": masked, "autocomplete": "off"})
        common["help_text"] = (
            "主键（不可修改），已脱敏" if locked else "已脱敏：留空则保持原值；填写则以完整的新值替换"
        )
        return forms.CharField(widget=forms.TextInput(attrs), strip=True, **common)
    if kind == "select":
        choices = [("", "—")] + [(code, f"{code} {name}") for code, name in column.code_values or ()]
        return forms.ChoiceField(choices=choices, widget=forms.Select(attrs=attrs), **common)
    if kind == "checkbox":
        return forms.BooleanField(widget=forms.CheckboxInput(attrs=attrs), **common)
    if kind == "date":
        widget: forms.Widget = forms.DateInput(attrs={**attrs, "type": "date"})
    elif kind == "datetime":
        widget = forms.DateTimeInput(attrs={**attrs, "type": "datetime-local", "step": "1"})
    elif kind == "number":
        widget = forms.TextInput(attrs={**attrs, "inputmode": "decimal"})
    else:
        if column.length.maximum:
            attrs["maxlength"] = column.length.maximum
        widget = (
            forms.Textarea(attrs={**attrs, "rows": 3}) if column.data_type == "M" else forms.TextInput(attrs)
        )
    return forms.CharField(widget=widget, strip=True, **common)


def record_form(
    schema: ResourceSchema,
    data: Any = None,
    *,
    initial: dict[str, Any] | None = None,
    fields: list[str] | None = None,
    lock_keys: bool = False,
    hint_keys: bool = True,
    masked: dict[str, str] | None = None,
) -> forms.Form:
    """A Django form with one field per info item (or the listed ones); the engine, not the form, validates.
    `masked`: field → masked value, for items shown masked (`OpenRecord.placeholders`)."""
    wanted = set(fields) if fields is not None else None
    masked = masked or {}
    form = forms.Form(data, initial=initial)
    form.label_suffix = ""
    for column in schema.columns:
        if wanted is None or column.field_name in wanted:
            hint = masked.get(column.field_name)
            field = _form_field(column, locked=lock_keys and column.is_key, masked=hint)
            if column.is_key and hint_keys and hint is None:
                field.help_text = "主键" + ("（不可修改）" if lock_keys else "")
            form.fields[column.field_name] = field
    return form


def form_values(form: forms.Form) -> dict[str, str]:
    """The submitted values as the text the pipeline reads (checkboxes 1/0, datetime-local with a space)."""
    values: dict[str, str] = {}
    for name, field in form.fields.items():
        raw = form.data.get(form.add_prefix(name))
        if isinstance(field, forms.BooleanField):
            values[name] = "1" if raw not in (None, "", "0", "false", "off") else "0"
        else:
            text = str(raw or "").strip()
            if field.widget.attrs.get("data-kind") == "datetime":
                text = text.replace("T", " ")
            values[name] = text
    return values


def initial_from_row(schema: ResourceSchema, row: dict[str, Any]) -> dict[str, Any]:
    initial: dict[str, Any] = {}
    for column in schema.columns:
        value = row.get(column.field_name)
        kind = field_kind(column)
        if value is None:
            initial[column.field_name] = None if kind == "checkbox" else ""
        elif kind == "date":
            initial[column.field_name] = value.isoformat() if hasattr(value, "isoformat") else str(value)[:10]
        elif kind == "datetime":
            initial[column.field_name] = (
                value.strftime("%Y-%m-%dT%H:%M:%S") if hasattr(value, "strftime") else str(value)
            )
        elif kind == "checkbox":
            initial[column.field_name] = bool(value)
        else:
            initial[column.field_name] = ingest_rows.cell(value)
    return initial


@dataclass
class Check:
    errors: dict[str, list[str]]
    warnings: dict[str, list[str]]

    @property
    def ok(self) -> bool:
        return not self.errors


def check_values(schema: ResourceSchema, values: dict[str, str], rules: list[Rule] | None = None) -> Check:
    """Run the validation engine on one row and group its findings by field: the rules derived from the schema, or
    the ones given (a resource's own, `quality.rules.rules_for_resource`)."""
    frame = pl.DataFrame(
        {
            **{column.field_name: [values.get(column.field_name) or None] for column in schema.columns},
            ROW: [1],
        },
        schema={**{column.field_name: pl.String for column in schema.columns}, ROW: pl.Int64},
    )
    result = validate(frame, schema, rules_for(schema) if rules is None else rules)
    errors: dict[str, list[str]] = {}
    warnings: dict[str, list[str]] = {}
    for finding in result.errors.to_dicts():
        target = errors if finding["severity"] == ERROR else warnings
        target.setdefault(str(finding["field"]), []).append(str(finding["reason"]))
    return Check(errors, warnings)


def typed_value(schema: ResourceSchema, field_name: str, text: str) -> Any:
    """A search value in the column's storage type (a date for a date item …), or None if it does not parse."""
    frame = pl.DataFrame(
        {column.field_name: [text if column.field_name == field_name else None] for column in schema.columns},
        schema={column.field_name: pl.String for column in schema.columns},
    )
    return typed_values(clean(frame, schema), schema)[field_name][0]


# --- records -----------------------------------------------------------------------------------------------------
def searchable_columns(schema: ResourceSchema) -> list[Column]:
    return [column for column in schema.columns if column.is_key or column.is_queryable]


def list_records(
    actor: Any, resource: Resource, *, field: str = "", value: str = "", page: int = 1
) -> tuple[list[dict[str, Any]], bool]:
    """One page of live records (exact match on a key or queryable item), sensitive items masked as on the data
    page; returns (rows, has_next)."""
    check_editor(actor, resource)
    schema = published_schema(resource)
    filters: dict[str, Any] = {}
    if field and value.strip():
        if field not in {column.field_name for column in searchable_columns(schema)}:
            raise ValidationFailed("只能按主键或可查询的信息项检索", code="invalid", field="field")
        typed = typed_value(schema, field, value)
        if typed is None:
            return [], False
        filters[field] = typed
    page = max(1, page)
    rows = list(store.read_rows(schema, filters=filters, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE))
    return masked_rows(schema, rows[:PAGE_SIZE]), len(rows) > PAGE_SIZE


def _stored_record(schema: ResourceSchema, rid: int) -> dict[str, Any]:
    """The live row as stored, unmasked: for the services here only, never for display (see `open_record`)."""
    rows = list(store.read_rows(schema, filters={"_rid": rid}, limit=1))
    if not rows:
        raise NotFound("记录不存在或已注销", code="record_not_found")
    return rows[0]


@dataclass
class OpenRecord:
    """A record opened for editing: the form's initial values, masked items empty unless revealed, with their masked
    value as a hint (`placeholders`)."""

    initial: dict[str, Any]
    placeholders: dict[str, str]
    revealed: bool
    can_reveal: bool


def open_record(
    actor: Any, resource: Resource, rid: int, *, reveal_reason: str | None = None, request: Any = None
) -> OpenRecord:
    """Open a record to edit (第十九条(三)). Sensitive items stay masked, as on the data page, so editing never shows
    them by itself; their original values only for those who may reveal them (`permissions.can_reveal_data`),
    with a typed reason, and written to the audit log exactly like the data page's reveal (第三十三条)."""
    check_editor(actor, resource)
    schema = published_schema(resource)
    row = _stored_record(schema, rid)
    initial = initial_from_row(schema, row)
    kinds = masked_fields(schema)
    can_reveal = permissions.can_reveal_data(actor, resource)
    if reveal_reason is None or not kinds:
        hints = {name: str(mask_value(kind, initial[name]) or "") for name, kind in kinds.items()}
        masked_initial = {name: "" if name in kinds else value for name, value in initial.items()}
        return OpenRecord(masked_initial, hints, revealed=False, can_reveal=can_reveal)
    reason = checked_reveal_reason(actor, resource, reveal_reason)
    record_reveal(actor, resource, schema, row, rid, reason, request=request, purpose="eform_edit")
    return OpenRecord(initial, {}, revealed=True, can_reveal=True)


def _keep_masked(
    schema: ResourceSchema, values: dict[str, str], current: dict[str, Any], *, keep_blank: bool
) -> dict[str, str]:
    """A masked item sent back as its masked text (or left empty in a masked form, `keep_blank`) keeps its stored
    value: the mask must never overwrite the data."""
    stored = initial_from_row(schema, current)
    merged = dict(values)
    for name, kind in masked_fields(schema).items():
        text = str(stored.get(name) or "")
        sent = str(values.get(name) or "")
        if (text and sent == mask_value(kind, text)) or (keep_blank and not sent):
            merged[name] = text
    return merged


def _key_of(schema: ResourceSchema, row: dict[str, Any]) -> dict[str, Any]:
    return {name: row[name] for name in schema.key_fields}


def save_record(
    actor: Any,
    resource: Resource,
    values: dict[str, str],
    *,
    rid: int | None = None,
    keep_blank_masked: bool = False,
) -> Batch:
    """Add (rid None) or edit one record: a one-row upsert batch. Raises ValidationFailed with `details` = the
    engine's findings by field when the values are not valid; nothing is loaded then. On an edit, a masked item that
    comes back as its masked text keeps its stored value, and so does an empty one when `keep_blank_masked` (the
    form was shown masked)."""
    check_editor(actor, resource)
    schema = published_schema(resource)
    if not schema.key_fields:
        raise ValidationFailed("该资源没有主键信息项，不能用电子表单逐条维护", code="no_key")
    current = _stored_record(schema, rid) if rid is not None else None
    if current is not None:
        values = _keep_masked(schema, values, current, keep_blank=keep_blank_masked)
    check = check_values(schema, values)
    errors = dict(check.errors)
    key_values = {name: typed_value(schema, name, values.get(name, "")) for name in schema.key_fields}
    if not errors:
        existing = list(store.read_rows(schema, filters=key_values, limit=1))
        if rid is None and existing:
            first = schema.key_fields[0]
            errors[first] = ["该主键的记录已存在，请在列表中找到它并编辑"]
        if current is not None and _key_of(schema, current) != key_values:
            errors[schema.key_fields[0]] = ["主键不可修改；如需更换，请注销本记录后新增"]
    if errors:
        raise ValidationFailed("填写的内容未通过校验，请按提示修改", code="invalid_record", details=errors)
    batch = ingest_rows.submit_rows(
        actor,
        resource,
        [{name: values.get(name, "") for name in (column.field_name for column in schema.columns)}],
        source=BatchSource.EFORM,
        mode=BatchMode.UPSERT,
        file_name="电子表单.csv",
    )
    if batch.status != BatchStatus.APPLIED:
        raise ValidationFailed(batch.message or "保存失败", code="batch_rejected")
    return batch


def retire_record(actor: Any, resource: Resource, rid: int, *, reason: str = "") -> Batch:
    """注销 one record: a batch (source `eform`) that marks the row deleted; its history stays readable."""
    check_editor(actor, resource)
    schema = published_schema(resource)
    row = _stored_record(schema, rid)
    now = timezone.now()
    with transaction.atomic():
        batch = Batch.objects.create(
            resource=resource,
            source=BatchSource.EFORM,
            mode=BatchMode.UPSERT,
            status=BatchStatus.RUNNING,
            submitted_by=actor,
            started_at=now,
            file_name="注销记录",
            message=reason.strip()[:500],
        )
    try:
        summary = store.retire_rows(schema, batch.pk, [_key_of(schema, row)])
    except Exception:
        Batch.objects.filter(pk=batch.pk).update(
            status=BatchStatus.FAILED,
            finished_at=timezone.now(),
            message="注销失败，数据未改变",
            reason_code="store_failed",
        )
        raise
    with transaction.atomic():
        Batch.objects.filter(pk=batch.pk).update(
            status=BatchStatus.APPLIED, finished_at=timezone.now(), rows_read=1, retired=summary.retired
        )
        data: ResourceData = resource_data(resource)
        ResourceData.objects.filter(pk=data.pk).update(
            last_batch=batch, last_loaded_at=timezone.now(), row_count=store.count_rows(schema)
        )
        record(
            "record.retired",
            actor=actor,
            organization=resource.provider,
            target=batch,
            details={"resource": resource.code, "key": {k: str(v) for k, v in _key_of(schema, row).items()}},
        )
    batch.refresh_from_db()
    return batch


def masked_rows(schema: ResourceSchema, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows for the record list: masked as on the data page (ID, phone, name and other sensitive items)."""
    kinds = masked_fields(schema)
    return [mask_row(row, kinds) for row in rows]
