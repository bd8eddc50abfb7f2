"""Validation of a resource version and its info items against the cataloguing guide (第八条, 第九条).

`validate_version(fields, items, provider=…, resource=…)` returns every error at once (a department fixing a form or a
spreadsheet wants them all), each a `FieldError` naming the model field (`items[3].length` for items) and carrying a
Chinese message. `clean_version` does the same and also returns the normalized values the draft services store:
objects resolved from ids, item lengths written canonically, type/length/code set taken from a bound data element
when left empty, and each item's stable `uid` and `field_name`.

Decisions (documented in docs/catalog.md):
- A resource's security level must be at least the highest level of its items: an error, not an automatic raise, so
  the level a department declares is always one it chose.
- Share and open types must agree: a resource that is not shared between departments cannot be open to the public,
  and a resource shared only on conditions cannot be open unconditionally.
- An open resource may hold an item above the operator's highest open level only if the open derivative masks it;
  core-level items must be removed (`drop`) from any open derivative.
- Database resources, and resources shared through the exchange platform as tables or interfaces, need at least one
  key item: the data plane builds its unique index from them.
- A field name, once given to an item (identified by `uid`), never changes; new items get one derived from their data
  element's English name, else `item_<n>`, never reusing a name an earlier item of the resource held.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from tongshu.standards.levels import SecurityLevel
from tongshu.standards.models import ResourceCategory

from .choices import (
    FormatClass,
    OpenMethod,
    OpenType,
    ProvisionMethod,
    ShareMethod,
    ShareType,
    UpdateCycle,
    UsageMethod,
    VersionState,
)
from .item_validation import ITEM_FIELDS, KEYED_SHARE_METHODS, ItemChecks, as_pk, text
from .models import BusinessSystem, CatalogSettings, Resource, ResourceVersion

__all__ = [
    "ITEM_FIELDS",
    "VERSION_FIELDS",
    "CleanedVersion",
    "FieldError",
    "clean_version",
    "validate_version",
]

VERSION_FIELDS = (
    "name",
    "summary",
    "format_class",
    "format_type",
    "share_type",
    "share_conditions",
    "share_basis",
    "share_method",
    "provision_methods",
    "usage_methods",
    "open_type",
    "open_conditions",
    "open_methods",
    "update_cycle",
    "business_system",
    "security_level",
    "keywords",
    "usage_requirements",
    "business_interpretation",
    "related_codes",
    "contact_name",
    "contact_phone",
    "change_reason",
)
LIST_FIELDS = frozenset({"provision_methods", "usage_methods", "open_methods", "related_codes"})
LABELS = {
    "category": "信息资源分类",
    "name": "信息资源名称",
    "summary": "信息资源摘要",
    "format_class": "信息资源格式分类",
    "format_type": "信息资源格式类型",
    "share_type": "共享类型",
    "share_conditions": "共享条件",
    "share_basis": "不予共享依据",
    "share_method": "共享方式",
    "provision_methods": "提供方式",
    "usage_methods": "使用方式",
    "open_type": "开放类型",
    "open_conditions": "开放条件",
    "open_methods": "开放方式",
    "update_cycle": "更新周期",
    "business_system": "所属业务系统",
    "security_level": "安全级别",
    "keywords": "关键字",
    "usage_requirements": "使用要求",
    "business_interpretation": "业务解读",
    "related_codes": "关联资源代码",
    "contact_name": "联系人",
    "contact_phone": "联系电话",
    "change_reason": "变更原因",
    "items": "信息项",
}
REQUIRED_FIELDS = ("category", "name", "summary", "format_class", "share_type", "open_type", "update_cycle")

# Example format types per class (《政务信息资源目录编制指南》 §3). Types not listed anywhere are accepted as written;
# a type listed under another class is an error (a PDF is not a database).
FORMAT_TYPES: dict[str, tuple[str, ...]] = {
    FormatClass.DOCUMENT: ("OFD", "PDF", "DOC", "DOCX", "WPS", "TXT", "XML", "HTML"),
    FormatClass.SPREADSHEET: ("XLS", "XLSX", "ET", "CSV"),
    FormatClass.DATABASE: (
        "达梦",
        "DM",
        "人大金仓",
        "KINGBASEES",
        "ORACLE",
        "SQL SERVER",
        "MYSQL",
        "POSTGRESQL",
        "DB2",
        "ACCESS",
        "DBF",
        "SQLITE",
    ),
    FormatClass.IMAGE: ("JPG", "JPEG", "GIF", "BMP", "PNG", "TIFF"),
    FormatClass.STREAMING: ("MP4", "FLV", "RM", "MPG", "SWF"),
}
FILE_FORMAT_CLASSES = frozenset(
    {FormatClass.DOCUMENT, FormatClass.SPREADSHEET, FormatClass.IMAGE, FormatClass.STREAMING}
)
# A file-format resource is shared as a file (or on media); a database one as tables or an interface.
SHARE_METHODS_FOR_FORMAT: dict[str, frozenset[str]] = {
    **{cls: frozenset({ShareMethod.FILE, ShareMethod.MEDIA}) for cls in FILE_FORMAT_CLASSES},
    FormatClass.DATABASE: frozenset({ShareMethod.TABLE, ShareMethod.INTERFACE}),
}
PHONE = re.compile(r"^[0-9+()\- ]{5,30}$")


@dataclass(frozen=True)
class FieldError:
    field: str
    code: str
    message: str
    item_index: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CleanedVersion:
    fields: dict[str, Any]
    items: list[dict[str, Any]]
    errors: list[FieldError] = field(default_factory=list)


def validate_version(
    fields: dict[str, Any], items: list[dict[str, Any]], *, provider: Any, resource: Resource | None = None
) -> list[FieldError]:
    """Every error in `fields` and `items` for a version of `resource` (None for a new one) held by `provider`."""
    return clean_version(fields, items, provider=provider, resource=resource).errors


def clean_version(
    fields: dict[str, Any], items: list[dict[str, Any]], *, provider: Any, resource: Resource | None = None
) -> CleanedVersion:
    checker = _Checker(fields, items, provider=provider, resource=resource)
    checker.run()
    return CleanedVersion(fields=checker.fields, items=checker.items, errors=checker.errors)


def _as_list(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = re.split(r"[;；,，\s]+", value)
    return [str(part).strip() for part in value if str(part).strip()]


class _Checker(ItemChecks):
    def __init__(
        self, fields: dict[str, Any], items: list[dict[str, Any]], *, provider: Any, resource: Resource | None
    ) -> None:
        self.raw_fields = fields
        self.raw_items = items or []
        self.provider = provider
        self.resource = resource
        self.errors: list[FieldError] = []
        self.settings = CatalogSettings.current()
        self.fields: dict[str, Any] = {}
        self.items: list[dict[str, Any]] = []

    def error(self, field_name: str, code: str, message: str, item_index: int | None = None) -> None:
        name = f"items[{item_index}].{field_name}" if item_index is not None else field_name
        self.errors.append(FieldError(field=name, code=code, message=message, item_index=item_index))

    # -- resource fields -----------------------------------------------------------------------------------------
    def run(self) -> None:
        self.normalize_fields()
        self.check_required()
        self.check_choices()
        self.check_category()
        self.check_name()
        self.check_share_and_open()
        self.check_format()
        self.check_business_system()
        self.check_related_codes()
        self.check_lengths_and_contact()
        self.check_items()
        self.check_levels()
        self.check_type_change_reason()

    def normalize_fields(self) -> None:
        for name in VERSION_FIELDS:
            value = self.raw_fields.get(name)
            if name in LIST_FIELDS:
                self.fields[name] = list(dict.fromkeys(_as_list(value)))
            elif name == "business_system":
                self.fields[name] = as_pk(value)
            else:
                self.fields[name] = text(value)
        self.fields["category"] = self.raw_fields.get("category")
        if not self.fields["open_type"]:
            self.fields["open_type"] = OpenType.NONE
        if not self.fields["security_level"]:
            self.fields["security_level"] = SecurityLevel.GENERAL_1

    def check_required(self) -> None:
        for name in REQUIRED_FIELDS:
            value = self.fields.get(name)
            if value in (None, "", []):
                self.error(name, "required", f"请填写{LABELS[name]}")

    def check_choices(self) -> None:
        single = {
            "format_class": FormatClass,
            "share_type": ShareType,
            "share_method": ShareMethod,
            "open_type": OpenType,
            "update_cycle": UpdateCycle,
            "security_level": SecurityLevel,
        }
        for name, choices in single.items():
            value = self.fields[name]
            if value and value not in choices.values:
                self.error(name, "invalid_choice", f"{LABELS[name]}“{value}”不在取值范围内")
        multiple = {
            "provision_methods": ProvisionMethod,
            "usage_methods": UsageMethod,
            "open_methods": OpenMethod,
        }
        for name, choices in multiple.items():
            wrong = [code for code in self.fields[name] if code not in choices.values]
            if wrong:
                self.error(name, "invalid_choice", f"{LABELS[name]}含无效代码：{'、'.join(wrong)}")

    def check_category(self) -> None:
        value = self.fields["category"]
        if value in (None, ""):
            return
        if isinstance(value, ResourceCategory):
            category = value
        elif isinstance(value, int):
            category = ResourceCategory.objects.filter(pk=value).first()
        else:
            category = ResourceCategory.objects.filter(code=str(value).strip()).first()
        if category is None or not category.is_active:
            self.error("category", "unknown_category", f"信息资源分类“{value}”不存在或已停用")
            self.fields["category"] = None
            return
        if category.organization_id and category.organization_id != getattr(self.provider, "pk", None):
            self.error("category", "category_of_other_department", "不能使用其他部门的部门目录分类")
        if self.resource is not None and self.resource.code and category.pk != self.resource.category_id:
            self.error(
                "category", "category_fixed", "信息资源已赋码，不能再变更分类（代码的前段码由分类决定）"
            )
        self.fields["category"] = category

    def check_name(self) -> None:
        name = self.fields["name"]
        if not name or self.provider is None:
            return
        taken = ResourceVersion.objects.filter(
            resource__provider=self.provider,
            resource__is_retired=False,
            name=name,
            state__in=[
                VersionState.DRAFT,
                VersionState.SUBMITTED,
                VersionState.RETURNED,
                VersionState.PUBLISHED,
            ],
        )
        if self.resource is not None and self.resource.pk:
            taken = taken.exclude(resource=self.resource)
        if taken.exists():
            self.error("name", "duplicate_name", f"本部门已有名为“{name}”的信息资源")
        if BusinessSystem.objects.filter(organization=self.provider, name=name).exists():
            self.error("name", "bare_system_name", "信息资源名称不能只写业务系统名称，请写明所记录的内容")

    def check_share_and_open(self) -> None:
        share, open_ = self.fields["share_type"], self.fields["open_type"]
        if share == ShareType.NONE and not self.fields["share_basis"]:
            self.error("share_basis", "basis_required", "不予共享的信息资源须填写法律、行政法规或政策依据")
        if share == ShareType.CONDITIONAL and not self.fields["share_conditions"]:
            self.error("share_conditions", "conditions_required", "有条件共享的信息资源须填写共享条件")
        if share in (ShareType.UNCONDITIONAL, ShareType.CONDITIONAL) and not self.fields["share_method"]:
            self.error("share_method", "required", "共享的信息资源须填写共享方式")
        if (
            share in (ShareType.UNCONDITIONAL, ShareType.CONDITIONAL)
            and self.fields["share_method"] in KEYED_SHARE_METHODS
            and not self.fields["usage_methods"]
        ):
            self.error("usage_methods", "required", "通过库表或接口共享的信息资源须至少选择一种使用方式")
        if open_ == OpenType.CONDITIONAL and not self.fields["open_conditions"]:
            self.error("open_conditions", "conditions_required", "有条件开放的信息资源须填写开放条件")
        if open_ in (OpenType.UNCONDITIONAL, OpenType.CONDITIONAL) and not self.fields["open_methods"]:
            self.error("open_methods", "required", "向社会开放的信息资源须至少选择一种开放方式")
        if open_ == OpenType.NONE and self.fields["open_methods"]:
            self.error("open_methods", "not_applicable", "不予开放的信息资源不应填写开放方式")
        if share == ShareType.NONE and open_ in (OpenType.UNCONDITIONAL, OpenType.CONDITIONAL):
            self.error("open_type", "share_open_inconsistent", "不予共享的信息资源不能向社会开放")
        if share == ShareType.CONDITIONAL and open_ == OpenType.UNCONDITIONAL:
            self.error(
                "open_type", "share_open_inconsistent", "有条件共享的信息资源不能无条件开放，请改为有条件开放"
            )

    def check_format(self) -> None:
        format_class, format_type = self.fields["format_class"], self.fields["format_type"]
        if format_type:
            upper = format_type.upper()
            home = [cls for cls, types in FORMAT_TYPES.items() if upper in types]
            if home and format_class and format_class not in home:
                self.error(
                    "format_type",
                    "format_mismatch",
                    f"格式类型“{format_type}”属于“{FormatClass(home[0]).label}”，与所选格式分类不一致",
                )
        allowed = SHARE_METHODS_FOR_FORMAT.get(format_class)
        method = self.fields["share_method"]
        if allowed and method and method not in allowed:
            if format_class == FormatClass.DATABASE:
                message = "数据库类信息资源应以共享平台库表或接口方式共享"
            else:
                message = "文件类信息资源应以共享平台文件方式（或邮件、介质）共享"
            self.error("share_method", "share_method_mismatch", message)

    def check_business_system(self) -> None:
        pk = self.fields["business_system"]
        if pk is None:
            return
        system = BusinessSystem.objects.filter(pk=pk).first() if isinstance(pk, int) else None
        if system is None:
            self.error("business_system", "unknown_system", "所属业务系统不存在")
            self.fields["business_system"] = None
        elif system.organization_id != getattr(self.provider, "pk", None):
            self.error("business_system", "system_of_other_department", "只能选择本部门的业务系统")
            self.fields["business_system"] = None
        else:
            self.fields["business_system"] = system

    def check_related_codes(self) -> None:
        codes = self.fields["related_codes"]
        if not codes:
            return
        if self.resource is not None and self.resource.code in codes:
            self.error("related_codes", "related_self", "关联资源不能是本资源")
        known = set(Resource.objects.filter(code__in=codes).values_list("code", flat=True))
        missing = [code for code in codes if code not in known]
        if missing:
            self.error("related_codes", "unknown_related", f"关联资源代码不存在：{'、'.join(missing)}")

    def check_lengths_and_contact(self) -> None:
        for name in VERSION_FIELDS:
            if name in LIST_FIELDS or name == "business_system":
                continue
            max_length = getattr(ResourceVersion._meta.get_field(name), "max_length", None)
            value = self.fields[name]
            if max_length and isinstance(value, str) and len(value) > max_length:
                self.error(name, "too_long", f"{LABELS[name]}不能超过 {max_length} 个字符")
        if self.fields["contact_phone"] and not PHONE.match(self.fields["contact_phone"]):
            self.error("contact_phone", "invalid_phone", "联系电话格式不正确")

    def check_type_change_reason(self) -> None:
        published = self.resource.published_version if self.resource is not None else None
        if published is None:
            return
        changed = [
            name
            for name in ("share_type", "open_type")
            if self.fields[name] and self.fields[name] != getattr(published, name)
        ]
        if changed and not self.fields["change_reason"]:
            self.error(
                "change_reason",
                "change_reason_required",
                "变更共享类型或开放类型须说明原因，并经主管部门审核",
            )
