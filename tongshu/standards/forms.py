"""Forms of the standards pages. They only collect input; the services validate it and name the field at fault."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import CheckRule, CodeSet, DataType


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("File"), help_text=_("CSV (UTF-8 or GBK) or XLSX; columns code, name and optionally parent.")
    )
    version = forms.CharField(
        label=_("Version"),
        max_length=30,
        required=False,
        help_text=_("Leave empty to name it after today's date."),
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)
    make_current = forms.BooleanField(label=_("Make it the current version"), required=False, initial=True)


class NewCodeSetForm(UploadForm):
    identifier = forms.CharField(
        label=_("Identifier"),
        max_length=60,
        help_text=_("Lower-case letters, digits and hyphens, e.g. road-class."),
    )
    name = forms.CharField(label=_("Name"), max_length=100)
    standard = forms.CharField(label=_("Source standard"), max_length=100, required=False)
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )

    field_order = ["identifier", "name", "standard", "description", "file", "version", "note", "make_current"]


class CategoryImportForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_(
            "XLSX with the columns 分类代码, 分类名称, 上级分类代码; or JSON [{code, name, parent}]."
        ),
    )
    mode = forms.ChoiceField(
        label=_("Import mode"),
        choices=[
            ("extend", _("Extend: add and update the listed categories")),
            ("replace", _("Replace: also retire every category the file does not list")),
        ],
        initial="extend",
        widget=forms.RadioSelect,
    )


def _code_set_choices() -> list[tuple[str, str]]:
    return [("", "—")] + [
        (c.identifier, str(c)) for c in CodeSet.objects.order_by("-is_system", "identifier")
    ]


class DataElementForm(forms.Form):
    identifier = forms.CharField(
        label=_("Identifier"),
        max_length=30,
        required=False,
        help_text=_("Leave empty for the next DE number."),
    )
    name = forms.CharField(label=_("Chinese name"), max_length=100)
    english_name = forms.CharField(label=_("English name"), max_length=100, required=False)
    definition = forms.CharField(label=_("Definition"), widget=forms.Textarea(attrs={"rows": 3}))
    data_type = forms.ChoiceField(label=_("Data type"), choices=DataType.choices)
    length = forms.CharField(
        label=_("Length / format"),
        max_length=20,
        required=False,
        help_text=_("C18 fixed, C..50 up to 50, N8,2 up to 8 digits with 2 decimals, D8 date."),
    )
    code_set = forms.ChoiceField(label=_("Code set"), required=False)
    value_domain = forms.CharField(label=_("Value domain"), max_length=300, required=False)
    pattern = forms.CharField(label=_("Pattern"), max_length=200, required=False)
    check_rule = forms.ChoiceField(label=_("Check rule"), choices=CheckRule.choices, required=False)
    source_standard = forms.CharField(label=_("Source standard"), max_length=100, required=False)
    version = forms.CharField(label=_("Version"), max_length=20, required=False)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["code_set"].choices = _code_set_choices()
        if editing:
            self.fields["identifier"].disabled = True
            self.fields["identifier"].help_text = ""
