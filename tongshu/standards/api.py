"""`/api/v1/standards`: code sets and their versions, data elements, the resource category tree (第八条, 第九条).

Every signed-in person and every application key may read; only the platform operator changes anything.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import File, Form, Router, Status, UploadedFile

from tongshu.core.api_auth import calling_key, calling_user
from tongshu.core.errors import NotAuthenticated, TooLarge, ValidationFailed

from . import services
from .formats import LengthNotationError, parse_length
from .models import CodeSet, CodeSetVersion, DataElement, ResourceCategory
from .permissions import can_read_standards
from .schemas import (
    BranchOut,
    CategoryImportOut,
    CategoryNode,
    CategoryOut,
    CodeSetDetailOut,
    CodeSetPage,
    DataElementIn,
    DataElementOut,
    DataElementPage,
    DataElementPatch,
    DiffOut,
    LengthOut,
    ValuePage,
    VersionOut,
)
from .tabular import MAX_UPLOAD_BYTES

router = Router(tags=["standards"])
MAX_LIMIT = 500


def _reader(request: HttpRequest) -> None:
    if calling_key(request) is not None:
        return
    if not can_read_standards(getattr(request, "auth", None)):
        raise NotAuthenticated("未登录或未提供有效的应用密钥")


def _window(limit: int, offset: int) -> slice:
    limit = max(1, min(limit, MAX_LIMIT))
    offset = max(0, offset)
    return slice(offset, offset + limit)


def _content(upload: UploadedFile) -> bytes:
    if upload.size and upload.size > MAX_UPLOAD_BYTES:
        raise TooLarge(f"文件超过 {MAX_UPLOAD_BYTES // 1024 // 1024} MB")
    return upload.read()


# --- Code sets -----------------------------------------------------------------------------------------------------


@router.get("/code-sets", response=CodeSetPage, summary="代码集列表")
def list_code_sets(request: HttpRequest, q: str = "", limit: int = 50, offset: int = 0) -> dict[str, Any]:
    _reader(request)
    code_sets = services.code_sets_overview(q)
    return {"count": code_sets.count(), "items": list(code_sets[_window(limit, offset)])}


# Declared before /code-sets/{identifier}, which would otherwise take the path.
@router.post("/code-sets/import", response={201: VersionOut}, summary="导入代码集或其新版本（CSV/XLSX）")
def import_code_set(
    request: HttpRequest,
    file: File[UploadedFile],
    identifier: Form[str],
    name: Form[str] = "",
    standard: Form[str] = "",
    description: Form[str] = "",
    version: Form[str] = "",
    note: Form[str] = "",
    make_current: Form[bool] = True,
) -> Status:
    user = calling_user(request)
    services.require_manager(user)
    new_version = services.import_code_set(
        user,
        content=_content(file),
        filename=file.name or "",
        identifier=identifier,
        name=name,
        standard=standard,
        description=description,
        version=version,
        note=note,
        make_current=make_current,
        request=request,
    )
    return Status(201, new_version)


@router.get("/code-sets/{identifier}", response=CodeSetDetailOut, summary="代码集详情（含版本）")
def get_code_set(request: HttpRequest, identifier: str) -> CodeSet:
    _reader(request)
    code_set = services.code_sets_overview().filter(identifier=identifier).first()
    return code_set or services.get_code_set(identifier)  # raises NotFound when missing


@router.get("/code-sets/{identifier}/values", response=ValuePage, summary="代码值（分页，默认当前版本）")
def list_values(
    request: HttpRequest, identifier: str, version: str = "", q: str = "", limit: int = 100, offset: int = 0
) -> dict[str, Any]:
    _reader(request)
    code_set = services.get_code_set(identifier)
    chosen = services.get_version(code_set, version) if version else code_set.current_version
    if chosen is None:
        raise ValidationFailed("该代码集还没有当前版本", code="no_current_version")
    values = services.search_values(chosen, q)
    return {"version": chosen.version, "count": values.count(), "items": list(values[_window(limit, offset)])}


@router.post(
    "/code-sets/{identifier}/versions/{version}/make-current", response=VersionOut, summary="设为当前版本"
)
def make_current(request: HttpRequest, identifier: str, version: str) -> CodeSetVersion:
    user = calling_user(request)
    services.require_manager(user)
    chosen = services.get_version(services.get_code_set(identifier), version)
    return services.set_current_version(user, chosen, request=request)


@router.get("/code-sets/{identifier}/diff", response=DiffOut, summary="比较两个版本")
def diff(
    request: HttpRequest, identifier: str, from_version: str = "", to_version: str = ""
) -> dict[str, Any]:
    _reader(request)
    code_set = services.get_code_set(identifier)
    previous, current = services.default_diff_pair(code_set)
    old = services.get_version(code_set, from_version) if from_version else previous
    new = services.get_version(code_set, to_version) if to_version else current
    if old is None or new is None:
        raise ValidationFailed("请指定要比较的两个版本（from_version、to_version）", code="versions_required")
    return services.diff_versions(old, new).as_dict()


# --- Length notation ----------------------------------------------------------------------------------------------


@router.get("/formats/length", response=LengthOut, summary="解析长度格式（如 C..50、N8,2）")
def parse_length_notation(request: HttpRequest, notation: str) -> dict[str, Any]:
    _reader(request)
    try:
        return parse_length(notation).as_dict()
    except LengthNotationError as exc:
        raise ValidationFailed(str(exc), code="bad_length", field="notation") from exc


# --- Data elements ------------------------------------------------------------------------------------------------


@router.get("/data-elements", response=DataElementPage, summary="数据元列表与检索")
def list_data_elements(
    request: HttpRequest,
    q: str = "",
    data_type: str = "",
    active: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    _reader(request)
    elements = services.search_data_elements(q, data_type=data_type, active=active)
    return {"count": elements.count(), "items": list(elements[_window(limit, offset)])}


@router.get("/data-elements/{identifier}", response=DataElementOut, summary="数据元详情")
def get_data_element(request: HttpRequest, identifier: str) -> DataElement:
    _reader(request)
    return services.get_data_element(identifier)


@router.post("/data-elements", response={201: DataElementOut}, summary="新建数据元")
def create_data_element(request: HttpRequest, payload: DataElementIn) -> Status:
    user = calling_user(request)
    element = services.create_data_element(user, request=request, **payload.dict())
    return Status(201, element)


@router.patch("/data-elements/{identifier}", response=DataElementOut, summary="修改数据元")
def update_data_element(request: HttpRequest, identifier: str, payload: DataElementPatch) -> DataElement:
    user = calling_user(request)
    services.require_manager(user)
    element = services.get_data_element(identifier)
    fields = payload.dict(exclude_unset=True)
    return services.update_data_element(user, element, request=request, **fields)


@router.delete("/data-elements/{identifier}", response={204: None}, summary="删除未被使用的数据元")
def delete_data_element(request: HttpRequest, identifier: str) -> Status:
    user = calling_user(request)
    services.require_manager(user)
    services.delete_data_element(user, services.get_data_element(identifier), request=request)
    return Status(204, None)


# --- Resource categories ------------------------------------------------------------------------------------------


def _node(node: dict[str, Any]) -> dict[str, Any]:
    category = node["category"]
    return {
        "code": category.code,
        "name": category.name,
        "level": category.level,
        "source": category.source,
        "organization_id": category.organization_id,
        "children": [_node(child) for child in node["children"]],
    }


@router.get("/categories", response=list[CategoryOut], summary="资源分类（平铺）")
def list_categories(
    request: HttpRequest, level: int | None = None, under: str = "", include_inactive: bool = False
) -> list[ResourceCategory]:
    _reader(request)
    categories = ResourceCategory.objects.select_related("parent").order_by("code")
    if not include_inactive:
        categories = categories.filter(is_active=True)
    if level:
        categories = categories.filter(level=level)
    if under:
        categories = categories.filter(code__startswith=under)
    return list(categories)


@router.get("/categories/tree", response=list[CategoryNode], summary="资源分类树")
def category_tree(request: HttpRequest) -> list[dict[str, Any]]:
    _reader(request)
    return [_node(node) for node in services.category_tree()]


@router.post("/categories/import", response=CategoryImportOut, summary="导入市级总目录分类框架（XLSX/JSON）")
def import_categories(request: HttpRequest, file: File[UploadedFile], mode: Form[str] = "extend") -> dict:
    user = calling_user(request)
    services.require_manager(user)
    return services.import_categories(
        user, content=_content(file), filename=file.name or "", mode=mode, request=request
    )


@router.get("/categories/export", summary="导出资源分类（xlsx 或 json）")
def export_categories(request: HttpRequest, format: str = "json") -> HttpResponse:  # noqa: A002
    _reader(request)
    content, content_type, filename = services.export_categories(format)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@router.post("/categories/sync-departments", response=BranchOut, summary="按机构补齐部门分类")
def sync_departments(request: HttpRequest) -> Any:
    user = calling_user(request)
    services.require_manager(user)
    return services.sync_department_branch(user, request=request)
