"""Use cases for organizations, users, roles and API keys (第六条, 第三十三条(二)(三)).

Each function takes the acting user first, checks the right, changes state in one transaction and audits it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from tongshu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tongshu.security.audit import record

from . import permissions
from .models import ApiKey, Organization, OrganizationKind, RoleAssignment, User
from .roles import ORGANIZATION_ROLES, SEPARATED_ROLES, Role

API_KEY_SCHEME = "ts"
ORGANIZATION_FIELDS = (
    "code",
    "name",
    "short_name",
    "kind",
    "division_code",
    "credit_code",
    "parent",
    "sequence",
)


def _require(allowed: bool, message: str, code: str = "forbidden") -> None:
    if not allowed:
        raise PermissionDenied(message, code=code)


# --- Organizations --------------------------------------------------------------------------------------------------


def _validate_organization(fields: dict[str, Any], instance: Organization | None = None) -> None:
    code = str(fields.get("code") or "").strip()
    name = str(fields.get("name") or "").strip()
    if not code or len(code) > 32:
        raise ValidationFailed("机构代码不能为空，且不超过32个字符", code="invalid_code", field="code")
    if not name or len(name) > 100:
        raise ValidationFailed("机构名称不能为空，且不超过100个字符", code="invalid_name", field="name")
    if fields.get("kind") not in OrganizationKind.values:
        raise ValidationFailed("机构类型无效", code="invalid_kind", field="kind")
    division = str(fields.get("division_code") or "")
    if not division.isdigit() or len(division) not in (6, 9, 12):
        raise ValidationFailed(
            "行政区划代码应为6位、9位或12位数字", code="invalid_division", field="division_code"
        )
    others = Organization.objects.exclude(pk=instance.pk) if instance else Organization.objects.all()
    if others.filter(code=code).exists():
        raise Conflict("机构代码已被使用", code="duplicate_code", field="code")
    if others.filter(name=name).exists():
        raise Conflict("机构名称已被使用", code="duplicate_name", field="name")
    parent = fields.get("parent")
    if instance is not None and parent is not None:
        node = parent
        while node is not None:
            if node.pk == instance.pk:
                raise ValidationFailed("上级机构不能是本机构或其下级", code="parent_cycle", field="parent")
            node = node.parent


def create_organization(actor: Any, **fields: Any) -> Organization:
    _require(permissions.can_manage_organizations(actor), "只有系统管理员可以管理机构")
    data = {key: fields.get(key) for key in ORGANIZATION_FIELDS if key in fields}
    data["code"] = str(data.get("code") or "").strip()
    data["name"] = str(data.get("name") or "").strip()
    _validate_organization(data)
    with transaction.atomic():
        org = Organization.objects.create(**{k: v for k, v in data.items() if v is not None or k == "parent"})
        record("organization.created", actor=actor, target=org, details={"code": org.code, "kind": org.kind})
    return org


def update_organization(actor: Any, org: Organization, **fields: Any) -> Organization:
    _require(permissions.can_manage_organizations(actor), "只有系统管理员可以管理机构")
    data = {key: getattr(org, key) for key in ORGANIZATION_FIELDS}
    data.update({key: value for key, value in fields.items() if key in ORGANIZATION_FIELDS})
    _validate_organization(data, instance=org)
    changes = {
        key: [str(getattr(org, key) or ""), str(value or "")]
        for key, value in data.items()
        if getattr(org, key) != value
    }
    with transaction.atomic():
        for key, value in data.items():
            setattr(org, key, value)
        if "is_active" in fields:
            org.is_active = bool(fields["is_active"])
        org.save()
        record("organization.updated", actor=actor, target=org, details={"changes": changes})
    return org


# --- Users -------------------------------------------------------------------------------------------------------


def generate_password() -> str:
    """A random temporary password that satisfies the password policy (four character classes, 14 characters)."""
    alphabet = string.ascii_letters + string.digits
    while True:
        body = "".join(secrets.choice(alphabet) for _ in range(12))
        password = f"{body[:6]}-{body[6:]}#"
        if (
            any(c.isupper() for c in body)
            and any(c.islower() for c in body)
            and any(c.isdigit() for c in body)
        ):
            return password


def _check_password(password: str, user: User) -> None:
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationFailed("；".join(exc.messages), code="weak_password", field="password") from exc


def create_user(
    actor: Any,
    *,
    username: str,
    full_name: str,
    organization: Organization | None,
    phone: str = "",
    password: str | None = None,
) -> tuple[User, str]:
    """Create a staff account. It gets a temporary password (returned once) that must be changed at first login."""
    _require(permissions.can_manage_users(actor), "只有系统管理员可以管理用户")
    username = (username or "").strip()
    if not username or len(username) > 150 or not all(c.isalnum() or c in "._-@" for c in username):
        raise ValidationFailed(
            "用户名只能包含字母、数字和 ._-@，且不能为空", code="invalid_username", field="username"
        )
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict("用户名已被使用", code="duplicate_username", field="username")
    if organization is None:
        raise ValidationFailed(
            "工作人员账号必须属于一个机构", code="organization_required", field="organization"
        )
    user = User(
        username=username, full_name=(full_name or "").strip()[:60], phone=phone, organization=organization
    )
    temporary = password or generate_password()
    _check_password(temporary, user)
    user.set_password(temporary)
    user.must_change_password = True
    user.password_changed_at = timezone.now()
    with transaction.atomic():
        user.save()
        record(
            "user.created",
            actor=actor,
            target=user,
            organization=organization,
            details={"username": username},
        )
    return user, temporary


def update_user(actor: Any, user: User, **fields: Any) -> User:
    _require(permissions.can_manage_users(actor), "只有系统管理员可以管理用户")
    changes: dict[str, Any] = {}
    for key in ("full_name", "phone", "organization", "is_active"):
        if key in fields and getattr(user, key) != fields[key]:
            changes[key] = [str(getattr(user, key)), str(fields[key])]
            setattr(user, key, fields[key])
    if "organization" in changes and user.organization is None and user.has_role(*ORGANIZATION_ROLES):
        raise ValidationFailed(
            "持有机构角色的用户必须属于一个机构", code="organization_required", field="organization"
        )
    if user.pk == actor.pk and fields.get("is_active") is False:
        raise ValidationFailed("不能停用自己的账号", code="cannot_disable_self", field="is_active")
    with transaction.atomic():
        user.save()
        record("user.updated", actor=actor, target=user, details={"changes": changes})
    return user


def reset_password(actor: Any, user: User) -> str:
    """Give the account a new temporary password that must be changed at next login."""
    _require(permissions.can_manage_users(actor), "只有系统管理员可以重置密码")
    temporary = generate_password()
    with transaction.atomic():
        user.set_password(temporary)
        user.must_change_password = True
        user.password_changed_at = timezone.now()
        user.save(update_fields=["password", "must_change_password", "password_changed_at"])
        record("user.password_reset", actor=actor, target=user)
    return temporary


def change_password(user: User, *, old_password: str, new_password: str, request: Any = None) -> None:
    """A person changes their own password (forced at first login and on expiry)."""
    if not user.check_password(old_password):
        record("password.change_failed", actor=user, request=request, target=user)
        raise ValidationFailed("原密码不正确", code="wrong_password", field="old_password")
    if old_password == new_password:
        raise ValidationFailed("新密码不能与原密码相同", code="password_reused", field="new_password")
    _check_password(new_password, user)
    with transaction.atomic():
        user.set_password(new_password)
        user.must_change_password = False
        user.password_changed_at = timezone.now()
        user.save(update_fields=["password", "must_change_password", "password_changed_at"])
        record("password.changed", actor=user, request=request, target=user)


def password_expires_at(user: User) -> datetime | None:
    from django.conf import settings

    if not settings.PASSWORD_EXPIRY_DAYS or user.password_changed_at is None:
        return None
    return user.password_changed_at + timedelta(days=settings.PASSWORD_EXPIRY_DAYS)


def is_password_expired(user: User) -> bool:
    expires = password_expires_at(user)
    return expires is not None and expires <= timezone.now()


# --- Roles -------------------------------------------------------------------------------------------------------


def grant_role(actor: Any, user: User, role: str, *, request: Any = None) -> RoleAssignment:
    """Grant a role. Only the security administrator may; 三员分立 and one CDO per organization are enforced."""
    _require(permissions.can_grant_roles(actor), "只有安全管理员可以分配角色")
    if role not in Role.values:
        raise ValidationFailed("角色无效", code="invalid_role", field="role")
    held = set(user.role_assignments.values_list("role", flat=True))
    if role in held:
        raise Conflict("该用户已持有此角色", code="role_already_held", field="role")
    if role in SEPARATED_ROLES and held & (SEPARATED_ROLES - {role}):
        conflicting = sorted(held & SEPARATED_ROLES)
        record(
            "role.grant_refused",
            actor=actor,
            request=request,
            target=user,
            details={"role": role, "reason": "separation_of_duties", "held": conflicting},
        )
        names = "、".join(str(Role(code).label) for code in conflicting)
        raise ValidationFailed(
            f"三员分立：该用户已是{names}，不能再担任{Role(role).label}",
            code="separation_of_duties",
            field="role",
        )
    if role == Role.PUBLIC and user.organization_id is not None:
        raise ValidationFailed("公众角色只能授予不属于任何机构的账号", code="public_role_org", field="role")
    if role in ORGANIZATION_ROLES and user.organization_id is None:
        raise ValidationFailed("该角色只能授予属于某个机构的账号", code="organization_required", field="role")
    with transaction.atomic():
        if role == Role.CDO:
            current = (
                RoleAssignment.objects.select_for_update()
                .filter(role=Role.CDO, user__organization_id=user.organization_id, user__is_active=True)
                .select_related("user")
                .first()
            )
            if current is not None:
                raise Conflict(
                    f"本机构已指定首席数据官（{current.user.display_name}），请先撤销后再指定",
                    code="cdo_exists",
                    field="role",
                )
        try:
            assignment = RoleAssignment.objects.create(user=user, role=role, granted_by=actor)
        except IntegrityError as exc:
            raise Conflict("该用户已持有此角色", code="role_already_held", field="role") from exc
        record("role.granted", actor=actor, request=request, target=user, details={"role": role})
    user.forget_roles()
    return assignment


def revoke_role(actor: Any, user: User, role: str, *, request: Any = None) -> None:
    _require(permissions.can_grant_roles(actor), "只有安全管理员可以撤销角色")
    with transaction.atomic():
        deleted, _ = RoleAssignment.objects.filter(user=user, role=role).delete()
        if not deleted:
            raise NotFound("该用户未持有此角色", code="role_not_held")
        record("role.revoked", actor=actor, request=request, target=user, details={"role": role})
    user.forget_roles()


# --- API keys -----------------------------------------------------------------------------------------------------


def _hash_secret(secret: str) -> str:
    # Keys carry 256 bits of randomness, so a plain SHA-256 is enough; a slow hash would only slow every API call.
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(
    actor: Any,
    *,
    name: str,
    organization: Organization | None,
    expires_at: datetime | None = None,
    request: Any = None,
) -> tuple[ApiKey, str]:
    """Create an application key for the organization (or, for a public account, for itself). The token is returned
    once and never stored: only its SHA-256 hash and its visible prefix are kept."""
    _require(
        permissions.can_create_api_key(actor, organization),
        "只有本机构的数据管理员或首席数据官可以创建应用密钥",
    )
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed("应用名称不能为空，且不超过100个字符", code="invalid_name", field="name")
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed("到期时间必须晚于当前时间", code="invalid_expiry", field="expires_at")
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    token = f"{API_KEY_SCHEME}_{prefix}_{secret}"
    with transaction.atomic():
        key = ApiKey.objects.create(
            name=name,
            organization=organization,
            owner=actor if organization is None else None,
            prefix=prefix,
            key_hash=_hash_secret(token),
            created_by=actor,
            expires_at=expires_at,
        )
        record(
            "api_key.created",
            actor=actor,
            request=request,
            target=key,
            organization=organization,
            details={"prefix": prefix, "expires_at": expires_at.isoformat() if expires_at else None},
        )
    return key, token


def revoke_api_key(actor: Any, key: ApiKey, *, request: Any = None) -> ApiKey:
    _require(permissions.can_revoke_api_key(actor, key), "无权吊销该应用密钥")
    if key.revoked_at is not None:
        raise Conflict("该密钥已被吊销", code="already_revoked")
    with transaction.atomic():
        key.revoked_at = timezone.now()
        key.revoked_by = actor
        key.save(update_fields=["revoked_at", "revoked_by"])
        record(
            "api_key.revoked",
            actor=actor,
            request=request,
            target=key,
            organization=key.organization,
            details={"prefix": key.prefix},
        )
    return key


class ApiKeyRejected(Exception):
    """Raised with the reason a presented key was not accepted (code, Chinese message)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def authenticate_api_key(token: str) -> ApiKey:
    """Return the live key for a presented token, or raise ApiKeyRejected saying why."""
    parts = (token or "").split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_SCHEME or len(parts[1]) != 8:
        raise ApiKeyRejected("invalid_key", "应用密钥格式无效")
    key = ApiKey.objects.select_related("organization", "owner", "created_by").filter(prefix=parts[1]).first()
    if key is None or not hmac.compare_digest(key.key_hash, _hash_secret(token)):
        raise ApiKeyRejected("invalid_key", "应用密钥无效")
    if key.revoked_at is not None:
        raise ApiKeyRejected("key_revoked", "应用密钥已被吊销")
    if key.is_expired:
        raise ApiKeyRejected("key_expired", "应用密钥已过期")
    now = timezone.now()
    # Record use at most once a minute per key, so a busy application does not write on every call.
    if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def get_organization(pk: int) -> Organization:
    org = Organization.objects.filter(pk=pk).first()
    if org is None:
        raise NotFound("机构不存在", code="organization_not_found")
    return org
