"""The `/api/v1` root: authentication (a session or an application key), error shape, and the routers of each app.

Errors always come back as ``{"code": "<machine-readable>", "message": "<中文说明>"}`` with a 4xx status.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer, SessionAuth

from tongshu.accounts.services import ApiKeyRejected, authenticate_api_key
from tongshu.core.errors import DomainError, PermissionDenied


class ApiKeyAuth(HttpBearer):
    """`Authorization: Bearer ts_<prefix>_<secret>`. Keys are never accepted in the URL."""

    openapi_description = "应用密钥：Authorization: Bearer ts_<前缀>_<密钥>"

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        key = authenticate_api_key(token)  # raises ApiKeyRejected with the reason
        request.api_key = key  # type: ignore[attr-defined]
        return key


class ActiveSessionAuth(SessionAuth):
    """A signed-in, active person. Unsafe methods need the CSRF token, checked once there is a session user to act
    for: an anonymous call has nothing to forge and gets `401 unauthenticated`, not a CSRF refusal (a key-authenticated
    call never reaches this: `ApiKeyAuth` comes first)."""

    def _get_key(self, request: HttpRequest) -> str | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            return None
        try:
            return super()._get_key(request)
        except HttpError as exc:
            raise PermissionDenied(
                "CSRF 校验失败：请刷新页面后重试（浏览器会话中的修改请求须带 CSRF 令牌；系统对接请使用应用密钥）",
                code="csrf_failed",
            ) from exc

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = request.user
        if user.is_authenticated and user.is_active:
            return user
        return None


api = NinjaAPI(
    title="通数 Tongshu API",
    version="1",
    description="华容县政务信息资源管理平台接口。认证：浏览器会话，或应用密钥（Authorization: Bearer …）。",
    auth=[ApiKeyAuth(), ActiveSessionAuth()],
    urls_namespace="api",
)


def error_response(request: HttpRequest, status: int, code: str, message: str, **extra: Any) -> HttpResponse:
    return api.create_response(request, {"code": code, "message": message, **extra}, status=status)


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return api.create_response(request, exc.as_dict(), status=exc.status)


@api.exception_handler(ApiKeyRejected)
def on_key_rejected(request: HttpRequest, exc: ApiKeyRejected) -> HttpResponse:
    return error_response(request, 401, exc.code, exc.message)


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(request, 401, "unauthenticated", "未登录或未提供有效的应用密钥")


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [
        {"field": ".".join(str(part) for part in error.get("loc", [])[1:]), "reason": error.get("msg", "")}
        for error in exc.errors
    ]
    return error_response(request, 422, "invalid_request", "请求参数无效", details=errors)


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, 404, "not_found", "资源不存在")


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    messages = {
        400: "请求无效",
        403: "无权执行此操作",
        404: "资源不存在",
        405: "不支持的请求方法",
        429: "请求过于频繁",
    }
    return error_response(request, exc.status_code, "http_error", messages.get(exc.status_code, str(exc)))


def register_routers() -> None:
    from tongshu.accounts.api import router as accounts_router
    from tongshu.catalog.api import router as catalog_router
    from tongshu.catalog.api_exchange import dcat_router
    from tongshu.catalog.api_exchange import router as catalog_exchange_router
    from tongshu.catalog.api_search import router as catalog_search_router
    from tongshu.core.api import router as core_router
    from tongshu.dataplane.api import router as data_router
    from tongshu.dataplane.api_browse import router as data_browse_router
    from tongshu.dataplane.api_libraries import router as data_libraries_router
    from tongshu.dataplane.api_ways import router as data_ways_router
    from tongshu.quality.api import router as quality_router
    from tongshu.security.api import router as security_router
    from tongshu.standards.api import router as standards_router

    api.add_router("/accounts", accounts_router)
    api.add_router("/catalog/search", catalog_search_router)
    api.add_router("/messages", core_router)
    api.add_router("/security", security_router)
    api.add_router("/standards", standards_router)
    api.add_router("/catalog", catalog_router)
    api.add_router("/catalog/exchange", catalog_exchange_router)
    api.add_router("/catalog/dcat", dcat_router)
    api.add_router("/data", data_router)
    api.add_router("/data/browse", data_browse_router)
    api.add_router("/data/libraries", data_libraries_router)
    api.add_router("/data/ways", data_ways_router)
    api.add_router("/quality", quality_router)


register_routers()
