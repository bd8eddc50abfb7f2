"""Who may read and who may change the standards (第九条): answered here only, for pages and API alike.

Standards are the platform's shared vocabulary: every signed-in person (and every application key, through the API)
may read them; only the platform operator (`operator_admin`, 大数据中心) changes them.
"""

from __future__ import annotations

from typing import Any

from tongshu.accounts.permissions import is_authenticated
from tongshu.accounts.roles import Role


def can_read_standards(user: Any) -> bool:
    return is_authenticated(user)


def can_manage_standards(user: Any) -> bool:
    return is_authenticated(user) and user.has_role(Role.OPERATOR_ADMIN)
