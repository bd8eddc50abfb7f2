"""The message centre (站内消息 / 待办): notices and to-do items posted to a person, since an intranet may have no e-mail."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class MessageKind(models.TextChoices):
    NOTICE = "notice", _("Notice")
    TODO = "todo", _("To-do")


class Message(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="messages",
        verbose_name=_("recipient"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=MessageKind.choices, default=MessageKind.NOTICE)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"), blank=True)
    link = models.CharField(_("link"), max_length=300, blank=True)
    deadline = models.DateTimeField(_("deadline"), null=True, blank=True)
    # What the message is about, so the posting app can close the to-do when the item is handled.
    topic = models.CharField(_("topic"), max_length=120, blank=True, db_index=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    class Meta:
        verbose_name = _("Message")
        verbose_name_plural = _("Messages")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["recipient", "read_at"]),
            models.Index(fields=["recipient", "kind", "done_at"]),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_overdue(self) -> bool:
        return (
            self.kind == MessageKind.TODO
            and self.done_at is None
            and bool(self.deadline and self.deadline < timezone.now())
        )


class Heartbeat(models.Model):
    """Last sign of life of a background process (`worker`, `scheduler`), for /healthz and the operator's home."""

    name = models.CharField(max_length=40, unique=True)
    last_seen = models.DateTimeField(default=timezone.now)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("Heartbeat")
        verbose_name_plural = _("Heartbeats")

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_seen:%Y-%m-%d %H:%M:%S}"
