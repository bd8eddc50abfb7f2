"""The audit log's filter form (the auditor's page)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from tongshu.accounts.models import Organization

from .services import AuditFilters


class AuditFilterForm(forms.Form):
    action = forms.CharField(label=_("Action"), required=False, max_length=80)
    actor = forms.CharField(label=_("Actor"), required=False, max_length=150)
    organization = forms.TypedChoiceField(
        label=_("Organization"), required=False, coerce=int, empty_value=None
    )
    object = forms.CharField(label=_("Object"), required=False, max_length=200)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        organizations = Organization.objects.order_by("kind", "code").values_list("pk", "name")
        organization = self.fields["organization"]
        assert isinstance(organization, forms.TypedChoiceField)
        organization.choices = [("", _("All organizations")), *organizations]
        self.fields["action"].widget.attrs["placeholder"] = _("e.g. login.")
        # Six filters and the buttons fit one row at 1366 px.
        for name, width in (("action", 120), ("actor", 120), ("organization", 200), ("object", 130)):
            self.fields[name].widget.attrs["style"] = f"min-width: 0; width: {width}px"
        for name in ("date_from", "date_to"):
            self.fields[name].widget.attrs["style"] = "min-width: 0; width: 140px"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("The end date is before the start date."))
        return data

    def filters(self) -> AuditFilters:
        """The filters to apply; an invalid form applies none of its invalid fields."""
        data = self.cleaned_data if self.is_valid() else {}
        return AuditFilters(
            action=data.get("action") or "",
            actor=data.get("actor") or "",
            organization=data.get("organization"),
            object=data.get("object") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )
