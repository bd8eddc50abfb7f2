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

from tongshu.core.checksums import is_valid_uscc
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
    if len(str(fields.get("short_name") or "")) > 40:
        raise ValidationFailed("机构简称不超过40个字符", code="invalid_short_name", field="short_name")
    credit_code = str(fields.get("credit_code") or "")
    if credit_code and not is_valid_uscc(credit_code):
        raise ValidationFailed(
            "统一社会信用代码应为18位且校验位正确（GB 32100）",
            code="invalid_credit_code",
            field="credit_code",
        )
    others = Organization.objects.exclude(pk=instance.pk) if instance else Organization.objects.all()
    if others.filter(code=code).exists():
        raise Conflict("机构代码已被使用", code="duplicate_code", field="code")
    if others.filter(name=name).exists():
        raise Conflict("机构名称已被使用", code="duplicate_name", field="name")
    parent = fields.get("parent")
    if parent is not None and not parent.is_active and (instance is None or instance.parent_id != parent.pk):
        raise ValidationFailed("上级机构已停用，不能选作上级", code="parent_inactive", field="parent")
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
    if data.get("credit_code"):
        data["credit_code"] = str(data["credit_code"]).strip().upper()
    _validate_organization(data)
    with transaction.atomic():
        org = Organization.objects.create(**{k: v for k, v in data.items() if v is not None or k == "parent"})
        record("organization.created", actor=actor, target=org, details={"code": org.code, "kind": org.kind})
    return org


def update_organization(actor: Any, org: Organization, **fields: Any) -> Organization:
    _require(permissions.can_manage_organizations(actor), "只有系统管理员可以管理机构")
    data = {key: getattr(org, key) for key in ORGANIZATION_FIELDS}
    data.update({key: value for key, value in fields.items() if key in ORGANIZATION_FIELDS})
    if data.get("credit_code"):
        data["credit_code"] = str(data["credit_code"]).strip().upper()
    _validate_organization(data, instance=org)
    changes = {
        key: [str(getattr(org, key) or ""), str(value or "")]
        for key, value in data.items()
        if getattr(org, key) != value
    }
    if "is_active" in fields and bool(fields["is_active"]) != org.is_active:
        if not fields["is_active"]:
            _check_can_deactivate(org)
        changes["is_active"] = [str(org.is_active), str(bool(fields["is_active"]))]
    with transaction.atomic():
        for key, value in data.items():
            setattr(org, key, value)
        if "is_active" in fields:
            org.is_active = bool(fields["is_active"])
        org.save()
        record("organization.updated", actor=actor, target=org, details={"changes": changes})
    return org


def _check_can_deactivate(org: Organization) -> None:
    active_users = org.users.filter(is_active=True).count()
    if active_users:
        raise Conflict(
            f"该机构仍有 {active_users} 个启用的账号，请先停用或调出这些账号后再停用机构",
            code="organization_has_users",
            field="is_active",
        )
    if org.children.filter(is_active=True).exists():
        raise Conflict(
            "该机构仍有启用的下级机构，请先停用下级机构", code="organization_has_children", field="is_active"
        )
    if org.api_keys.filter(revoked_at__isnull=True).exists():
        raise Conflict(
            "该机构仍有未吊销的应用密钥，请先吊销", code="organization_has_keys", field="is_active"
        )


def set_organization_active(actor: Any, org: Organization, active: bool) -> Organization:
    """Deactivate an organization that no longer has active accounts, sub-organizations or keys, or reactivate one.
    Organizations are never deleted: catalog, sharing and audit records keep pointing at them."""
    _require(permissions.can_manage_organizations(actor), "只有系统管理员可以管理机构")
    if org.is_active == active:
        raise Conflict("机构已处于该状态", code="no_change", field="is_active")
    if not active:
        _check_can_deactivate(org)
    elif org.parent is not None and not org.parent.is_active:
        raise ValidationFailed("上级机构已停用，请先启用上级机构", code="parent_inactive", field="is_active")
    with transaction.atomic():
        org.is_active = active
        org.save(update_fields=["is_active"])
        record(
            "organization.reactivated" if active else "organization.deactivated",
            actor=actor,
            target=org,
            organization=org,
        )
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
    if "full_name" in fields:
        fields["full_name"] = (fields["full_name"] or "").strip()
        if len(fields["full_name"]) > 60:
            raise ValidationFailed("姓名不超过60个字符", code="invalid_full_name", field="full_name")
    if "phone" in fields:
        fields["phone"] = (fields["phone"] or "").strip()
        if len(fields["phone"]) > 20:
            raise ValidationFailed("电话不超过20个字符", code="invalid_phone", field="phone")
    changes: dict[str, Any] = {
        key: [str(getattr(user, key)), str(fields[key])]
        for key in ("full_name", "phone", "organization", "is_active")
        if key in fields and getattr(user, key) != fields[key]
    }
    organization = fields.get("organization", user.organization)
    is_active = fields.get("is_active", user.is_active)
    if "organization" in changes and organization is None and user.has_role(*ORGANIZATION_ROLES):
        raise ValidationFailed(
            "持有机构角色的用户必须属于一个机构", code="organization_required", field="organization"
        )
    if "organization" in changes and organization is not None and user.has_role(Role.PUBLIC):
        raise ValidationFailed("公众账号不属于任何机构", code="public_role_org", field="organization")
    if user.pk == actor.pk and fields.get("is_active") is False:
        raise ValidationFailed("不能停用自己的账号", code="cannot_disable_self", field="is_active")
    if (
        is_active
        and organization is not None
        and ("organization" in changes or "is_active" in changes)
        and user.has_role(Role.CDO)
    ):
        _check_no_other_cdo(
            user, organization, field="organization" if "organization" in changes else "is_active"
        )
    for key in changes:
        setattr(user, key, fields[key])
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


