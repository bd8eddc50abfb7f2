"""Helpers the catalog pages share: finding a visible object (or the error page), and putting service errors back
beside form fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse

from tongshu.core.errors import DomainError, NotFound
from tongshu.core.views import error_page

from . import permissions
from .models import Resource, ResourceVersion


class PageError(Exception):
    """Raised inside a view to answer with the error page."""

    def __init__(self, error: DomainError) -> None:
        super().__init__(error.message)
        self.error = error


def visible_resource(user: Any, resource_id: int) -> Resource:
    resource = (
        permissions.resources_visible_to(user)
        .select_related("provider", "category", "published_version")
        .filter(pk=resource_id)
        .first()
    )
    if resource is None:
        raise PageError(NotFound("信息资源不存在或无权查看", code="resource_not_found"))
    return resource


def visible_version(user: Any, version_id: int) -> ResourceVersion:
    version = (
        permissions.versions_visible_to(user)
        .select_related("resource", "resource__provider", "resource__category", "business_system")
        .filter(pk=version_id)
        .first()
    )
    if version is None:
        raise PageError(NotFound("版本不存在或无权查看", code="version_not_found"))
    return version


def page(view: Any) -> Any:
    """Turn PageError and domain errors raised by a view into the error page."""

    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except PageError as exc:
            return error_page(request, exc.error)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def add_form_errors(form: forms.Form, details: list[dict[str, Any]]) -> None:
    for detail in details:
        field = detail.get("field", "")
        if detail.get("item_index") is None and field in form.fields:
            form.add_error(field, detail["message"])
