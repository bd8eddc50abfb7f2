"""Every msgid has a zh-hans translation, and the compiled catalogue matches its source."""

from __future__ import annotations

from pathlib import Path

import polib
import pytest

CATALOGUES = sorted(Path(__file__).resolve().parents[2].glob("*/locale/zh_Hans/LC_MESSAGES/django.po"))


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: p.parts[-5])
def test_catalogue_is_complete_and_compiled(path: Path) -> None:
    catalogue = polib.pofile(str(path))
    untranslated = [e.msgid for e in catalogue if not (e.msgstr or any(e.msgstr_plural.values()))]
    fuzzy = [e.msgid for e in catalogue if "fuzzy" in e.flags]
    assert not untranslated, f"untranslated in {path}: {untranslated}"
    assert not fuzzy, f"fuzzy in {path}: {fuzzy}"
    compiled = polib.mofile(str(path.with_suffix(".mo")))
    compiled_ids = {entry.msgid for entry in compiled}
    stale = [e.msgid for e in catalogue if e.msgid not in compiled_ids]
    assert not stale, f"{path.with_suffix('.mo')} is stale (run `make messages`): {stale[:5]}"


def test_pages_render_in_chinese(client) -> None:
    response = client.get("/accounts/login/")
    assert "华容县政务信息资源管理平台" in response.content.decode()


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: p.parts[-5])
def test_catalogue_declares_chinese_plural_forms(path: Path) -> None:
    # Without it gettext assumes two plural forms and a count of 0 or 2+ falls back to English.
    assert polib.pofile(str(path)).metadata.get("Plural-Forms") == "nplurals=1; plural=0;"
