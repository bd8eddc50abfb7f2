"""`/api/v1/messages`: the caller's message centre."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema

from . import services
from .api_auth import calling_user
from .models import Message

router = Router(tags=["messages"])


class MessageOut(Schema):
    id: int
    kind: str
    title: str
    body: str
    link: str
    deadline: datetime | None
    created_at: datetime
    read_at: datetime | None
    done_at: datetime | None


@router.get("", response=list[MessageOut], summary="我的消息与待办")
def list_messages(
    request: HttpRequest, unread: bool = False, limit: int = 50, offset: int = 0
) -> list[Message]:
    messages = services.messages_for(calling_user(request))
    if unread:
        messages = messages.filter(read_at__isnull=True)
    limit = max(1, min(limit, 200))
    return list(messages[max(0, offset) : max(0, offset) + limit])


@router.post("/{message_id}/read", response=MessageOut, summary="标记已读")
def read_message(request: HttpRequest, message_id: int) -> Message:
    return services.mark_read(calling_user(request), message_id)
