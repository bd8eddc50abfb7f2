"""Collection task pages (第十二条): the department publishes tasks and reviews submissions; the public form at
`/collect/<token>/` needs no login, shows the personal-information notice and a captcha, and is rate-limited."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from tongshu.accounts.forms import make_captcha_field
from tongshu.core.errors import DomainError, PermissionDenied
from tongshu.core.http import AuthenticatedHttpRequest
from tongshu.core.net import client_ip

from . import collection, eforms
from .forms_ways import CollectionTaskForm
from .models_sources import CollectionTask, SubmissionStatus
from .services import published_schema
from .sources.services import is_manager, loadable_resources
from .views_ways import loadable_resource, page, put_error


@login_required
@page
def task_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    if not is_manager(request.user):
        raise PermissionDenied("只有部门数据管理员或首席数据官可以管理采集任务")
    tasks = Paginator(collection.tasks_visible_to(request.user), 20).get_page(request.GET.get("page"))
    return render(
        request,
        "dataplane/ways/collection_tasks.html",
        {"page": tasks, "resources": loadable_resources(request.user)},
    )


@login_required
@page
def task_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    resource = loadable_resource(request.user, request.GET.get("resource") or request.POST.get("resource"))
    schema = published_schema(resource)
    choices = [(c.field_name, c.label + (" *" if c.is_key or c.is_required else "")) for c in schema.columns]
    initial = {
        "collected_items": [c.field_name for c in schema.columns],
        "collector": resource.provider.name,
        "retention": "自提交之日起保存三年，期满后删除",
    }
    form = CollectionTaskForm(request.POST or None, initial=initial, field_choices=choices)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                values = {**form.cleaned_data, "fields": form.cleaned_data["collected_items"]}
                task = collection.create_task(request.user, resource, values)
            except DomainError as exc:
                if exc.status == 403:
                    raise
                if exc.field == "fields":
                    exc.field = "collected_items"
                put_error(form, exc)
            else:
                messages.success(request, "采集任务已发布，请把公开链接发给采集对象")
                return redirect("ways:task_detail", task.pk)
        status = 400
    return render(
        request,
        "dataplane/ways/collection_task_form.html",
        {"form": form, "resource": resource},
        status=status,
    )


@login_required
@page
def task_detail(request: AuthenticatedHttpRequest, task_id: int) -> HttpResponse:
    task = collection.get_task(request.user, task_id)
    show = request.GET.get("status", SubmissionStatus.PENDING)
    if show not in SubmissionStatus.values and show != "all":
        show = SubmissionStatus.PENDING
    submissions = collection.submissions_for(request.user, task, "" if show == "all" else show)
    page_obj = Paginator(submissions, 20).get_page(request.GET.get("page"))
    schema = published_schema(task.resource)
    columns = [c for c in schema.columns if c.field_name in task.fields]
    rows = [
        {
            "submission": s,
            "cells": [s.values.get(c.field_name, "") for c in columns],
            "exists": s.status == SubmissionStatus.PENDING and collection.existing_record(task, s),
        }
        for s in page_obj
    ]
    return render(
        request,
        "dataplane/ways/collection_task.html",
        {
            "task": task,
            "page": page_obj,
            "rows": rows,
            "columns": columns,
            "show": show,
            "statuses": SubmissionStatus.choices,
            "public_url": request.build_absolute_uri(reverse("collect:form", args=[task.token])),
            "notice": collection.notice_text(task),
        },
    )


@login_required
@require_POST
@page
def task_close(request: AuthenticatedHttpRequest, task_id: int) -> HttpResponse:
    task = collection.get_task(request.user, task_id)
    collection.close_task(request.user, task)
    messages.success(request, "采集任务已关闭，公开链接不再接受提交")
    return redirect("ways:task_detail", task.pk)


@login_required
@require_POST
@page
def submission_review(request: AuthenticatedHttpRequest, submission_id: int, decision: str) -> HttpResponse:
    submission = collection.get_submission(request.user, submission_id)
    try:
        if decision == "approve":
            collection.approve(request.user, submission)
            messages.success(request, f"已采用提交 #{submission.pk}，数据已加载")
        else:
            collection.reject(request.user, submission, request.POST.get("reason", ""))
            messages.success(request, f"已不予采用提交 #{submission.pk}")
    except DomainError as exc:
        if exc.status == 403:
            raise
        messages.error(request, exc.message)
    return redirect("ways:task_detail", submission.task_id)


# --- public ------------------------------------------------------------------------------------------------------
def _public_form(task: CollectionTask, data: dict[str, str] | None) -> forms.Form:
    form = eforms.record_form(published_schema(task.resource), data, fields=task.fields, hint_keys=False)
    form.fields["accept_notice"] = forms.BooleanField(
        label="我已阅读并同意上述个人信息处理告知", required=False
    )
    form.fields["captcha"] = make_captcha_field()
    return form


def collect_form(request: HttpRequest, token: str) -> HttpResponse:
    """The public form: no login; closed tasks answer 410, too many submissions 429, both in Chinese."""
    try:
        task = collection.public_task(token)
    except DomainError as exc:
        return render(
            request, "dataplane/ways/collect_closed.html", {"message": exc.message}, status=exc.status
        )
    form = _public_form(task, request.POST or None)
    status = 200
    if request.method == "POST":
        captcha_ok = form.is_valid() or "captcha" not in form.errors
        if captcha_ok:
            values = {name: value for name, value in eforms.form_values(form).items() if name in task.fields}
            try:
                collection.submit(
                    token,
                    values,
                    client_address=client_ip(request),
                    accepted_notice=bool(request.POST.get("accept_notice")),
                )
            except DomainError as exc:
                if exc.status in (404, 410, 429):
                    return render(
                        request,
                        "dataplane/ways/collect_closed.html",
                        {"message": exc.message, "task": task},
                        status=exc.status,
                    )
                put_error(form, exc)
            else:
                return render(request, "dataplane/ways/collect_done.html", {"task": task})
        status = 400  # the captcha widget draws a fresh picture: each is good for one try
    return render(
        request,
        "dataplane/ways/collect_form.html",
        {"task": task, "form": form, "notice": collection.notice_text(task)},
        status=status,
    )
