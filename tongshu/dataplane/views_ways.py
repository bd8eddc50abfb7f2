"""Helpers the ways-in pages share: domain errors become the error page; service errors go back beside fields."""

from __future__ import annotations

from functools import wraps
from typing import Any, cast

from django import forms
from django.http import HttpRequest, HttpResponse

from tongshu.catalog.models import Resource
from tongshu.core.errors import DomainError, NotFound
from tongshu.core.views import error_page

from .sources.services import loadable_resources


def page(view: Any) -> Any:
    """Domain errors a view lets through (not found, forbidden) become the error page with their status."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return cast(HttpResponse, view(request, *args, **kwargs))
        except DomainError as exc:
            return error_page(request, exc)

    return wrapper


def loadable_resource(user: Any, resource_id: Any) -> Resource:
    """A resource the user may load into; any other answers 404, so other departments learn nothing."""
    try:
        resource = loadable_resources(user).filter(pk=int(resource_id)).first()
    except (TypeError, ValueError):
        resource = None
    if resource is None:
        raise NotFound("信息资源不存在或无权维护其数据", code="resource_not_found")
    return resource


def put_error(form: forms.Form, exc: DomainError) -> None:
    """A service's error beside its field (or above the form), and the engine's findings beside each field."""
    if isinstance(exc.details, dict):
        for field, reasons in exc.details.items():
            for reason in reasons:
                form.add_error(field if field in form.fields else None, reason)
        if not exc.details:
            form.add_error(None, exc.message)
        return
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)
