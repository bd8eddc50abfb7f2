"""The authority's review pages: the queue of submitted versions, one submission with its differences against the
published version and likely duplicates (第十三条), and the return / publish / retire actions (第八条)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tongshu.core.errors import DomainError, PermissionDenied, ValidationFailed

from . import permissions, services
from .choices import VersionState
from .duplicates import similar_to_version
from .forms import CommentForm, ReasonForm
from .models import InfoItem, ResourceVersion
from .views_common import PageError, page, visible_resource, visible_version


def _require_authority(request: HttpRequest) -> None:
    if not permissions.can_view_review_queue(request.user):
        raise PageError(PermissionDenied("只有主管部门审核员可以审核目录"))


@login_required
@page
def review_queue(request: HttpRequest) -> HttpResponse:
    _require_authority(request)
    versions = (
        ResourceVersion.objects.filter(state=VersionState.SUBMITTED)
        .select_related("resource", "resource__provider", "resource__published_version")
        .prefetch_related(Prefetch("items", queryset=InfoItem.objects.only("id", "version_id")))
        .order_by("submitted_at", "pk")
    )
    provider = request.GET.get("provider", "")
    if provider.isdigit():
        versions = versions.filter(resource__provider_id=int(provider))
    page_obj = Paginator(versions, 20).get_page(request.GET.get("page"))
    rows = []
    for version in page_obj:
        published = version.resource.published_version
        rows.append(
            {
                "version": version,
                "is_revision": published is not None,
                "type_changed": published is not None
                and (published.share_type != version.share_type or published.open_type != version.open_type),
                "item_count": len(version.items.all()),
            }
        )
    template = "catalog/review_queue.html#queue" if request.htmx else "catalog/review_queue.html"
    return render(request, template, {"page": page_obj, "rows": rows, "provider": provider})


def _review_page(
    request: HttpRequest, version: ResourceVersion, reason_form: ReasonForm | None = None, status: int = 200
) -> HttpResponse:
    items = list(version.items.select_related("data_element", "code_set"))
    previous = services.previous_published(version)
    context = {
        "version": version,
        "resource": version.resource,
        "items": items,
        "previous": previous,
        "diff": services.diff_versions(previous, version) if previous else None,
        "similar": similar_to_version(version),
        "completeness": services.completeness(version, items),
        "can_review": permissions.can_review(request.user, version),
        "reason_form": reason_form or ReasonForm(),
        "comment_form": CommentForm(),
    }
    return render(request, "catalog/review_detail.html", context, status=status)


@login_required
@page
def review_detail(request: HttpRequest, version_id: int) -> HttpResponse:
    _require_authority(request)
    return _review_page(request, visible_version(request.user, version_id))


def _act(request: HttpRequest, version: ResourceVersion, action: str) -> HttpResponse:
    try:
        if action == "return":
            form = ReasonForm(request.POST)
            form.is_valid()
            try:
                services.return_version(
                    request.user, version, reason=form.cleaned_data.get("reason", ""), request=request
                )
            except ValidationFailed as exc:
                if exc.field != "reason":
                    raise
                form.add_error("reason", exc.message)
                return _review_page(request, version, form, status=400)
            messages.success(request, "已退回，部门将收到退回原因")
        else:
            form = CommentForm(request.POST)
            form.is_valid()
            services.publish(
                request.user, version, comment=form.cleaned_data.get("comment", ""), request=request
            )
            messages.success(request, "已发布")
    except ValidationFailed as exc:
        text = exc.message
        if exc.details:
            text += "：" + "；".join(detail["message"] for detail in exc.details[:5])
        messages.error(request, text)
        return redirect("catalog:review_detail", version.pk)
    except DomainError as exc:
        if exc.status == 403:
            raise PageError(exc) from exc
        messages.error(request, exc.message)
        return redirect("catalog:review_detail", version.pk)
    return redirect("catalog:review_queue")


@login_required
@require_POST
@page
def return_version(request: HttpRequest, version_id: int) -> HttpResponse:
    _require_authority(request)
    return _act(request, visible_version(request.user, version_id), "return")


@login_required
@require_POST
@page
def publish_version(request: HttpRequest, version_id: int) -> HttpResponse:
    _require_authority(request)
    return _act(request, visible_version(request.user, version_id), "publish")


@login_required
@require_POST
@page
def retire_resource(request: HttpRequest, resource_id: int) -> HttpResponse:
    resource = visible_resource(request.user, resource_id)
    form = ReasonForm(request.POST)
    form.is_valid()
    try:
        services.retire(request.user, resource, reason=form.cleaned_data.get("reason", ""), request=request)
    except DomainError as exc:
        if exc.status == 403:
            raise PageError(exc) from exc
        messages.error(request, exc.message)
    else:
        messages.success(request, "已停用该信息资源")
    return redirect("catalog:resource_detail", resource.pk)
