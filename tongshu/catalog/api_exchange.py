"""`/api/v1/catalog/exchange` (department catalog spreadsheets, county catalog export) and `/api/v1/catalog/dcat`.

Import answers 201 with what it did, or 400 `{"code": "catalog_import_invalid", "message", "details": [{sheet, row,
column, reason}, …]}` having saved nothing; a file that is not a real XLSX gets 400 `not_xlsx`, an oversized one 413.
The DCAT feed is public open metadata: no authentication.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.http import content_disposition_header
from ninja import Router, Status
from ninja.decorators import decorate_view

from tongshu.accounts.models import Organization
from tongshu.core.api_auth import calling_user
from tongshu.core.errors import PermissionDenied, ValidationFailed

from .exchange import dcat, export, importer, permissions
from .exchange.uploads import check_received, limit_upload
from .exchange.xlsx_read import check_upload_size

router = Router(tags=["catalog exchange"])
dcat_router = Router(tags=["catalog exchange"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
JSON_LD = "application/ld+json; charset=utf-8"


def file_response(data: bytes, filename: str, content_type: str = XLSX) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    response["Cache-Control"] = "no-store"
    return response


def stamp() -> str:
    return timezone.localtime().strftime("%Y%m%d-%H%M")


def read_upload(request: HttpRequest) -> tuple[bytes, str]:
    """The uploaded file (form field `file`); the operation is wrapped by `limit_upload`, which refused a declared
    oversize body unread and counts the bytes of the rest."""
    upload = request.FILES.get("file")
    check_received(request)
    if upload is None:
        raise ValidationFailed(
            "请选择要导入的 XLSX 文件（表单字段 file）", code="file_required", field="file"
        )
    check_upload_size(upload.size)
    return upload.read(), upload.name or ""


@router.get("/template", summary="下载部门目录导入模板（XLSX）")
def download_template(request: HttpRequest) -> HttpResponse:
    user = calling_user(request)
    if not permissions.can_download_template(user):
        raise PermissionDenied("无权下载目录模板")
    return file_response(export.template_workbook(user.organization), "部门信息资源目录导入模板.xlsx")


@router.post("/import", response={201: dict}, summary="导入本单位信息资源目录（XLSX，全部成功或全部不保存）")
@decorate_view(limit_upload)
def import_catalog(request: HttpRequest) -> Any:
    user = calling_user(request)
    organization = user.organization
    if not permissions.can_import_catalog(user, organization):
        raise PermissionDenied(
            "只有本单位的数据管理员或首席数据官可以导入本单位目录", code="catalog_import_forbidden"
        )
    data, filename = read_upload(request)
    outcome = importer.import_department_catalog(user, organization, data, filename=filename)
    return Status(201, outcome.as_dict())


@router.get("/departments/{organization_id}/export", summary="导出部门信息资源目录（XLSX）")
def export_department(request: HttpRequest, organization_id: int, drafts: bool = False) -> HttpResponse:
    user = calling_user(request)
    organization = get_object_or_404(Organization, pk=organization_id)
    data = export.export_department_catalog(user, organization, include_drafts=drafts)
    suffix = "（含草稿）" if drafts else ""
    return file_response(data, f"{organization.name}信息资源目录{suffix}-{stamp()}.xlsx")


@router.get("/county.xlsx", summary="导出县级分目录（XLSX，报送市级总目录）")
def export_county_xlsx(request: HttpRequest) -> HttpResponse:
    data = export.export_county_catalog_xlsx(calling_user(request))
    return file_response(data, f"华容县政务信息资源分目录-{stamp()}.xlsx")


@router.get("/county.json", summary="导出县级分目录（JSON）")
def export_county_json(request: HttpRequest) -> HttpResponse:
    body = json.dumps(export.export_county_catalog_json(calling_user(request)), ensure_ascii=False, indent=1)
    return file_response(
        body.encode(), f"华容县政务信息资源分目录-{stamp()}.json", "application/json; charset=utf-8"
    )


def dcat_response(request: HttpRequest, feed_path: str) -> HttpResponse:
    base = request.build_absolute_uri("/").rstrip("/")
    feed = dcat.catalog_feed(base, request.build_absolute_uri(feed_path), request.GET.get("page", 1))
    response = HttpResponse(json.dumps(feed, ensure_ascii=False), content_type=JSON_LD)
    response["Access-Control-Allow-Origin"] = "*"  # open metadata, harvested from other origins
    return response


@dcat_router.get("", auth=None, summary="开放数据目录（W3C DCAT，JSON-LD，公开）")
def dcat_feed(request: HttpRequest, page: int = 1) -> HttpResponse:
    return dcat_response(request, request.path)
