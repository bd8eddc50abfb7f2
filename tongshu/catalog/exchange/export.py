"""Exporting catalogs: a department catalog (部门目录) and the county catalog (分目录) for the city (第八条).

The county catalog is every published department catalog: each resource's current published version, retired
resources left out. Both go out in the §7 spreadsheet layout, which imports back unchanged; the county catalog also
goes out as JSON (schema in docs/api.md, "Catalog exchange formats").
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from tongshu.catalog.choices import VersionState
from tongshu.catalog.models import InfoItem, Resource, ResourceVersion
from tongshu.core.errors import PermissionDenied
from tongshu.security.audit import record

from . import permissions
from .records import item_cells, provider_code, resource_cells, version_record
from .vocab import Vocabularies
from .xlsx_write import build_workbook

WORKING_STATES = (VersionState.DRAFT, VersionState.RETURNED, VersionState.SUBMITTED, VersionState.PUBLISHED)


def _versions() -> QuerySet[ResourceVersion]:
    return ResourceVersion.objects.select_related(
        "resource__category", "resource__provider", "business_system"
    ).prefetch_related(
        Prefetch(
            "items", queryset=InfoItem.objects.select_related("data_element", "code_set").order_by("position")
        )
    )


def published_versions(organization: Any = None) -> list[ResourceVersion]:
    """The current published version of every live resource (of one provider, or of all: the county catalog)."""
    resources = Resource.objects.filter(published_version__isnull=False, is_retired=False)
    if organization is not None:
        resources = resources.filter(provider=organization)
    versions = _versions().filter(pk__in=resources.values("published_version_id"))
    return sorted(versions, key=_order)


def working_versions(organization: Any) -> list[ResourceVersion]:
    """Each live resource of the department at its newest version: a draft or one under review where there is one."""
    latest: dict[int, ResourceVersion] = {}
    for version in (
        _versions()
        .filter(resource__provider=organization, resource__is_retired=False, state__in=WORKING_STATES)
        .order_by("resource_id", "-number")
    ):
        latest.setdefault(version.resource_id, version)
    return sorted(latest.values(), key=_order)


def _order(version: ResourceVersion) -> tuple:
    provider = version.resource.provider
    return (provider.kind, provider.code, version.resource.code or "~", version.resource_id)


def workbook_for(versions: list[ResourceVersion], vocabularies: Vocabularies | None = None) -> bytes:
    vocabularies = vocabularies or Vocabularies()
    resource_rows: list[dict[str, Any]] = []
    item_rows: list[dict[str, Any]] = []
    for serial, version in enumerate(versions, 1):
        fields, items = version_record(version)
        resource_rows.append(resource_cells(serial, version.resource, fields, vocabularies))
        item_rows.extend(item_cells(serial, item, vocabularies) for item in items)
    return build_workbook(resource_rows, item_rows, vocabularies=vocabularies)


def template_workbook(organization: Any = None) -> bytes:
    """The empty §7 spreadsheet; for a department, its drop-down lists offer the categories it may use."""
    return build_workbook(vocabularies=Vocabularies(organization))


def export_department_catalog(actor: Any, organization: Any, *, include_drafts: bool = False) -> bytes:
    """The department catalog as XLSX: published versions, or the working versions (drafts) for its managers."""
    if not permissions.can_export_department_catalog(actor, organization, include_drafts=include_drafts):
        raise PermissionDenied("无权导出该部门的信息资源目录", code="catalog_export_forbidden")
    versions = working_versions(organization) if include_drafts else published_versions(organization)
    data = workbook_for(versions, Vocabularies(organization))
    record(
        "catalog.exported",
        actor=actor,
        target=organization,
        details={
            "scope": "department",
            "format": "xlsx",
            "include_drafts": include_drafts,
            "count": len(versions),
        },
    )
    return data


def _county_versions(actor: Any, fmt: str) -> list[ResourceVersion]:
    if not permissions.can_export_county_catalog(actor):
        raise PermissionDenied("只有主管部门和系统管理员可以导出县级分目录", code="county_export_forbidden")
    versions = published_versions()
    record(
        "catalog.exported", actor=actor, details={"scope": "county", "format": fmt, "count": len(versions)}
    )
    return versions


def export_county_catalog_xlsx(actor: Any) -> bytes:
    """The county catalog (分目录) for the city's master catalog, in the department layout (第八条)."""
    return workbook_for(_county_versions(actor, "xlsx"))


