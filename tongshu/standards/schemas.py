"""Request and response shapes of `/api/v1/standards` (django-ninja schemas)."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema

from . import services
from .models import CodeSet, CodeSetVersion, DataElement, ResourceCategory


class CodeSetOut(Schema):
    identifier: str
    name: str
    standard: str
    description: str
    is_hierarchical: bool
    is_system: bool
    current_version: str | None
    value_count: int

    @staticmethod
    def resolve_current_version(obj: CodeSet) -> str | None:
        return getattr(obj, "current_label", None)


class VersionOut(Schema):
    version: str
    is_current: bool
    note: str
    created_at: datetime
    created_by: str | None
    value_count: int | None = None

    @staticmethod
    def resolve_created_by(obj: CodeSetVersion) -> str | None:
        return obj.created_by.get_username() if obj.created_by else None

    @staticmethod
    def resolve_value_count(obj: CodeSetVersion) -> int:
        count = getattr(obj, "value_count", None)
        return count if count is not None else obj.values.count()


class CodeSetDetailOut(CodeSetOut):
    created_at: datetime
    versions: list[VersionOut]

    @staticmethod
    def resolve_versions(obj: CodeSet) -> list[CodeSetVersion]:
        return list(services.versions_overview(obj))


class CodeSetPage(Schema):
    count: int
    items: list[CodeSetOut]


class ValueOut(Schema):
    code: str
    name: str
    parent_code: str


class ValuePage(Schema):
    version: str
    count: int
    items: list[ValueOut]


class DiffEntry(Schema):
    code: str
    name: str | None = None
    old_name: str | None = None
    new_name: str | None = None
    old_parent: str | None = None
    new_parent: str | None = None


class DiffOut(Schema):
    from_version: str
    to_version: str
    added: list[DiffEntry]
    removed: list[DiffEntry]
    renamed: list[DiffEntry]
    moved: list[DiffEntry]


class LengthOut(Schema):
    kind: str
    min: int
    max: int | None
    scale: int


class DataElementOut(Schema):
    identifier: str
    name: str
    english_name: str
    definition: str
    data_type: str
    length: str
    code_set: str | None
    value_domain: str
    pattern: str
    check_rule: str
    source_standard: str
    version: str
    is_active: bool

    @staticmethod
    def resolve_code_set(obj: DataElement) -> str | None:
        return obj.code_set.identifier if obj.code_set else None


class DataElementPage(Schema):
    count: int
    items: list[DataElementOut]


class DataElementIn(Schema):
    identifier: str = ""
    name: str
    definition: str
    data_type: str
    length: str = ""
    english_name: str = ""
    code_set: str | None = None
    value_domain: str = ""
    pattern: str = ""
    check_rule: str = ""
    source_standard: str = ""
    version: str = ""


class DataElementPatch(Schema):
    name: str | None = None
    english_name: str | None = None
    definition: str | None = None
    data_type: str | None = None
    length: str | None = None
    code_set: str | None = None
    value_domain: str | None = None
    pattern: str | None = None
    check_rule: str | None = None
    source_standard: str | None = None
    version: str | None = None
    is_active: bool | None = None


class CategoryOut(Schema):
    code: str
    name: str
    parent: str | None
    level: int
    source: str
    organization_id: int | None
    is_active: bool

    @staticmethod
    def resolve_parent(obj: ResourceCategory) -> str | None:
        return obj.parent.code if obj.parent_id and obj.parent else None


class CategoryNode(Schema):
    code: str
    name: str
    level: int
    source: str
    organization_id: int | None
    children: list[CategoryNode]


class CategoryImportOut(Schema):
    created: int
    updated: int
    deactivated: int


class BranchOut(Schema):
    created: int
    linked: int
    skipped: list[str]