def _check_no_other_cdo(user: User, organization: Organization, *, field: str = "role") -> None:
    """第六条: exactly one chief data officer per department or township."""
    current = (
        RoleAssignment.objects.filter(role=Role.CDO, user__organization=organization, user__is_active=True)
        .exclude(user=user)
        .select_related("user")
        .first()
    )
    if current is not None:
        raise Conflict(
            f"{organization.name}已指定首席数据官（{current.user.display_name}），每个机构只能有一名首席数据官，"
            "请先撤销后再指定",
            code="cdo_exists",
            field=field,
        )


def _grant_refusal(user: User, role: str, held: set[str]) -> ValidationFailed | Conflict | None:
    """The rule a grant would break, if any (三员分立, the public/organization split, one CDO per organization)."""
    if role in SEPARATED_ROLES and held & (SEPARATED_ROLES - {role}):
        names = "、".join(str(Role(code).label) for code in sorted(held & SEPARATED_ROLES))
        return ValidationFailed(
            f"三员分立：该用户已是{names}，不能再担任{Role(role).label}",
            code="separation_of_duties",
            field="role",
            details={"held": sorted(held & SEPARATED_ROLES)},
        )
    if role == Role.PUBLIC and user.organization_id is not None:
        return ValidationFailed("公众角色只能授予不属于任何机构的账号", code="public_role_org", field="role")
    if role in ORGANIZATION_ROLES and user.organization_id is None:
        return ValidationFailed(
            "该角色只能授予属于某个机构的账号", code="organization_required", field="role"
        )
    if role == Role.CDO and user.is_active and user.organization is not None:
        try:
            _check_no_other_cdo(user, user.organization)
        except Conflict as exc:
            return exc
    return None


def grant_role(actor: Any, user: User, role: str, *, request: Any = None) -> RoleAssignment:
    """Grant a role. Only the security administrator may; 三员分立 and one CDO per organization (第六条) are enforced,
    and every refusal for breaking one of these rules is audited (`role.grant_refused`)."""
    _require(permissions.can_grant_roles(actor), "只有安全管理员可以分配角色")
    if role not in Role.values:
        raise ValidationFailed("角色无效", code="invalid_role", field="role")
    held = set(user.role_assignments.values_list("role", flat=True))
    if role in held:
        raise Conflict("该用户已持有此角色", code="role_already_held", field="role")
    with transaction.atomic():
        if role == Role.CDO and user.organization_id is not None:
            # Lock the organization row so that two concurrent CDO grants for it are serialized (PostgreSQL);
            # SQLite already serializes writers with IMMEDIATE transactions.
            list(Organization.objects.select_for_update().filter(pk=user.organization_id).values_list("pk"))
        refusal = _grant_refusal(user, role, held)
        if refusal is None:
            try:
                assignment = RoleAssignment.objects.create(user=user, role=role, granted_by=actor)
            except IntegrityError as exc:
                raise Conflict("该用户已持有此角色", code="role_already_held", field="role") from exc
            record("role.granted", actor=actor, request=request, target=user, details={"role": role})
    if refusal is not None:
        # Recorded outside the refused transaction so that the refusal itself stays in the audit log.
        record(
            "role.grant_refused",
            actor=actor,
            request=request,
            target=user,
            details={"role": role, "reason": refusal.code, "held": sorted(held)},
        )
        raise refusal
    user.forget_roles()
    return assignment


def revoke_role(actor: Any, user: User, role: str, *, request: Any = None) -> None:
    _require(permissions.can_grant_roles(actor), "只有安全管理员可以撤销角色")
    if user.pk == actor.pk and role == Role.SECURITY_ADMIN:
        raise ValidationFailed(
            "不能撤销自己的安全管理员角色，请由另一名安全管理员操作", code="cannot_revoke_self", field="role"
        )
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
