"""Catalog use cases, one module per concept: drafts, review (submit / return / publish / retire), versions (diff,
completeness), guards (refusing changes that bypass review), business systems and settings."""

from .drafts import create_draft, start_revision, update_draft, version_as_dict, withdraw
from .guards import refuse_published_change
from .review import assign_code, publish, retire, return_version, submit
from .settings import update_settings
from .systems import create_system, delete_system, systems_report, update_system
from .versions import completeness, diff_versions, previous_published

__all__ = [
    "assign_code",
    "completeness",
    "create_draft",
    "create_system",
    "delete_system",
    "diff_versions",
    "previous_published",
    "publish",
    "refuse_published_change",
    "retire",
    "return_version",
    "start_revision",
    "submit",
    "systems_report",
    "update_draft",
    "update_settings",
    "update_system",
    "version_as_dict",
    "withdraw",
]
