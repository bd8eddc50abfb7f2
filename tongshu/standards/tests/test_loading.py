"""`load_standards`: the shipped code sets, category tree and data elements, loaded once and idempotently."""

from __future__ import annotations

import dataclasses
from io import StringIO

import pytest
from django.core.management import call_command

from tongshu.accounts.models import Organization
from tongshu.security.models import AuditEntry
from tongshu.standards import shipped
from tongshu.standards.formats import parse_for_type
from tongshu.standards.loading import LoadReport, load_code_set, load_standards
from tongshu.standards.lookups import code_values, division_codes, is_known_division, township_codes
from tongshu.standards.models import CodeSet, CodeSetVersion, CodeValue, DataElement, ResourceCategory
from tongshu.standards.services import import_code_set

from .helpers import csv_bytes

pytestmark = pytest.mark.django_db


def _counts():
    return (
        CodeSet.objects.count(),
        CodeSetVersion.objects.count(),
        CodeValue.objects.count(),
        ResourceCategory.objects.count(),
        DataElement.objects.count(),
    )


def test_load_standards_loads_the_real_data_and_is_idempotent(personas):
    Organization.objects.update(sequence=None)
    Organization.objects.filter(pk=personas.provider_org.pk).update(sequence=4)
    Organization.objects.filter(pk=personas.township.pk).update(sequence=101)  # wider than the 项 code
    out = StringIO()
    call_command("load_standards", stdout=out)
    assert "标准规范已就绪" in out.getvalue()

    # Code sets, each system-owned with one current version named after its standard's year.
    assert CodeSet.objects.filter(is_system=True).count() == len(shipped.SHIPPED_SETS)
    sex = CodeSet.objects.get(identifier=shipped.SEX)
    assert sex.current_version.version == "2003"
    assert set(code_values(shipped.SEX)) == {"0", "1", "2", "9"}
    assert code_values(shipped.SEX)["2"] == "女性"
    ethnic = code_values(shipped.ETHNIC_GROUP)
    assert len(ethnic) == 56 and ethnic["01"] == "汉族" and ethnic["15"] == "土家族"
    assert code_values(shipped.INDUSTRY_SECTION)["I"] == "信息传输、软件和信息技术服务业"
    assert code_values(shipped.UPDATE_CYCLE)["99"] == "不定期"
    assert "general-1" in code_values(shipped.SECURITY_LEVEL)

    # GB/T 2260: provinces, cities and counties as six digits under their parents; townships in nine digits.
    divisions = code_values(shipped.DIVISION)
    assert (
        divisions["430623"] == "华容县"
        and divisions["430600"] == "岳阳市"
        and divisions["430000"] == "湖南省"
    )
    huarong = CodeValue.objects.get(version__code_set__identifier=shipped.DIVISION, code="430623")
    assert huarong.parent_code == "430600"
    assert "441900" in division_codes()  # 东莞市, a city without counties, listed once
    huarong_townships = CodeValue.objects.filter(
        version__code_set__identifier=shipped.TOWNSHIP, parent_code="430623"
    )
    assert huarong_townships.count() == 14
    assert len(township_codes()) > 40000
    assert is_known_division("430623") and is_known_division("430623101")
    assert (
        not is_known_division("430699") and not is_known_division("43062") and not is_known_division("abcdef")
    )

    # The category tree: the guide's branches, and a department branch item per numbered department.
    population = ResourceCategory.objects.get(code="101")
    assert population.name == "人口" and population.level == 2 and population.parent.code == "1"
    branch = ResourceCategory.objects.get(organization=personas.provider_org)
    assert (branch.code, branch.name, branch.parent.code) == ("304", "华容县公安局", "3")
    assert not ResourceCategory.objects.filter(organization=personas.township).exists()

    # Starter data elements bound to their code sets and check rules.
    resident_id = DataElement.objects.get(identifier="DE0001")
    assert (resident_id.name, resident_id.length, resident_id.check_rule) == (
        "居民身份证号码",
        "C18",
        "resident_id",
    )
    assert DataElement.objects.get(name="性别").code_set == sex
    assert DataElement.objects.get(name="民族").code_set.identifier == shipped.ETHNIC_GROUP
    assert DataElement.objects.get(name="统一社会信用代码").check_rule == "credit_code"
    assert DataElement.objects.get(name="注册资本").length == "Y..18,2"
    assert DataElement.objects.get(name="几何").check_rule == "geojson"
    for element in DataElement.objects.all():
        parse_for_type(element.data_type, element.length)  # every shipped notation is valid
    assert DataElement.objects.count() >= 25

    before = _counts()
    again = load_standards()
    assert not again.changed
    assert _counts() == before
    assert AuditEntry.objects.filter(action="standards.loaded").count() == 1


def test_a_newer_shipped_version_never_displaces_an_operator_version(personas):
    definition = next(s for s in shipped.SHIPPED_SETS if s.identifier == shipped.SEX)
    load_code_set(definition, LoadReport())
    import_code_set(
        personas.operator,
        content=csv_bytes([["code", "name"], ["1", "男"], ["2", "女"]]),
        filename="sex.csv",
        identifier=shipped.SEX,
        version="local",
    )
    load_code_set(dataclasses.replace(definition, version="2099"), LoadReport())
    sex = CodeSet.objects.get(identifier=shipped.SEX)
    assert sex.current_version.version == "local"
    assert sex.versions.filter(version="2099", is_current=False).exists()


def test_a_newer_shipped_version_replaces_an_older_shipped_one(db):
    definition = next(s for s in shipped.SHIPPED_SETS if s.identifier == shipped.MARITAL_STATUS)
    load_code_set(definition, LoadReport())
    report = LoadReport()
    load_code_set(dataclasses.replace(definition, version="2099"), report)
    assert report.versions == 1
    assert CodeSet.objects.get(identifier=shipped.MARITAL_STATUS).current_version.version == "2099"
