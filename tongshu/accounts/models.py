"""Organizations, people, their roles and application API keys (第四条, 第六条, 第三十三条(三))."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .roles import Role


class OrganizationKind(models.TextChoices):
    DEPARTMENT = "department", _("County department")
    TOWNSHIP = "township", _("Township")
    UPPER_LEVEL = "upper_level", _("Upper-level body")
    PUBLIC_SERVICE = "public_service", _("Public-service enterprise")
    COMPANY = "company", _("Company")


# Organizations that must designate exactly one chief data officer (第六条).
CDO_REQUIRED_KINDS = frozenset({OrganizationKind.DEPARTMENT, OrganizationKind.TOWNSHIP})


class OrganizationQuerySet(models.QuerySet["Organization"]):
    def active(self) -> OrganizationQuerySet:
        return self.filter(is_active=True)

    def without_cdo(self) -> OrganizationQuerySet:
        """Departments and townships with no active user holding the `cdo` role (第六条)."""
        with_cdo = RoleAssignment.objects.filter(role=Role.CDO, user__is_active=True).values(
            "user__organization"
        )
        return self.active().filter(kind__in=CDO_REQUIRED_KINDS).exclude(pk__in=with_cdo)


class Organization(models.Model):
    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100, unique=True)
    short_name = models.CharField(_("short name"), max_length=40, blank=True)
    kind = models.CharField(_("type"), max_length=20, choices=OrganizationKind.choices)
    division_code = models.CharField(_("administrative division code"), max_length=12)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    sequence = models.PositiveIntegerField(
        _("department number"),
        null=True,
        blank=True,
        help_text=_("Used in the department branch of resource codes."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = OrganizationQuerySet.as_manager()

    class Meta:
        verbose_name = _("Organization")
        verbose_name_plural = _("Organizations")
        ordering = ["kind", "code"]

    def __str__(self) -> str:
        return self.name

    @property
    def requires_cdo(self) -> bool:
        return self.kind in CDO_REQUIRED_KINDS

    @property
    def chief_data_officer(self) -> User | None:
        return (
            User.objects.filter(organization=self, is_active=True, role_assignments__role=Role.CDO)
            .order_by("pk")
            .first()
        )


class User(AbstractUser):
    """A person. Staff belong to one organization; public portal accounts (`public` role) belong to none."""

    full_name = models.CharField(_("full name"), max_length=60, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organization"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )
    must_change_password = models.BooleanField(_("must change password"), default=False)
    password_changed_at = models.DateTimeField(_("password changed at"), null=True, blank=True)
    is_demo = models.BooleanField(_("demo account"), default=False)

    objects = UserManager()

    class Meta:
        verbose_name = _("User")
        verbose_name_plural = _("Users")
        ordering = ["username"]

    def __str__(self) -> str:
        return self.full_name or self.username

    @property
    def display_name(self) -> str:
        return self.full_name or self.username

    def role_codes(self) -> frozenset[str]:
        """The user's roles, cached on the instance for the request."""
        cached = getattr(self, "_role_codes", None)
        if cached is None:
            cached = (
                frozenset(self.role_assignments.values_list("role", flat=True)) if self.pk else frozenset()
            )
            self._role_codes = cached
        return cached

    def has_role(self, *roles: str) -> bool:
        return bool(self.role_codes() & set(roles))

    def forget_roles(self) -> None:
        self.__dict__.pop("_role_codes", None)


class RoleAssignment(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    granted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("granted by")
    )
    granted_at = models.DateTimeField(_("granted at"), default=timezone.now)

    class Meta:
        verbose_name = _("Role assignment")
        verbose_name_plural = _("Role assignments")
        constraints = [models.UniqueConstraint(fields=["user", "role"], name="unique_user_role")]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()}"


class ApiKey(models.Model):
    """A key for an application: shown once, stored as a SHA-256 hash, found by its visible prefix."""

    name = models.CharField(_("application name"), max_length=100)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="api_keys"
    )
    owner = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_keys",
        help_text=_("Set for a public account's own applications."),
    )
    prefix = models.CharField(_("prefix"), max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_usable(self) -> bool:
        return not self.is_revoked and not self.is_expired
