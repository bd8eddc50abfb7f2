"""Where a pull source may connect: a department's servers, never the platform itself (第十九条; 网络安全法 第二十一条).

A pull source is configured by a department's data administrator, so its URL is untrusted input. Without these checks
it could read the platform's own databases (every account's password hash, every department's data) or internal
services and cloud metadata (SSRF). The rules, checked when a source is saved *and* again on every run and every
connection (DNS answers change between the two):

- a database URL names a database server (PostgreSQL, MySQL/MariaDB, KingbaseES, 达梦, Oracle, SQL Server); SQLite and
  other file or URL-less databases are refused, and so are query options that point the driver elsewhere (a second
  host, a Unix socket, a service or option file, LOCAL INFILE, an ODBC connection string);
- it is never the platform's control-plane database (`DATABASES`) or data-plane store (`TONGSHU_DATA_URL`): same
  address and port and, on PostgreSQL, the same database (on MySQL/MariaDB any database of the same server);
- every host (an HTTP interface, each next-page link, a database server) is resolved, and each of its addresses must
  be a public one, unless `TONGSHU_PULL_ALLOWED_HOSTS` lists the host's name or a network holding the address:
  loopback, link-local, private, shared (100.64.0.0/10), multicast, reserved and unspecified addresses are refused
  otherwise. Cloud metadata addresses are refused even inside an allowed network, unless listed one by one.

The caller then connects to the address that was checked (`vetted_addresses`), not to a second DNS answer: HTTP
pulls through `http._GuardedConnection`, PostgreSQL through libpq's `hostaddr`, MySQL/MariaDB by address.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from django.conf import settings

from .faults import SourceFault

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Database servers reached over the network. Everything else (sqlite, duckdb, access …) is refused.
NETWORK_DATABASES = {"postgresql", "mysql", "mariadb", "oracle", "mssql", "dm", "kingbase", "kingbasees"}
DEFAULT_PORTS = {
    "postgresql": 5432,
    "kingbase": 54321,
    "kingbasees": 54321,
    "mysql": 3306,
    "mariadb": 3306,
    "oracle": 1521,
    "mssql": 1433,
    "dm": 5236,
}
# URL query options that would send the driver to another server or socket, or make it read local files.
FORBIDDEN_OPTIONS = {
    "host",
    "hostaddr",
    "port",
    "dbname",
    "database",
    "service",
    "servicefile",
    "passfile",
    "unix_socket",
    "unix_sock",
    "read_default_file",
    "read_default_group",
    "local_infile",
    "dsn",
    "odbc_connect",
    "plugin",
    "plugins",
}
# Cloud instance metadata (AWS/Azure/GCP/OpenStack, Alibaba Cloud, Tencent Cloud, AWS IPv6).
METADATA = {
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("169.254.170.2"),
    ipaddress.ip_address("100.100.100.200"),
    ipaddress.ip_address("fd00:ec2::254"),
}
DJANGO_BACKENDS = {"postgresql": "postgresql", "postgis": "postgresql", "mysql": "mysql", "oracle": "oracle"}
SUPPORTED = "PostgreSQL、MySQL/MariaDB、KingbaseES、达梦、Oracle、SQL Server"


@dataclass(frozen=True)
class AllowList:
    names: frozenset[str]
    suffixes: tuple[str, ...]
    networks: tuple[Network, ...]

    def allows_name(self, host: str) -> bool:
        return host in self.names or any(host.endswith(suffix) for suffix in self.suffixes)

    def allows_address(self, address: Address) -> bool:
        if address in METADATA:  # only when listed one by one (a /32 or /128 of its own)
            return any(net.num_addresses == 1 and address in net for net in self.networks)
        return any(address in net for net in self.networks)


def allow_list() -> AllowList:
    """`TONGSHU_PULL_ALLOWED_HOSTS`: host names (`db.hrx.gov.cn`), domains (`*.hrx.gov.cn`), addresses and networks
    (`10.43.0.0/16`)."""
    names, suffixes, networks = set(), [], []
    for entry in getattr(settings, "PULL_ALLOWED_HOSTS", []) or []:
        text = str(entry).strip().lower().strip("[]").rstrip(".")
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
            continue
        except ValueError:
            pass
        if text.startswith(("*.", ".")):
            suffixes.append("." + text.lstrip("*."))
        else:
            names.add(text)
    return AllowList(frozenset(names), tuple(suffixes), tuple(networks))


def _plain(address: Address) -> Address:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_internal(address: Address) -> bool:
    """Not an address of the public internet: loopback, link-local (and metadata), private, shared, multicast …"""
    address = _plain(address)
    return bool(
        address in METADATA
        or not address.is_global
        or address.is_loopback
        or address.is_link_local
        or address.is_private
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def _normal_host(host: str | None) -> str:
    return (host or "").strip().strip("[]").rstrip(".").lower()


def resolve(host: str, port: int | None) -> list[Address]:
    host = _normal_host(host)
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise SourceFault(f"无法解析主机名 {host}，请检查地址是否正确", "host_unresolvable") from None
    seen: dict[Address, None] = {}
    for _family, _type, _proto, _name, sockaddr in answers:
        seen[_plain(ipaddress.ip_address(str(sockaddr[0]).split("%")[0]))] = None
    if not seen:
        raise SourceFault(f"无法解析主机名 {host}，请检查地址是否正确", "host_unresolvable")
    return list(seen)


def vetted_addresses(host: str | None, port: int | None) -> list[str]:
    """The host's addresses, each allowed, to connect to; SourceFault when any of them is not."""
    name = _normal_host(host)
    if not name:
        raise SourceFault("地址中缺少主机名", "bad_url")
    allowed = allow_list()
    addresses = resolve(name, port)
    name_allowed = allowed.allows_name(name)
    for address in addresses:
        if address in METADATA and not allowed.allows_address(address):
            raise SourceFault(
                f"不允许连接 {name}（{address}）：这是云平台元数据服务的地址", "address_not_allowed"
            )
        if is_internal(address) and not (name_allowed or allowed.allows_address(address)):
            raise SourceFault(
                f"不允许连接内部地址 {name}（{address}）：本机、内网和保留地址默认不可访问。"
                "如为本县政务网内部门的服务器，请平台运维人员将其加入 TONGSHU_PULL_ALLOWED_HOSTS",
                "address_not_allowed",
            )
    return [str(address) for address in addresses]


