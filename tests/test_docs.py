"""The documents stay true to the code: every setting documented, every dependency explained and pinned, every
article of the regulation mapped to code and tests that exist (CONVENTIONS: documentation is part of the product)."""

from __future__ import annotations

import importlib
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# --- docs/deployment.md -------------------------------------------------------------------------------------------


def settings_variables() -> set[str]:
    names = re.findall(
        r'\benv(?:_bool|_int|_list)?\(\s*"([A-Z0-9_]+)"', read(ROOT / "tongshu" / "settings.py")
    )
    return {f"TONGSHU_{name}" for name in names}


def test_settings_reads_variables() -> None:
    assert {"TONGSHU_DATABASE_URL", "TONGSHU_DATA_URL", "TONGSHU_SECRET_KEY"} <= settings_variables()


def test_deployment_documents_every_setting_and_no_stale_one() -> None:
    table = {m for m in re.findall(r"^\| `(TONGSHU_[A-Z0-9_]+)` \|", read(DOCS / "deployment.md"), re.M)}
    assert settings_variables() - table == set(), "add these to the settings table of docs/deployment.md"
    assert table - settings_variables() == set(), (
        "docs/deployment.md documents variables settings.py no longer reads"
    )


# --- docs/dependencies.md -----------------------------------------------------------------------------------------


def declared_dependencies() -> list[str]:
    project = tomllib.loads(read(ROOT / "pyproject.toml"))["project"]
    requirements = project["dependencies"] + [
        r for extra in project["optional-dependencies"].values() for r in extra
    ]
    return [re.match(r"[A-Za-z0-9_.-]+", requirement).group(0) for requirement in requirements]


def test_every_dependency_is_explained_and_pinned() -> None:
    explained = {
        normalize(name) for name in re.findall(r"^\| ([A-Za-z0-9_.-]+)", read(DOCS / "dependencies.md"), re.M)
    }
    pinned = {
        normalize(line.split("==")[0])
        for line in read(ROOT / "requirements.lock").splitlines()
        if "==" in line and not line.startswith("#")
    }
    missing_reason = [name for name in declared_dependencies() if normalize(name) not in explained]
    unpinned = [name for name in declared_dependencies() if normalize(name) not in pinned]
    assert not missing_reason, f"say why in docs/dependencies.md: {missing_reason}"
    assert not unpinned, f"pin in requirements.lock: {unpinned}"


# --- docs/regulation-map.md ---------------------------------------------------------------------------------------

DIGITS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    tens, ones = divmod(n, 10)
    if tens == 0:
        return DIGITS[ones]
    return ("" if tens == 1 else DIGITS[tens]) + "十" + (DIGITS[ones] if ones else "")


def test_chinese_numbers() -> None:
    assert [chinese_number(n) for n in (1, 10, 11, 20, 21, 37)] == [
        "一",
        "十",
        "十一",
        "二十",
        "二十一",
        "三十七",
    ]


def regulation_articles() -> list[str]:
    seed = ROOT.parent / "shared" / "seed" / "huarong-measures.txt"
    if seed.exists():
        return sorted(set(re.findall(r"^(第[一二三四五六七八九十]+条)", read(seed), re.M)), key=len)
    return [f"第{chinese_number(n)}条" for n in range(1, 38)]


def test_every_article_has_a_row() -> None:
    text = read(DOCS / "regulation-map.md")
    rows = set(re.findall(r"^\| (第[一二三四五六七八九十]+条)", text, re.M))
    articles = {f"第{chinese_number(n)}条" for n in range(1, 38)}
    assert set(regulation_articles()) <= articles
    assert articles - rows == set(), "docs/regulation-map.md is missing these articles"


def references() -> tuple[list[str], list[str]]:
    text = read(DOCS / "regulation-map.md")
    names = re.findall(r"`(tongshu(?:\.[A-Za-z_][A-Za-z0-9_]*)+)`", text)
    tests = re.findall(r"`([\w/]+\.py)::(\w+)`", text)
    return sorted(set(names)), sorted(set(tests))


def resolve(dotted: str) -> object:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            target = getattr(target, attribute)
        return target
    raise ImportError(dotted)


@pytest.mark.parametrize("dotted", references()[0])
def test_mapped_code_exists(dotted: str) -> None:
    resolve(dotted)


@pytest.mark.parametrize("path,test", references()[1])
def test_mapped_test_exists(path: str, test: str) -> None:
    source = ROOT / path
    assert source.exists(), path
    assert re.search(rf"^def {test}\(", read(source), re.M), f"{path} has no {test}"


# --- README.md ----------------------------------------------------------------------------------------------------


def test_readme_quick_start_and_demo_password() -> None:
    readme = read(ROOT / "README.md")
    assert "make run" in readme and "make test" in readme
    default = re.search(r'env\("DEMO_PASSWORD", "([^"]+)"\)', read(ROOT / "tongshu" / "settings.py")).group(1)
    assert f"`{default}`" in readme
    from tongshu.demo.organizations import DEMO_ACCOUNTS

    for username, *_ in DEMO_ACCOUNTS:
        assert f"`{username}`" in readme
