"""`/api/v1/catalog/systems` (business systems, 第十一条, 第十八条) and `/api/v1/catalog/settings`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status

from tongshu.core.api_auth import calling_user
from tongshu.core.errors import NotFound, PermissionDenied

from . import permissions, services
from .api_schemas import ErrorOut
from .models import BusinessSystem, CatalogSettings
from .services.systems import with_catalog_facts

router = Router(tags=["catalog"])
ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


class SystemIn(Schema):
    name: str
    description: str = ""
    status: str = "online"
    network: str = "extranet"
    is_connected_to_exchange: bool = False
    holds_data: bool = True
    has_share_interface: bool = False
    has_open_interface: bool = False
    interface_document_url: str = ""


class SystemPatch(Schema):
    name: str | None = None
    description: str | None = None
    status: str | None = None
    network: str | None = None
    is_connected_to_exchange: bool | None = None
    holds_data: bool | None = None
    has_share_interface: bool | None = None
    has_open_interface: bool | None = None
    interface_document_url: str | None = None


class SystemOut(Schema):
    id: int
    organization_id: int
    organization_name: str
    name: str
    description: str
    status: str
    network: str
    is_connected_to_exchange: bool
    holds_data: bool
    has_share_interface: bool
    has_open_interface: bool
    interface_document_url: str
    has_interface_document: bool
    has_published_resource: bool
    published_resource_count: int = 0
    updated_at: datetime

    @staticmethod
    def resolve_organization_name(obj: BusinessSystem) -> str:
        return obj.organization.name

    @staticmethod
    def resolve_has_interface_document(obj: BusinessSystem) -> bool:
        return bool(obj.interface_document)

    @staticmethod
    def resolve_has_published_resource(obj: BusinessSystem) -> bool:
        return bool(getattr(obj, "has_published_resource", False))


class ProblemOut(Schema):
    code: str
    message: str


class ReportRowOut(Schema):
    system: SystemOut
    problems: list[ProblemOut]


class SettingsOut(Schema):
    open_max_security_level: str
    code_sequence_width: int


class SettingsPatch(Schema):
    open_max_security_level: str | None = None
    code_sequence_width: int | None = None


def _system(actor: Any, system_id: int) -> BusinessSystem:
    system = with_catalog_facts(permissions.systems_visible_to(actor)).filter(pk=system_id).first()
    if system is None:
        raise NotFound("业务系统不存在或无权查看", code="system_not_found")
    return system


@router.get(
    "/systems",
    response={200: list[SystemOut], **ERRORS},
    summary="业务系统列表（本部门；主管部门和运营方看全部）",
)
def list_systems(request: HttpRequest, organization_id: int | None = None) -> list[BusinessSystem]:
    actor = calling_user(request)
    systems = with_catalog_facts(permissions.systems_visible_to(actor)).order_by("organization__code", "name")
    if organization_id:
        systems = systems.filter(organization_id=organization_id)
    return list(systems)


@router.post(
    "/systems", response={201: SystemOut, **ERRORS}, summary="登记业务系统（本部门数据管理员、首席数据官）"
)
def create_system(request: HttpRequest, payload: SystemIn) -> Status:
    actor = calling_user(request)
    if actor.organization is None:
        raise PermissionDenied("只有部门工作人员可以登记业务系统")
    system = services.create_system(
        actor, organization=actor.organization, fields=payload.dict(), request=request
    )
    return Status(201, _system(actor, system.pk))


@router.get(
    "/systems/report",
    response={200: list[ReportRowOut], **ERRORS},
    summary="持有数据但未编目或无共享接口的业务系统",
)
def systems_report(request: HttpRequest) -> list[dict[str, Any]]:
    return services.systems_report(calling_user(request))


@router.get("/systems/{system_id}", response={200: SystemOut, **ERRORS}, summary="业务系统详情")
def get_system(request: HttpRequest, system_id: int) -> BusinessSystem:
    return _system(calling_user(request), system_id)


@router.patch("/systems/{system_id}", response={200: SystemOut, **ERRORS}, summary="修改业务系统")
def update_system(request: HttpRequest, system_id: int, payload: SystemPatch) -> BusinessSystem:
    actor = calling_user(request)
    system = _system(actor, system_id)
    services.update_system(actor, system, fields=payload.dict(exclude_unset=True), request=request)
    return _system(actor, system_id)


@router.delete(
    "/systems/{system_id}", response={204: None, **ERRORS}, summary="删除业务系统（未被目录关联时）"
)
def delete_system(request: HttpRequest, system_id: int) -> Status:
    actor = calling_user(request)
    services.delete_system(actor, _system(actor, system_id), request=request)
    return Status(204, None)


@router.get("/settings", response={200: SettingsOut, **ERRORS}, summary="目录设置")
def get_settings(request: HttpRequest) -> CatalogSettings:
    actor = calling_user(request)
    if not permissions.is_staff(actor):
        raise PermissionDenied("无权查看目录设置")
    return CatalogSettings.current()


@router.patch("/settings", response={200: SettingsOut, **ERRORS}, summary="修改目录设置（系统管理员）")
def update_settings(request: HttpRequest, payload: SettingsPatch) -> CatalogSettings:
    actor = calling_user(request)
    return services.update_settings(actor, fields=payload.dict(exclude_unset=True), request=request)
