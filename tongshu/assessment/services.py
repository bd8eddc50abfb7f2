"""Recording violations (第三十五条). Other apps call `record_violation`; assessment counts them (第三十四条)."""

from __future__ import annotations

from typing import Any

from django.db import models

from tongshu.security.audit import record

from .models import Violation


def record_violation(
    *,
    organization: Any,
    kind: str,
    article: str,
    description: str,
    actor: Any = None,
    target: models.Model | None = None,
    details: dict[str, Any] | None = None,
    request: Any = None,
) -> Violation:
    violation = Violation.objects.create(
        organization=organization,
        actor=actor if getattr(actor, "pk", None) else None,
        kind=kind,
        article=article,
        description=description,
        object_type=target._meta.label_lower if target is not None else "",
        object_id=str(target.pk) if target is not None else "",
        details=details or {},
    )
    record(
        "violation.recorded",
        actor=actor,
        request=request,
        organization=organization,
        target=target,
        details={"kind": kind, "article": article, **(details or {})},
    )
    return violation
