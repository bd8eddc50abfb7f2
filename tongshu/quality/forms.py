"""The rule form: one form for every kind; the service validates the definition and its errors go beside fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from tongshu.catalog.models import Resource

from .models import CROSS_KINDS, QualityRule, RuleKind, Severity

# Where a service error about `items` / `parameters` is shown, by rule kind.
PARAMETER_FIELD = {RuleKind.RANGE: "minimum", RuleKind.PATTERN: "pattern", RuleKind.REFERENCE: "target"}


class RuleForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=RuleKind.choices)
    first_item = forms.ChoiceField(label=_("Info item"))
    second_item = forms.ChoiceField(
        label=_("Second info item"), required=False, help_text=_("Cross-item rules only.")
    )
    minimum = forms.CharField(label=_("Minimum"), required=False, max_length=40)
    maximum = forms.CharField(label=_("Maximum"), required=False, max_length=40)
    pattern = forms.CharField(label=_("Regular expression"), required=False, max_length=300)
    target = forms.ModelChoiceField(
        label=_("Referenced resource"), queryset=Resource.objects.none(), required=False
    )
    target_field = forms.CharField(
        label=_("Referenced field"),
        required=False,
        max_length=60,
        help_text=_("Leave empty to use the referenced resource's key."),
    )
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices)
    reason = forms.CharField(label=_("Message"), required=False, max_length=200)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, columns: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(name, f"{label}（{name}）") for name, label in columns]
        self.fields["first_item"].choices = choices
        self.fields["second_item"].choices = [("", "—"), *choices]
        self.fields["target"].queryset = Resource.objects.filter(
            published_version__isnull=False, is_retired=False
        ).select_related("published_version")
        self.fields["target"].label_from_instance = lambda r: f"{r.code} {r.published_version.name}"

    @classmethod
    def initial_for(cls, rule: QualityRule) -> dict[str, Any]:
        items = list(rule.items) + ["", ""]
        parameters = rule.parameters or {}
        return {
            "kind": rule.kind,
            "first_item": items[0],
            "second_item": items[1],
            "minimum": parameters.get("min") or "",
            "maximum": parameters.get("max") or "",
            "pattern": parameters.get("pattern") or "",
            "target": parameters.get("resource"),
            "target_field": parameters.get("field") or "",
            "severity": rule.severity,
            "reason": rule.reason,
            "is_active": rule.is_active,
        }

    def definition(self) -> dict[str, Any]:
        data = self.cleaned_data
        kind = data["kind"]
        items = [data["first_item"]]
        if kind in CROSS_KINDS:
            items.append(data.get("second_item") or "")
            items = [item for item in items if item]
        parameters: dict[str, Any] = {}
        if kind == RuleKind.RANGE:
            parameters = {"min": data.get("minimum") or None, "max": data.get("maximum") or None}
        elif kind == RuleKind.PATTERN:
            parameters = {"pattern": data.get("pattern") or ""}
        elif kind == RuleKind.REFERENCE:
            target = data.get("target")
            parameters = {"resource": target.pk if target else None, "field": data.get("target_field") or ""}
        return {
            "kind": kind,
            "items": items,
            "parameters": parameters,
            "severity": data["severity"],
            "reason": data.get("reason") or "",
            "is_active": bool(data.get("is_active")),
        }

    def add_service_error(self, field: str | None, message: str) -> None:
        kind = self.cleaned_data.get("kind", "")
        target = {
            "items": "first_item",
            "parameters": PARAMETER_FIELD.get(kind, "first_item"),
            "kind": "kind",
            "severity": "severity",
        }.get(field or "")
        self.add_error(target, message)
