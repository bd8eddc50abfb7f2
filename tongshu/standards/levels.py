"""Security levels (GB/T 43697-2024 with 一般数据 split in four, as local practice does), lowest first.

The order is what the rules compare ("a resource's level is at least the highest level of its items"; "an open
resource cannot hold an item above the highest level allowed in open data"). Names come from the `security-level`
code set so an operator can rename them; the order of the codes is fixed here.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class SecurityLevel(models.TextChoices):
    GENERAL_1 = "general-1", _("General data (level 1)")
    GENERAL_2 = "general-2", _("General data (level 2)")
    GENERAL_3 = "general-3", _("General data (level 3)")
    GENERAL_4 = "general-4", _("General data (level 4)")
    IMPORTANT = "important", _("Important data")
    CORE = "core", _("Core data")


LEVEL_ORDER = [level.value for level in SecurityLevel]


def rank(level: str) -> int:
    """0 for the lowest level; unknown levels rank highest, so a typo never lowers protection."""
    try:
        return LEVEL_ORDER.index(level)
    except ValueError:
        return len(LEVEL_ORDER)


def highest(levels: list[str]) -> str:
    return max(levels, key=rank) if levels else SecurityLevel.GENERAL_1.value
