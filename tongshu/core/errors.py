"""Domain errors: a stable machine-readable code, a Chinese message for people, and the HTTP status.

Services raise these; one handler turns them into ``{"code": …, "message": …}`` for the API (tongshu/api.py) and
into form errors or an error page for the site (core.views.handle_domain_error).
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        field: str | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(str(message))
        self.message = str(message)
        if code:
            self.code = code
        if status:
            self.status = status
        self.field = field
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        if self.details is not None:
            body["details"] = self.details
        return body


class ValidationFailed(DomainError):
    status = 400
    code = "invalid"


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"


class NotAuthenticated(DomainError):
    status = 401
    code = "unauthenticated"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class TooLarge(DomainError):
    status = 413
    code = "too_large"


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"
