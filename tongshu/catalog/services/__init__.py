"""Catalog use cases, one module per concept: drafts, review (submit / return / publish / retire), versions (diff),
guards (refusing changes that bypass review), business systems and settings."""

from .drafts import create_draft, start_revision, update_draft, version_as_dict, withdraw

__all__ = ["create_draft", "start_revision", "update_draft", "version_as_dict", "withdraw"]
