"""`/api/v1/catalog`: information resources, their versions and the review workflow (第八条).

The same services as the pages. Errors are `{"code", "message"}` in Chinese; validation errors are 400 with
`details` listing every error (`field`, `item_index`, `code`, `message`). Business systems and settings are in
`api_systems.py`, mounted below.
"""

from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from ninja.pagination import LimitOffsetPagination, paginate

from tongshu.accounts.models import Organization
from tongshu.core.api_auth import calling_user
from tongshu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

from . import permissions, services
from .api_schemas import (
    CommentIn,
    DiffOut,
    DraftIn,
    DraftPatch,
    ErrorOut,
    QueueEntryOut,
    ReasonIn,
    ResourceDetailOut,
    ResourceOut,
    SimilarOut,
    VersionFieldsIn,
    VersionOut,
    VersionSummaryOut,
)
from .api_systems import router as systems_router
from .choices import VersionState
from .duplicates import similar_to_version
from .models import Resource, ResourceVersion

router = Router(tags=["catalog"])
router.add_router("", systems_router)

ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


def _ok(schema: Any, status: int = 200) -> dict[int, Any]:
    return {status: schema, **ERRORS}


class ResourceFilters(Schema):
    q: str = ""
    provider_id: int | None = None
    category: str = ""
    share_type: str = ""
    open_type: str = ""
    state: str = ""


def _resource(actor: Any, resource_id: int) -> Resource:
    resource = (
        permissions.resources_visible_to(actor)
        .select_related("provider", "category", "published_version")
        .filter(pk=resource_id)
        .first()
    )
    if resource is None:
        raise NotFound("信息资源不存在或无权查看", code="resource_not_found")
    return resource


def _version(actor: Any, version_id: int) -> ResourceVersion:
    version = (
        permissions.versions_visible_to(actor)
        .select_related("resource", "resource__provider", "resource__category")
        .filter(pk=version_id)
        .first()
    )
    if version is None:
        raise NotFound("版本不存在或无权查看", code="version_not_found")
    return version


def _with_items(version: ResourceVersion) -> ResourceVersion:
    return (
        ResourceVersion.objects.select_related("resource", "resource__category")
        .prefetch_related("items__data_element")
        .get(pk=version.pk)
    )


def _resource_row(resource: Resource) -> dict[str, Any]:
    published = resource.published_version
    return {
        "id": resource.pk,
        "code": resource.code,
        "name": published.name if published else getattr(resource, "latest_name", "") or "",
        "provider_id": resource.provider_id,
        "provider_name": resource.provider.name,
        "category_code": resource.category.code,
        "category_name": resource.category.name,
        "is_retired": resource.is_retired,
        "published_number": published.number if published else None,
        "published_at": published.published_at if published else None,
        "share_type": published.share_type if published else None,
        "open_type": published.open_type if published else None,
    }


def visible_resources(actor: Any, filters: ResourceFilters) -> QuerySet[Resource]:
    latest = ResourceVersion.objects.filter(resource=OuterRef("pk")).order_by("-number").values("name")[:1]
    resources = (
        permissions.resources_visible_to(actor)
        .select_related("provider", "category", "published_version")
        .annotate(latest_name=Subquery(latest))
        .order_by("code", "pk")
    )
    if filters.q:
        resources = resources.filter(versions__name__icontains=filters.q.strip()).distinct()
    if filters.provider_id:
        resources = resources.filter(provider_id=filters.provider_id)
    if filters.category:
        resources = resources.filter(category__code__startswith=filters.category)
    if filters.share_type:
        resources = resources.filter(published_version__share_type=filters.share_type)
    if filters.open_type:
        resources = resources.filter(published_version__open_type=filters.open_type)
    if filters.state == "published":
        resources = resources.filter(published_version__isnull=False, is_retired=False)
    elif filters.state == "retired":
        resources = resources.filter(is_retired=True)
    elif filters.state == "unpublished":
        resources = resources.filter(published_version__isnull=True)
    return resources


