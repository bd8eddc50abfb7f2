"""Refusing oversized uploads before their body is read (TONGSHU_CATALOG_IMPORT_MAX_MB).

A request whose Content-Length already says it is too large is answered 413 without reading anything; for the rest,
an upload handler counts the bytes as they arrive and stops the upload past the limit (a client that sends no length,
or a false one), so an oversized file never fills the disk with a temporary copy. Views call `guard_upload` before
anything touches `request.POST` / `request.FILES` (the import page is CSRF-exempt outside and CSRF-protected inside
for this reason; the API operation is wrapped by `limit_upload`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, JsonResponse

from tongshu.core.errors import TooLarge

from .xlsx_read import check_upload_size, max_upload_bytes

ENVELOPE = 64 * 1024  # room for the multipart boundaries and the other form fields


class UploadLimit(FileUploadHandler):
    """Passes chunks on to the next handler until the body exceeds the limit, then stops the upload."""

    def __init__(self, request: HttpRequest | None = None, limit: int = 0) -> None:
        super().__init__(request)
        self.limit = limit
        self.received = 0
        self.exceeded = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            self.exceeded = True
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def guard_upload(request: HttpRequest) -> UploadLimit:
    """Raise TooLarge for a declared oversize body; otherwise install the counting handler and return it."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    check_upload_size(max(0, length - ENVELOPE))
    handler = UploadLimit(request, max_upload_bytes())
    request.upload_handlers.insert(0, handler)
    request._upload_limit = handler  # type: ignore[attr-defined]
    return handler


def check_received(request: HttpRequest) -> None:
    """After `request.FILES` was read: TooLarge if the counting handler stopped the upload."""
    handler = getattr(request, "_upload_limit", None)
    if handler is not None and handler.exceeded:
        check_upload_size(handler.received)


def limit_upload(run: Callable[..., Any]) -> Callable[..., Any]:
    """For a django-ninja operation (`@decorate_view(limit_upload)`): runs before authentication reads the body."""

    @wraps(run)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        try:
            guard_upload(request)
        except TooLarge as exc:
            return JsonResponse(exc.as_dict(), status=exc.status)
        return run(request, *args, **kwargs)

    return wrapper
