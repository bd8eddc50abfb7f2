"""Value lists of the catalog (《政务信息资源目录编制指南（试行）》 and the Huarong regulation), declared once.

Codes follow the code sets shipped in `standards/data/codesets/` where those exist; the share and open types use the
names in ../shared/DESIGN.md (`unconditional` / `conditional` / `none`), their numbers being for exchange files.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ShareType(models.TextChoices):
    UNCONDITIONAL = "unconditional", _("Shared unconditionally")
    CONDITIONAL = "conditional", _("Shared on conditions")
    NONE = "none", _("Not shared")


class OpenType(models.TextChoices):
    UNCONDITIONAL = "unconditional", _("Open unconditionally")
    CONDITIONAL = "conditional", _("Open on conditions")
    NONE = "none", _("Not open")


# Exchange-file numbers of the share-type and open-type code sets.
SHARE_TYPE_NUMBERS = {"unconditional": "1", "conditional": "2", "none": "3"}
OPEN_TYPE_NUMBERS = {"unconditional": "1", "conditional": "2", "none": "3"}


class ShareMethod(models.TextChoices):
    TABLE = "11", _("Exchange platform: database table")
    INTERFACE = "12", _("Exchange platform: interface")
    FILE = "13", _("Exchange platform: file")
    MEDIA = "20", _("E-mail or media")


class ProvisionMethod(models.TextChoices):
    """第十九条."""

    SYSTEM = "1", _("System integration")
    INTERFACE = "2", _("Upstream data interface")
    EFORM = "3", _("Electronic form")


class UsageMethod(models.TextChoices):
    """第二十条."""

    VERIFY = "1", _("Verification service")
    QUERY = "2", _("Query service")
    PUSH = "3", _("Data push")


class OpenMethod(models.TextChoices):
    """第二十七条."""

    DOWNLOAD = "1", _("Data download")
    API = "2", _("Data API")
    PORTAL = "3", _("Online on the open-data portal")
    OTHER = "9", _("Other")


class UpdateCycle(models.TextChoices):
    REALTIME = "01", _("Real-time")
    DAILY = "02", _("Daily")
    WEEKLY = "03", _("Weekly")
    MONTHLY = "04", _("Monthly")
    QUARTERLY = "05", _("Quarterly")
    HALF_YEARLY = "06", _("Half-yearly")
    YEARLY = "07", _("Yearly")
    IRREGULAR = "99", _("Irregular")


class FormatClass(models.TextChoices):
    DOCUMENT = "1", _("Electronic document")
    SPREADSHEET = "2", _("Spreadsheet")
    DATABASE = "3", _("Database")
    IMAGE = "4", _("Image")
    STREAMING = "5", _("Streaming media")
    SELF_DESCRIBING = "6", _("Self-describing format")
    OTHER = "9", _("Other")


class VersionState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted for review")
    RETURNED = "returned", _("Returned")
    PUBLISHED = "published", _("Published")
    SUPERSEDED = "superseded", _("Superseded")
    WITHDRAWN = "withdrawn", _("Withdrawn")


# The review workflow (第八条): allowed transitions and who may make them, declared once; services check against it.
TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    (VersionState.DRAFT, VersionState.SUBMITTED): frozenset({"cdo"}),
    (VersionState.RETURNED, VersionState.SUBMITTED): frozenset({"cdo"}),
    (VersionState.SUBMITTED, VersionState.RETURNED): frozenset({"authority"}),
    (VersionState.SUBMITTED, VersionState.PUBLISHED): frozenset({"authority"}),
    (VersionState.DRAFT, VersionState.WITHDRAWN): frozenset({"cdo", "data_admin"}),
    (VersionState.RETURNED, VersionState.WITHDRAWN): frozenset({"cdo", "data_admin"}),
    (VersionState.PUBLISHED, VersionState.SUPERSEDED): frozenset({"authority"}),
}
EDITABLE_STATES = frozenset({VersionState.DRAFT, VersionState.RETURNED})
