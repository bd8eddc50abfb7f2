"""Who may read the audit log: the auditor only (三员分立)."""

from __future__ import annotations

from typing import Any

from tongshu.accounts.roles import Role


def can_read_audit_log(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active and user.has_role(Role.AUDITOR))
