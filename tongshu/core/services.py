"""Posting to and reading the message centre. Other apps call `notify` and `complete_todos`; they never touch Message."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from .errors import NotFound
from .models import Message, MessageKind


def notify(
    recipients: Iterable[Any],
    title: str,
    *,
    body: str = "",
    link: str = "",
    kind: str = MessageKind.NOTICE,
    deadline: datetime | None = None,
    topic: str = "",
) -> list[Message]:
    """Post a notice or a to-do item to each recipient (duplicates and inactive accounts skipped)."""
    seen: set[int] = set()
    messages = []
    for user in recipients:
        if user is None or not user.is_active or user.pk in seen:
            continue
        seen.add(user.pk)
        messages.append(
            Message(
                recipient=user, kind=kind, title=title, body=body, link=link, deadline=deadline, topic=topic
            )
        )
    return Message.objects.bulk_create(messages)


def complete_todos(topic: str) -> int:
    """Close every open to-do item about `topic` (the item was handled, by whoever)."""
    return Message.objects.filter(topic=topic, kind=MessageKind.TODO, done_at__isnull=True).update(
        done_at=timezone.now()
    )


def messages_for(user: Any) -> QuerySet[Message]:
    return Message.objects.filter(recipient=user)


def unread_count(user: Any) -> int:
    return Message.objects.filter(recipient=user, read_at__isnull=True).count()


def open_todo_count(user: Any) -> int:
    return Message.objects.filter(recipient=user, kind=MessageKind.TODO, done_at__isnull=True).count()


def mark_read(user: Any, message_id: int) -> Message:
    """Only the recipient may read (and so mark) a message; anyone else gets 404, not a hint that it exists."""
    message = Message.objects.filter(recipient=user, pk=message_id).first()
    if message is None:
        raise NotFound("消息不存在", code="message_not_found")
    if message.read_at is None:
        message.read_at = timezone.now()
        message.save(update_fields=["read_at"])
    return message


def mark_all_read(user: Any) -> int:
    return Message.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())
