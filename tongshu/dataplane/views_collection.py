"""Collection task pages (第十二条): the department publishes tasks and reviews submissions; the public form at
`/collect/<token>/` needs no login, shows the personal-information notice and a captcha, and is rate-limited."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from tongshu.accounts.forms import make_captcha_field
from tongshu.core.errors import Conflict, DomainError, PermissionDenied, ValidationFailed
from tongshu.core.http import AuthenticatedHttpRequest
from tongshu.core.net import client_ip

from . import collection, eforms, permissions
from .forms_ways import CollectionTaskForm
from .models_sources import CollectionStatus, CollectionTask, SubmissionStatus
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


def _task_form_page(
    request: AuthenticatedHttpRequest, resource: Any, task: CollectionTask | None
) -> HttpResponse:
    """New task (publish at once, or save as a draft) and a draft's edit page: one form, the same services."""
    schema = published_schema(resource)
    choices = [(c.field_name, c.label + (" *" if c.is_key or c.is_required else "")) for c in schema.columns]
    if task is None:
        initial: dict[str, Any] = {
            "collected_items": [c.field_name for c in schema.columns],
            "collector": resource.provider.name,
            "retention": "自提交之日起保存三年，期满后删除",
        }
    else:
        initial = {name: getattr(task, name) for name in collection.EDITABLE if name != "fields"}
        initial["collected_items"] = task.fields
        initial["deadline"] = timezone.localtime(task.deadline)
    form = CollectionTaskForm(request.POST or None, initial=initial, field_choices=choices)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            values = {**form.cleaned_data, "fields": form.cleaned_data["collected_items"]}
            draft = bool(request.POST.get("draft"))
            try:
                if task is None:
                    task = saved = collection.create_task(request.user, resource, values, publish=not draft)
                else:
                    saved = collection.update_task(request.user, task, values)
            except DomainError as exc:
                if exc.status in (403, 409):
                    raise
                if exc.field == "fields":
                    exc.field = "collected_items"
                put_error(form, exc)
            else:
                if saved.status == CollectionStatus.DRAFT:
                    messages.success(request, "已保存为草稿，发布后公开链接才可以提交")
                else:
                    messages.success(request, "采集任务已发布，请把公开链接发给采集对象")
                return redirect("ways:task_detail", saved.pk)
        status = 400
    return render(
        request,
        "dataplane/ways/collection_task_form.html",
        {"form": form, "resource": resource, "task": task},
        status=status,
    )


@login_required
@page
def task_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    resource = loadable_resource(request.user, request.GET.get("resource") or request.POST.get("resource"))
    return _task_form_page(request, resource, None)


@login_required
@page
def task_edit(request: AuthenticatedHttpRequest, task_id: int) -> HttpResponse:
    task = collection.get_task(request.user, task_id)
    if task.status != CollectionStatus.DRAFT:
        raise Conflict("只有草稿状态的采集任务可以修改；已发布的任务请关闭后另行发布", code="task_not_draft")
    return _task_form_page(request, loadable_resource(request.user, task.resource_id), task)


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
    kinds = collection.review_masking(task)
    rows = [
        {
            "submission": s,
            "cells": _cells(columns, collection.masked_values(s, kinds), kinds),
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
            "masked": kinds,
            "can_reveal": bool(kinds) and permissions.can_reveal_data(request.user, task.resource),
            "statuses": SubmissionStatus.choices,
            "public_url": request.build_absolute_uri(reverse("collect:form", args=[task.token])),
            "notice": collection.notice_text(task),
        },
    )


def _cells(columns: list[Any], values: dict[str, Any], kinds: dict[str, str]) -> list[dict[str, Any]]:
    return [{"value": values.get(c.field_name, ""), "masked": c.field_name in kinds} for c in columns]


@login_required
@page
def submission_detail(request: AuthenticatedHttpRequest, submission_id: int) -> HttpResponse:
    """One submission, sensitive items masked; POST with a reason shows its original values for that response only
    (audited, 第三十三条), to those who may reveal the resource's data."""
    submission = collection.get_submission(request.user, submission_id)
    task = submission.task
    kinds = collection.review_masking(task)
    values, reason, error, status = collection.masked_values(submission, kinds), "", "", 200
    if request.method == "POST":
        try:
            values = collection.reveal_submission(
                request.user, submission, reason=request.POST.get("reason", ""), request=request
            )
        except ValidationFailed as exc:
            error, status = exc.message, 400
        else:
            reason, kinds = request.POST.get("reason", "").strip(), {}
    columns = [c for c in published_schema(task.resource).columns if c.field_name in task.fields]
    response = render(
        request,
        "dataplane/ways/collection_submission.html",
        {
            "submission": submission,
            "task": task,
            "fields": [
                (c.label, cell) for c, cell in zip(columns, _cells(columns, values, kinds), strict=True)
            ],
            "masked": bool(kinds),
            "revealed": bool(reason),
            "reason": reason,
            "error": error,
            "can_reveal": bool(kinds) and permissions.can_reveal_data(request.user, task.resource),
            "exists": submission.status == SubmissionStatus.PENDING
            and collection.existing_record(task, submission),
        },
        status=status,
    )
    if reason:
        response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
@page
def task_close(request: AuthenticatedHttpRequest, task_id: int) -> HttpResponse:
    task = collection.get_task(request.user, task_id)
    was_draft = task.status == CollectionStatus.DRAFT
    collection.close_task(request.user, task, request.POST.get("reason", ""))
    messages.success(request, "草稿已作废" if was_draft else "采集任务已关闭，公开链接不再接受提交")
    return redirect("ways:task_detail", task.pk)


@login_required
@require_POST
@page
def task_publish(request: AuthenticatedHttpRequest, task_id: int) -> HttpResponse:
    task = collection.get_task(request.user, task_id)
    try:
        collection.publish_task(request.user, task)
    except ValidationFailed as exc:  # e.g. the deadline has passed: fix the draft first
        messages.error(request, exc.message)
    else:
        messages.success(request, "采集任务已发布，请把公开链接发给采集对象")
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
