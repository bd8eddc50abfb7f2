"""Links into a resource's data page, for those who may open it (the rules are in `dataplane.tabs`):

- `{% data_page_link resource %}`: the button on a catalog entry;
- `{% data_tabs resource "batches" %}`: the tab bar of the data page's sections;
- `{% data_page_url resource as url %}`: the address of the first section the user may open, or "".
"""

from __future__ import annotations

from typing import Any

from django import template

from tongshu.dataplane import tabs

register = template.Library()


def _user(context: Any) -> Any:
    request = context.get("request")
    return getattr(request, "user", None)


@register.inclusion_tag("dataplane/_catalog_link.html", takes_context=True)
def data_page_link(context: dict[str, Any], resource: Any) -> dict[str, Any]:
    url = tabs.data_page_url(_user(context), resource) if resource is not None else ""
    return {"resource": resource, "url": url, "show": bool(url)}


@register.inclusion_tag("dataplane/_tabs.html", takes_context=True)
def data_tabs(context: dict[str, Any], resource: Any, active: str = "") -> dict[str, Any]:
    return {"tabs": tabs.data_tabs(_user(context), resource), "active": active}


@register.simple_tag(takes_context=True)
def data_page_url(context: dict[str, Any], resource: Any) -> str:
    return tabs.data_page_url(_user(context), resource)
