"""Organization and user management pages (第六条). Thin: parse, ask permissions, call a service, render.

The operator (`operator_admin`) manages organizations and users; the security administrator sees users read-only
(roles are granted on the role page); an organization's CDO or data administrator sees its own people read-only.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.middleware import HtmxDetails
from django_otp.plugins.otp_totp.models import TOTPDevice

from tongshu.core.errors import DomainError, NotFound, PermissionDenied
from tongshu.core.views import error_page

from . import permissions, queries, services
from .forms_admin import (
    OrganizationFilterForm,
    OrganizationForm,
    UserCreateForm,
    UserEditForm,
    UserFilterForm,
    add_domain_error,
)
from .models import Organization, User

PAGE_SIZE = 20


class HtmxHttpRequest(HttpRequest):
    """A request passed through django-htmx's middleware (for type checkers)."""

    htmx: HtmxDetails


def paginate(request: HttpRequest, items: Any, per_page: int = PAGE_SIZE) -> Any:
    return Paginator(items, per_page).get_page(request.GET.get("page"))


def render_page(
    request: HtmxHttpRequest, template: str, context: dict[str, Any], partial: str = ""
) -> HttpResponse:
    """The whole page, or for an htmx request the named fragment of the same template."""
    if partial and request.htmx:
        template = f"{template}#{partial}"
    return render(request, template, context)


