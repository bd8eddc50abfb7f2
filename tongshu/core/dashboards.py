"""Home-page panels per role. Apps register panels in their AppConfig.ready(); the home page shows each panel whose
roles the person holds, in registration order. A panel is a template plus a function computing its real figures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Panel:
    name: str
    roles: frozenset[str]
    template: str
    context: Callable[[Any], dict[str, Any]]
    order: int = 100


PANELS: list[Panel] = []


def register(
    name: str, roles: set[str] | frozenset[str], template: str, order: int = 100
) -> Callable[[Any], Any]:
    def decorator(func: Callable[[Any], dict[str, Any]]) -> Callable[[Any], dict[str, Any]]:
        if not any(panel.name == name for panel in PANELS):
            PANELS.append(
                Panel(name=name, roles=frozenset(roles), template=template, context=func, order=order)
            )
            PANELS.sort(key=lambda panel: panel.order)
        return func

    return decorator


def panels_for(user: Any) -> list[dict[str, Any]]:
    roles = user.role_codes()
    return [
        {"name": panel.name, "template": panel.template, **panel.context(user)}
        for panel in PANELS
        if roles & panel.roles
    ]
