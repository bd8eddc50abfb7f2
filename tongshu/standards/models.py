"""Technical standards the catalog and validation follow (第九条): code sets, data elements, resource categories.

Code sets are versioned: values belong to a version, exactly one version is current, and a data element or an info
item binds to the code set (validation uses its current version). Shipped national sets are imported from
`standards/data/` by `manage.py load_standards`; operators import further sets and versions from CSV/XLSX.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class CodeSet(models.Model):
    identifier = models.SlugField(_("identifier"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=100)
    standard = models.CharField(_("source standard"), max_length=100, blank=True)
    description = models.TextField(_("description"), blank=True)
    is_hierarchical = models.BooleanField(_("hierarchical"), default=False)
    is_system = models.BooleanField(_("shipped with the platform"), default=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("Code set")
        verbose_name_plural = _("Code sets")
        ordering = ["identifier"]

    def __str__(self) -> str:
        return f"{self.name}（{self.standard}）" if self.standard else self.name

    @property
    def current_version(self) -> CodeSetVersion | None:
        return self.versions.filter(is_current=True).first()


class CodeSetVersion(models.Model):
    code_set = models.ForeignKey(CodeSet, on_delete=models.CASCADE, related_name="versions")
    version = models.CharField(_("version"), max_length=30)
    is_current = models.BooleanField(_("current"), default=False)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        verbose_name = _("Code set version")
        verbose_name_plural = _("Code set versions")
        ordering = ["code_set", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["code_set", "version"], name="unique_code_set_version"),
            models.UniqueConstraint(
                fields=["code_set"], condition=models.Q(is_current=True), name="one_current_code_set_version"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code_set.name} {self.version}"


class CodeValue(models.Model):
    version = models.ForeignKey(CodeSetVersion, on_delete=models.CASCADE, related_name="values")
    code = models.CharField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=200)
    parent_code = models.CharField(_("parent code"), max_length=40, blank=True)
    sort = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("Code value")
        verbose_name_plural = _("Code values")
        ordering = ["version", "sort", "code"]
        constraints = [models.UniqueConstraint(fields=["version", "code"], name="unique_code_in_version")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class DataType(models.TextChoices):
    """信息项数据类型 (《政务信息资源目录编制指南》); the codes are the guide's letters."""

    CHAR = "C", _("Character")
    NUMERIC = "N", _("Numeric")
    CURRENCY = "Y", _("Currency")
    DATE = "D", _("Date")
    DATETIME = "T", _("Date and time")
    LOGICAL = "L", _("Logical")
    MEMO = "M", _("Memo")
    GENERAL = "G", _("General")
    DOUBLE = "B", _("Double")
    INTEGER = "I", _("Integer")
    FLOAT = "F", _("Float")


class CheckRule(models.TextChoices):
    """Checksum and format rules a data element may carry; validation derives a rule from each."""

    NONE = "", _("None")
    RESIDENT_ID = "resident_id", _("Resident ID number (GB 11643)")
    CREDIT_CODE = "credit_code", _("Unified social credit code (GB 32100)")
    DIVISION = "division", _("Administrative division code (GB/T 2260)")
    PHONE = "phone", _("Mobile or landline phone number")
    GEOJSON = "geojson", _("GeoJSON geometry")


class DataElement(models.Model):
    """数据元: a reusable definition info items conform to."""

    identifier = models.CharField(_("identifier"), max_length=30, unique=True)
    name = models.CharField(_("Chinese name"), max_length=100)
    english_name = models.CharField(_("English name"), max_length=100, blank=True)
    definition = models.TextField(_("definition"))
    data_type = models.CharField(_("data type"), max_length=1, choices=DataType.choices)
    length = models.CharField(
        _("length / format"),
        max_length=20,
        blank=True,
        help_text=_("As in data-element standards: C18, C..50, N8,2."),
    )
    code_set = models.ForeignKey(
        CodeSet,
        verbose_name=_("code set"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="data_elements",
    )
    value_domain = models.CharField(_("value domain"), max_length=300, blank=True)
    pattern = models.CharField(
        _("pattern"), max_length=200, blank=True, help_text=_("A regular expression values must match.")
    )
    check_rule = models.CharField(_("check rule"), max_length=20, choices=CheckRule.choices, blank=True)
    source_standard = models.CharField(_("source standard"), max_length=100, blank=True)
    version = models.CharField(_("version"), max_length=20, default="1.0")
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("Data element")
        verbose_name_plural = _("Data elements")
        ordering = ["identifier"]

    def __str__(self) -> str:
        return f"{self.identifier} {self.name}"


class CategoryLevel(models.IntegerChoices):
    CLASS = 1, _("Class")  # 类
    ITEM = 2, _("Item")  # 项
    SECTION = 3, _("Section")  # 目
    SUBSECTION = 4, _("Subsection")  # 细目


class ResourceCategory(models.Model):
    """信息资源分类: the four-level tree (类 / 项 / 目 / 细目) whose full code is a resource code's 前段码."""

    code = models.CharField(
        _("code"), max_length=30, unique=True, help_text=_("The full code from the root, digits only.")
    )
    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    level = models.PositiveSmallIntegerField(_("level"), choices=CategoryLevel.choices)
    organization = models.ForeignKey(
        "accounts.Organization",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="resource_categories",
        help_text=_("For the department branch: the department this category belongs to."),
    )
    source = models.CharField(
        _("source"), max_length=20, default="platform", help_text=_("platform or city master catalog")
    )
    sort = models.PositiveIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("Resource category")
        verbose_name_plural = _("Resource categories")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"
