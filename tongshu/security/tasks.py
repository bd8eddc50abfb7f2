"""Background work of the audit log: sealing every few seconds, and a nightly verification of the whole chain."""

from __future__ import annotations

from django_tasks import task

from tongshu.core.scheduler import cron, every

from .chain import seal_pending
from .services import run_verification

SEAL_INTERVAL_SECONDS = 5


@task()
def seal_audit_log() -> int:
    """Seal pending entries and write a signed checkpoint when one is due (docs/architecture.md, "Audit log")."""
    return seal_pending()


@task()
def verify_audit_log_nightly() -> bool:
    """Verify the whole chain; a broken chain notifies every auditor (services.run_verification)."""
    result, _ = run_verification("scheduler")
    return result.is_intact


every(seconds=SEAL_INTERVAL_SECONDS, name="security.audit_seal")(seal_audit_log)
cron("30 2 * * *", name="security.audit_verify")(verify_audit_log_nightly)
