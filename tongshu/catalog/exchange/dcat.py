"""The open-metadata feed: published open resources as a W3C DCAT catalog in JSON-LD (第二十五条, 第二十七条).

Other portals harvest it (CKAN's ckanext-dcat, the provincial portal, data.gov-style aggregators). Only resources
whose published version is open — unconditionally or on conditions — appear; drafts, resources under review and
non-open resources never do. Pages follow Hydra (`hydra:PartialCollectionView`, `?page=`), as DCAT harvesters expect.

Distribution URLs point at the open-data portal's planned paths `/open/datasets/<code>/…` (the code as is, slashes
included); they answer once the portal (the `opendata` app) is built. The catalog model has no license field, so no
`dct:license` is emitted; a resource's usage requirements go out as `dct:rights`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Min

from tongshu.catalog.choices import OpenType
from tongshu.catalog.models import Resource

from .parse import split_values

PAGE_SIZE = 100
CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "hydra": "http://www.w3.org/ns/hydra/core#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
OPEN_TYPES = (OpenType.UNCONDITIONAL, OpenType.CONDITIONAL)
LANGUAGE = "zh-Hans"
EU = "http://publications.europa.eu/resource/authority"
# 更新周期 → the EU Publications Office frequency authority table (used by DCAT-AP).
FREQUENCIES = {
    "01": "UPDATE_CONT",
    "02": "DAILY",
    "03": "WEEKLY",
    "04": "MONTHLY",
    "05": "QUARTERLY",
    "06": "ANNUAL_2",
    "07": "ANNUAL",
    "99": "IRREG",
}
DOWNLOADS = (
    ("csv", "CSV", "text/csv"),
    ("xlsx", "XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("json", "JSON", "application/json"),
)
PLANNED_NOTE = "开放数据门户的计划访问地址"


def _text(value: str) -> dict[str, str]:
    return {"@value": value, "@language": LANGUAGE}


def _datetime(value: Any) -> dict[str, str] | None:
    return {"@value": value.isoformat(), "@type": "xsd:dateTime"} if value else None


def open_resources() -> Any:
    return (
        Resource.objects.filter(
            published_version__isnull=False,
            is_retired=False,
            published_version__open_type__in=OPEN_TYPES,
        )
        .select_related("provider", "category", "published_version")
        .annotate(first_published_at=Min("versions__published_at"))
        .order_by("code", "pk")
    )


def dataset(resource: Resource, base: str) -> dict[str, Any]:
    version = resource.published_version
    assert version is not None
    page = f"{base}/open/datasets/{resource.code}/"
    node: dict[str, Any] = {
        "@id": page,
        "@type": "dcat:Dataset",
        "dct:identifier": resource.code,
        "dct:title": _text(version.name),
        "dct:description": _text(version.summary),
        "dct:publisher": {
            "@type": "foaf:Agent",
            "foaf:name": _text(resource.provider.name),
            "dct:identifier": resource.provider.credit_code or resource.provider.code,
        },
        "dcat:keyword": [_text(word) for word in split_values(version.keywords)],
        "dcat:theme": {
            "@type": "skos:Concept",
            "skos:notation": resource.category.code,
            "skos:prefLabel": _text(resource.category.name),
        },
        "dct:accrualPeriodicity": {
            "@id": f"{EU}/frequency/{FREQUENCIES.get(version.update_cycle, 'UNKNOWN')}"
        },
        "dcat:landingPage": {"@id": page, "rdfs:comment": _text(PLANNED_NOTE)},
        "dcat:contactPoint": _contact(resource),
        "dcat:distribution": _distributions(resource, page),
    }
    if issued := _datetime(getattr(resource, "first_published_at", None) or version.published_at):
        node["dct:issued"] = issued
    if modified := _datetime(version.published_at):
        node["dct:modified"] = modified
    if version.open_type == OpenType.CONDITIONAL:
        node["dct:accessRights"] = {
            "@id": f"{EU}/access-right/RESTRICTED",
            "rdfs:label": _text(
                f"有条件开放：{version.open_conditions}" if version.open_conditions else "有条件开放"
            ),
        }
    else:
        node["dct:accessRights"] = {"@id": f"{EU}/access-right/PUBLIC", "rdfs:label": _text("无条件开放")}
    if version.usage_requirements:
        node["dct:rights"] = {"@type": "dct:RightsStatement", "rdfs:label": _text(version.usage_requirements)}
    return node


def _contact(resource: Resource) -> dict[str, Any]:
    version = resource.published_version
    assert version is not None
    contact: dict[str, Any] = {
        "@type": "vcard:Organization",
        "vcard:fn": _text(version.contact_name or resource.provider.name),
        "vcard:organization-name": _text(resource.provider.name),
    }
    phone = "".join(ch for ch in version.contact_phone if ch.isdigit() or ch in "+-")
    if phone:
        contact["vcard:hasTelephone"] = {"@id": f"tel:{phone}"}
    return contact


def _distributions(resource: Resource, page: str) -> list[dict[str, Any]]:
    version = resource.published_version
    assert version is not None
    if version.open_type == OpenType.CONDITIONAL:
        # Data open on conditions is reached through an application on the portal, not a direct download.
        return [
            {
                "@type": "dcat:Distribution",
                "dct:title": _text("申请开放"),
                "dct:description": _text(f"有条件开放，须经申请获批后使用。{PLANNED_NOTE}"),
                "dcat:accessURL": {"@id": f"{page}apply/"},
            }
        ]
    return [
        {
            "@type": "dcat:Distribution",
            "dct:title": _text(f"{label} 下载"),
            "dct:description": _text(PLANNED_NOTE),
            "dcat:accessURL": {"@id": page},
            "dcat:downloadURL": {"@id": f"{page}download.{suffix}"},
            "dcat:mediaType": {"@id": f"https://www.iana.org/assignments/media-types/{media_type}"},
            "dct:format": {"@id": f"{EU}/file-type/{label}"},
        }
        for suffix, label, media_type in DOWNLOADS
    ]


def catalog_feed(
    base: str, feed_url: str, page_number: Any = 1, page_size: int | None = None
) -> dict[str, Any]:
    """One page of the DCAT catalog. `base` is the site root (scheme://host), `feed_url` this feed's URL."""
    page_size = page_size or PAGE_SIZE
    paginator = Paginator(open_resources(), page_size)
    page = paginator.get_page(page_number)
    county = settings.COUNTY_NAME
    catalog: dict[str, Any] = {
        "@context": CONTEXT,
        "@id": feed_url,
        "@type": ["dcat:Catalog", "hydra:Collection"],
        "dct:title": _text(f"{county}政务数据开放目录"),
        "dct:description": _text(
            f"{county}政务信息资源目录中向社会开放的数据资源（无条件开放和有条件开放）。"
        ),
        "dct:publisher": {"@type": "foaf:Agent", "foaf:name": _text(f"{county}人民政府")},
        "dct:language": {"@id": f"{EU}/language/ZHO"},
        "dct:spatial": {
            "@type": "dct:Location",
            "rdfs:label": _text(county),
            "dct:identifier": settings.COUNTY_DIVISION_CODE,
        },
        "foaf:homepage": {"@id": f"{base}/open/"},
        "hydra:totalItems": paginator.count,
        "dcat:dataset": [dataset(resource, base) for resource in page.object_list],
    }

    def page_url(number: int) -> dict[str, str]:
        return {"@id": f"{feed_url}?page={number}"}

    view: dict[str, Any] = {
        "@id": page_url(page.number)["@id"],
        "@type": "hydra:PartialCollectionView",
        "hydra:first": page_url(1),
        "hydra:last": page_url(paginator.num_pages),
        "hydra:itemsPerPage": page_size,
    }
    if page.has_next():
        view["hydra:next"] = page_url(page.next_page_number())
    if page.has_previous():
        view["hydra:previous"] = page_url(page.previous_page_number())
    catalog["hydra:view"] = view
    return catalog
