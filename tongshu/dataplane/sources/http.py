"""Pulling rows from an upstream HTTP interface (数据下发接口, 第十九条(二)).

Standard library only (urllib): one GET per page, a per-page and per-run time limit, no redirects (an auth header
must never follow a redirect to another host, and a redirect could point inside), a size limit per response. Every
connection goes to an address `guard` allowed, resolved at that moment: never the platform itself or an internal
address unless the operator lists it (TONGSHU_PULL_ALLOWED_HOSTS); proxies from the environment are not used. Every fault becomes a `SourceFault` with a
Chinese message; the caller records it on a failed batch and the resource's data stays as it was.

Pagination: page/size query parameters (stop at the first short or empty page), or a JSON path to the next page's
link (stop when it is empty), or a single request. More pages than `max_pages` is a fault, not a silent truncation.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from . import guard
from .faults import SourceFault

__all__ = ["HttpConfig", "SourceFault", "check_url", "iter_pages", "parse_path", "resolve"]

MAX_RESPONSE_BYTES = 100 * 1024 * 1024
_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


@dataclass(frozen=True)
class HttpConfig:
    url: str
    rows_path: str = ""
    auth_header_name: str = ""
    auth_header_value: str = ""
    page_param: str = ""
    size_param: str = ""
    page_size: int = 1000
    first_page: int = 1
    next_link_path: str = ""
    timeout_seconds: float = 30
    max_pages: int = 1000


def parse_path(path: str) -> list[str | int]:
    """`$.data.items`, `data.items`, `result.list[0].rows` → ["data", "items"] …; "" or "$" is the document."""
    path = path.strip()
    if path.startswith("$"):
        path = path[1:].lstrip(".")
    parts: list[str | int] = []
    position = 0
    while position < len(path):
        if path[position] == ".":
            position += 1
            continue
        match = _PATH_PART.match(path, position)
        if match is None:
            raise ValueError(path)
        parts.append(int(match[2]) if match[2] is not None else match[1])
        position = match.end()
    return parts


def resolve(document: Any, path: str) -> Any:
    """The value at `path`, or raise KeyError when any step is missing."""
    value = document
    for part in parse_path(path):
        if isinstance(part, str) and isinstance(value, dict):
            if part not in value:
                raise KeyError(part)
            value = value[part]
        elif isinstance(value, list) and (isinstance(part, int) or part.isdigit()):
            index = int(part)
            if not -len(value) <= index < len(value):
                raise KeyError(part)
            value = value[index]
        else:
            raise KeyError(part)
    return value


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> None:
        raise SourceFault(
            f"上游接口要求重定向到 {newurl[:200]}，为保护认证信息不自动跟随，请填写最终地址", "redirect"
        )


def _vetted_connection(
    address: tuple[str, int], timeout: Any = None, source_address: Any = None
) -> socket.socket:
    """Connect to an address `guard` allowed for this host, resolved now (every page, every next-page link)."""
    host, port = address
    failure: OSError | None = None
    for ip in guard.vetted_addresses(host, port):
        try:
            return socket.create_connection((ip, port), timeout, source_address)
        except OSError as exc:
            failure = exc
    raise failure or OSError(f"cannot connect to {host}")


class _GuardedConnection(http.client.HTTPConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _vetted_connection


class _GuardedTlsConnection(http.client.HTTPSConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _vetted_connection


class _GuardedHandler(urllib.request.HTTPHandler):
    def http_open(self, req: Any) -> Any:
        return self.do_open(_GuardedConnection, req)


class _GuardedTlsHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: Any) -> Any:
        return self.do_open(_GuardedTlsConnection, req, context=getattr(self, "_context", None))


# No proxy from the environment (the checks must apply to the interface itself), only checked addresses, no redirect.
_opener = urllib.request.build_opener(
    urllib.request.ProxyHandler({}), _GuardedHandler(), _GuardedTlsHandler(), _NoRedirect()
)


def _get(config: HttpConfig, url: str, deadline: float) -> Any:
    headers = {"Accept": "application/json", "User-Agent": "Tongshu/1 (data pull)"}
    if config.auth_header_name:
        headers[config.auth_header_name] = config.auth_header_value
    request = urllib.request.Request(url, headers=headers, method="GET")  # noqa: S310 (scheme checked)
    timeout = max(0.1, min(config.timeout_seconds, deadline - time.monotonic()))
    try:
        with _opener.open(request, timeout=timeout) as response:
            chunks, size = [], 0
            while chunk := response.read(1 << 16):
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    raise SourceFault(
                        f"上游接口单次返回超过 {MAX_RESPONSE_BYTES // (1024 * 1024)} MB，请减小每页条数",
                        "too_large",
                    )
                if time.monotonic() > deadline:
                    raise TimeoutError
                chunks.append(chunk)
            body = b"".join(chunks)
    except urllib.error.HTTPError as exc:
        raise SourceFault(f"上游接口返回错误状态 HTTP {exc.code}", "http_status") from None
    except TimeoutError:
        raise SourceFault(f"上游接口在 {config.timeout_seconds:g} 秒内没有响应（超时）", "timeout") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise SourceFault(
                f"上游接口在 {config.timeout_seconds:g} 秒内没有响应（超时）", "timeout"
            ) from None
        raise SourceFault(f"无法连接上游接口：{exc.reason}", "unreachable") from None
    except (ConnectionError, OSError) as exc:
        raise SourceFault(f"无法连接上游接口：{exc}", "unreachable") from None
    try:
        return json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise SourceFault("上游接口返回的内容不是有效的 JSON", "not_json") from None


def _rows_of(config: HttpConfig, document: Any) -> list[dict[str, Any]]:
    try:
        rows = resolve(document, config.rows_path)
    except (KeyError, ValueError):
        raise SourceFault(
            f"在上游接口返回的 JSON 中找不到数据行（路径 {config.rows_path or '$'}）", "rows_path"
        ) from None
    if not isinstance(rows, list):
        raise SourceFault(f"路径 {config.rows_path or '$'} 处不是数组，无法作为数据行", "rows_path")
    for number, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            raise SourceFault(f"第 {number} 条数据不是 JSON 对象", "row_not_object")
    return rows


def _with_params(url: str, params: dict[str, Any]) -> str:
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    query = [(k, v) for k, v in query if k not in params] + [(k, str(v)) for k, v in params.items()]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def check_url(url: str) -> None:
    """An http(s) URL whose host `guard` allows (not the platform itself, not an internal address unless listed)."""
    guard.check_http_url(url)


def iter_pages(config: HttpConfig, *, run_timeout: float | None = None) -> Iterator[list[dict[str, Any]]]:
    """Yield the rows of each page. The whole run is bounded by `run_timeout` (default: timeout × max pages)."""
    check_url(config.url)
    deadline = time.monotonic() + (run_timeout or config.timeout_seconds * max(config.max_pages, 1))
    paged = bool(config.page_param)
    page = config.first_page
    url: str | None = config.url
    pages = 0
    while url:
        if pages >= config.max_pages:
            raise SourceFault(
                f"上游接口的页数超过上限（{config.max_pages} 页），本次未加载任何数据；请调高上限或缩小范围",
                "too_many_pages",
            )
        params: dict[str, Any] = {}
        if paged:
            params[config.page_param] = page
            if config.size_param:
                params[config.size_param] = config.page_size
        document = _get(config, _with_params(url, params) if params else url, deadline)
        rows = _rows_of(config, document)
        pages += 1
        yield rows
        if paged:
            if not rows or len(rows) < config.page_size:
                return
            page += 1
        elif config.next_link_path:
            try:
                link = resolve(document, config.next_link_path)
            except (KeyError, ValueError):
                link = None
            if not link:
                return
            if not isinstance(link, str):
                raise SourceFault("下一页链接不是字符串", "next_link")
            url = urllib.parse.urljoin(url, link)
            check_url(url)
        else:
            return
