"""Importing code sets and versions: whole-file validation, encodings, XLSX, current version, diff, lookups."""

from __future__ import annotations

import pytest
import time_machine

from tongshu.core.errors import PermissionDenied, ValidationFailed
from tongshu.security.models import AuditEntry
from tongshu.standards import lookups
from tongshu.standards.models import CodeSet, CodeSetVersion, CodeValue
from tongshu.standards.services import (
    diff_versions,
    get_version,
    import_code_set,
    set_current_version,
)

from .factories import make_code_set
from .helpers import csv_bytes, xlsx_bytes

pytestmark = pytest.mark.django_db

ROAD_CLASS = [["code", "name"], ["1", "高速公路"], ["2", "一级公路"], ["3", "二级公路"]]


def _import(user, content, filename="set.csv", identifier="road-class", **fields):
    fields.setdefault("name", "公路技术等级")
    return import_code_set(user, content=content, filename=filename, identifier=identifier, **fields)


def test_import_creates_a_set_with_a_current_version(personas):
    with time_machine.travel("2026-03-02 10:00 +0800", tick=False):
        version = _import(personas.operator, csv_bytes(ROAD_CLASS), standard="JTG B01-2014")
    code_set = version.code_set
    assert (code_set.identifier, code_set.name, code_set.standard, code_set.is_system) == (
        "road-class",
        "公路技术等级",
        "JTG B01-2014",
        False,
    )
    assert version.version == "2026-03-02" and version.is_current and version.created_by == personas.operator
    assert list(version.values.values_list("code", "name")) == [
        ("1", "高速公路"),
        ("2", "一级公路"),
        ("3", "二级公路"),
    ]
    assert lookups.code_values(code_set) == {"1": "高速公路", "2": "一级公路", "3": "二级公路"}
    entry = AuditEntry.objects.get(action="codeset.imported")
    assert entry.details["values"] == 3 and entry.actor == personas.operator


def test_a_file_with_bad_rows_saves_nothing_and_reports_every_row(personas):
    rows = [
        ["code", "name", "parent"],
        ["1", "高速公路", ""],
        ["", "无代码", ""],
        ["1", "重复", ""],
        ["4", "", ""],
        ["5", "五级", "9"],
        ["X" * 41, "太长", ""],
    ]
    with pytest.raises(ValidationFailed) as caught:
        _import(personas.operator, csv_bytes(rows))
    errors = caught.value.details
    assert caught.value.code == "invalid_file"
    assert [(e["row"], e["column"]) for e in errors] == [
        (3, "code"),
        (4, "code"),
        (5, "name"),
        (6, "parent"),
        (7, "code"),
    ]
    assert "与第 2 行重复" in errors[1]["reason"]
    assert "不在文件中" in errors[3]["reason"]
    assert not CodeSet.objects.filter(identifier="road-class").exists()
    assert not AuditEntry.objects.filter(action__startswith="codeset.").exists()


def test_one_bad_row_in_a_new_version_leaves_the_set_untouched(personas):
    code_set = make_code_set("road-class", {"1": "高速公路"})
    rows = [*ROAD_CLASS, ["3", "重复的二级"]]
    with pytest.raises(ValidationFailed) as caught:
        _import(personas.operator, csv_bytes(rows))
    assert caught.value.details == [{"row": 5, "column": "code", "reason": "代码“3”与第 4 行重复"}]
    assert code_set.versions.count() == 1
    assert CodeValue.objects.filter(version__code_set=code_set).count() == 1


def test_parent_cycles_and_missing_header_are_refused(personas):
    with pytest.raises(ValidationFailed) as caught:
        _import(
            personas.operator, csv_bytes([["code", "name", "parent"], ["1", "甲", "2"], ["2", "乙", "1"]])
        )
    assert {e["reason"] for e in caught.value.details} == {"上级代码形成循环"}
    with pytest.raises(ValidationFailed) as caught:
        _import(personas.operator, csv_bytes([["代号", "称呼"], ["1", "甲"]]))
    assert caught.value.code == "bad_header"


def test_gbk_and_bom_csv_files_are_read(personas):
    rows = [["代码", "名称"], ["01", "汉族"], ["15", "土家族"]]
    version = _import(personas.operator, csv_bytes(rows, "gbk"), identifier="ethnic-gbk")
    assert lookups.code_values("ethnic-gbk") == {"01": "汉族", "15": "土家族"}
    version = _import(personas.operator, b"\xef\xbb\xbf" + csv_bytes(ROAD_CLASS), identifier="road-bom")
    assert version.values.count() == 3


