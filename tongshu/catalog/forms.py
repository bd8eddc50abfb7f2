"""Page forms. They only shape input: every catalog rule is checked once, by `validation` through the services, and
its errors are put back beside the fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

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
)
from .models import BusinessSystem, Network, ResourceVersion, SystemStatus
from .validation import VERSION_FIELDS


def _label(name: str) -> Any:
    return ResourceVersion._meta.get_field(name).verbose_name


def _blank(choices: Any) -> list[tuple[str, Any]]:
    return [("", "—")] + list(choices)


class VersionForm(forms.Form):
    category = forms.ChoiceField(label=_("category"), required=False)
    name = forms.CharField(label=_label("name"), required=False)
    summary = forms.CharField(
        label=_label("summary"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    format_class = forms.ChoiceField(
        label=_label("format_class"), required=False, choices=_blank(FormatClass.choices)
    )
    format_type = forms.CharField(label=_label("format_type"), required=False)
    share_type = forms.ChoiceField(
        label=_label("share_type"), required=False, choices=_blank(ShareType.choices)
    )
    share_conditions = forms.CharField(
        label=_label("share_conditions"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    share_basis = forms.CharField(
        label=_label("share_basis"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    share_method = forms.ChoiceField(
        label=_label("share_method"), required=False, choices=_blank(ShareMethod.choices)
    )
    provision_methods = forms.MultipleChoiceField(
        label=_label("provision_methods"),
        required=False,
        choices=ProvisionMethod.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    usage_methods = forms.MultipleChoiceField(
        label=_label("usage_methods"),
        required=False,
        choices=UsageMethod.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    open_type = forms.ChoiceField(label=_label("open_type"), required=False, choices=OpenType.choices)
    open_conditions = forms.CharField(
        label=_label("open_conditions"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    open_methods = forms.MultipleChoiceField(
        label=_label("open_methods"),
        required=False,
        choices=OpenMethod.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    update_cycle = forms.ChoiceField(
        label=_label("update_cycle"), required=False, choices=_blank(UpdateCycle.choices)
    )
    business_system = forms.ChoiceField(label=_label("business_system"), required=False)
    security_level = forms.ChoiceField(
        label=_label("security_level"), required=False, choices=SecurityLevel.choices
    )
    keywords = forms.CharField(label=_label("keywords"), required=False)
    usage_requirements = forms.CharField(
        label=_label("usage_requirements"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    business_interpretation = forms.CharField(
        label=_label("business_interpretation"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    related_codes = forms.CharField(
        label=_label("related_codes"), required=False, help_text=_("Several codes separated by semicolons.")
    )
    contact_name = forms.CharField(label=_label("contact_name"), required=False)
    contact_phone = forms.CharField(label=_label("contact_phone"), required=False)
    change_reason = forms.CharField(
        label=_label("change_reason"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when the share or open type changes."),
    )

    def __init__(self, *args: Any, provider: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        categories = ResourceCategory.objects.filter(is_active=True).filter(
            Q(organization__isnull=True) | Q(organization=provider)
        )
        self.fields["category"].choices = _blank(
            (c.code, f"{c.code} {c.name}") for c in categories.order_by("code")
        )
        systems = BusinessSystem.objects.filter(organization=provider).order_by("name")
        self.fields["business_system"].choices = _blank((str(s.pk), s.name) for s in systems)

    @staticmethod
    def initial_from(fields: dict[str, Any]) -> dict[str, Any]:
        initial = dict(fields)
        initial["related_codes"] = "; ".join(fields.get("related_codes") or [])
        initial["business_system"] = str(fields["business_system"]) if fields.get("business_system") else ""
        return initial

    def service_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        fields = {name: data.get(name) for name in VERSION_FIELDS}
        fields["category"] = data.get("category") or None
        fields["business_system"] = int(data["business_system"]) if data.get("business_system") else None
        fields["related_codes"] = [
            c.strip() for c in (data.get("related_codes") or "").replace("；", ";").split(";") if c.strip()
        ]
        return fields


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 3}))


class CommentForm(forms.Form):
    comment = forms.CharField(
        label=_("Review comment"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class BusinessSystemForm(forms.ModelForm):
    class Meta:
        model = BusinessSystem
        fields = [
            "name",
            "description",
            "status",
            "network",
            "is_connected_to_exchange",
            "holds_data",
            "has_share_interface",
            "has_open_interface",
            "interface_document_url",
            "interface_document",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = SystemStatus.choices
        self.fields["network"].choices = Network.choices
        self.fields["name"].required = False

    def _post_clean(self) -> None:
        """Rules are the service's; skip the model's own validation (it would duplicate them in English)."""

    def service_fields(self) -> dict[str, Any]:
        return {
            name: self.cleaned_data.get(name) for name in self.Meta.fields if name != "interface_document"
        }


class SettingsForm(forms.Form):
    open_max_security_level = forms.ChoiceField(
        label=_("Highest security level allowed in open data"), choices=SecurityLevel.choices
    )
    code_sequence_width = forms.IntegerField(label=_("Digits of the sequence part of resource codes"))
