"""Request types for views, so the type checker knows what the middleware and `@login_required` guarantee.

from tongshu.core.http import AuthenticatedHttpRequest

@login_required
def page(request: AuthenticatedHttpRequest) -> HttpResponse:
    services.do_something(request.user, ...)   # request.user is a User here, not User | AnonymousUser
    if request.htmx: ...                       # set by django-htmx's middleware on every request
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

if TYPE_CHECKING:
    from tongshu.accounts.models import User


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


class AuthenticatedHttpRequest(HtmxHttpRequest):
    user: User
