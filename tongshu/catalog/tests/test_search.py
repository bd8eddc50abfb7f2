"""Catalog search (catalog issue, item 6): matching, facets, filters, sorting, paging and keeping the index current."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tongshu.catalog.search import Scope, SearchQuery, parse_query, run_search, search
from tongshu.catalog.search.text import normalize, query_terms, term_tokens
from tongshu.catalog.search_models import SearchDocument, SearchPosting
from tongshu.catalog.tests.factories import make_resource
from tongshu.core.errors import NotAuthenticated, PermissionDenied, ValidationFailed
from tongshu.standards.tests.factories import make_category

from .search_helpers import publish, republish, retire

pytestmark = pytest.mark.django_db


def names(results) -> list[str]:
    return [hit.document.name for hit in results.hits]


def find(q: str = "", **filters) -> object:
    return run_search(parse_query({"q": q, **filters}), Scope())


@pytest.fixture
def catalog(personas):
    police, civil = personas.provider_org, personas.consumer_org
    return {
        "household": publish(
            police,
            "华容县户籍人口基本信息",
            items=["公民身份号码", "姓名", "户籍地址"],
            keywords="户籍，人口",
            summary="全县户籍人口的登记信息。",
            share_type="conditional",
            update_cycle="02",
        ),
        "floating": publish(
            police,
            "流动人口登记信息",
            items=["姓名", "现住址"],
            share_type="unconditional",
            update_cycle="04",
        ),
        "allowance": publish(
            civil,
            "城乡低保对象名册",
            items=["姓名", "户籍所在地", "救助金额"],
            keywords="社会救助",
            share_type="conditional",
            update_cycle="04",
            open_type="conditional",
        ),
        "enterprise": publish(
            civil,
            "企业登记注册信息",
            items=["统一社会信用代码", "企业名称"],
            share_type="unconditional",
            update_cycle="07",
            format_class="2",
        ),
    }


def test_two_character_chinese_terms_find_the_resource(catalog):
    assert names(find("人口")) == ["华容县户籍人口基本信息", "流动人口登记信息"]
    # 户籍 is in one name and, as 户籍所在地, in an info item of another; the name match ranks first.
    assert names(find("户籍")) == ["华容县户籍人口基本信息", "城乡低保对象名册"]
    assert names(find("户籍人口")) == ["华容县户籍人口基本信息"]
    assert names(find("量子纠缠")) == []


def test_a_term_must_be_a_real_substring_not_scattered_bigrams(personas):
    publish(personas.provider_org, "人口户籍数据", items=["籍贯"])  # has 户籍 and 人口 but not 户籍人口
    assert names(find("户籍人口")) == []
    assert names(find("户籍 人口")) == ["人口户籍数据"]  # two terms: both anywhere


def test_single_characters_full_width_and_codes(catalog):
    assert "企业登记注册信息" in names(find("企"))
    assert names(find("ＡＢＣ")) == []  # full width folds to ascii; nothing has it
    code = catalog["household"].code
    prefix = code[: code.index("/") + 4]  # e.g. 101/000
    assert "华容县户籍人口基本信息" in names(find(prefix))
    assert names(find(code)) == ["华容县户籍人口基本信息"]


def test_matches_info_items_provider_and_keywords(catalog, personas):
    result = find("救助金额")
    assert names(result) == ["城乡低保对象名册"]
    hit = find("统一社会信用代码").hits[0]
    assert hit.document.name == "企业登记注册信息"
    assert set(names(find("公安局"))) == {"华容县户籍人口基本信息", "流动人口登记信息"}
    assert names(find("社会救助")) == ["城乡低保对象名册"]  # a keyword only


def test_the_check_partial_chinese_query_with_the_right_facets(catalog, personas):
    result = find(
        "人口", provider=[str(personas.provider_org.pk)], share_type=["conditional"], update_cycle=["02"]
    )
    assert names(result) == ["华容县户籍人口基本信息"]
    assert result.count == 1


def test_facet_counts_are_disjunctive(catalog, personas):
    result = find("", share_type=["conditional"])
    assert result.count == 2
    facets = {name: {v.value: v.count for v in values} for name, values in result.facets.items()}
    # The share-type facet ignores its own filter, so the alternatives keep their counts.
    assert facets["share_type"] == {"unconditional": 2, "conditional": 2}
    # Other facets count within the filtered set.
    assert facets["provider"] == {str(personas.provider_org.pk): 1, str(personas.consumer_org.pk): 1}
    assert facets["update_cycle"] == {"02": 1, "04": 1}
    assert facets["open_type"] == {"none": 1, "conditional": 1}
    labels = {v.value: v.label for v in result.facets["share_type"]}
    assert labels["conditional"] == "有条件共享"
    assert [v.selected for v in result.facets["share_type"] if v.value == "conditional"] == [True]


def test_filters_or_within_a_facet_and_across_facets(catalog, personas):
    both_cycles = find("", update_cycle=["02", "07"])
    assert set(names(both_cycles)) == {"华容县户籍人口基本信息", "企业登记注册信息"}
    assert names(find("", update_cycle=["02", "07"], share_type=["unconditional"])) == ["企业登记注册信息"]
    assert names(find("登记", provider=[str(personas.consumer_org.pk)])) == ["企业登记注册信息"]
    assert find("", format=["2"]).count == 1
    assert find("", security_level=["core"]).count == 0


def test_category_filter_includes_subcategories(personas):
    parent = make_category("102", "法人")
    child = make_category("102001", "企业法人", parent=parent)
    publish(personas.provider_org, "企业法人登记信息", category=child)
    publish(personas.provider_org, "户籍人口信息")  # category 101 from the factory
    assert names(find("", category=["102"])) == ["企业法人登记信息"]
    assert names(find("", category=["1"])) == ["企业法人登记信息", "户籍人口信息"] or set(
        names(find("", category=["1"]))
    ) == {"企业法人登记信息", "户籍人口信息"}
    listed = {v.value for v in find().facets["category"]}
    assert "102" in listed and "102001" not in listed  # the top two levels are listed


def test_sorting(catalog):
    relevance = names(find("户籍"))
    assert relevance[0] == "华容县户籍人口基本信息"
    by_code = find("", sort="code")
    codes = [hit.document.code for hit in by_code.hits]
    assert codes == sorted(codes)
    newest = find("")
    dates = [hit.document.published_at for hit in newest.hits]
    assert dates == sorted(dates, reverse=True)
    assert find("").sort == "published" and find("人口").sort == "relevance"


def test_paging(personas):
    for n in range(25):
        publish(personas.provider_org, f"乡镇人口统计表{n:02d}")
    first = run_search(parse_query({"q": "人口", "page_size": "10"}), Scope())
    third = run_search(parse_query({"q": "人口", "page_size": "10", "page": "3"}), Scope())
    beyond = run_search(parse_query({"q": "人口", "page_size": "10", "page": "4"}), Scope())
    assert first.count == third.count == 25 and first.num_pages == 3
    assert len(first.hits) == 10 and len(third.hits) == 5 and beyond.hits == []
    everything = []
    for page in (1, 2, 3):
        everything += names(
            run_search(parse_query({"q": "人口", "page_size": "10", "page": str(page)}), Scope())
        )
    assert len(set(everything)) == 25


def test_drafts_are_never_indexed(personas):
    from tongshu.catalog.search import index_resource

    draft = make_resource(personas.provider_org, name="户籍人口草稿", state="draft")
    assert index_resource(draft) is None
    assert names(find("草稿")) == []
    assert not SearchDocument.objects.filter(pk=draft.pk).exists()


def test_republishing_updates_the_index(catalog):
    resource = catalog["floating"]
    republish(resource, name="流动人员居住登记信息", summary="新版本")
    assert names(find("流动人口")) == []
    assert names(find("居住登记")) == ["流动人员居住登记信息"]
    assert SearchDocument.objects.get(pk=resource.pk).version_id == resource.published_version_id
    # No postings of the old text remain.
    assert not SearchPosting.objects.filter(document_id=resource.pk, token="人口").exists()


def test_retiring_removes_from_the_index(catalog):
    retire(catalog["enterprise"])
    assert names(find("企业")) == []
    assert not SearchPosting.objects.filter(document_id=catalog["enterprise"].pk).exists()
    assert find().count == 3


def test_reindex_command_rebuilds_from_the_published_catalog(catalog, personas):
    make_resource(personas.provider_org, name="未索引的人口资源")  # published, but no signal was sent
    SearchDocument.objects.filter(pk=catalog["household"].pk).delete()
    call_command("reindex_catalog", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert set(names(find("人口"))) == {"华容县户籍人口基本信息", "流动人口登记信息", "未索引的人口资源"}


def test_bad_parameters_are_refused_in_chinese():
    for params, field in [
        ({"sort": "name"}, "sort"),
        ({"share_type": "sometimes"}, "share_type"),
        ({"page": "0"}, "page"),
        ({"page_size": "1000"}, "page_size"),
        ({"provider": "gaj"}, "provider"),
        ({"category": "1'; drop"}, "category"),
        ({"q": "人" * 101}, "q"),
        ({"q": "a b c d e f g h i"}, "q"),
    ]:
        with pytest.raises(ValidationFailed) as raised:
            parse_query(params)
        assert raised.value.field == field and raised.value.code == "invalid_search_parameter"
        assert any("\u4e00" <= char <= "\u9fff" for char in raised.value.message)


def test_scope_is_decided_by_the_caller(personas, catalog):
    for persona in ("consumer_user", "provider_admin", "authority", "auditor", "inspector"):
        assert search(getattr(personas, persona), SearchQuery(q="人口")).count == 2
    with pytest.raises(PermissionDenied):
        search(personas.citizen, SearchQuery())
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(NotAuthenticated):
        search(AnonymousUser(), SearchQuery())
    # The open-data portal will pass its own scope: only open resources.
    open_only = run_search(
        SearchQuery(), Scope(allowed={"open_type": frozenset({"conditional", "unconditional"})})
    )
    assert names(open_only) == ["城乡低保对象名册"]
    assert open_only.facets["open_type"] == [v for v in open_only.facets["open_type"] if v.value != "none"]
    mine = run_search(SearchQuery(), Scope(resources=catalog["household"].provider.resources.all()))
    assert mine.count == 2


def test_query_count_does_not_grow_with_results(personas):
    for n in range(30):
        publish(personas.provider_org, f"人口台账{n}", items=[f"字段{n}"])
    find("人口")  # loads the facet snapshot once
    with CaptureQueriesContext(connection) as small:
        find("人口", page_size="5")
    with CaptureQueriesContext(connection) as large:
        find("人口", page_size="30", share_type=["unconditional"], sort="code")
    with CaptureQueriesContext(connection) as browse:
        find("", page_size="30")
    # generation + token counts + match + page
    assert len(small) == len(large) == 4
    assert len(browse) == 2


def test_normalization_and_tokens():
    assert normalize("  华容县（户籍）ＡＢＣ１２３  ") == "华容县 户籍 abc123"
    assert query_terms("户籍，人口") == ["户籍", "人口"]
    assert query_terms("101/0001") == ["101 0001"]
    assert term_tokens("户籍人口") == ["户籍", "籍人", "人口"]
    assert term_tokens("gb") == ["gb"]
