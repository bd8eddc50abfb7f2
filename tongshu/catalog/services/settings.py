"""The catalog's operator settings (one row): the highest level allowed in open data, code sequence width."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from tongshu.core.errors import ValidationFailed
from tongshu.security.audit import record
from tongshu.standards.levels import SecurityLevel

from .. import permissions
from ..models import CatalogSettings
from .common import require


def update_settings(actor: Any, *, fields: dict[str, Any], request: Any = None) -> CatalogSettings:
    require(permissions.can_edit_settings(actor), "只有系统管理员可以修改目录设置")
    errors = []
    level = fields.get("open_max_security_level")
    if level is not None and level not in SecurityLevel.values:
        errors.append(
            {"field": "open_max_security_level", "code": "invalid_choice", "message": "安全级别无效"}
        )
    if level == SecurityLevel.CORE:
        errors.append(
            {"field": "open_max_security_level", "code": "core_never_open", "message": "核心数据不得开放"}
        )
    width = fields.get("code_sequence_width")
    if width is not None:
        try:
            width = int(width)
        except (TypeError, ValueError):
            width = 0
        if not 3 <= width <= 10:
            errors.append(
                {
                    "field": "code_sequence_width",
                    "code": "invalid_width",
                    "message": "后段码位数须在 3 到 10 之间",
                }
            )
    if errors:
        raise ValidationFailed("目录设置有误", code="invalid", details=errors)
    with transaction.atomic():
        row = CatalogSettings.current()
        before = {
            "open_max_security_level": row.open_max_security_level,
            "code_sequence_width": row.code_sequence_width,
        }
        if level is not None:
            row.open_max_security_level = level
        if width is not None:
            row.code_sequence_width = width
        row.save()
        record(
            "catalog.settings_updated",
            actor=actor,
            target=row,
            request=request,
            details={
                "before": before,
                "after": {
                    "open_max_security_level": row.open_max_security_level,
                    "code_sequence_width": row.code_sequence_width,
                },
            },
        )
    return row
