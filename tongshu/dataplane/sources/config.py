"""Checking a pull source's configuration and computing its timetable (used by `sources.services`)."""

from __future__ import annotations

import json
import re
import zoneinfo
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from tongshu.catalog.models import Resource
from tongshu.core.errors import ValidationFailed

from ..models import BatchMode
from ..models_sources import Cipher, PullSource, SourceKind
from ..services import published_schema
from . import database, http

LIMITS = {"timeout_seconds": (1, 600), "page_size": (1, 100_000), "max_pages": (1, 100_000)}
MIN_EVERY_MINUTES = 1
HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
HEADER_VALUE = re.compile(r"^[\x20-\x7e]+$")
TEXT_FIELDS = (
    "name",
    "url",
    "auth_header_name",
    "rows_path",
    "page_param",
    "size_param",
    "next_link_path",
    "query",
    "incremental_column",
    "cron",
)


def next_run_after(source: PullSource, moment: datetime) -> datetime | None:
    if not source.is_enabled:
        return None
    if source.cron:
        from apscheduler.triggers.cron import CronTrigger

        zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
        trigger = CronTrigger.from_crontab(source.cron, timezone=zone)
        upcoming: datetime | None = trigger.get_next_fire_time(None, moment.astimezone(zone))
        return upcoming
    if source.every_minutes:
        return moment + timedelta(minutes=source.every_minutes)
    return None


def clean(resource: Resource, values: dict[str, Any]) -> dict[str, Any]:
    """Check a source's settings (pages and API alike); text is stripped, the mapping parsed from JSON text."""
    schema = published_schema(resource)
    fields = {column.field_name for column in schema.columns}
    cleaned = dict(values)
    for name in TEXT_FIELDS:
        if name in cleaned:
            cleaned[name] = str(cleaned[name] or "").strip()
            limit = getattr(PullSource._meta.get_field(name), "max_length", None)
            if limit and len(cleaned[name]) > limit:
                raise ValidationFailed(f"不能超过 {limit} 个字符", code="too_long", field=name)
    if not cleaned.get("name"):
        raise ValidationFailed("请填写接入源名称", code="required", field="name")
    if cleaned.get("kind") not in SourceKind.values:
        raise ValidationFailed("接入方式无效", code="invalid", field="kind")
    if cleaned.get("cipher", Cipher.FERNET) not in Cipher.values:
        raise ValidationFailed("加密方式无效（fernet 或 sm4）", code="invalid", field="cipher")
    if cleaned.get("mode", BatchMode.UPSERT) not in BatchMode.values:
        raise ValidationFailed("加载方式无效", code="invalid", field="mode")
    if cleaned.get("mode") == BatchMode.UPSERT and not schema.key_fields:
        raise ValidationFailed("该资源没有主键信息项，只能全量替换", code="invalid", field="mode")
    for name, (low, high) in LIMITS.items():
        if name in cleaned and not low <= int(cleaned[name]) <= high:
            raise ValidationFailed(f"取值应在 {low} 到 {high} 之间", code="out_of_range", field=name)
    cron = str(cleaned.get("cron") or "").strip()
    every = cleaned.get("every_minutes")
    if cron and every:
        raise ValidationFailed("运行周期只能二选一：每隔 N 分钟或 cron 表达式", code="invalid", field="cron")
    if cron:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(cron)
        except ValueError:
            raise ValidationFailed(
                "cron 表达式无效（格式：分 时 日 月 周，例如 0 2 * * *）", code="invalid", field="cron"
            ) from None
    if every is not None and int(every) < MIN_EVERY_MINUTES:
        raise ValidationFailed("间隔至少 1 分钟", code="invalid", field="every_minutes")
    cleaned["cron"] = cron
    mapping = cleaned.get("mapping") or {}
    if isinstance(mapping, str):
        try:
            mapping = json.loads(mapping) if mapping.strip() else {}
        except json.JSONDecodeError:
            raise ValidationFailed(
                '字段对应关系应为 JSON 对象，例如 {"sfzh": "f001"}', code="invalid", field="mapping"
            ) from None
    if not isinstance(mapping, dict) or not all(isinstance(k, str) for k in mapping):
        raise ValidationFailed("字段对应关系应为 JSON 对象", code="invalid", field="mapping")
    unknown = sorted(str(target) for target in mapping.values() if target not in fields)
    if unknown:
        raise ValidationFailed(
            f"字段对应关系中的信息项不存在：{'、'.join(unknown)}", code="invalid", field="mapping"
        )
    cleaned["mapping"] = mapping
    try:
        if cleaned["kind"] == SourceKind.HTTP:
            try:
                http.check_url(str(cleaned.get("url") or ""))
            except http.SourceFault as fault:
                raise ValidationFailed(fault.message, code=fault.code, field="url") from None
            for name in ("rows_path", "next_link_path"):
                try:
                    http.parse_path(str(cleaned.get(name) or ""))
                except ValueError:
                    raise ValidationFailed("JSON 路径格式不正确", code="invalid", field=name) from None
            if cleaned.get("page_param") and cleaned.get("next_link_path"):
                raise ValidationFailed(
                    "分页方式只能二选一：页码参数或下一页链接", code="invalid", field="next_link_path"
                )
        else:
            database.check_query(str(cleaned.get("query") or ""))
            database.check_column(str(cleaned.get("incremental_column") or ""))
            if cleaned.get("incremental_column") and cleaned.get("mode") == BatchMode.REPLACE:
                raise ValidationFailed(
                    "增量拉取只能按主键更新：全量替换会把未返回的记录全部注销",
                    code="invalid",
                    field="mode",
                )
    except http.SourceFault as fault:
        field = {"bad_url": "url", "bad_column": "incremental_column"}.get(fault.code, "query")
        raise ValidationFailed(fault.message, code=fault.code, field=field) from None
    return cleaned


EDITABLE = [
    "kind",
    "name",
    "is_enabled",
    "mode",
    "every_minutes",
    "cron",
    "mapping",
    "cipher",
    "timeout_seconds",
    "page_size",
    "max_pages",
    "url",
    "auth_header_name",
    "page_param",
    "size_param",
    "first_page",
    "next_link_path",
    "rows_path",
    "query",
    "incremental_column",
]