@router.get("/resources", response=list[ResourceOut], summary="信息资源列表（按权限范围）")
@paginate(LimitOffsetPagination)
def list_resources(request: HttpRequest, filters: Query[ResourceFilters]) -> list[dict[str, Any]]:
    actor = calling_user(request)
    return [_resource_row(resource) for resource in visible_resources(actor, filters)]


@router.post(
    "/resources", response=_ok(VersionOut, 201), summary="新建信息资源草稿（部门数据管理员、首席数据官）"
)
def create_resource(request: HttpRequest, payload: DraftIn) -> Status:
    actor = calling_user(request)
    data = payload.dict(exclude_unset=True)
    provider_id = data.pop("provider_id", None) or actor.organization_id
    items = data.pop("items", [])
    provider = Organization.objects.filter(pk=provider_id).first() if provider_id else None
    if provider is None or not permissions.can_edit_catalog(actor, provider):
        raise PermissionDenied("只有本部门的数据管理员或首席数据官可以编制本部门目录")
    version = services.create_draft(actor, provider=provider, fields=data, items=items, request=request)
    return Status(201, _with_items(version))


@router.get(
    "/resources/{resource_id}",
    response=_ok(ResourceDetailOut),
    summary="信息资源详情（当前发布版本及信息项）",
)
def get_resource(request: HttpRequest, resource_id: int) -> dict[str, Any]:
    actor = calling_user(request)
    resource = _resource(actor, resource_id)
    row = _resource_row(resource)
    row["published"] = _with_items(resource.published_version) if resource.published_version_id else None
    row["versions"] = list(
        permissions.versions_visible_to(actor).filter(resource=resource).order_by("-number")
    )
    if not row["name"] and row["versions"]:
        row["name"] = row["versions"][0].name
    return row


@router.patch(
    "/resources/{resource_id}",
    response=_ok(ResourceOut),
    summary="直接修改已发布信息资源（总是拒绝：变更须经修订与审核；擅自变更共享开放类型记为违规）",
)
def patch_resource(request: HttpRequest, resource_id: int, payload: VersionFieldsIn) -> dict[str, Any]:
    actor = calling_user(request)
    resource = _resource(actor, resource_id)
    fields = payload.dict(exclude_unset=True)
    if resource.published_version_id:
        published = ResourceVersion.objects.get(pk=resource.published_version_id)
        services.refuse_published_change(actor, published, fields, request=request)
    raise Conflict("请通过草稿版本修改信息资源", code="use_draft")


@router.get("/resources/{resource_id}/versions", response=_ok(list[VersionSummaryOut]), summary="版本列表")
def list_versions(request: HttpRequest, resource_id: int) -> list[ResourceVersion]:
    actor = calling_user(request)
    resource = _resource(actor, resource_id)
    return list(permissions.versions_visible_to(actor).filter(resource=resource).order_by("-number"))


@router.post(
    "/resources/{resource_id}/revisions", response=_ok(VersionOut, 201), summary="发起修订（新草稿版本）"
)
def start_revision(request: HttpRequest, resource_id: int, payload: ReasonIn) -> Status:
    actor = calling_user(request)
    resource = _resource(actor, resource_id)
    version = services.start_revision(actor, resource, reason=payload.reason, request=request)
    return Status(201, _with_items(version))


@router.post("/resources/{resource_id}/retire", response=_ok(ResourceOut), summary="停用信息资源（主管部门）")
def retire_resource(request: HttpRequest, resource_id: int, payload: ReasonIn) -> dict[str, Any]:
    actor = calling_user(request)
    resource = services.retire(actor, _resource(actor, resource_id), reason=payload.reason, request=request)
    return _resource_row(resource)


@router.get("/versions/{version_id}", response=_ok(VersionOut), summary="版本详情（含信息项）")
def get_version(request: HttpRequest, version_id: int) -> ResourceVersion:
    return _with_items(_version(calling_user(request), version_id))


