"""The side menu, per role. Later issues append their entries here; an entry shows when its page exists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from tongshu.accounts.roles import Role
from tongshu.dataplane import menu as dataplane_menu
from tongshu.standards import menu as standards_menu

ALL_STAFF = frozenset(Role) - {Role.PUBLIC}
EVERYONE = frozenset(Role)
DEPARTMENT_MANAGERS = frozenset({Role.CDO, Role.DATA_ADMIN})


@dataclass(frozen=True)
class MenuEntry:
    label: Any
    url_name: str
    roles: frozenset[str]
    section: Any = ""


MENU: list[MenuEntry] = [
    MenuEntry(_("Home"), "core:home", EVERYONE),
    MenuEntry(_("Message centre"), "core:messages", EVERYONE),
    MenuEntry(_("Information resource catalog"), "catalog_search:search", ALL_STAFF, _("Catalog management")),
    MenuEntry(
        _("Department catalog"),
        "catalog:department",
        frozenset({Role.CDO, Role.DATA_ADMIN, Role.DEPT_USER, Role.AUTHORITY, Role.OPERATOR_ADMIN}),
        _("Catalog management"),
    ),
    MenuEntry(
        _("Review queue"), "catalog:review_queue", frozenset({Role.AUTHORITY}), _("Catalog management")
    ),
    MenuEntry(
        _("Business systems"),
        "catalog:systems",
        frozenset({Role.CDO, Role.DATA_ADMIN, Role.AUTHORITY, Role.OPERATOR_ADMIN}),
        _("Catalog management"),
    ),
    MenuEntry(
        _("Catalog settings"), "catalog:settings", frozenset({Role.OPERATOR_ADMIN}), _("Catalog management")
    ),
    MenuEntry(_("Catalog import and export"), "catalog_exchange:home", ALL_STAFF, _("Catalog management")),
    MenuEntry(
        dataplane_menu.DATA_MANAGEMENT,
        "dataplane:index",
        frozenset({Role.CDO, Role.DATA_ADMIN, Role.OPERATOR_ADMIN}),
        dataplane_menu.SECTION,
    ),
    MenuEntry(_("Base and thematic libraries"), "browse:libraries", ALL_STAFF, _("Data")),
    MenuEntry(_("Pull sources"), "ways:sources", DEPARTMENT_MANAGERS, _("Data collection")),
    MenuEntry(_("Electronic forms"), "ways:eforms", DEPARTMENT_MANAGERS, _("Data collection")),
    MenuEntry(_("Collection tasks"), "ways:collection", DEPARTMENT_MANAGERS, _("Data collection")),
    MenuEntry(standards_menu.CODE_SETS, "standards:code_sets", ALL_STAFF, standards_menu.SECTION),
    MenuEntry(standards_menu.DATA_ELEMENTS, "standards:data_elements", ALL_STAFF, standards_menu.SECTION),
    MenuEntry(standards_menu.CATEGORIES, "standards:categories", ALL_STAFF, standards_menu.SECTION),
    MenuEntry(
        _("Department data dashboard"),
        "quality:department",
        frozenset({Role.CDO, Role.DATA_ADMIN, Role.DEPT_USER, Role.OPERATOR_ADMIN, Role.AUTHORITY}),
        _("Data quality"),
    ),
    MenuEntry(
        _("Platform data quality"),
        "quality:platform",
        frozenset({Role.OPERATOR_ADMIN, Role.AUTHORITY}),
        _("Data quality"),
    ),
    MenuEntry(
        _("Overdue resources"),
        "quality:overdue",
        frozenset({Role.CDO, Role.DATA_ADMIN, Role.DEPT_USER, Role.OPERATOR_ADMIN, Role.AUTHORITY}),
        _("Data quality"),
    ),
    MenuEntry(_("Organizations"), "accounts:organizations", frozenset({Role.OPERATOR_ADMIN}), _("System")),
    MenuEntry(
        _("Users"),
        "accounts:users",
        frozenset({Role.OPERATOR_ADMIN, Role.SECURITY_ADMIN, Role.CDO, Role.DATA_ADMIN}),
        _("System"),
    ),
    MenuEntry(_("Role assignment"), "accounts:roles", frozenset({Role.SECURITY_ADMIN}), _("Security")),
    MenuEntry(
        _("API keys"),
        "accounts:api_keys",
        frozenset({Role.SECURITY_ADMIN, Role.CDO, Role.DATA_ADMIN, Role.PUBLIC}),
        _("Security"),
    ),
    MenuEntry(_("Audit log"), "security:audit_log", frozenset({Role.AUDITOR}), _("Security")),
    MenuEntry(_("API documentation"), "api:openapi-view", EVERYONE, _("Help")),
]


def menu_for(user: Any, current_path: str) -> list[dict[str, Any]]:
    roles = user.role_codes()
    sections: dict[str, dict[str, Any]] = {}
    for entry in MENU:
        if not roles & entry.roles:
            continue
        try:
            url = reverse(entry.url_name)
        except NoReverseMatch:
            continue
        key = str(entry.section)
        section = sections.setdefault(key, {"title": entry.section, "items": []})
        active = current_path == url or (url != "/" and current_path.startswith(url))
        section["items"].append({"label": entry.label, "url": url, "active": active})
    return list(sections.values())
