"""Template filters of the management pages."""

from __future__ import annotations

from typing import Any

from django import template

from tongshu.accounts.roles import Role

register = template.Library()
ROLE_ORDER = {code: index for index, code in enumerate(Role.values)}


@register.filter
def role_labels(user: Any) -> list[str]:
    """The user's role names in the platform's role order (uses the per-request role cache, see queries.with_roles)."""
    return [str(Role(code).label) for code in sorted(user.role_codes(), key=ROLE_ORDER.__getitem__)]
