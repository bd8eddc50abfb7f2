"""Fill zh-hans translations into an app's catalogue: `python scripts/translate.py APP < pairs.tsv`.

Each input line is `English msgid<TAB>中文译文`. Prints the msgids still untranslated; run `make messages` after to
compile. Existing translations are replaced only when the input names them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent


def main(app: str) -> int:
    path = ROOT / "tongshu" / app / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    catalogue = polib.pofile(str(path))
    pairs = {}
    for line in sys.stdin.read().splitlines():
        if "\t" in line:
            english, chinese = line.split("\t", 1)
            pairs[english] = chinese
    for entry in catalogue:
        if entry.msgid in pairs:
            if entry.msgid_plural:
                entry.msgstr_plural = {0: pairs[entry.msgid]}
            else:
                entry.msgstr = pairs[entry.msgid]
            if "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
    catalogue.save(str(path))
    missing = [entry.msgid for entry in catalogue if not (entry.msgstr or any(entry.msgstr_plural.values()))]
    for msgid in missing:
        print(f"untranslated: {msgid}")
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
