"""Factories for organizations and people (plain functions, no fixture files)."""

from __future__ import annotations

import functools
import itertools
from typing import Any

from django.contrib.auth.hashers import make_password
from django.utils import timezone

from tongshu.accounts.models import Organization, OrganizationKind, RoleAssignment, User

PASSWORD = "Test-Passw0rd!"
_counter = itertools.count(1)


def make_organization(
    name: str | None = None, kind: str = OrganizationKind.DEPARTMENT, **fields: Any
) -> Organization:
    n = next(_counter)
    defaults: dict[str, Any] = {
        "code": f"T{n:04d}",
        "name": name or f"测试机构{n}",
        "kind": kind,
        "division_code": "430623",
        "sequence": n,
    }
    defaults.update(fields)
    return Organization.objects.create(**defaults)


@functools.lru_cache(maxsize=16)
def hashed(password: str) -> str:
    """Argon2 is slow on purpose (~0.2 s a hash); tests hash each distinct password once and share the result."""
    return make_password(password)


def make_user(
    username: str | None = None,
    *roles: str,
    organization: Organization | None = None,
    password: str = PASSWORD,
    **fields: Any,
) -> User:
    n = next(_counter)
    user = User(
        username=username or f"user{n}",
        full_name=fields.pop("full_name", f"测试用户{n}"),
        organization=organization,
        password_changed_at=timezone.now(),
        **fields,
    )
    user.password = hashed(password)
    user.save()
    for role in roles:
        RoleAssignment.objects.create(user=user, role=role)
    return user
