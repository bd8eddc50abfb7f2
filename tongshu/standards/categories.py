"""Resource category codes (信息资源分类, 第八条): 类 / 项 / 目 of fixed digit widths, then a 细目 of variable width.

The widths come from `settings.CATALOG_CATEGORY_WIDTHS` (1, 2, 3 by default, as the national guide writes them) so
that a city whose master catalog (总目录) numbers differently is configured, not patched. A code is written in full
from the root, digits only: ``1`` 基础信息资源, ``101`` 人口, ``101001`` …, ``1010011`` (a 细目).
"""

from __future__ import annotations

from django.conf import settings

from .models import CategoryLevel

DEFAULT_WIDTHS = (1, 2, 3)
MAX_CODE_LENGTH = 30  # ResourceCategory.code


def widths() -> tuple[int, ...]:
    configured = tuple(getattr(settings, "CATALOG_CATEGORY_WIDTHS", DEFAULT_WIDTHS))
    return configured if configured and all(w > 0 for w in configured) else DEFAULT_WIDTHS


def fixed_length(level: int) -> int | None:
    """Total length of a code at `level` (1-based), or None for the variable-width 细目."""
    sizes = widths()
    return sum(sizes[:level]) if level <= len(sizes) else None


def level_of(code: str) -> int | None:
    """The level a code's length puts it at; None when the length matches none."""
    total = 0
    for level, size in enumerate(widths(), start=1):
        total += size
        if len(code) == total:
            return level
    return len(widths()) + 1 if len(code) > total else None


def parent_code_of(code: str) -> str:
    """The parent's code ('' for a 类), derived from the widths."""
    level = level_of(code)
    if level is None or level == 1:
        return ""
    return code[: fixed_length(level - 1)]


def code_problem(code: str) -> str | None:
    """Why `code` is not a valid category code under the configured widths (Chinese), or None."""
    sizes = widths()
    if not code:
        return "分类代码为空"
    if not code.isdigit():
        return "分类代码只能由数字组成"
    if len(code) > MAX_CODE_LENGTH:
        return f"分类代码超过 {MAX_CODE_LENGTH} 位"
    if level_of(code) is None:
        expected = "、".join(str(sum(sizes[:n])) for n in range(1, len(sizes) + 1))
        return f"分类代码位数不符合分类层级（类、项、目依次为 {expected} 位，细目更长）"
    return None


def level_choice(code: str) -> int:
    """The `CategoryLevel` of a valid code (the model has four levels: 类 / 项 / 目 / 细目)."""
    return min(level_of(code) or CategoryLevel.CLASS, CategoryLevel.SUBSECTION)


def department_code(sequence: int | None) -> str | None:
    """The 项 code of a department in the 部门 branch (class 3): its number in the 项 width, or None if it does not fit."""
    sizes = widths()
    if sequence is None or len(sizes) < 2 or sequence < 1 or sequence >= 10 ** sizes[1]:
        return None
    return department_class_code() + f"{sequence:0{sizes[1]}d}"


def department_class_code() -> str:
    """类 3, 部门信息资源, in the 类 width."""
    return "3".zfill(widths()[0])
