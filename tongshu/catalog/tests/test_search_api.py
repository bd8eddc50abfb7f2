"""`GET /api/v1/catalog/search` and the search page: who may search, the response shape, errors, fragments."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tongshu.accounts.models import ApiKey
from tongshu.accounts.services import create_api_key

from .search_helpers import publish

pytestmark = pytest.mark.django_db
API = "/api/v1/catalog/search"
PAGE = "/catalog/search/"

# persona → expected status, for the API and the page (a permission matrix, CONVENTIONS.md §Tests).
API_MATRIX = {
    "anonymous": 401,
    "citizen": 403,
    "consumer_user": 200,
    "provider_admin": 200,
    "provider_cdo": 200,
    "outsider": 200,
    "authority": 200,
    "operator": 200,
    "security_admin": 200,
    "auditor": 200,
    "inspector": 200,
}
PAGE_MATRIX = {**API_MATRIX, "anonymous": 302}


@pytest.fixture
def catalog(personas):
    publish(
        personas.provider_org,
        "华容县户籍人口基本信息",
        items=["公民身份号码", "户籍地址"],
        share_type="conditional",
        update_cycle="02",
    )
    publish(personas.provider_org, "流动人口登记信息", items=["姓名"], update_cycle="04")
    publish(personas.consumer_org, "城乡低保对象名册", items=["户籍所在地"], update_cycle="04")


def client(persona, personas, client_for, anonymous):
    return anonymous if persona == "anonymous" else client_for(getattr(personas, persona))


def test_api_permission_matrix(personas, client_for, anonymous, catalog):
    for persona, expected in API_MATRIX.items():
        response = client(persona, personas, client_for, anonymous).get(API, {"q": "人口"})
        assert response.status_code == expected, (persona, response.content)
        if expected == 200:
            assert response.json()["count"] == 2
        else:
            assert set(response.json()) >= {"code", "message"}


def test_page_permission_matrix(personas, client_for, anonymous, catalog):
    for persona, expected in PAGE_MATRIX.items():
        response = client(persona, personas, client_for, anonymous).get(PAGE, {"q": "人口"})
        assert response.status_code == expected, persona
        if persona == "anonymous":
            assert "/accounts/login/" in response["Location"]


def test_api_result_and_facets(personas, client_for, catalog):
    response = client_for(personas.consumer_user).get(
        API, {"q": "户籍", "update_cycle": "02,04", "provider": str(personas.provider_org.pk)}
    )
    body = response.json()
    assert response.status_code == 200
    assert body["count"] == 1 and body["page"] == 1 and body["num_pages"] == 1 and body["sort"] == "relevance"
    hit = body["results"][0]
    assert hit["name"] == "华容县户籍人口基本信息"
    assert hit["provider_name"] == "华容县公安局"
    assert hit["share_type"] == "conditional" and hit["share_type_label"] == "有条件共享"
    assert hit["update_cycle_label"] == "每日"
    assert hit["matched_items"] == ["户籍地址"]
    assert hit["code"].startswith("101/") and hit["score"] > 0
    providers = {f["value"]: f for f in body["facets"]["provider"]}
    # The provider facet ignores its own filter: the consumer department's 户籍 match is still counted.
    assert providers[str(personas.provider_org.pk)]["count"] == 1
    assert providers[str(personas.provider_org.pk)]["selected"] is True
    assert providers[str(personas.consumer_org.pk)] == {
        "value": str(personas.consumer_org.pk),
        "label": personas.consumer_org.name,
        "count": 1,
        "selected": False,
    }
    assert set(body["facets"]) == {
        "provider",
        "category",
        "share_type",
        "open_type",
        "update_cycle",
        "format",
        "security_level",
    }


def test_repeated_parameters_select_several_values(personas, client_for, catalog):
    api = client_for(personas.consumer_user)
    assert api.get(f"{API}?update_cycle=02&update_cycle=04").json()["count"] == 3
    assert api.get(API, {"update_cycle": "02"}).json()["count"] == 1


def test_api_bad_parameters_are_400_with_a_chinese_message(personas, client_for, catalog):
    api = client_for(personas.consumer_user)
    for params, field in [
        ({"sort": "name"}, "sort"),
        ({"share_type": "maybe"}, "share_type"),
        ({"page": "x"}, "page"),
        ({"page_size": "500"}, "page_size"),
        ({"provider": "公安局"}, "provider"),
        ({"q": "长" * 120}, "q"),
    ]:
        response = api.get(API, params)
        assert response.status_code == 400, params
        body = response.json()
        assert body["code"] == "invalid_search_parameter" and body["field"] == field
        assert any("\u4e00" <= char <= "\u9fff" for char in body["message"])


def test_api_keys_of_organizations_search_public_keys_do_not(personas, anonymous, catalog):
    _key, token = create_api_key(personas.provider_admin, name="人口库", organization=personas.provider_org)
    response = anonymous.get(API, {"q": "人口"}, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200 and response.json()["count"] == 2
    _public, public_token = create_api_key(personas.citizen, name="我的应用", organization=None)
    refused = anonymous.get(API, {"q": "人口"}, HTTP_AUTHORIZATION=f"Bearer {public_token}")
    assert refused.status_code == 403 and refused.json()["code"] == "catalog_search_forbidden"
    assert ApiKey.objects.count() == 2


def test_api_query_count_is_bounded(personas, client_for, catalog):
    api = client_for(personas.consumer_user)
    api.get(API, {"q": "人口"})
    for n in range(20):
        publish(personas.provider_org, f"人口统计表{n}")
    api.get(API, {"q": "人口"})  # the snapshot reloads once after the index changed
    with CaptureQueriesContext(connection) as few:
        api.get(API, {"q": "人口", "page_size": "2"})
    with CaptureQueriesContext(connection) as many:
        api.get(API, {"q": "人口", "page_size": "50", "share_type": "unconditional"})
    assert len(few) == len(many) <= 8  # session + user + roles + the four of the search


def test_page_renders_results_facets_and_chips(personas, client_for, catalog):
    response = client_for(personas.consumer_user).get(
        PAGE, {"q": "户籍", "provider": str(personas.provider_org.pk)}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "华容县<mark>户籍</mark>人口基本信息" in html
    assert "城乡低保对象名册" not in html.split('data-testid="results"')[1]
    assert 'data-testid="active-filters"' in html and "部门：" in html
    assert "有条件共享" in html and "每日" in html
    assert "<mark>户籍</mark>地址" in html  # the matching info item
    assert 'hx-target="#search-panel"' in html


def test_page_htmx_request_gets_only_the_panel(personas, client_for, catalog):
    response = client_for(personas.consumer_user).get(
        PAGE, {"q": "人口"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="search-panel"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="search-panel"') and "<html" not in html
    assert "流动<mark>人口</mark>登记信息" in html


def test_page_bad_parameter_shows_the_error(personas, client_for, catalog):
    response = client_for(personas.consumer_user).get(PAGE, {"sort": "bogus"})
    assert response.status_code == 400
    assert "排序方式无效" in response.content.decode()


def test_page_past_the_end_shows_the_last_page(personas, client_for, catalog):
    response = client_for(personas.consumer_user).get(PAGE, {"page": "99"})
    assert response.status_code == 200 and "流动人口登记信息" in response.content.decode()


def test_menu_links_to_the_catalog_for_staff_only(personas, client_for):
    assert "/catalog/search/" in client_for(personas.consumer_user).get("/").content.decode()
    assert "/catalog/search/" not in client_for(personas.citizen).get("/").content.decode()
