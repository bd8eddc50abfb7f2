"""Helpers for the ways-in tests: a small resource, a local upstream HTTP server with good and bad endpoints."""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tongshu.catalog.tests.factories import make_resource
from tongshu.dataplane import store
from tongshu.dataplane.schema import schema_for_version

ITEMS = [
    # (name, data type, length, key, queryable, sensitive)
    ("编号", "C", "C..20", True, True, False),
    ("名称", "C", "C..50", False, True, False),
    ("登记日期", "D", "D8", False, False, False),
    ("人数", "I", "I..6", False, False, False),
]


LOCAL = ["127.0.0.1"]  # TONGSHU_PULL_ALLOWED_HOSTS for tests whose upstream or database runs on this machine


def small_resource(provider: Any, **fields: Any) -> Any:
    return make_resource(provider, name=fields.pop("name", "村级服务点名录"), items=ITEMS, **fields)


def live_rows(resource: Any) -> list[tuple[str, str]]:
    schema = schema_for_version(resource.published_version)
    return sorted((r["f001"], r["f002"]) for r in store.read_rows(schema))


def record(n: int, name: str | None = None) -> dict[str, Any]:
    return {"id": f"A{n:03d}", "name": name or f"服务点{n}", "day": "2024-01-0" + str(n % 9 + 1), "people": n}


class Upstream:
    """An upstream interface on 127.0.0.1 (random port), served by a thread."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.requests: list[dict[str, Any]] = []
        self.total = 5
        self.location = ""  # where /moved redirects to
        self.next_base = ""  # the origin of /linked's next-page links ("" = the same server, a relative link)
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                upstream.requests.append({"path": url.path, "query": query, "headers": dict(self.headers)})
                route = getattr(upstream, "route_" + url.path.strip("/").replace("-", "_"), None)
                if route is None:
                    return self.answer(404, {"error": "no such route"})
                status, body = route(query, self.headers)
                self.answer(status, body)

            def answer(self, status: int, body: Any) -> None:
                data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
                try:
                    self.send_response(status)
                    if 300 <= status < 400:
                        self.send_header("Location", upstream.location)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Upstream:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    # --- routes ------------------------------------------------------------------------------------------------
    def route_pages(self, query: dict[str, str], headers: Any) -> tuple[int, Any]:
        page, size = int(query.get("page", 1)), int(query.get("size", 2))
        rows = [record(n) for n in range(1, self.total + 1)][(page - 1) * size : page * size]
        return 200, {"code": 0, "data": {"items": rows, "page": page}}

    def route_linked(self, query: dict[str, str], headers: Any) -> tuple[int, Any]:
        page = int(query.get("p", 1))
        rows = [record(n) for n in range(1, self.total + 1)][(page - 1) * 2 : page * 2]
        more = page * 2 < self.total
        link = f"{self.next_base}/linked?p={page + 1}"
        return 200, {"result": {"rows": rows}, "links": {"next": link if more else None}}

    def route_moved(self, query: dict[str, str], headers: Any) -> tuple[int, Any]:
        return 302, {"moved": self.location}

    def route_secured(self, query: dict[str, str], headers: Any) -> tuple[int, Any]:
        if headers.get("X-Token") != "s3cret-token":
            return 401, {"error": "unauthorized"}
        return 200, [record(1), record(2)]

    def route_garbage(self, query: dict[str, str], headers: Any) -> tuple[int, Any]:
        return 200, b"<html><body>Service Unavailable</body></html>"

    def route_broken(self, query: dict[str, str], headers: Any) -> tuple[int, Any]:
        return 500, {"error": "internal"}

    def route_hang(self, query: dict[str, str], headers: Any) -> tuple[int, Any]:
        self.release.wait(10)
        return 200, []

    def route_endless(self, query: dict[str, str], headers: Any) -> tuple[int, Any]:
        page = int(query.get("page", 1))
        return 200, {"data": {"items": [record(page * 10 + i) for i in range(2)]}}

    def route_bad_rows(self, query: dict[str, str], headers: Any) -> tuple[int, Any]:
        return 200, {"data": {"items": [record(1, "改名"), {"id": "", "name": "缺编号"}]}}

    def route_empty(self, query: dict[str, str], headers: Any) -> tuple[int, Any]:
        return 200, {"data": {"items": []}}
