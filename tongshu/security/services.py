"""Use cases of the audit log for the auditor (审计管理员), the only role that reads it (三员分立, 第三十三条)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from tongshu.accounts.roles import Role
from tongshu.core.errors import NotFound, PermissionDenied, ValidationFailed
from tongshu.core.services import notify

from .audit import record
from .chain import seal_pending
from .checkpoints import latest_checkpoint
from .models import AuditCheckpoint, AuditEntry, AuditVerification
from .permissions import can_read_audit_log
from .verify import VerificationResult, verify_chain

DENIED = "只有审计管理员可以查看和校验审计日志"


def _require_auditor(user: Any) -> None:
    if not can_read_audit_log(user):
        raise PermissionDenied(DENIED)


@dataclass(frozen=True)
class AuditFilters:
    """What the auditor can narrow the log by (the page's form and the API's query parameters)."""

    action: str = ""
    actor: str = ""
    organization: int | None = None
    object: str = ""
    date_from: date | None = None
    date_to: date | None = None


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def filtered_entries(filters: AuditFilters) -> QuerySet[AuditEntry]:
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise ValidationFailed("起始日期不能晚于截止日期", field="date_to")
    entries = AuditEntry.objects.all()
    if filters.action:
        entries = entries.filter(action__startswith=filters.action.strip())
    if filters.actor:
        entries = entries.filter(actor_name__icontains=filters.actor.strip())
    if filters.organization:
        entries = entries.filter(organization_id_value=filters.organization)
    if filters.object:
        term = filters.object.strip()
        entries = entries.filter(
            Q(object_repr__icontains=term) | Q(object_id=term) | Q(object_type__startswith=term.lower())
        )
    if filters.date_from:
        entries = entries.filter(created_at__gte=_day_start(filters.date_from))
    if filters.date_to:
        entries = entries.filter(created_at__lt=_day_start(filters.date_to + timedelta(days=1)))
    return entries


def audit_entries_for(user: Any, filters: AuditFilters) -> QuerySet[AuditEntry]:
    """The log, newest first, for the auditor. Pending entries are sealed first so the page shows their place."""
    _require_auditor(user)
    seal_pending(wait=False)
    return filtered_entries(filters).order_by(F("seq").desc(nulls_first=True), "-id")


def audit_entry_for(user: Any, entry_id: int) -> AuditEntry:
    _require_auditor(user)
    entry = AuditEntry.objects.filter(pk=entry_id).first()
    if entry is None:
        raise NotFound("审计记录不存在", code="audit_entry_not_found")
    return entry


@dataclass(frozen=True)
class ChainStatus:
    verification: AuditVerification | None
    checkpoint: AuditCheckpoint | None
    head_seq: int | None
    pending: int


def chain_status(user: Any) -> ChainStatus:
    """What the auditor sees at the top of the page: the last verification and the last signed checkpoint."""
    _require_auditor(user)
    return ChainStatus(
        verification=AuditVerification.objects.order_by("-started_at", "-id").first(),
        checkpoint=latest_checkpoint(),
        head_seq=AuditEntry.objects.sealed().order_by("-seq").values_list("seq", flat=True).first(),
        pending=AuditEntry.objects.filter(seq__isnull=True).count(),
    )


def run_verification(requested_by: str) -> tuple[VerificationResult, AuditVerification]:
    """Seal what is pending, verify the whole chain, keep the outcome, and alert the auditors if it is broken.

    Used by the auditor's page and API (through `verify_audit_log`), `manage.py audit_verify` and the daily task.
    """
    seal_pending()
    result = verify_chain()
    problem = result.first_problem
    outcome = AuditVerification.objects.create(
        requested_by=requested_by[:150],
        duration_ms=result.duration_ms,
        is_intact=result.is_intact,
        checked=result.checked,
        head_seq=result.head_seq,
        broken_seq=problem.seq if problem else None,
        broken_entry_id=problem.entry_id if problem else None,
        problem=problem.code if problem else "",
        message=result.summary(),
    )
    if not result.is_intact:
        from tongshu.accounts.models import User

        auditors = User.objects.filter(is_active=True, role_assignments__role=Role.AUDITOR).distinct()
        notify(
            auditors,
            "审计日志校验发现篡改",
            body=result.summary(),
            link="/security/audit/",
            topic="security.audit_chain_broken",
        )
    return result, outcome


def verify_audit_log(user: Any, *, request: Any = None) -> tuple[VerificationResult, AuditVerification]:
    """The auditor verifies the chain (第三十三条). The check itself is audited."""
    _require_auditor(user)
    result, outcome = run_verification(user.get_username())
    problem = result.first_problem
    record(
        "audit.verified",
        actor=user,
        request=request,
        details={
            "intact": result.is_intact,
            "checked": result.checked,
            "head_seq": result.head_seq,
            "problem": problem.code if problem else "",
            "broken_seq": problem.seq if problem else None,
        },
    )
    return result, outcome
