"""Forms of the management pages. They parse input only; the rules live in services.py and permissions.py."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any, cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongshu.core.errors import DomainError

from .models import Organization, OrganizationKind
from .queries import KEY_STATUSES, in_official_order, parent_choices
from .roles import Role


class OrganizationChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Organization) -> str:
        return obj.name if obj.is_active else str(_("%(name)s (inactive)") % {"name": obj.name})


def model_field(form: forms.Form, name: str) -> forms.ModelChoiceField:
    return cast(forms.ModelChoiceField, form.fields[name])


def choice_field(form: forms.Form, name: str) -> forms.ChoiceField:
    return cast(forms.ChoiceField, form.fields[name])


def add_domain_error(form: forms.Form, exc: DomainError) -> None:
    """Show a service's refusal beside the field it names (or above the form)."""
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


class OrganizationForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=32, help_text=_("Cannot be changed later."))
    name = forms.CharField(label=_("Name"), max_length=100)
    short_name = forms.CharField(label=_("Short name"), max_length=40, required=False)
    kind = forms.ChoiceField(label=_("Type"), choices=OrganizationKind.choices)
    division_code = forms.CharField(
        label=_("Administrative division code"),
        max_length=12,
        help_text=_("6, 9 or 12 digits (GB/T 2260), e.g. 430623 for Huarong County."),
    )
    credit_code = forms.CharField(
        label=_("Unified social credit code"),
        max_length=18,
        required=False,
        help_text=_("18 characters (GB 32100); the check character is verified."),
    )
    parent = OrganizationChoiceField(
        label=_("Parent organization"), queryset=Organization.objects.none(), required=False
    )
    sequence = forms.IntegerField(
        label=_("Department number"),
        required=False,
        min_value=1,
        help_text=_("Used in the department branch of resource codes."),
    )

    def __init__(self, *args: Any, instance: Organization | None = None, **kwargs: Any) -> None:
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "code": instance.code,
                "name": instance.name,
                "short_name": instance.short_name,
                "kind": instance.kind,
                "division_code": instance.division_code,
                "credit_code": instance.credit_code,
                "parent": instance.parent_id,
                "sequence": instance.sequence,
            }
        super().__init__(*args, **kwargs)
        self.instance = instance
        choices = parent_choices(exclude=instance)
        if instance is not None and instance.parent_id:
            choices = choices | Organization.objects.filter(pk=instance.parent_id)
        model_field(self, "parent").queryset = in_official_order(choices)
        model_field(self, "parent").empty_label = _("— none —")
        if instance is not None:
            del self.fields["code"]

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["short_name"] = data.get("short_name") or ""
        data["credit_code"] = (data.get("credit_code") or "").strip().upper()
        return data


class OrganizationFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    kind = forms.ChoiceField(label=_("Type"), required=False)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All")), ("active", _("Active")), ("inactive", _("Inactive"))],
    )
    without_cdo = forms.BooleanField(label=_("Without chief data officer"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "kind").choices = [("", _("All types")), *OrganizationKind.choices]
        self.fields["q"].widget.attrs.update({"type": "search", "placeholder": _("Name or code")})

    def filters(self) -> dict[str, Any]:
        if not self.is_valid():
            return {}
        return {key: value for key, value in self.cleaned_data.items() if value}


class UserCreateForm(forms.Form):
    username = forms.CharField(
        label=_("User name"), max_length=150, help_text=_("Letters, digits and ._-@; used to log in.")
    )
    full_name = forms.CharField(label=_("Full name"), max_length=60)
    organization = OrganizationChoiceField(label=_("Organization"), queryset=Organization.objects.none())
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_field(self, "organization").queryset = in_official_order(Organization.objects.active())


class UserEditForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=60)
    organization = OrganizationChoiceField(
        label=_("Organization"), queryset=Organization.objects.none(), required=False
    )
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {"full_name": user.full_name, "organization": user.organization_id, "phone": user.phone},
        )
        super().__init__(*args, **kwargs)
        choices = Organization.objects.active()
        if user.organization_id:
            choices = choices | Organization.objects.filter(pk=user.organization_id)
        model_field(self, "organization").queryset = in_official_order(choices)
        if user.has_role(Role.PUBLIC):
            # Public portal accounts belong to no organization.
            del self.fields["organization"]
        else:
            self.fields["organization"].required = True


class UserFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    organization = OrganizationChoiceField(
        label=_("Organization"), queryset=Organization.objects.none(), required=False
    )
    role = forms.ChoiceField(label=_("Role"), required=False)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[
            ("", _("All")),
            ("active", _("Active")),
            ("inactive", _("Inactive")),
            ("must_change", _("Awaiting first login")),
        ],
    )

    def __init__(self, *args: Any, all_organizations: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs.update({"type": "search", "placeholder": _("Name, user name or phone")})
        choice_field(self, "role").choices = [("", _("All roles")), *Role.choices, ("none", _("No role"))]
        if all_organizations:
            model_field(self, "organization").queryset = in_official_order(Organization.objects.all())
            model_field(self, "organization").empty_label = _("All organizations")
        else:
            del self.fields["organization"]

    def filters(self) -> dict[str, Any]:
        if not self.is_valid():
            return {}
        return {key: value for key, value in self.cleaned_data.items() if value}


class RoleGrantForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)

    def __init__(self, *args: Any, held: frozenset[str] = frozenset(), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "role").choices = [
            (code, label) for code, label in Role.choices if code not in held
        ]


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label=_("Application name"),
        max_length=100,
        help_text=_("The business system or application that will use the key."),
    )
    expires_on = forms.DateField(
        label=_("Expires on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Optional. The key stops working at the end of this day."),
    )

    def expires_at(self) -> datetime | None:
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        return timezone.make_aware(datetime.combine(day, time(23, 59, 59)))


class ApiKeyFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False)
    organization = OrganizationChoiceField(
        label=_("Organization"), queryset=Organization.objects.none(), required=False
    )

    def __init__(self, *args: Any, all_organizations: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = {"active": _("Active"), "expired": _("Expired"), "revoked": _("Revoked")}
        choice_field(self, "status").choices = [
            ("", _("All")),
            *((code, labels[code]) for code in KEY_STATUSES),
        ]
        self.fields["q"].widget.attrs.update({"type": "search", "placeholder": _("Name or prefix")})
        if all_organizations:
            model_field(self, "organization").queryset = in_official_order(Organization.objects.all())
            model_field(self, "organization").empty_label = _("All organizations")
        else:
            del self.fields["organization"]

    def filters(self) -> dict[str, Any]:
        if not self.is_valid():
            return {}
        return {key: value for key, value in self.cleaned_data.items() if value}
