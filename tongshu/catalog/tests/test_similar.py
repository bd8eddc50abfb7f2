"""Similar published resources for a draft (catalog issue, item 8)."""

from __future__ import annotations

import pytest

from tongshu.catalog.models import InfoItem
from tongshu.catalog.search import similar_resources
from tongshu.catalog.search.text import bigrams, dice
from tongshu.catalog.tests.factories import make_resource
from tongshu.standards.tests.factories import make_data_element

from .search_helpers import publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(personas):
    return {
        "household": publish(
            personas.provider_org,
            "华容县户籍人口基本信息",
            items=["公民身份号码", "姓名", "户籍地址", "性别"],
        ),
        "enterprise": publish(
            personas.consumer_org, "企业登记注册信息", items=["统一社会信用代码", "企业名称"]
        ),
        "allowance": publish(personas.consumer_org, "城乡低保对象名册", items=["姓名", "救助金额"]),
    }


def test_a_similar_name_is_suggested_with_its_reason(catalog):
    found = similar_resources("户籍人口信息", [], [])
    assert [resource.published_version.name for resource, _score, _reasons in found] == [
        "华容县户籍人口基本信息"
    ]
    resource, score, reasons = found[0]
    assert 0.5 < score <= 1
    assert reasons[0].startswith("名称相似：华容县户籍人口基本信息")


def test_shared_info_items_count(catalog):
    found = similar_resources("常住人员名单", ["公民身份号码", "姓名", "性别"], [])
    top, score, reasons = found[0]
    assert top == catalog["household"]
    assert any(reason == "相同信息项：公民身份号码、姓名、性别" for reason in reasons)
    # The allowance roll shares only 姓名: lower.
    scores = {resource.pk: s for resource, s, _ in found}
    assert scores.get(catalog["allowance"].pk, 0) < score


def test_bound_data_elements_count(catalog, personas):
    element = make_data_element("公民身份号码")
    InfoItem.objects.filter(version=catalog["allowance"].published_version, name="姓名").update(
        data_element=element
    )
    found = similar_resources("救助对象台账", [], [element.pk])
    assert found[0][0] == catalog["allowance"]
    assert "引用相同数据元 1 个" in found[0][2]


def test_the_resource_itself_drafts_and_unrelated_names_are_left_out(catalog, personas):
    make_resource(personas.provider_org, name="户籍人口基本信息草稿", state="draft")
    found = similar_resources(
        "华容县户籍人口基本信息", ["公民身份号码"], [], exclude_resource_id=catalog["household"].pk
    )
    assert found == []
    assert similar_resources("气象观测数据", ["风速"], []) == []
    assert similar_resources("", [], []) == []


def test_limit_and_order(personas):
    for n in range(8):
        publish(personas.provider_org, f"华容县户籍人口信息{n}")
    found = similar_resources("华容县户籍人口信息", [], [], limit=3)
    assert len(found) == 3
    assert [s for _r, s, _ in found] == sorted((s for _r, s, _ in found), reverse=True)


def test_dice_of_bigrams():
    assert dice(bigrams("户籍人口"), bigrams("户籍人口")) == 1.0
    assert dice(bigrams("户籍人口"), bigrams("企业登记")) == 0.0
    assert round(dice(bigrams("华容县户籍人口信息"), bigrams("户籍人口基本信息")), 2) == 0.53
