"""Resolve a merge conflict in an app's catalogue: union of both sides' translations, then `scripts/i18n.py`.

Usage during a conflicted merge: `python scripts/merge_po.py tongshu/<app>/locale/zh_Hans/LC_MESSAGES/django.po`.
"""

from __future__ import annotations

import subprocess
import sys

import polib


def side(path: str, stage: int) -> dict[str, str]:
    text = subprocess.run(
        ["git", "show", f":{stage}:{path}"], capture_output=True, text=True, check=False
    ).stdout
    if not text:
        return {}
    return {
        entry.msgid: entry.msgstr or entry.msgstr_plural.get(0, "")
        for entry in polib.pofile(text)
        if entry.msgstr or entry.msgstr_plural
    }


def main(path: str) -> int:
    translations = {
        **side(path, 3),
        **side(path, 2),
    }  # ours (the branch merged into) wins where both translate
    # Start from an empty catalogue (the conflicted file cannot be parsed), let makemessages refill the msgids.
    empty = polib.POFile()
    empty.metadata = {
        "Content-Type": "text/plain; charset=UTF-8",
        "Language": "zh_Hans",
        "Plural-Forms": "nplurals=1; plural=0;",
    }
    empty.save(path)
    subprocess.run([sys.executable, "scripts/i18n.py", path.split("/")[1]], check=True, capture_output=True)
    catalogue = polib.pofile(path)
    for entry in catalogue:
        if entry.msgid in translations:
            if entry.msgid_plural:
                entry.msgstr_plural = {0: translations[entry.msgid]}
            else:
                entry.msgstr = translations[entry.msgid]
            if "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
    catalogue.save(path)
    subprocess.run([sys.executable, "scripts/i18n.py", path.split("/")[1]], check=True, capture_output=True)
    missing = [e.msgid for e in catalogue if not (e.msgstr or any(e.msgstr_plural.values()))]
    for msgid in missing:
        print(f"untranslated: {msgid}")
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