def show_secret_once(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    """A page carrying a password or token: rendered in answer to the POST itself and never cached or stored."""
    response = render(request, template, context)
    add_never_cache_headers(response)
    return response


def _forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return error_page(request, PermissionDenied(message))


# --- Organizations --------------------------------------------------------------------------------------------------

ORGANIZATIONS_ONLY = "只有系统管理员可以管理机构"


def _organization(pk: int) -> Organization:
    organization = queries.organizations_with_figures().filter(pk=pk).first()
    if organization is None:
        raise NotFound("机构不存在", code="organization_not_found")
    return organization


@login_required
def organizations(request: HtmxHttpRequest) -> HttpResponse:
    if not permissions.can_view_organizations(request.user):
        return _forbidden(request, ORGANIZATIONS_ONLY)
    form = OrganizationFilterForm(request.GET or None)
    rows = queries.filter_organizations(queries.organizations_with_figures(), **form.filters())
    context = {
        "form": form,
        "page": paginate(request, queries.in_official_order(rows)),
        "without_cdo_count": Organization.objects.without_cdo().count(),
    }
    return render_page(request, "accounts/manage/organizations.html", context, "organization-rows")


@login_required
def organization_detail(request: HttpRequest, pk: int) -> HttpResponse:
    if not permissions.can_view_organizations(request.user):
        return _forbidden(request, ORGANIZATIONS_ONLY)
    try:
        organization = _organization(pk)
    except DomainError as exc:
        return error_page(request, exc)
    members = queries.remember_roles(
        queries.with_roles(organization.users.order_by("-is_active", "username"))
    )
    children = queries.in_official_order(organization.children.all())
    keys = queries.api_key_counts(organization.api_keys.all())
    return render(
        request,
        "accounts/manage/organization_detail.html",
        {"organization": organization, "members": members, "children": children, "keys": keys},
    )


@login_required
def organization_create(request: HttpRequest) -> HttpResponse:
    if not permissions.can_manage_organizations(request.user):
        return _forbidden(request, ORGANIZATIONS_ONLY)
    form = OrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            organization = services.create_organization(request.user, **form.service_fields())
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Organization “%(name)s” created.") % {"name": organization.name})
            return redirect("accounts:organization_detail", pk=organization.pk)
    return render(request, "accounts/manage/organization_form.html", {"form": form, "organization": None})


@login_required
def organization_edit(request: HttpRequest, pk: int) -> HttpResponse:
    if not permissions.can_manage_organizations(request.user):
        return _forbidden(request, ORGANIZATIONS_ONLY)
    organization = Organization.objects.filter(pk=pk).first()
    if organization is None:
        return error_page(request, NotFound("机构不存在", code="organization_not_found"))
    form = OrganizationForm(request.POST or None, instance=organization)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_organization(request.user, organization, **form.service_fields())
        except DomainError as exc:
            organization.refresh_from_db()
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Organization “%(name)s” saved.") % {"name": organization.name})
            return redirect("accounts:organization_detail", pk=organization.pk)
    return render(
        request, "accounts/manage/organization_form.html", {"form": form, "organization": organization}
    )


@login_required
@require_POST
def organization_active(request: HttpRequest, pk: int) -> HttpResponse:
    if not permissions.can_manage_organizations(request.user):
        return _forbidden(request, ORGANIZATIONS_ONLY)
    organization = Organization.objects.select_related("parent").filter(pk=pk).first()
    if organization is None:
        return error_page(request, NotFound("机构不存在", code="organization_not_found"))
    active = request.POST.get("active") == "1"
    try:
        services.set_organization_active(request.user, organization, active)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        done = (
            _("Organization “%(name)s” reactivated.") if active else _("Organization “%(name)s” deactivated.")
        )
        messages.success(request, done % {"name": organization.name})
    return redirect("accounts:organization_detail", pk=organization.pk)


# --- Users ----------------------------------------------------------------------------------------------------------

USERS_ONLY = "只有系统管理员可以管理用户"


def _visible_user(actor: Any, pk: int) -> User:
    """A user the actor may see; anyone outside that scope gets 404, not a hint that the account exists."""
    user = permissions.users_visible_to(actor).filter(pk=pk).first()
    if user is None:
        raise NotFound("用户不存在", code="user_not_found")
    return user


@login_required
def users(request: HtmxHttpRequest) -> HttpResponse:
    actor = request.user
    if not permissions.can_view_users(actor):
        return _forbidden(request, "无权查看用户列表")
    sees_all = permissions.sees_all_users(actor)
    form = UserFilterForm(request.GET or None, all_organizations=sees_all)
    rows = queries.filter_users(permissions.users_visible_to(actor), **form.filters())
    page = paginate(request, queries.with_roles(queries.users_in_official_order(rows)))
    page.object_list = queries.remember_roles(page.object_list)
    context = {
        "form": form,
        "page": page,
        "sees_all": sees_all,
        "can_manage": permissions.can_manage_users(actor),
        "can_grant": permissions.can_grant_roles(actor),
    }
    return render_page(request, "accounts/manage/users.html", context, "user-rows")


@login_required
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    if not permissions.can_view_users(actor):
        return _forbidden(request, "无权查看用户")
    try:
        person = _visible_user(actor, pk)
    except DomainError as exc:
        return error_page(request, exc)
    assignments = person.role_assignments.select_related("granted_by").order_by("role")
    context = {
        "person": person,
        "assignments": assignments,
        "has_totp": TOTPDevice.objects.filter(user=person, confirmed=True).exists(),
        "password_expires_at": services.password_expires_at(person),
        "can_manage": permissions.can_manage_users(actor),
        "can_grant": permissions.can_grant_roles(actor),
    }
    return render(request, "accounts/manage/user_detail.html", context)


@login_required
def user_create(request: HttpRequest) -> HttpResponse:
    if not permissions.can_manage_users(request.user):
        return _forbidden(request, USERS_ONLY)
    initial = {}
    if organization_id := request.GET.get("organization", "").strip():
        initial["organization"] = organization_id if organization_id.isdigit() else None
    form = UserCreateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            person, password = services.create_user(request.user, **form.cleaned_data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            return show_secret_once(
                request,
                "accounts/manage/user_password.html",
                {"person": person, "password": password, "created": True},
            )
    return render(request, "accounts/manage/user_form.html", {"form": form, "person": None})


@login_required
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    if not permissions.can_manage_users(actor):
        return _forbidden(request, USERS_ONLY)
    try:
        person = _visible_user(actor, pk)
    except DomainError as exc:
        return error_page(request, exc)
    form = UserEditForm(request.POST or None, user=person)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_user(actor, person, **form.cleaned_data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Account “%(name)s” saved.") % {"name": person.display_name})
            return redirect("accounts:user_detail", pk=person.pk)
    return render(request, "accounts/manage/user_form.html", {"form": form, "person": person})


@login_required
@require_POST
def user_active(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    if not permissions.can_manage_users(actor):
        return _forbidden(request, USERS_ONLY)
    try:
        person = _visible_user(actor, pk)
    except DomainError as exc:
        return error_page(request, exc)
    active = request.POST.get("active") == "1"
    try:
        services.update_user(actor, person, is_active=active)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        done = _("Account “%(name)s” reactivated.") if active else _("Account “%(name)s” deactivated.")
        messages.success(request, done % {"name": person.display_name})
    return redirect("accounts:user_detail", pk=person.pk)


@login_required
@require_POST
def user_reset_password(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    if not permissions.can_manage_users(actor):
        return _forbidden(request, "只有系统管理员可以重置密码")
    try:
        person = _visible_user(actor, pk)
        password = services.reset_password(actor, person)
    except DomainError as exc:
        return error_page(request, exc)
    return show_secret_once(
        request,
        "accounts/manage/user_password.html",
        {"person": person, "password": password, "created": False},
    )
