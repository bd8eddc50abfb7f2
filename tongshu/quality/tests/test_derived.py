"""Derived rules on load (第十三条): division prefixes of ID numbers and division items (a prefix no GB/T 2260 code can
have is an error; a well-formed one missing from today's list only a warning), and code-set values that lost their
leading zeros in a spreadsheet (民族 01 typed as the number 1)."""

from __future__ import annotations

import io

import openpyxl
import pytest

from tongshu.catalog.models import InfoItem
from tongshu.catalog.tests.factories import make_resource
from tongshu.core.checksums import resident_id_check_char
from tongshu.dataplane import services as dataplane
from tongshu.dataplane import store
from tongshu.dataplane.models import BatchStatus
from tongshu.dataplane.schema import schema_for_version
from tongshu.standards import lookups, shipped
from tongshu.standards.tests.factories import make_code_set, make_data_element

from .factories import load, make_population, population_csv

pytestmark = pytest.mark.django_db

DIVISIONS = ["110000", "110100", "110105", "430000", "430600", "430623", "441900", "810000", "820000"]


@pytest.fixture(autouse=True)
def divisions():
    """Today's division codes: a few of the `division` code set (the lookup cache is per process)."""
    lookups.invalidate()
    make_code_set(shipped.DIVISION, values={code: f"区划{code}" for code in DIVISIONS})
    yield
    lookups.invalidate()


def resident_id(first17: str) -> str:
    return first17 + resident_id_check_char(first17)


def findings(batch):
    return {(e["row"], e["code"], e["severity"]) for e in batch.error_sample}


def live(resource, field: str) -> list[str]:
    return sorted(row[field] for row in store.read_rows(schema_for_version(resource.published_version)))


def test_an_impossible_id_prefix_is_an_error_an_abolished_one_a_warning(personas):
    resource = make_population(personas.provider_org)
    rows = [
        (resident_id("00000019900101123"), "甲", "1", "1990-01-01"),  # province 00
        (resident_id("99010119900101123"), "乙", "1", "1990-01-01"),  # province 99
        (resident_id("43002119900101123"), "丙", "1", "1990-01-01"),  # a county under city part 00
        ("990101199001011240", "丁", "1", "1990-01-01"),  # and a wrong check character: reported once
        ("430623199001011230", "戊", "1", "1990-01-01"),  # a possible prefix, a wrong check character
    ]
    rejected = load(personas.provider_admin, resource, population_csv(rows))
    assert rejected.status == BatchStatus.REJECTED and rejected.bad_rows == 5
    assert sorted((e["row"], e["code"], e["severity"]) for e in rejected.error_sample) == [
        (2, "division_malformed", "error"),
        (3, "division_malformed", "error"),
        (4, "division_malformed", "error"),
        (5, "division_malformed", "error"),
        (6, "resident_id", "error"),
    ]
    assert live(resource, "f001") == []
    kept = [
        (
            resident_id("43060219900101123"),
            "丁",
            "1",
            "1990-01-01",
        ),  # 岳阳市南区 (former code): not in the list
        (resident_id("43062319900101123"), "戊", "1", "1990-01-01"),  # 华容县: current
        (resident_id("44190019900101123"), "己", "1", "1990-01-01"),  # 东莞市: a city without counties
        (resident_id("71000019900101123"), "庚", "1", "1990-01-01"),  # 台湾省: in GB/T 2260, not in the data
        (resident_id("83000019900101123"), "辛", "1", "1990-01-01"),  # 港澳台居民居住证 (Taiwan)
    ]
    applied = load(personas.provider_admin, resource, population_csv(kept))
    assert applied.status == BatchStatus.APPLIED, (applied.message, findings(applied))
    assert findings(applied) == {
        (2, "division_unknown", "warning"),
        (5, "division_unknown", "warning"),
        (6, "division_unknown", "warning"),
    }
    assert len(live(resource, "f001")) == 5


def test_without_division_data_the_standard_provinces_still_apply(personas):
    lookups.invalidate()
    from tongshu.standards.models import CodeSet

    CodeSet.objects.filter(identifier=shipped.DIVISION).delete()
    lookups.invalidate()
    resource = make_population(personas.provider_org)
    rows = [
        (resident_id("99010119900101123"), "乙", "1", "1990-01-01"),
        (resident_id("43062319900101123"), "戊", "1", "1990-01-01"),
    ]
    batch = load(personas.provider_admin, resource, population_csv(rows))
    assert batch.status == BatchStatus.REJECTED
    assert findings(batch) == {(2, "division_malformed", "error")}


