"""The sections of a resource's data page (数据页面) and who sees which: one tab bar shared by the batches, upload,
browse, quality, e-form, ways-in and settings pages, so every part of a resource's data is reachable from any other.

Each tab is shown only to those its page lets in (the pages check again on the server); the first visible tab is
where links from the catalog, the dashboards and the data list land.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tongshu.accounts.roles import Role

from . import permissions


@dataclass(frozen=True)
class Tab:
    key: str
    label: str | Promise
    url: str


def is_person(user: Any) -> bool:
    return getattr(user, "prefix", None) is None and bool(getattr(user, "is_authenticated", False))


def can_keep_records(user: Any, resource: Any) -> bool:
    """The e-form tab: the provider's data administrators and CDO, for a resource with key items (a record is found
    and edited by its key)."""
    return (
        is_person(user)
        and permissions.can_load_data(user, resource)
        and resource.published_version is not None
        and resource.published_version.items.filter(is_key=True).exists()
    )


def can_view_ways(user: Any, resource: Any) -> bool:
    """The ways-in tab (pull sources, collection tasks, push API): the provider's managers; the operator reads it."""
    return is_person(user) and (
        permissions.can_load_data(user, resource)
        or bool(user.is_active and user.has_role(Role.OPERATOR_ADMIN))
    )


def _visible(user: Any, resource: Any) -> Iterator[Tab]:
    from tongshu.quality import permissions as quality_permissions

    if resource is None or resource.published_version_id is None or not is_person(user):
        return
    candidates = [
        ("batches", _("Batches"), "dataplane:resource", permissions.can_view_batches),
        ("upload", _("Upload data"), "dataplane:upload", permissions.can_load_data),
        ("browse", _("Data browse"), "browse:resource", permissions.can_browse_data),
        ("quality", _("Data quality"), "quality:resource", quality_permissions.can_view_quality),
        ("eform", _("Electronic form"), "ways:eform_records", can_keep_records),
        ("ways", _("Ways in"), "dataplane:ways", can_view_ways),
        (
            "settings",
            pgettext_lazy("data", "Settings"),
            "dataplane:settings",
            permissions.can_manage_data_settings,
        ),
    ]
    for key, label, name, allowed in candidates:
        if allowed(user, resource):
            yield Tab(key, label, reverse(name, args=[resource.pk]))


def data_tabs(user: Any, resource: Any) -> list[Tab]:
    """The tabs of `resource`'s data page that `user` may open, in page order."""
    return list(_visible(user, resource))


def data_page_url(user: Any, resource: Any) -> str:
    """Where a link to the resource's data page lands for `user` (its first visible tab), or "" if none."""
    first = next(_visible(user, resource), None)
    return first.url if first else ""
