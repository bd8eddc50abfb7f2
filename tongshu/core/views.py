"""Platform pages that belong to no domain: home, message centre, health check, error pages."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from . import services
from .dashboards import panels_for
from .errors import DomainError
from .http import HtmxHttpRequest
from .models import Heartbeat, MessageKind


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "core/home.html",
        {
            "panels": panels_for(user),
            "open_todos": services.open_todo_count(user),
            "recent_messages": services.messages_for(user)[:5],
        },
    )


@login_required
def messages_page(request: HtmxHttpRequest) -> HttpResponse:
    messages = services.messages_for(request.user)
    show = request.GET.get("show", "all")
    if show == "unread":
        messages = messages.filter(read_at__isnull=True)
    elif show == "todo":
        messages = messages.filter(kind=MessageKind.TODO, done_at__isnull=True)
    page = Paginator(messages, 20).get_page(request.GET.get("page"))
    template = "core/messages.html#message-list" if request.htmx else "core/messages.html"
    return render(request, template, {"page": page, "show": show})


@login_required
def message_detail(request: HttpRequest, message_id: int) -> HttpResponse:
    try:
        message = services.mark_read(request.user, message_id)
    except DomainError as exc:
        return error_page(request, exc)
    if message.link and message.link.startswith("/"):
        return redirect(message.link)
    return redirect("core:messages")


@login_required
@require_POST
def messages_mark_all_read(request: HttpRequest) -> HttpResponse:
    services.mark_all_read(request.user)
    return redirect("core:messages")


def error_page(request: HttpRequest, exc: DomainError) -> HttpResponse:
    titles = {
        401: "需要登录",
        403: "无权访问",
        404: "未找到",
        409: "操作冲突",
        413: "内容过大",
        429: "请求过于频繁",
    }
    return render(
        request,
        "core/error.html",
        {"title": titles.get(exc.status, "操作失败"), "message": exc.message, "code": exc.code},
        status=exc.status,
    )


def _database_status() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"status": "ok", "engine": connection.vendor}
    except Exception as exc:  # reported, not raised: this is the health check
        return {"status": "down", "engine": connection.vendor, "error": exc.__class__.__name__}


def _data_store_status() -> dict[str, Any]:
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(settings.DATA_URL, pool_pre_ping=True)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        finally:
            engine.dispose()
        return {"status": "ok", "engine": engine.dialect.name}
    except Exception as exc:
        return {"status": "down", "error": exc.__class__.__name__}


def _process_status(name: str, max_age_seconds: int = 120) -> dict[str, Any]:
    try:
        beat = Heartbeat.objects.filter(name=name).first()
    except Exception:
        return {"status": "unknown"}
    if beat is None:
        return {"status": "not_seen"}
    age = (timezone.now() - beat.last_seen).total_seconds()
    return {"status": "ok" if age <= max_age_seconds else "stale", "last_seen": beat.last_seen.isoformat()}


def healthz(request: HttpRequest) -> JsonResponse:
    """200 with the state of both databases and the background processes; 503 only when a database is down."""
    control = _database_status()
    data = _data_store_status()
    worker = _process_status("worker") if control["status"] == "ok" else {"status": "unknown"}
    scheduler = _process_status("scheduler") if control["status"] == "ok" else {"status": "unknown"}
    healthy = control["status"] == "ok" and data["status"] == "ok"
    body = {
        "status": "ok" if healthy else "down",
        "database": control,
        "data_store": data,
        "worker": worker,
        "scheduler": scheduler,
    }
    return JsonResponse(body, status=200 if healthy else 503)


def _api_or_page(request: HttpRequest, exc: DomainError) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse(exc.as_dict(), status=exc.status)
    return error_page(request, exc)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _api_or_page(request, DomainError("请求无效", code="bad_request", status=400))


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _api_or_page(request, DomainError("无权访问此页面", code="forbidden", status=403))


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _api_or_page(request, DomainError("页面不存在", code="not_found", status=404))
