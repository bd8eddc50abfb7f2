"""`/api/v1/security`: the audit log for the auditor."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema

from tongshu.core.api_auth import calling_user
from tongshu.core.errors import PermissionDenied

from .models import AuditEntry
from .permissions import can_read_audit_log

router = Router(tags=["security"])


class AuditEntryOut(Schema):
    id: int
    seq: int | None
    created_at: datetime
    actor_name: str
    organization_name: str
    action: str
    object_type: str
    object_id: str
    object_repr: str
    details: dict
    client_ip: str
    entry_hash: str


@router.get("/audit", response=list[AuditEntryOut], summary="审计日志（审计管理员）")
def list_audit_entries(
    request: HttpRequest, action: str = "", actor: str = "", limit: int = 100, offset: int = 0
) -> list[AuditEntry]:
    user = calling_user(request)
    if not can_read_audit_log(user):
        raise PermissionDenied("只有审计管理员可以查看审计日志")
    entries = AuditEntry.objects.all()
    if action:
        entries = entries.filter(action__startswith=action)
    if actor:
        entries = entries.filter(actor_name=actor)
    limit = max(1, min(limit, 500))
    return list(entries[max(0, offset) : max(0, offset) + limit])