def test_division_items(personas):
    resource = make_resource(
        personas.provider_org,
        name="村（社区）名录",
        items=[("名称", "C", "C..50", True, True, False), ("区划代码", "C", "C..12", False, True, False)],
    )
    element = make_data_element("行政区划代码", length="C..12", check_rule="division")
    InfoItem.objects.filter(version=resource.published_version, name="区划代码").update(data_element=element)
    csv = "名称,区划代码\n甲,990000\n乙,430021\n丙,8300001\n丁,830000\n"
    rejected = load(personas.provider_admin, resource, csv)
    assert rejected.status == BatchStatus.REJECTED
    assert findings(rejected) == {
        (2, "division_malformed", "error"),
        (3, "division_malformed", "error"),
        (4, "division", "error"),  # seven digits: not a division code at all
        (5, "division_malformed", "error"),  # 83 is possible in an ID number (residence permits), not here
    }
    csv = "名称,区划代码\n戊,430602\n己,430623120\n庚,820000\n"
    applied = load(personas.provider_admin, resource, csv)
    assert applied.status == BatchStatus.APPLIED, applied.error_sample
    assert findings(applied) == {(2, "division_unknown", "warning")}  # a former county
    assert live(resource, "f002") == ["430602", "430623120", "820000"]


def ethnic_resource(personas):
    resource = make_resource(
        personas.provider_org,
        name="少数民族人员名册",
        items=[("编号", "C", "C..10", True, True, False), ("民族", "C", "C2", False, True, False)],
    )
    code_set = make_code_set(values={"01": "汉族", "02": "蒙古族", "15": "土家族"})
    InfoItem.objects.filter(version=resource.published_version, name="民族").update(code_set=code_set)
    return resource


def xlsx(rows) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "名册"
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(personas, resource, data: bytes, name: str, **kwargs):
    batch = dataplane.submit_file(
        personas.provider_admin, resource, io.BytesIO(data), file_name=name, **kwargs
    )
    return dataplane.apply_batch(batch.pk)


def test_a_code_that_lost_its_leading_zero_is_read_as_the_code(personas):
    resource = ethnic_resource(personas)
    # Numbers as a spreadsheet stores them: 1 and 2 were typed as 01 and 02.
    data = xlsx([["编号", "民族"], ["A1", 1], ["A2", 2], ["A3", 15], ["A4", "汉族"], ["A5", "01"]])
    batch = upload(personas, resource, data, "名册.xlsx")
    assert batch.status == BatchStatus.APPLIED, batch.error_sample
    assert batch.error_sample == []
    assert live(resource, "f002") == ["01", "01", "01", "02", "15"]
    # A CSV exported from such a sheet lost the zeros too.
    batch = upload(personas, resource, "编号,民族\nB1,2\n".encode(), "export.csv")
    assert batch.status == BatchStatus.APPLIED and live(resource, "f002").count("02") == 2


def test_a_short_number_that_is_no_code_is_reported_once(personas):
    resource = ethnic_resource(personas)
    batch = upload(
        personas, resource, xlsx([["编号", "民族"], ["A1", 1], ["A2", 3], ["A3", 123]]), "名册.xlsx"
    )
    assert batch.status == BatchStatus.REJECTED
    # 3 pads to 03, which is not a code: reported once, as typed, as outside the set (not also for its length);
    # so is 123.
    assert [(e["row"], e["value"], e["code"]) for e in batch.error_sample] == [
        (3, "3", "code_set"),
        (4, "123", "code_set"),
    ]
    assert live(resource, "f002") == []


def test_an_unknown_sheet_name_lists_the_sheets(personas):
    resource = ethnic_resource(personas)
    data = xlsx([["编号", "民族"], ["A1", "01"]])
    batch = upload(personas, resource, data, "名册.xlsx", mapping={dataplane.SHEET_KEY: "Sheet1"})
    assert batch.status == BatchStatus.REJECTED
    assert "Sheet1" in batch.message and "现有工作表：“名册”" in batch.message
    assert live(resource, "f002") == []


def test_codes_that_do_not_fit_the_item_are_still_reported_for_their_length(personas):
    """A catalog that disagrees with its code set (an item of one character bound to two-digit codes)."""
    resource = make_resource(
        personas.provider_org,
        name="人员学历名册",
        items=[("编号", "C", "C..10", True, True, False), ("学历", "C", "C1", False, True, False)],
    )
    code_set = make_code_set(values={"10": "研究生教育", "20": "大学本科"})
    InfoItem.objects.filter(version=resource.published_version, name="学历").update(code_set=code_set)
    batch = load(personas.provider_admin, resource, "编号,学历\nA1,10\nA2,7\n")
    assert batch.status == BatchStatus.REJECTED
    assert [(e["row"], e["code"]) for e in batch.error_sample] == [(2, "length"), (3, "code_set")]
