"""Forms of the data pages: the upload (file and mode), and the resource's data settings."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import BadRowPolicy, BatchMode


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("Data file"),
        help_text=_(
            "CSV (UTF-8 or GBK), XLSX, XLS, ODS, JSON (an array of objects) or NDJSON; row 1 is the header."
        ),
    )
    mode = forms.ChoiceField(
        label=_("Load mode"),
        choices=BatchMode.choices,
        initial=BatchMode.UPSERT,
        widget=forms.RadioSelect,
        help_text=_(
            "Upsert adds new records and updates existing ones by key. Full replace makes the file the whole data set: "
            "records missing from it are retired."
        ),
    )
    sheet = forms.CharField(
        label=_("Worksheet"),
        required=False,
        max_length=100,
        help_text=_("For spreadsheets only: the worksheet to read. Leave empty for the first one."),
    )


class DataSettingsForm(forms.Form):
    bad_row_policy = forms.ChoiceField(
        label=_("When rows fail validation"),
        choices=BadRowPolicy.choices,
        widget=forms.RadioSelect,
        help_text=_(
            "Either way every bad row is reported with its row number, item and reason. A full replace is always "
            "rejected whole when any row is bad: loading it without those rows would retire their records."
        ),
    )
