"""Role assignment (security administrator only, 三员分立) and application API keys (第三十三条(三)).

Thin views: the rules (who may grant, 三员分立, one CDO per organization, who may create or revoke a key) live in
services.py and permissions.py; a refusal comes back as a Chinese message shown beside the control.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tongshu.core.errors import DomainError, NotFound, PermissionDenied
from tongshu.core.views import error_page

from . import permissions, queries, services
from .forms_admin import ApiKeyFilterForm, ApiKeyForm, RoleGrantForm, UserFilterForm, add_domain_error
from .models import User
from .roles import Role
from .views_admin import HtmxHttpRequest, paginate, render_page, show_secret_once

ROLES_ONLY = "只有安全管理员可以分配角色"


# --- Role assignment ------------------------------------------------------------------------------------------------


def _visible_user(actor: Any, pk: Any) -> User:
    user = permissions.users_visible_to(actor).filter(pk=pk).first() if str(pk).isdigit() else None
    if user is None:
        raise NotFound("用户不存在", code="user_not_found")
    return user


def _role_panel(person: User | None, *, error: str = "", notice: str = "") -> dict[str, Any]:
    if person is None:
        return {"person": None}
    assignments = list(person.role_assignments.select_related("granted_by").order_by("role"))
    held = frozenset(a.role for a in assignments)
    person._role_codes = held
    cdo = None
    if person.organization is not None and person.organization.requires_cdo:
        cdo = person.organization.chief_data_officer
    return {
        "person": person,
        "assignments": assignments,
        "grant_form": RoleGrantForm(held=held),
        "organization_cdo": cdo,
        "role_error": error,
        "role_notice": notice,
    }


def _roles_context(request: HttpRequest, person: User | None, **panel: str) -> dict[str, Any]:
    form = UserFilterForm(request.GET or None)
    rows = queries.filter_users(permissions.users_visible_to(request.user), **form.filters())
    page = paginate(request, queries.with_roles(rows.order_by("username")), per_page=12)
    page.object_list = queries.remember_roles(page.object_list)
    query = request.GET.copy()
    query.pop("user", None)
    query.pop("page", None)
    return {"form": form, "page": page, "base_query": query.urlencode(), **_role_panel(person, **panel)}


@login_required
def roles(request: HtmxHttpRequest) -> HttpResponse:
    if not permissions.can_grant_roles(request.user):
        return error_page(request, PermissionDenied(ROLES_ONLY))
    person = None
    if request.GET.get("user"):
        try:
            person = _visible_user(request.user, request.GET["user"])
        except DomainError as exc:
            return error_page(request, exc)
    context = _roles_context(request, person)
    target = request.htmx.target if request.htmx else ""
    partial = {"role-panel": "role-panel", "user-results": "user-results"}.get(target or "", "")
    return render_page(request, "accounts/manage/roles.html", context, partial)


def _after_role_change(request: HtmxHttpRequest, person: User, error: str, notice: str) -> HttpResponse:
    if request.htmx:
        context = {**_role_panel(person, error=error, notice=notice), "refresh_row": True}
        return render(request, "accounts/manage/roles.html#role-panel", context)
    if error:
        return render(request, "accounts/manage/roles.html", _roles_context(request, person, error=error))
    messages.success(request, notice)
    return redirect(f"{reverse('accounts:roles')}?user={person.pk}")


@login_required
@require_POST
def role_grant(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    if not permissions.can_grant_roles(actor):
        return error_page(request, PermissionDenied(ROLES_ONLY))
    try:
        person = _visible_user(actor, pk)
    except DomainError as exc:
        return error_page(request, exc)
    form = RoleGrantForm(request.POST, held=person.role_codes())
    error = notice = ""
    if not form.is_valid():
        error = _("Choose a role the account does not hold yet.")
    else:
        role = form.cleaned_data["role"]
        try:
            services.grant_role(actor, person, role, request=request)
        except DomainError as exc:
            error = exc.message
        else:
            notice = _("Granted the role “%(role)s”.") % {"role": Role(role).label}
    return _after_role_change(request, person, error, notice)


@login_required
@require_POST
def role_revoke(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    if not permissions.can_grant_roles(actor):
        return error_page(request, PermissionDenied(ROLES_ONLY))
    try:
        person = _visible_user(actor, pk)
    except DomainError as exc:
        return error_page(request, exc)
    role = request.POST.get("role", "")
    error = notice = ""
    try:
        services.revoke_role(actor, person, role, request=request)
    except DomainError as exc:
        error = exc.message
    else:
        notice = _("Revoked the role “%(role)s”.") % {"role": Role(role).label}
    return _after_role_change(request, person, error, notice)


# --- API keys -------------------------------------------------------------------------------------------------------

KEYS_DENIED = "只有安全管理员、机构的首席数据官或数据管理员以及公众账号本人可以管理应用密钥"


def _api_keys_page(request: HtmxHttpRequest, create_form: ApiKeyForm | None) -> HttpResponse:
    actor = request.user
    visible = permissions.api_keys_visible_to(actor)
    sees_all = permissions.sees_all_api_keys(actor)
    form = ApiKeyFilterForm(request.GET or None, all_organizations=sees_all)
    rows = queries.filter_api_keys(visible.select_related("revoked_by"), **form.filters())
    page = paginate(request, rows.order_by("-created_at"))
    for key in page.object_list:
        key.can_revoke = key.revoked_at is None and permissions.can_revoke_api_key(actor, key)
    context = {
        "form": form,
        "page": page,
        "counts": queries.api_key_counts(visible),
        "sees_all": sees_all,
        "create_form": create_form,
    }
    return render_page(request, "accounts/manage/api_keys.html", context, "key-rows")


def _create_form_for(actor: Any, data: Any = None) -> ApiKeyForm | None:
    if permissions.can_create_api_key(actor, actor.organization):
        return ApiKeyForm(data)
    return None


@login_required
def api_keys(request: HtmxHttpRequest) -> HttpResponse:
    if not permissions.can_view_api_keys(request.user):
        return error_page(request, PermissionDenied(KEYS_DENIED))
    return _api_keys_page(request, _create_form_for(request.user))


@login_required
@require_POST
def api_key_create(request: HtmxHttpRequest) -> HttpResponse:
    actor: Any = request.user
    if not permissions.can_view_api_keys(actor):
        return error_page(request, PermissionDenied(KEYS_DENIED))
    form = _create_form_for(actor, request.POST)
    if form is None:
        return error_page(request, PermissionDenied("只有本机构的数据管理员或首席数据官可以创建应用密钥"))
    if form.is_valid():
        try:
            key, token = services.create_api_key(
                actor,
                name=form.cleaned_data["name"],
                organization=actor.organization,
                expires_at=form.expires_at(),
                request=request,
            )
        except DomainError as exc:
            add_domain_error(form, exc if exc.field != "expires_at" else _as_field(exc, "expires_on"))
        else:
            return show_secret_once(
                request, "accounts/manage/api_key_created.html", {"key": key, "token": token}
            )
    return _api_keys_page(request, form)


def _as_field(exc: DomainError, field: str) -> DomainError:
    exc.field = field
    return exc


@login_required
@require_POST
def api_key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    if not permissions.can_view_api_keys(actor):
        return error_page(request, PermissionDenied(KEYS_DENIED))
    key = permissions.api_keys_visible_to(actor).filter(pk=pk).first()
    if key is None:
        return error_page(request, NotFound("应用密钥不存在", code="api_key_not_found"))
    try:
        services.revoke_api_key(actor, key, request=request)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("Key “%(name)s” (%(prefix)s) revoked.") % {"name": key.name, "prefix": key.prefix}
        )
    return redirect("accounts:api_keys")
