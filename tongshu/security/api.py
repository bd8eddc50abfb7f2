"""`/api/v1/security`: the audit log and its verification, for the auditor only (三员分立)."""

from __future__ import annotations

from datetime import date, datetime

from django.http import HttpRequest
from ninja import Router, Schema

from tongshu.core.api_auth import calling_user

from . import services
from .models import AuditEntry
from .verify import VerificationResult

router = Router(tags=["security"])


class AuditEntryOut(Schema):
    id: int
    seq: int | None
    created_at: datetime
    actor_name: str
    organization_id: int | None
    organization_name: str
    action: str
    object_type: str
    object_id: str
    object_repr: str
    details: dict
    client_ip: str
    algorithm: str
    prev_hash: str
    entry_hash: str

    @staticmethod
    def resolve_organization_id(obj: AuditEntry) -> int | None:
        return obj.organization_id_value


class ProblemOut(Schema):
    code: str
    message: str
    seq: int | None
    entry_id: int | None


class CheckpointOut(Schema):
    seq: int
    entry_hash: str
    created_at: datetime | None
    reason: str


class VerificationOut(Schema):
    intact: bool
    summary: str
    checked: int
    first_seq: int | None
    head_seq: int | None
    first_problem: ProblemOut | None
    problems: list[ProblemOut]
    last_checkpoint: CheckpointOut | None
    checkpoint_file_found: bool
    duration_ms: int


def _verification_out(result: VerificationResult) -> VerificationOut:
    checkpoint = result.last_checkpoint
    return VerificationOut(
        intact=result.is_intact,
        summary=result.summary(),
        checked=result.checked,
        first_seq=result.first_seq,
        head_seq=result.head_seq,
        first_problem=ProblemOut(**result.first_problem.__dict__) if result.first_problem else None,
        problems=[ProblemOut(**problem.__dict__) for problem in result.problems],
        last_checkpoint=(
            CheckpointOut(
                seq=checkpoint.seq,
                entry_hash=checkpoint.entry_hash,
                created_at=checkpoint.created_at,
                reason=checkpoint.reason,
            )
            if checkpoint
            else None
        ),
        checkpoint_file_found=result.checkpoint_file_found,
        duration_ms=result.duration_ms,
    )


@router.get("/audit", response=list[AuditEntryOut], summary="审计日志（审计管理员）")
def list_audit_entries(
    request: HttpRequest,
    action: str = "",
    actor: str = "",
    organization: int | None = None,
    object: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[AuditEntry]:
    """Newest first. `action` matches a prefix (`login.`), `actor` part of the user name, `object` the object's name,
    id or type; dates are inclusive, in the platform's time zone."""
    filters = services.AuditFilters(
        action=action,
        actor=actor,
        organization=organization,
        object=object,
        date_from=date_from,
        date_to=date_to,
    )
    entries = services.audit_entries_for(calling_user(request), filters)
    limit = max(1, min(limit, 500))
    offset = max(0, offset)
    return list(entries[offset : offset + limit])


@router.get("/audit/verify", response=VerificationOut, summary="校验审计日志哈希链（审计管理员）")
def verify_audit_log(request: HttpRequest) -> VerificationOut:
    """Verify the whole chain and the signed checkpoints now; `intact` false names the first broken entry."""
    result, _ = services.verify_audit_log(calling_user(request), request=request)
    return _verification_out(result)