# --- HTTP --------------------------------------------------------------------------------------------------------
def check_http_url(url: str) -> None:
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise SourceFault("接口地址必须以 http:// 或 https:// 开头", "bad_url")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise SourceFault("接口地址中的端口不正确", "bad_url") from None
    vetted_addresses(parts.hostname, port)


# --- databases ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DatabaseTarget:
    url: sa.URL
    backend: str
    addresses: list[str]


def _parse(url: str) -> sa.URL:
    try:
        return sa.engine.make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        raise SourceFault("数据库连接地址格式不正确（应为 SQLAlchemy URL）", "bad_url") from None


def _family(backend: str) -> str:
    return {"mariadb": "mysql", "kingbase": "postgresql", "kingbasees": "postgresql"}.get(backend, backend)


def _port(backend: str, port: Any) -> int | None:
    try:
        return int(port) if port not in (None, "") else DEFAULT_PORTS.get(backend)
    except (TypeError, ValueError):
        return None


def _database(backend: str, url: sa.URL) -> str:
    name = (url.database or "").strip("/")
    if not name and _family(backend) == "postgresql":
        name = url.username or ""  # libpq's default database is the user's name
    return name.casefold()


@dataclass(frozen=True)
class _Platform:
    family: str
    host: str
    port: int | None
    database: str


def platform_databases() -> list[_Platform]:
    """The platform's own network databases (control plane and data plane); SQLite files are refused anyway."""
    found = []
    for config in settings.DATABASES.values():
        engine = str(config.get("ENGINE", "")).rsplit(".", 1)[-1]
        family = DJANGO_BACKENDS.get(engine)
        if family:
            found.append(
                _Platform(
                    family,
                    _normal_host(config.get("HOST")) or "localhost",
                    _port(family, config.get("PORT")),
                    str(config.get("NAME") or "").casefold(),
                )
            )
    try:
        data = sa.engine.make_url(settings.DATA_URL)
    except (sa.exc.ArgumentError, ValueError):
        data = None
    if data is not None and data.get_backend_name() != "sqlite":
        backend = data.get_backend_name()
        found.append(
            _Platform(
                _family(backend),
                _normal_host(data.host) or "localhost",
                _port(backend, data.port),
                _database(backend, data),
            )
        )
    return found


def _same_machine(platform_host: str, addresses: set[Address]) -> bool:
    try:
        mine = set(resolve(platform_host, None))
    except SourceFault:
        mine = set()
    if any(address.is_loopback for address in mine):
        # The platform reaches its database on this machine: so does any loopback or own address.
        with contextlib.suppress(SourceFault):
            mine |= set(resolve(socket.gethostname(), None))
        if any(address.is_loopback for address in addresses):
            return True
    return bool(mine & addresses)


def check_database_url(url: str) -> DatabaseTarget:
    """Refuse file databases, redirecting options, the platform's own databases and internal addresses."""
    parsed = _parse(url)
    backend = parsed.get_backend_name()
    if backend not in NETWORK_DATABASES:
        raise SourceFault(
            f"不支持 {backend or '该类型'} 数据库：只能连接部门的数据库服务器（{SUPPORTED}），"
            "不能使用 SQLite 等本机文件数据库",
            "database_not_allowed",
        )
    options = sorted(key for key in parsed.query if key.lower() in FORBIDDEN_OPTIONS)
    if options:
        raise SourceFault(
            f"数据库连接地址不能包含参数 {'、'.join(options)}：请把服务器地址、端口和库名写在地址本身中",
            "url_option_not_allowed",
        )
    driver = parsed.query.get("driver")
    if any("/" in str(value) or "\\" in str(value) for value in ([driver] if driver else [])):
        raise SourceFault("ODBC 驱动只能填写名称，不能是文件路径", "url_option_not_allowed")
    if not _normal_host(parsed.host):
        raise SourceFault("数据库连接地址必须包含服务器地址（主机名或 IP）", "bad_url")
    port = _port(backend, parsed.port)
    addresses = vetted_addresses(parsed.host, port)
    resolved = {ipaddress.ip_address(address) for address in addresses}
    database = _database(backend, parsed)
    for platform in platform_databases():
        if platform.port != port or not _same_machine(platform.host, resolved):
            continue
        same_database = platform.database == database
        if platform.family == "mysql" and _family(backend) == "mysql":
            same_database = True  # one MySQL login reads every database of its server
        if same_database:
            raise SourceFault("不能从本平台自身的数据库拉取数据", "platform_database")
    return DatabaseTarget(parsed, backend, addresses)


def pinned(target: DatabaseTarget) -> tuple[sa.URL, dict[str, Any]]:
    """The URL and connect arguments that reach the checked address, not whatever DNS answers next."""
    family = _family(target.backend)
    if family == "postgresql" and target.backend == "postgresql":
        return target.url, {"hostaddr": target.addresses[0]}
    if family == "mysql":
        return target.url.set(host=target.addresses[0]), {}
    return target.url, {}