@router.patch("/versions/{version_id}", response=_ok(VersionOut), summary="修改草稿或被退回的版本")
def update_version(request: HttpRequest, version_id: int, payload: DraftPatch) -> ResourceVersion:
    actor = calling_user(request)
    version = _version(actor, version_id)
    data = payload.dict(exclude_unset=True)
    items = data.pop("items", None)
    services.update_draft(actor, version, fields=data, items=items, request=request)
    return _with_items(version)


@router.get(
    "/versions/{version_id}/diff", response=_ok(DiffOut), summary="与上一发布版本（或指定版本）的差异"
)
def version_diff(request: HttpRequest, version_id: int, against: int | None = None) -> dict[str, Any]:
    actor = calling_user(request)
    version = _version(actor, version_id)
    if against is not None:
        old = _version(actor, against)
        if old.resource_id != version.resource_id:
            raise ValidationFailed("只能比较同一信息资源的版本", code="different_resource", field="against")
    else:
        old = services.previous_published(version)
    return services.diff_versions(old, version)


@router.get(
    "/versions/{version_id}/similar", response=_ok(list[SimilarOut]), summary="疑似重复的已发布信息资源"
)
def similar(request: HttpRequest, version_id: int) -> list[dict[str, Any]]:
    version = _version(calling_user(request), version_id)
    rows = []
    for resource, score, reasons in similar_to_version(version):
        published = resource.published_version
        rows.append(
            {
                "resource_id": resource.pk,
                "code": resource.code,
                "name": published.name if published else str(resource),
                "provider_name": resource.provider.name,
                "score": score,
                "reasons": list(reasons),
            }
        )
    return rows


def _transition(name: str) -> Any:
    def run(request: HttpRequest, version_id: int, **kwargs: Any) -> ResourceVersion:
        actor = calling_user(request)
        version = _version(actor, version_id)
        getattr(services, name)(actor, version, request=request, **kwargs)
        return _with_items(version)

    return run


@router.post("/versions/{version_id}/submit", response=_ok(VersionOut), summary="提交审核（首席数据官）")
def submit(request: HttpRequest, version_id: int) -> ResourceVersion:
    return _transition("submit")(request, version_id)


@router.post("/versions/{version_id}/return", response=_ok(VersionOut), summary="退回并说明原因（主管部门）")
def return_version(request: HttpRequest, version_id: int, payload: ReasonIn) -> ResourceVersion:
    return _transition("return_version")(request, version_id, reason=payload.reason)


@router.post("/versions/{version_id}/publish", response=_ok(VersionOut), summary="审核通过并发布（主管部门）")
def publish(request: HttpRequest, version_id: int, payload: CommentIn) -> ResourceVersion:
    return _transition("publish")(request, version_id, comment=payload.comment)


@router.post("/versions/{version_id}/withdraw", response=_ok(VersionOut), summary="撤销草稿或被退回的版本")
def withdraw(request: HttpRequest, version_id: int, payload: ReasonIn) -> ResourceVersion:
    return _transition("withdraw")(request, version_id, reason=payload.reason)


@router.get("/review-queue", response=_ok(list[QueueEntryOut]), summary="待审核目录（主管部门）")
def review_queue(request: HttpRequest) -> list[dict[str, Any]]:
    actor = calling_user(request)
    if not permissions.can_view_review_queue(actor):
        raise PermissionDenied("只有主管部门审核员可以查看待审核目录")
    versions = (
        ResourceVersion.objects.filter(state=VersionState.SUBMITTED)
        .select_related("resource", "resource__provider")
        .order_by("submitted_at", "pk")
    )
    return [
        {
            "version": version,
            "provider_name": version.resource.provider.name,
            "code": version.resource.code,
            "is_revision": version.resource.published_version_id is not None,
        }
        for version in versions
    ]
