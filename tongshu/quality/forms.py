"""The rule form: one form for every kind; the service validates the definition and its errors go beside fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from tongshu.catalog.models import Resource
from tongshu.dataplane.models import BadRowPolicy
from tongshu.dataplane.schema import schema_for_version

from .models import CROSS_KINDS, QualityRule, RuleKind, Severity

# Where a service error about `items` / `parameters` is shown, by rule kind.
PARAMETER_FIELD = {RuleKind.RANGE: "minimum", RuleKind.PATTERN: "pattern", RuleKind.REFERENCE: "target"}


# Which parameter fields each rule kind uses (the page shows only those; the service ignores the others).
KIND_FIELDS = {
    RuleKind.ID_BIRTHDATE: ("second_item",),
    RuleKind.ID_SEX: ("second_item",),
    RuleKind.DATE_ORDER: ("second_item",),
    RuleKind.RANGE: ("minimum", "maximum"),
    RuleKind.PATTERN: ("pattern",),
    RuleKind.REFERENCE: ("target", "target_field"),
}


def kinds_using(field: str) -> str:
    """The kinds that use a parameter field, space-separated (for the page's script)."""
    return " ".join(str(kind) for kind, fields in KIND_FIELDS.items() if field in fields)


def referable_items(resource_id: int | None) -> list[tuple[str, Any]]:
    """Choices of the referenced field: the resource's key (the default) and its key or queryable items."""
    choices: list[tuple[str, Any]] = [("", _("The referenced resource's key"))]
    if resource_id is None:
        return choices
    target = Resource.objects.select_related("published_version").filter(pk=resource_id).first()
    if target is None or target.published_version is None:
        return choices
    schema = schema_for_version(target.published_version)
    key = _("key")
    for column in schema.columns:
        if column.is_key or column.is_queryable:
            label = f"{column.label}（{column.field_name}）"
            choices.append((column.field_name, f"{label} · {key}" if column.is_key else label))
    return choices


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
        label=_("Referenced resource"),
        queryset=Resource.objects.none(),
        required=False,
        empty_label=_("Choose a resource"),
    )
    target_field = forms.ChoiceField(
        label=_("Referenced field"),
        required=False,
        help_text=_("A key or queryable item of the referenced resource."),
    )
    severity = forms.ChoiceField(label=_("Severity"), widget=forms.RadioSelect)
    reason = forms.CharField(label=_("Message"), required=False, max_length=200)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(
        self,
        *args: Any,
        columns: list[tuple[str, str]],
        policy: str = BadRowPolicy.REJECT,
        target_url: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        choices = [(name, f"{label}（{name}）") for name, label in columns]
        self.fields["first_item"].choices = choices
        self.fields["second_item"].choices = [("", _("Choose an item")), *choices]
        target = self.fields["target"]
        target.queryset = Resource.objects.filter(
            published_version__isnull=False, is_retired=False
        ).select_related("published_version")
        target.label_from_instance = lambda r: f"{r.code} {r.published_version.name}"
        if target_url:
            # htmx: choosing a resource fetches its referable items into the next field.
            target.widget.attrs.update(
                {
                    "hx-get": target_url,
                    "hx-trigger": "change",
                    "hx-target": "#target-field-row",
                    "hx-swap": "outerHTML",
                }
            )
        self.fields["target_field"].choices = referable_items(self._chosen_target())
        error_label = (
            _("Error (the row is not loaded; the rest of the batch is)")
            if policy == BadRowPolicy.SKIP
            else _("Error (the whole batch is rejected)")
        )
        self.fields["severity"].choices = [
            (Severity.ERROR, error_label),
            (Severity.WARNING, _("Warning (reported only; the row is loaded)")),
        ]
        self.fields["severity"].help_text = _(
            "What an error does follows the resource's bad-row policy, set on its data page."
        )

    def _chosen_target(self) -> Any:
        value = self.data.get(self.add_prefix("target")) if self.is_bound else self.initial.get("target")
        try:
            return int(value) if value not in (None, "") else None
        except (TypeError, ValueError):
            return None

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
