"""Refresh every app's zh-hans message catalogue and compile them.

Each app keeps its own `locale/zh_Hans/LC_MESSAGES/django.po` (so work on one app never conflicts with another);
run `make messages` after changing strings, fill the new `msgstr`s, then run it again to compile.
Needs GNU gettext (`apt-get install gettext`). The compiled .mo files are committed, so running the platform does not.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = sorted(path.parent for path in (ROOT / "tongshu").glob("*/apps.py"))


def main() -> int:
    wanted = set(sys.argv[1:])  # optional app names: refresh only those
    for app in APPS:
        if wanted and app.name not in wanted:
            continue
        (app / "locale" / "zh_Hans" / "LC_MESSAGES").mkdir(parents=True, exist_ok=True)
        for domain in ("django",):
            subprocess.run(
                [
                    sys.executable,
                    str(ROOT / "manage.py"),
                    "makemessages",
                    "-l",
                    "zh_Hans",
                    "-d",
                    domain,
                    "--no-obsolete",
                    "--no-location",
                    "--ignore",
                    "tests/*",
                    "--ignore",
                    "migrations/*",
                ],
                cwd=app,
                check=True,
            )
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "compilemessages", "-l", "zh_Hans"],
        cwd=ROOT / "tongshu",
        check=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
