"""Information resources (信息资源), their info items (信息项), reviewed versions and business systems (第八条, 第十一条).

A `Resource` is the identity: provider, category and the code assigned at first publication. Everything a department
describes lives in a `ResourceVersion`; a published version is immutable, and any change to a published resource is a
new version that goes through review again. Info items keep a stable `uid` and `field_name` across versions, so the
data plane can follow renames and retirements without losing rows.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongshu.core.errors import Conflict
from tongshu.standards.levels import SecurityLevel

from .choices import FormatClass, OpenType, ShareMethod, ShareType, UpdateCycle, VersionState

FROZEN_STATES = frozenset({VersionState.PUBLISHED, VersionState.SUPERSEDED})


class Resource(models.Model):
    provider = models.ForeignKey(
        "accounts.Organization",
        verbose_name=_("provider"),
        on_delete=models.PROTECT,
        related_name="resources",
    )
    category = models.ForeignKey(
        "standards.ResourceCategory",
        verbose_name=_("category"),
        on_delete=models.PROTECT,
        related_name="resources",
    )
    code = models.CharField(_("resource code"), max_length=60, unique=True, null=True, blank=True)
    code_prefix = models.CharField(_("code prefix"), max_length=30, blank=True)
    code_sequence = models.PositiveIntegerField(_("code sequence"), null=True, blank=True)
    published_version = models.ForeignKey(
        "ResourceVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_retired = models.BooleanField(_("retired"), default=False)
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("Information resource")
        verbose_name_plural = _("Information resources")
        ordering = ["code", "pk"]

    def __str__(self) -> str:
        version = self.published_version or self.versions.order_by("-number").first()
        return f"{self.code or _('(no code yet)')} {version.name if version else ''}".strip()


class ResourceVersion(models.Model):
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    state = models.CharField(
        _("state"), max_length=12, choices=VersionState.choices, default=VersionState.DRAFT
    )
    # Core metadata (《政务信息资源目录编制指南》 §1, in the guide's order).
    name = models.CharField(_("resource name"), max_length=200)
    summary = models.TextField(_("summary"))
    format_class = models.CharField(_("format class"), max_length=2, choices=FormatClass.choices)
    format_type = models.CharField(_("format type"), max_length=40, blank=True)
    share_type = models.CharField(_("share type"), max_length=14, choices=ShareType.choices)
    share_conditions = models.TextField(_("share conditions"), blank=True)
    share_basis = models.TextField(_("legal basis for not sharing"), blank=True)
    share_method = models.CharField(_("share method"), max_length=2, choices=ShareMethod.choices, blank=True)
    provision_methods = models.JSONField(_("provision methods"), default=list, blank=True)
    usage_methods = models.JSONField(_("usage methods"), default=list, blank=True)
    open_type = models.CharField(
        _("open type"), max_length=14, choices=OpenType.choices, default=OpenType.NONE
    )
    open_conditions = models.TextField(_("open conditions"), blank=True)
    open_methods = models.JSONField(_("open methods"), default=list, blank=True)
    update_cycle = models.CharField(_("update cycle"), max_length=2, choices=UpdateCycle.choices)
    # Extended metadata a county catalog adds.
    business_system = models.ForeignKey(
        "BusinessSystem",
        verbose_name=_("business system"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="resource_versions",
    )
    security_level = models.CharField(
        _("security level"), max_length=12, choices=SecurityLevel.choices, default=SecurityLevel.GENERAL_1
    )
    keywords = models.CharField(_("keywords"), max_length=300, blank=True)
    usage_requirements = models.TextField(_("usage requirements"), blank=True)
    business_interpretation = models.TextField(_("business interpretation"), blank=True)
    related_codes = models.JSONField(_("related resource codes"), default=list, blank=True)
    contact_name = models.CharField(_("contact person"), max_length=40, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=30, blank=True)
    change_reason = models.TextField(_("reason for the change"), blank=True)
    # Review trail (the full history is in VersionTransition).
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    review_comment = models.TextField(_("review comment"), blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)

    class Meta:
        verbose_name = _("Resource version")
        verbose_name_plural = _("Resource versions")
        ordering = ["resource", "-number"]
        constraints = [models.UniqueConstraint(fields=["resource", "number"], name="unique_resource_version")]
        indexes = [models.Index(fields=["state"])]

    def __str__(self) -> str:
        return f"{self.name} v{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """A published (or superseded) version never changes; the one exception is the catalog service marking a
        published version superseded when its successor is published (`save(update_fields=["state"])`)."""
        stored = getattr(self, "_stored_state", None)
        if stored in FROZEN_STATES and self.pk is not None:
            superseding = (
                stored == VersionState.PUBLISHED
                and self.state == VersionState.SUPERSEDED
                and list(kwargs.get("update_fields") or []) == ["state"]
            )
            if not superseding:
                raise Conflict("已发布的版本不可修改，变更须提交新版本并经审核", code="published_immutable")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        if getattr(self, "_stored_state", None) in FROZEN_STATES:
            raise Conflict("已发布的版本不可删除", code="published_immutable")
        return super().delete(*args, **kwargs)

    @classmethod
    def from_db(cls, db: Any, field_names: Any, values: Any) -> ResourceVersion:
        instance = super().from_db(db, field_names, values)
        instance._stored_state = instance.__dict__.get("state")
        return instance

    @property
    def is_editable(self) -> bool:
        return self.state in (VersionState.DRAFT, VersionState.RETURNED)

    @property
    def is_frozen(self) -> bool:
        return self.state in FROZEN_STATES


class MaskingMethod(models.TextChoices):
    """How an item appears in a desensitized open derivative (GB/T 37964)."""

    NONE = "", _("Shown as is")
    MASK = "mask", _("Partly masked")
    HASH = "hash", _("Keyed hash")
    GENERALIZE = "generalize", _("Generalized")
    DROP = "drop", _("Removed")


class InfoItem(models.Model):
    version = models.ForeignKey(ResourceVersion, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField(_("order"))
    uid = models.CharField(_("item identity"), max_length=16, help_text=_("Stable across versions."))
    field_name = models.CharField(
        _("field name"),
        max_length=60,
        help_text=_("Column name in the data plane: lower-case letters, digits, _."),
    )
    name = models.CharField(_("item name"), max_length=100)
    data_type = models.CharField(_("data type"), max_length=1)
    length = models.CharField(_("length"), max_length=20, blank=True)
    data_element = models.ForeignKey(
        "standards.DataElement",
        verbose_name=_("data element"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="info_items",
    )
    code_set = models.ForeignKey(
        "standards.CodeSet",
        verbose_name=_("code set"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="info_items",
    )
    is_key = models.BooleanField(_("key"), default=False)
    is_queryable = models.BooleanField(_("queryable"), default=False)
    is_sensitive = models.BooleanField(_("sensitive"), default=False)
    is_required = models.BooleanField(_("required"), default=False)
    security_level = models.CharField(
        _("security level"), max_length=12, choices=SecurityLevel.choices, default=SecurityLevel.GENERAL_1
    )
    open_masking = models.CharField(
        _("masking in open data"), max_length=12, choices=MaskingMethod.choices, blank=True
    )
    description = models.CharField(_("description"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("Info item")
        verbose_name_plural = _("Info items")
        ordering = ["version", "position"]
        constraints = [
            models.UniqueConstraint(fields=["version", "uid"], name="unique_item_uid"),
            models.UniqueConstraint(fields=["version", "field_name"], name="unique_item_field"),
            models.UniqueConstraint(fields=["version", "name"], name="unique_item_name"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk and self.version.state in FROZEN_STATES:
            raise Conflict("已发布版本的信息项不可修改", code="published_immutable")
        super().save(*args, **kwargs)


class VersionTransition(models.Model):
    """Who moved a version from one state to another, when and why."""

    version = models.ForeignKey(ResourceVersion, on_delete=models.CASCADE, related_name="transitions")
    from_state = models.CharField(max_length=12, choices=VersionState.choices)
    to_state = models.CharField(max_length=12, choices=VersionState.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    reason = models.TextField(blank=True)

    class Meta:
        verbose_name = _("Review step")
        verbose_name_plural = _("Review steps")
        ordering = ["version", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.version}: {self.from_state} → {self.to_state}"


class CodeSequence(models.Model):
    """The last 后段码 handed out within a 前段码. Numbers are never reused, even for withdrawn resources."""

    prefix = models.CharField(max_length=30, unique=True)
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("Code sequence")
        verbose_name_plural = _("Code sequences")

    def __str__(self) -> str:
        return f"{self.prefix}: {self.last_value}"


class SystemStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    BUILDING = "building", _("Under construction")
    ONLINE = "online", _("Online")
    RETIRED = "retired", _("Retired")


class Network(models.TextChoices):
    EGOV_EXTRANET = "extranet", _("E-government extranet")
    INTRANET = "intranet", _("E-government intranet")
    INTERNET = "internet", _("Internet")


class BusinessSystem(models.Model):
    """A department's business system (第十一条, 第十八条)."""

    organization = models.ForeignKey(
        "accounts.Organization",
        verbose_name=_("organization"),
        on_delete=models.PROTECT,
        related_name="business_systems",
    )
    name = models.CharField(_("system name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=SystemStatus.choices, default=SystemStatus.ONLINE
    )
    network = models.CharField(
        _("network"), max_length=10, choices=Network.choices, default=Network.EGOV_EXTRANET
    )
    is_connected_to_exchange = models.BooleanField(_("connected to the exchange platform"), default=False)
    holds_data = models.BooleanField(_("holds data"), default=True)
    has_share_interface = models.BooleanField(_("exposes a share interface"), default=False)
    has_open_interface = models.BooleanField(_("exposes an open interface"), default=False)
    interface_document_url = models.CharField(_("interface document link"), max_length=300, blank=True)
    interface_document = models.FileField(_("interface document"), upload_to="interface-docs/", blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("Business system")
        verbose_name_plural = _("Business systems")
        ordering = ["organization", "name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="unique_system_name")]

    def __str__(self) -> str:
        return self.name


class CatalogSettings(models.Model):
    """Operator settings of the catalog (one row)."""

    open_max_security_level = models.CharField(
        _("highest security level allowed in open data"),
        max_length=12,
        choices=SecurityLevel.choices,
        default=SecurityLevel.GENERAL_2,
    )
    code_sequence_width = models.PositiveSmallIntegerField(
        _("digits of the sequence part of resource codes"), default=6
    )

    class Meta:
        verbose_name = _("Catalog settings")
        verbose_name_plural = _("Catalog settings")

    def __str__(self) -> str:
        return str(_("Catalog settings"))

    @classmethod
    def current(cls) -> CatalogSettings:
        settings_row, _created = cls.objects.get_or_create(pk=1)
        return settings_row


from .search_models import SearchDocument, SearchIndexState, SearchPosting  # noqa: E402,F401  (catalog search index)
