"""Schemas of the catalog API (`/api/v1/catalog`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema

from .models import InfoItem, ResourceVersion


class ErrorOut(Schema):
    code: str
    message: str
    details: list[dict[str, Any]] | None = None


class ItemIn(Schema):
    uid: str = Field("", description="已有信息项的标识（跨版本不变）；新信息项留空")
    field_name: str = Field("", description="数据平面的字段名；新信息项可留空自动生成")
    name: str = ""
    data_type: str = Field("", description="C/N/Y/D/T/L/M/G/B/I/F；绑定数据元时可留空")
    length: str = Field("", description="如 C18、C..50、N8,2；绑定数据元时可留空")
    data_element: int | None = None
    code_set: int | None = None
    is_key: bool = False
    is_queryable: bool = False
    is_sensitive: bool = False
    is_required: bool = False
    security_level: str = "general-1"
    open_masking: str = ""
    description: str = ""


class VersionFieldsIn(Schema):
    """Every element of a version; in a PATCH only the given ones change."""

    category: int | str | None = Field(None, description="信息资源分类：id（整数）或分类代码（字符串）")
    name: str | None = None
    summary: str | None = None
    format_class: str | None = None
    format_type: str | None = None
    share_type: str | None = Field(None, description="unconditional / conditional / none")
    share_conditions: str | None = None
    share_basis: str | None = None
    share_method: str | None = None
    provision_methods: list[str] | None = None
    usage_methods: list[str] | None = None
    open_type: str | None = Field(None, description="unconditional / conditional / none")
    open_conditions: str | None = None
    open_methods: list[str] | None = None
    update_cycle: str | None = None
    business_system: int | None = None
    security_level: str | None = None
    keywords: str | None = None
    usage_requirements: str | None = None
    business_interpretation: str | None = None
    related_codes: list[str] | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    change_reason: str | None = None


class DraftIn(VersionFieldsIn):
    provider_id: int | None = Field(None, description="默认为调用者所在部门")
    items: list[ItemIn] = []


class DraftPatch(VersionFieldsIn):
    items: list[ItemIn] | None = Field(None, description="给出时整体替换信息项（按顺序）")


class ReasonIn(Schema):
    reason: str = ""


class CommentIn(Schema):
    comment: str = ""


class ItemOut(Schema):
    uid: str
    field_name: str
    position: int
    name: str
    data_type: str
    length: str
    data_element_id: int | None
    data_element_identifier: str | None = None
    code_set_id: int | None
    is_key: bool
    is_queryable: bool
    is_sensitive: bool
    is_required: bool
    security_level: str
    open_masking: str
    description: str

    @staticmethod
    def resolve_data_element_identifier(obj: InfoItem) -> str | None:
        return obj.data_element.identifier if obj.data_element_id else None


class VersionSummaryOut(Schema):
    id: int
    resource_id: int
    number: int
    state: str
    name: str
    share_type: str
    open_type: str
    change_reason: str
    created_at: datetime
    submitted_at: datetime | None
    reviewed_at: datetime | None
    review_comment: str
    published_at: datetime | None


class VersionOut(VersionSummaryOut):
    category_code: str
    provider_id: int
    summary: str
    format_class: str
    format_type: str
    share_conditions: str
    share_basis: str
    share_method: str
    provision_methods: list[str]
    usage_methods: list[str]
    open_conditions: str
    open_methods: list[str]
    update_cycle: str
    business_system_id: int | None
    security_level: str
    keywords: str
    usage_requirements: str
    business_interpretation: str
    related_codes: list[str]
    contact_name: str
    contact_phone: str
    items: list[ItemOut]

    @staticmethod
    def resolve_category_code(obj: ResourceVersion) -> str:
        return obj.resource.category.code

    @staticmethod
    def resolve_provider_id(obj: ResourceVersion) -> int:
        return obj.resource.provider_id

    @staticmethod
    def resolve_items(obj: ResourceVersion) -> list[InfoItem]:
        return list(obj.items.all())


class ResourceOut(Schema):
    id: int
    code: str | None
    name: str
    provider_id: int
    provider_name: str
    category_code: str
    category_name: str
    is_retired: bool
    published_number: int | None
    published_at: datetime | None
    share_type: str | None
    open_type: str | None


class ResourceDetailOut(ResourceOut):
    published: VersionOut | None
    versions: list[VersionSummaryOut]


class FieldChangeOut(Schema):
    field: str
    label: str
    old: str
    new: str


class DiffOut(Schema):
    old_number: int | None
    new_number: int
    fields: list[FieldChangeOut]
    items: dict[str, list[dict[str, Any]]]
    type_changed: bool
    has_changes: bool


class SimilarOut(Schema):
    resource_id: int
    code: str | None
    name: str
    provider_name: str
    score: float
    reasons: list[str]


class QueueEntryOut(Schema):
    version: VersionSummaryOut
    provider_name: str
    code: str | None
    is_revision: bool
