"""Forms of the ways-in pages: pull sources and collection tasks (e-form fields are built from the info items)."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import BatchMode
from .models_sources import Cipher, PullSource, SourceKind


class SourceForm(forms.Form):
    resource = forms.TypedChoiceField(label=_("Information resource"), coerce=int)
    kind = forms.ChoiceField(label=_("Way in"), choices=SourceKind.choices)
    name = forms.CharField(label=_("Name"), max_length=100)
    is_enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)
    mode = forms.ChoiceField(label=_("Mode"), choices=BatchMode.choices)
    every_minutes = forms.IntegerField(
        label=_("Every N minutes"),
        required=False,
        min_value=1,
        help_text=_("Leave both empty to run by hand only."),
    )
    cron = forms.CharField(
        label=_("Or a cron expression"),
        required=False,
        max_length=100,
        help_text=_("minute hour day month weekday, e.g. 0 2 * * * for 02:00 every day"),
    )
    mapping = forms.CharField(
        label=_("Field mapping (JSON)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "mono"}),
        help_text=_(
            'Source name → field name, e.g. {"sfzh": "f001"}. Empty: matched by field name or item name.'
        ),
    )
    cipher = forms.ChoiceField(label=_("Encrypt credentials with"), choices=Cipher.choices)
    timeout_seconds = forms.IntegerField(label=_("Timeout (seconds)"), min_value=1, max_value=600, initial=30)
    page_size = forms.IntegerField(label=_("Rows per page"), min_value=1, max_value=100_000, initial=1000)
    max_pages = forms.IntegerField(
        label=_("Maximum pages per run"), min_value=1, max_value=100_000, initial=1000
    )
    # HTTP
    url = forms.CharField(label=_("Interface URL"), required=False, max_length=500)
    auth_header_name = forms.CharField(label=_("Auth header name"), required=False, max_length=100)
    auth_value = forms.CharField(
        label=_("Auth header value"),
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    rows_path = forms.CharField(
        label=_("JSON path to the rows"),
        required=False,
        help_text=_("e.g. $.data.items; empty: the whole reply"),
    )
    page_param = forms.CharField(label=_("Page number parameter"), required=False, max_length=50)
    size_param = forms.CharField(label=_("Page size parameter"), required=False, max_length=50)
    first_page = forms.IntegerField(label=_("First page number"), initial=1)
    next_link_path = forms.CharField(
        label=_("Or: JSON path to the next page's link"), required=False, max_length=200
    )
    # Database
    database_url = forms.CharField(
        label=_("Database URL (SQLAlchemy)"),
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("e.g. postgresql+psycopg://reader:password@10.1.2.3/db; use a read-only account"),
    )
    query = forms.CharField(
        label=_("Query (SELECT only)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "class": "mono"}),
    )
    incremental_column = forms.CharField(label=_("Incremental column"), required=False, max_length=100)

    HTTP_FIELDS = (
        "url",
        "auth_header_name",
        "auth_value",
        "rows_path",
        "page_param",
        "size_param",
        "first_page",
        "next_link_path",
    )
    DATABASE_FIELDS = ("database_url", "query", "incremental_column")

    def __init__(self, *args: Any, resources: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.label_suffix = ""
        resource_field = self.fields["resource"]
        assert isinstance(resource_field, forms.ChoiceField)
        resource_field.choices = [(r.pk, f"{r.code} {r.published_version.name}") for r in resources]

    @classmethod
    def initial_for(cls, source: PullSource) -> dict[str, Any]:
        initial = {name: getattr(source, name) for name in cls.base_fields if hasattr(source, name)}
        initial["resource"] = source.resource_id
        initial["mapping"] = json.dumps(source.mapping, ensure_ascii=False) if source.mapping else ""
        return initial

    def service_values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        for name in ("resource", "auth_value", "database_url"):
            data.pop(name, None)
        # Text is stripped by the service's own check (`sources.config.clean`), for the API alike.
        data["first_page"] = data.get("first_page") or 1
        return data


class CollectionTaskForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    purpose = forms.CharField(
        label=_("Purpose"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Why the information is collected."),
    )
    collected_items = forms.MultipleChoiceField(
        label=_("Items to collect"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Key and required items must be collected."),
    )
    deadline = forms.DateTimeField(
        label=_("Deadline"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    collector = forms.CharField(label=_("Collector (who processes the information)"), max_length=200)
    retention = forms.CharField(
        label=_("Retention period"), max_length=200, help_text=_("e.g. three years from submission")
    )
    contact = forms.CharField(
        label=_("Contact details"), max_length=200, help_text=_("Phone or address for questions")
    )
    per_address_hourly_limit = forms.IntegerField(
        label=_("Submissions per address per hour"), min_value=1, max_value=100_000, initial=10
    )
    hourly_limit = forms.IntegerField(
        label=_("Submissions per hour for the task"), min_value=1, max_value=100_000, initial=500
    )

    def __init__(self, *args: Any, field_choices: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.label_suffix = ""
        items = self.fields["collected_items"]
        assert isinstance(items, forms.ChoiceField)
        items.choices = list(field_choices)
