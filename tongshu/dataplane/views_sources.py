"""Pull source pages (第十九条): list, create and edit, run now, last runs with their batches."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import dateformat, timezone
from django.views.decorators.http import require_POST

from tongshu.core.errors import DomainError, PermissionDenied, ValidationFailed
from tongshu.core.http import AuthenticatedHttpRequest

from .forms_ways import SourceForm
from .models_sources import PullSource
from .sources import crypto
from .sources import services as sources
from .sources.database import decode_mark
from .views_ways import loadable_resource, page, put_error


def mark_text(mark: str) -> str:
    """The high-water mark as people read it: a time in local time, Chinese format (an aware time is converted; a
    naive one is the source database's own clock, shown as it is), a date likewise, anything else as stored."""
    try:
        value = decode_mark(mark)
    except (ValueError, ArithmeticError):
        return mark.partition(":")[2]
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return dateformat.format(value, "Y年n月j日 H:i:s")
    if isinstance(value, dt.date):
        return dateformat.format(value, "Y年n月j日")
    return "" if value is None else str(value)


@login_required
@page
def source_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    if not (sources.is_manager(request.user) or sources.sources_visible_to(request.user).exists()):
        raise PermissionDenied("只有部门数据管理员或首席数据官可以查看数据接入源")
    items = list(sources.sources_visible_to(request.user).prefetch_related("runs__batch"))
    rows = [(source, next(iter(source.runs.all()), None)) for source in items]
    return render(
        request,
        "dataplane/ways/sources.html",
        {"rows": rows, "can_create": sources.loadable_resources(request.user).exists()},
    )


def _form_page(request: AuthenticatedHttpRequest, source: PullSource | None) -> HttpResponse:
    resources = list(sources.loadable_resources(request.user))
    if source is None and not resources:
        raise PermissionDenied("本部门没有可以加载数据的已发布信息资源")
    initial = (
        SourceForm.initial_for(source)
        if source
        else {"kind": request.GET.get("kind", "http"), "resource": request.GET.get("resource")}
    )
    form = SourceForm(request.POST or None, initial=initial, resources=resources)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            resource = loadable_resource(request.user, form.cleaned_data["resource"])
            try:
                saved = sources.save_source(
                    request.user,
                    resource,
                    form.service_values(),
                    source=source if source and source.resource_id == resource.pk else None,
                    auth_value=form.cleaned_data.get("auth_value") or None,
                    database_url=form.cleaned_data.get("database_url") or None,
                )
            except DomainError as exc:
                if exc.status == 403:
                    raise
                put_error(form, exc)
            else:
                messages.success(request, "已保存数据接入源")
                return redirect("ways:source_detail", saved.pk)
        status = 400
    return render(
        request,
        "dataplane/ways/source_form.html",
        {
            "form": form,
            "source": source,
            "http_fields": [form[name] for name in SourceForm.HTTP_FIELDS],
            "database_fields": [form[name] for name in SourceForm.DATABASE_FIELDS],
            "auth_hint": crypto.hint(source.auth_header_secret) if source else "",
            "database_hint": crypto.hint(source.database_secret) if source else "",
        },
        status=status,
    )


@login_required
@page
def source_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _form_page(request, None)


@login_required
@page
def source_edit(request: AuthenticatedHttpRequest, source_id: int) -> HttpResponse:
    source = sources.get_source(request.user, source_id)
    loadable_resource(request.user, source.resource_id)
    return _form_page(request, source)


@login_required
@page
def source_detail(request: AuthenticatedHttpRequest, source_id: int) -> HttpResponse:
    source = sources.get_source(request.user, source_id)
    return render(
        request,
        "dataplane/ways/source_detail.html",
        {
            "source": source,
            "runs": sources.recent_runs(source),
            "mark": mark_text(source.high_water_mark),
            "can_manage": sources.loadable_resources(request.user).filter(pk=source.resource_id).exists(),
            "auth_hint": crypto.hint(source.auth_header_secret),
            "database_hint": crypto.hint(source.database_secret),
        },
    )


@login_required
@require_POST
@page
def source_run(request: AuthenticatedHttpRequest, source_id: int) -> HttpResponse:
    """Run now: queued for a worker (pulls can take minutes); the page lists the run when it finishes."""
    from .tasks_sources import run_pull_source

    source = sources.get_source(request.user, source_id)
    loadable_resource(request.user, source.resource_id)
    try:
        sources.check_target(source)
    except ValidationFailed as exc:
        messages.error(request, exc.message)
        return redirect("ways:source_detail", source.pk)
    run_pull_source.enqueue(source.pk, request.user.pk)
    messages.success(request, "已加入运行队列，完成后在下方“最近运行”中显示结果")
    return redirect("ways:source_detail", source.pk)


@login_required
@require_POST
@page
def source_delete(request: AuthenticatedHttpRequest, source_id: int) -> HttpResponse:
    source = sources.get_source(request.user, source_id)
    sources.delete_source(request.user, source)
    messages.success(request, "已删除数据接入源（已加载的数据和批次记录保留）")
    return redirect("ways:sources")