def test_xlsx_import_keeps_codes_as_text(personas):
    rows = [
        ["code", "name", "parent"],
        ["43", "湖南省", None],
        ["4306", "岳阳市", "43"],
        [430623, "华容县", "4306"],
    ]
    version = _import(
        personas.operator, xlsx_bytes(rows), filename="divisions.xlsx", identifier="mini-division"
    )
    assert version.code_set.is_hierarchical
    assert lookups.code_values("mini-division") == {"43": "湖南省", "4306": "岳阳市", "430623": "华容县"}
    assert version.values.get(code="430623").parent_code == "4306"


def test_a_new_version_becomes_current_and_the_diff_is_right(personas):
    with time_machine.travel("2026-03-02 10:00 +0800", tick=False):
        first = _import(personas.operator, csv_bytes(ROAD_CLASS))
        assert lookups.code_values("road-class")["3"] == "二级公路"
        rows = [["code", "name"], ["1", "高速公路"], ["2", "一级公路（干线）"], ["4", "三级公路"]]
        second = _import(personas.operator, csv_bytes(rows))
    first.refresh_from_db()
    assert second.version == "2026-03-02-2"
    assert second.is_current and not first.is_current
    assert lookups.code_values("road-class") == {"1": "高速公路", "2": "一级公路（干线）", "4": "三级公路"}
    diff = diff_versions(first, second)
    assert diff.added == [("4", "三级公路")]
    assert diff.removed == [("3", "二级公路")]
    assert diff.renamed == [("2", "一级公路", "一级公路（干线）")]
    assert diff.moved == []
    assert AuditEntry.objects.filter(action="codeset.version_imported").count() == 1

    set_current_version(personas.operator, first)
    assert get_version(first.code_set, first.version).is_current
    assert CodeSetVersion.objects.filter(code_set=first.code_set, is_current=True).count() == 1
    assert lookups.code_values("road-class")["3"] == "二级公路"
    assert AuditEntry.objects.get(action="codeset.version_made_current").details["previous"] == "2026-03-02-2"


def test_a_version_can_be_imported_without_becoming_current(personas):
    _import(personas.operator, csv_bytes(ROAD_CLASS), version="2014")
    draft = _import(personas.operator, csv_bytes(ROAD_CLASS[:2]), version="2025-draft", make_current=False)
    assert not draft.is_current
    assert lookups.code_values("road-class")["3"] == "二级公路"
    with pytest.raises(ValidationFailed, match="已存在"):
        _import(personas.operator, csv_bytes(ROAD_CLASS), version="2014")
    with pytest.raises(ValidationFailed, match="斜杠"):
        _import(personas.operator, csv_bytes(ROAD_CLASS), version="2014/2")


def test_only_the_operator_imports_or_switches_versions(personas):
    code_set = make_code_set("road-class", {"1": "高速公路"})
    version = code_set.versions.get()
    for persona in ("provider_admin", "consumer_user", "security_admin", "authority", "citizen"):
        with pytest.raises(PermissionDenied):
            _import(getattr(personas, persona), csv_bytes(ROAD_CLASS))
        with pytest.raises(PermissionDenied):
            set_current_version(getattr(personas, persona), version)
    assert code_set.versions.count() == 1


def test_new_set_needs_a_valid_identifier_and_a_name(personas):
    with pytest.raises(ValidationFailed) as caught:
        _import(personas.operator, csv_bytes(ROAD_CLASS), identifier="Road Class!")
    assert caught.value.field == "identifier"
    with pytest.raises(ValidationFailed) as caught:
        _import(personas.operator, csv_bytes(ROAD_CLASS), identifier="import")
    assert caught.value.field == "identifier"
    with pytest.raises(ValidationFailed) as caught:
        _import(personas.operator, csv_bytes(ROAD_CLASS), name="")
    assert caught.value.field == "name"
    make_code_set("road-class")
    with pytest.raises(ValidationFailed) as caught:
        _import(personas.operator, csv_bytes(ROAD_CLASS), expect_new=True)
    assert caught.value.code == "duplicate_identifier"


def test_lookup_cache_follows_version_changes_made_elsewhere(personas):
    code_set = make_code_set("yes-no", {"1": "是", "0": "否"})
    other = CodeSetVersion.objects.create(code_set=code_set, version="2")
    CodeValue.objects.create(version=other, code="Y", name="是")
    assert lookups.code_values("yes-no") == {"1": "是", "0": "否"}
    # Another process switches the current version (no signal here): noticed at the next recheck, not before.
    CodeSetVersion.objects.filter(code_set=code_set).update(is_current=False)
    CodeSetVersion.objects.filter(pk=other.pk).update(is_current=True)
    assert lookups.code_values("yes-no") == {"1": "是", "0": "否"}
    lookups._cache["yes-no"].checked_at -= lookups.RECHECK_SECONDS + 1
    assert lookups.code_values("yes-no") == {"Y": "是"}
    assert lookups.code_values("missing-set") == {}
