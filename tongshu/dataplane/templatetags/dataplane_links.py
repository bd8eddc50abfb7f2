"""`{% data_page_link resource %}`: the link from a catalog entry to its data page, for those who may open it."""

from __future__ import annotations

from typing import Any

from django import template

from tongshu.dataplane import permissions

register = template.Library()


@register.inclusion_tag("dataplane/_catalog_link.html", takes_context=True)
def data_page_link(context: dict[str, Any], resource: Any) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    show = bool(
        resource is not None
        and resource.published_version_id
        and user is not None
        and permissions.can_view_batches(user, resource)
    )
    return {"resource": resource, "show": show}