def export_county_catalog_json(actor: Any) -> dict[str, Any]:
    """The county catalog (分目录) as JSON: every element with its code and Chinese name (docs/api.md)."""
    versions = _county_versions(actor, "json")
    vocabularies = Vocabularies()
    return {
        "catalog": {
            "level": "分目录",
            "county": settings.COUNTY_NAME,
            "division": settings.COUNTY_DIVISION_CODE,
            "exported_at": timezone.now().isoformat(),
            "resource_count": len(versions),
            "department_count": len({v.resource.provider_id for v in versions}),
        },
        "resources": [resource_json(version, vocabularies) for version in versions],
    }


def _coded(vocabularies: Vocabularies, key: str, value: str) -> dict[str, str] | None:
    return {"code": value, "name": vocabularies.name_of(key, value)} if value else None


def resource_json(version: ResourceVersion, vocabularies: Vocabularies) -> dict[str, Any]:
    fields, items = version_record(version)
    resource = version.resource
    category = resource.category

    def coded_list(key: str, values: list[str]) -> list[dict[str, str]]:
        return [{"code": value, "name": vocabularies.name_of(key, value)} for value in values]

    item_data_elements = {item.position: item.data_element for item in version.items.all()}
    item_code_sets = {item.position: item.code_set for item in version.items.all()}
    return {
        "code": resource.code,
        "category": {"code": category.code, "name": category.name},
        "name": fields["name"],
        "provider": {
            "name": resource.provider.name,
            "code": provider_code(resource.provider),
            "division": resource.provider.division_code,
        },
        "summary": fields["summary"],
        "format_class": _coded(vocabularies, "format_class", fields["format_class"]),
        "format_type": fields["format_type"],
        "share_type": _coded(vocabularies, "share_type", fields["share_type"]),
        "share_conditions": fields["share_conditions"],
        "share_basis": fields["share_basis"],
        "share_method": _coded(vocabularies, "share_method", fields["share_method"]),
        "provision_methods": coded_list("provision_method", fields["provision_methods"]),
        "usage_methods": coded_list("usage_method", fields["usage_methods"]),
        "open_type": _coded(vocabularies, "open_type", fields["open_type"]),
        "open_conditions": fields["open_conditions"],
        "open_methods": coded_list("open_method", fields["open_methods"]),
        "update_cycle": _coded(vocabularies, "update_cycle", fields["update_cycle"]),
        "business_system": fields["business_system"] or None,
        "security_level": _coded(vocabularies, "security_level", fields["security_level"]),
        "keywords": fields["keywords"],
        "usage_requirements": fields["usage_requirements"],
        "business_interpretation": fields["business_interpretation"],
        "related_codes": fields["related_codes"],
        "contact_name": fields["contact_name"],
        "contact_phone": fields["contact_phone"],
        "version": version.number,
        "published_at": version.published_at.isoformat() if version.published_at else None,
        "items": [
            {
                "position": item["position"],
                "name": item["name"],
                "data_type": _coded(vocabularies, "data_type", item["data_type"]),
                "length": item["length"],
                "data_element": _named(item_data_elements.get(item["position"]), "identifier", "name"),
                "code_set": _named(item_code_sets.get(item["position"]), "identifier", "name"),
                "is_key": item["is_key"],
                "is_queryable": item["is_queryable"],
                "is_sensitive": item["is_sensitive"],
                "security_level": _coded(vocabularies, "security_level", item["security_level"]),
                "description": item["description"],
            }
            for item in items
        ],
    }


def _named(obj: Any, key: str, name: str) -> dict[str, str] | None:
    return {key: getattr(obj, key), "name": getattr(obj, name)} if obj is not None else None
