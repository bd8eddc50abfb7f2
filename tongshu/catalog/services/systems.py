"""Business systems (第十一条, 第十八条): each department registers its systems; the authority sees which systems hold
data yet have no published catalog entry or no share interface, to hold back their projects (第十一条第三款)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Count, Exists, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from tongshu.core.errors import Conflict, ValidationFailed
from tongshu.security.audit import record

from .. import permissions
from ..choices import VersionState
from ..models import BusinessSystem, Network, ResourceVersion, SystemStatus
from .common import require

SYSTEM_FIELDS = (
    "name",
    "description",
    "status",
    "network",
    "is_connected_to_exchange",
    "holds_data",
    "has_share_interface",
    "has_open_interface",
    "interface_document_url",
)
DOCUMENT_TYPES = (
    ".pdf",
    ".doc",
    ".docx",
    ".ofd",
    ".wps",
    ".txt",
    ".md",
    ".html",
    ".zip",
    ".yaml",
    ".yml",
    ".json",
)
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024


def _clean(organization: Any, fields: dict[str, Any], system: BusinessSystem | None) -> dict[str, Any]:
    errors = []
    cleaned = {name: fields[name] for name in SYSTEM_FIELDS if name in fields}
    for name in ("name", "description", "interface_document_url"):
        if name in cleaned:
            cleaned[name] = (cleaned[name] or "").strip()
    name = cleaned.get("name", system.name if system else "")
    if not name:
        errors.append({"field": "name", "code": "required", "message": "请填写系统名称"})
    elif len(name) > 120:
        errors.append({"field": "name", "code": "too_long", "message": "系统名称不能超过 120 个字符"})
    else:
        clash = BusinessSystem.objects.filter(organization=organization, name=name)
        if system is not None:
            clash = clash.exclude(pk=system.pk)
        if clash.exists():
            errors.append({"field": "name", "code": "duplicate_name", "message": "本部门已登记同名业务系统"})
    if "status" in cleaned and cleaned["status"] not in SystemStatus.values:
        errors.append({"field": "status", "code": "invalid_choice", "message": "系统状态无效"})
    if "network" in cleaned and cleaned["network"] not in Network.values:
        errors.append({"field": "network", "code": "invalid_choice", "message": "运行网络无效"})
    url = cleaned.get("interface_document_url", "")
    if url and not (url.startswith(("https://", "http://", "/"))):
        errors.append(
            {
                "field": "interface_document_url",
                "code": "invalid_url",
                "message": "接口文档链接须以 http(s):// 开头",
            }
        )
    if errors:
        raise ValidationFailed("业务系统信息有误", code="invalid", details=errors)
    return cleaned


def _check_document(document: Any) -> None:
    if document is None:
        return
    if not document.name.lower().endswith(DOCUMENT_TYPES):
        raise ValidationFailed("接口文档格式不支持", code="invalid_document", field="interface_document")
    if document.size > MAX_DOCUMENT_BYTES:
        raise ValidationFailed(
            "接口文档不能超过 20 MB", code="document_too_large", field="interface_document"
        )


def create_system(
    actor: Any, *, organization: Any, fields: dict[str, Any], document: Any = None, request: Any = None
) -> BusinessSystem:
    permissions_required(actor, organization)
    cleaned = _clean(organization, fields, None)
    _check_document(document)
    with transaction.atomic():
        system = BusinessSystem(organization=organization, **cleaned)
        if document is not None:
            system.interface_document = document
        system.save()
        record(
            "catalog.system_created", actor=actor, organization=organization, target=system, request=request
        )
    return system


def update_system(
    actor: Any, system: BusinessSystem, *, fields: dict[str, Any], document: Any = None, request: Any = None
) -> BusinessSystem:
    permissions_required(actor, system.organization)
    cleaned = _clean(system.organization, fields, system)
    _check_document(document)
    with transaction.atomic():
        for name, value in cleaned.items():
            setattr(system, name, value)
        if document is not None:
            system.interface_document = document
        system.updated_at = timezone.now()
        system.save()
        record(
            "catalog.system_updated",
            actor=actor,
            organization=system.organization,
            target=system,
            request=request,
            details={"fields": sorted(cleaned)},
        )
    return system


def delete_system(actor: Any, system: BusinessSystem, *, request: Any = None) -> None:
    """Only a system no version links can be deleted; a linked one is set to `retired` instead."""
    permissions_required(actor, system.organization)
    if ResourceVersion.objects.filter(business_system=system).exists():
        raise Conflict("已有信息资源关联该系统，不能删除，可将其状态改为已停用", code="system_in_use")
    record(
        "catalog.system_deleted",
        actor=actor,
        organization=system.organization,
        target=system,
        request=request,
    )
    system.delete()


def permissions_required(actor: Any, organization: Any) -> None:
    require(
        permissions.can_manage_systems(actor, organization),
        "只有本部门的数据管理员或首席数据官可以维护本部门业务系统",
    )


def with_catalog_facts(systems: QuerySet[BusinessSystem]) -> QuerySet[BusinessSystem]:
    """Annotate `has_published_resource` and `published_resource_count`: published versions of live resources
    that link the system (the resources it holds, as catalogued)."""
    published = ResourceVersion.objects.filter(
        business_system=OuterRef("pk"), state=VersionState.PUBLISHED, resource__is_retired=False
    )
    count = (
        published.order_by()
        .values("business_system")
        .annotate(total=Count("resource", distinct=True))
        .values("total")
    )
    return systems.annotate(
        has_published_resource=Exists(published),
        published_resource_count=Coalesce(Subquery(count, output_field=IntegerField()), 0),
    )


def systems_report(actor: Any) -> list[dict[str, Any]]:
    """Systems that hold data but have no published catalog entry or no share interface (第十一条)."""
    require(permissions.can_view_systems_report(actor), "只有主管部门和系统管理员可以查看业务系统检查报告")
    systems = with_catalog_facts(
        BusinessSystem.objects.select_related("organization")
        .filter(holds_data=True)
        .exclude(status=SystemStatus.RETIRED)
        .order_by("organization__code", "name")
    )
    rows = []
    for system in systems:
        problems = []
        if not system.has_published_resource:
            problems.append({"code": "no_catalog", "message": "未编制（发布）信息资源目录"})
        if not system.has_share_interface:
            problems.append({"code": "no_share_interface", "message": "未提供共享接口"})
        if problems:
            rows.append({"system": system, "problems": problems})
    return rows
