"""`/api/v1/accounts`: organizations, users, roles and API keys."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema, Status

from tongshu.core.api_auth import calling_key, calling_user
from tongshu.core.errors import NotFound, PermissionDenied

from . import permissions, services
from .models import ApiKey, Organization, User

router = Router(tags=["accounts"])


class OrganizationOut(Schema):
    id: int
    code: str
    name: str
    short_name: str
    kind: str
    division_code: str
    credit_code: str
    parent_id: int | None
    is_active: bool
    chief_data_officer: str | None = None

    @staticmethod
    def resolve_chief_data_officer(obj: Organization) -> str | None:
        cdo = obj.chief_data_officer
        return cdo.display_name if cdo else None


class OrganizationIn(Schema):
    code: str
    name: str
    kind: str
    division_code: str
    short_name: str = ""
    credit_code: str = ""
    parent_id: int | None = None


class OrganizationPatch(Schema):
    name: str | None = None
    short_name: str | None = None
    kind: str | None = None
    division_code: str | None = None
    credit_code: str | None = None
    parent_id: int | None = None
    is_active: bool | None = None


class UserOut(Schema):
    id: int
    username: str
    full_name: str
    organization_id: int | None
    is_active: bool
    roles: list[str]

    @staticmethod
    def resolve_roles(obj: User) -> list[str]:
        return sorted(obj.role_codes())


class UserIn(Schema):
    username: str
    full_name: str
    organization_id: int
    phone: str = ""


class UserCreated(Schema):
    user: UserOut
    temporary_password: str


class UserPatch(Schema):
    full_name: str | None = None
    phone: str | None = None
    organization_id: int | None = None
    is_active: bool | None = None


class RoleIn(Schema):
    role: str


class ApiKeyOut(Schema):
    id: int
    name: str
    prefix: str
    organization_id: int | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiKeyIn(Schema):
    name: str
    expires_at: datetime | None = None


class ApiKeyCreated(Schema):
    key: ApiKeyOut
    token: str


class PasswordOut(Schema):
    temporary_password: str


class MeOut(Schema):
    kind: str
    username: str | None = None
    full_name: str | None = None
    organization_id: int | None = None
    roles: list[str] = []
    application: str | None = None


@router.get("/me", response=MeOut, summary="当前调用者")
def me(request: HttpRequest) -> dict:
    key = calling_key(request)
    if key is not None:
        return {"kind": "application", "application": key.name, "organization_id": key.organization_id}
    user = calling_user(request)
    return {
        "kind": "user",
        "username": user.username,
        "full_name": user.full_name,
        "organization_id": user.organization_id,
        "roles": sorted(user.role_codes()),
    }


def _organization(pk: int | None) -> Organization | None:
    return None if pk is None else services.get_organization(pk)


@router.get("/organizations", response=list[OrganizationOut], summary="机构列表")
def list_organizations(request: HttpRequest) -> list[Organization]:
    calling_user(request)
    return list(Organization.objects.select_related("parent").order_by("kind", "code"))


@router.post("/organizations", response={201: OrganizationOut}, summary="新建机构")
def create_organization(request: HttpRequest, payload: OrganizationIn) -> Status:
    data = payload.dict()
    data["parent"] = _organization(data.pop("parent_id"))
    return Status(201, services.create_organization(calling_user(request), **data))


@router.patch("/organizations/{org_id}", response=OrganizationOut, summary="修改机构")
def update_organization(request: HttpRequest, org_id: int, payload: OrganizationPatch) -> Organization:
    actor = calling_user(request)
    org = services.get_organization(org_id)
    data = payload.dict(exclude_unset=True)
    if "parent_id" in data:
        data["parent"] = _organization(data.pop("parent_id"))
    return services.update_organization(actor, org, **data)


def _visible_user(actor: User, user_id: int) -> User:
    user = permissions.users_visible_to(actor).filter(pk=user_id).first()
    if user is None:
        raise NotFound("用户不存在", code="user_not_found")
    return user


@router.get("/users", response=list[UserOut], summary="用户列表（按权限范围）")
def list_users(request: HttpRequest) -> list[User]:
    actor = calling_user(request)
    users = list(permissions.users_visible_to(actor).prefetch_related("role_assignments"))
    for user in users:
        user._role_codes = frozenset(a.role for a in user.role_assignments.all())
    return users


@router.post("/users", response={201: UserCreated}, summary="新建工作人员账号")
def create_user(request: HttpRequest, payload: UserIn) -> Status:
    actor = calling_user(request)
    if not permissions.can_manage_users(actor):
        raise PermissionDenied("只有系统管理员可以管理用户")
    user, password = services.create_user(
        actor,
        username=payload.username,
        full_name=payload.full_name,
        phone=payload.phone,
        organization=services.get_organization(payload.organization_id),
    )
    return Status(201, {"user": user, "temporary_password": password})


@router.patch("/users/{user_id}", response=UserOut, summary="修改用户")
def update_user(request: HttpRequest, user_id: int, payload: UserPatch) -> User:
    actor = calling_user(request)
    if not permissions.can_manage_users(actor):
        raise PermissionDenied("只有系统管理员可以管理用户")
    user = _visible_user(actor, user_id)
    data = payload.dict(exclude_unset=True)
    if "organization_id" in data:
        data["organization"] = _organization(data.pop("organization_id"))
    return services.update_user(actor, user, **data)


@router.post("/users/{user_id}/reset-password", response=PasswordOut, summary="重置密码")
def reset_password(request: HttpRequest, user_id: int) -> dict:
    actor = calling_user(request)
    if not permissions.can_manage_users(actor):
        raise PermissionDenied("只有系统管理员可以重置密码")
    return {"temporary_password": services.reset_password(actor, _visible_user(actor, user_id))}


@router.post("/users/{user_id}/roles", response={201: UserOut}, summary="分配角色（安全管理员）")
def grant_role(request: HttpRequest, user_id: int, payload: RoleIn) -> Status:
    actor = calling_user(request)
    if not permissions.can_grant_roles(actor):
        raise PermissionDenied("只有安全管理员可以分配角色")
    user = _visible_user(actor, user_id)
    services.grant_role(actor, user, payload.role, request=request)
    return Status(201, user)


@router.delete("/users/{user_id}/roles/{role}", response=UserOut, summary="撤销角色（安全管理员）")
def revoke_role(request: HttpRequest, user_id: int, role: str) -> User:
    actor = calling_user(request)
    if not permissions.can_grant_roles(actor):
        raise PermissionDenied("只有安全管理员可以撤销角色")
    user = _visible_user(actor, user_id)
    services.revoke_role(actor, user, role, request=request)
    return user


@router.get("/api-keys", response=list[ApiKeyOut], summary="应用密钥列表")
def list_api_keys(request: HttpRequest) -> list[ApiKey]:
    return list(permissions.api_keys_visible_to(calling_user(request)))


@router.post("/api-keys", response={201: ApiKeyCreated}, summary="创建应用密钥（只显示一次）")
def create_api_key(request: HttpRequest, payload: ApiKeyIn) -> Status:
    actor = calling_user(request)
    key, token = services.create_api_key(
        actor,
        name=payload.name,
        organization=actor.organization,
        expires_at=payload.expires_at,
        request=request,
    )
    return Status(201, {"key": key, "token": token})


@router.post("/api-keys/{key_id}/revoke", response=ApiKeyOut, summary="吊销应用密钥")
def revoke_api_key(request: HttpRequest, key_id: int) -> ApiKey:
    actor = calling_user(request)
    key = permissions.api_keys_visible_to(actor).filter(pk=key_id).first()
    if key is None:
        raise NotFound("应用密钥不存在", code="api_key_not_found")
    return services.revoke_api_key(actor, key, request=request)
