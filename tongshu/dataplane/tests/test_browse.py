"""Browsing a resource's data: filters, sort, paging, as-of a batch, masking, and the audited reveal; denials."""

from __future__ import annotations

import pytest

from tongshu.core.errors import PermissionDenied, ValidationFailed
from tongshu.dataplane import browse, masking
from tongshu.dataplane.browse import BrowseQuery
from tongshu.dataplane.tests.helpers import load_csv, make_people, people_csv, person_id, tab_bar
from tongshu.security.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(personas):
    resource = make_people(personas.provider_org)
    load_csv(personas.provider_admin, resource, people_csv(60))
    return resource


def test_masking_rules():
    assert masking.mask_value(masking.RESIDENT_ID, "43062319900101123X") == "430623********123X"
    assert masking.mask_value(masking.PHONE, "13812345678") == "138****5678"
    assert masking.mask_value(masking.NAME, "欧阳修") == "欧**"
    assert masking.mask_value(masking.NAME, "张三") == "张*"
    assert masking.mask_value(masking.GENERIC, "湖南省华容县章华镇") == "湖南*****华镇"
    assert masking.mask_value(masking.PHONE, None) is None


def test_browse_masks_sensitive_items_and_pages(personas, people):
    page = browse.browse(personas.provider_admin, people, BrowseQuery(page_size=25))
    assert page.total == 60 and len(page.rows) == 25 and page.pages == 3
    assert set(page.masked) == {"f001", "f002", "f003"}  # ID (rule), name (sensitive), phone (rule)
    row = page.rows[0]
    assert row["f001"].startswith("430623") and "********" in row["f001"]
    assert row["f002"].endswith("*") and "****" in row["f003"]
    assert row["f004"] == "章华镇"  # not sensitive
    last = browse.browse(personas.provider_admin, people, BrowseQuery(page_size=25, page=3))
    assert len(last.rows) == 10


def test_filters_on_queryable_items_and_sort(personas, people):
    load_csv(personas.provider_admin, people, people_csv(5, start=100, township="万庾镇"))
    page = browse.browse(personas.provider_admin, people, BrowseQuery(filters={"f004": "万庾"}))
    assert page.total == 5
    page = browse.browse(personas.provider_admin, people, BrowseQuery(filters={"f005": "1980-01-10"}))
    assert page.total == 1
    page = browse.browse(personas.provider_admin, people, BrowseQuery(sort="f005", descending=True))
    dates = [r["f005"] for r in page.rows]
    assert dates == sorted(dates, reverse=True)
    with pytest.raises(ValidationFailed) as caught:
        browse.browse(personas.provider_admin, people, BrowseQuery(filters={"f003": "138"}))
    assert caught.value.code == "not_queryable"
    with pytest.raises(ValidationFailed):
        browse.browse(personas.provider_admin, people, BrowseQuery(filters={"f005": "不是日期"}))


def test_as_of_a_batch(personas, people):
    first = people.batches.get()
    changed = people_csv(1).replace("张三0", "李四")
    load_csv(personas.provider_admin, people, changed)
    now = browse.browse(
        personas.provider_cdo, people, BrowseQuery(filters={"f001": person_id("19800110", 0)})
    )
    then = browse.browse(
        personas.provider_cdo,
        people,
        BrowseQuery(filters={"f001": person_id("19800110", 0)}, as_of_batch=first.pk),
    )
    rid = now.rows[0]["_rid"]
    assert browse.reveal(personas.provider_cdo, people, rid, reason="核对")["f002"] == "李四"
    assert (
        browse.reveal(personas.provider_cdo, people, rid, reason="核对", as_of_batch=first.pk)["f002"]
        == "张三0"
    )
    assert then.total == 1
    with pytest.raises(ValidationFailed):
        browse.browse(personas.provider_cdo, people, BrowseQuery(as_of_batch=999_999))


def test_reveal_is_audited_with_key_and_reason(personas, people):
    rid = browse.browse(personas.provider_admin, people, BrowseQuery()).rows[0]["_rid"]
    row = browse.reveal(personas.provider_admin, people, rid, reason="核实户籍信息")
    assert len(row["f001"]) == 18 and "*" not in row["f001"]
    entry = AuditEntry.objects.filter(action="dataplane.data_revealed").latest("pk")
    assert entry.details["record_key"] == {"f001": row["f001"]}
    assert entry.details["reason"] == "核实户籍信息"
    with pytest.raises(ValidationFailed):
        browse.reveal(personas.provider_admin, people, rid, reason=" ")


def test_denials(personas, people):
    for persona in (
        personas.outsider,
        personas.consumer_cdo,
        personas.authority,
        personas.operator,
        personas.citizen,
    ):
        with pytest.raises(PermissionDenied):
            browse.browse(persona, people, BrowseQuery())
    # A plain department user of the provider may browse (masked) but not reveal.
    from tongshu.accounts.roles import Role
    from tongshu.accounts.tests.factories import make_user

    staff = make_user("provider_staff", Role.DEPT_USER, organization=personas.provider_org)
    page = browse.browse(staff, people, BrowseQuery())
    assert page.can_reveal is False
    before = AuditEntry.objects.filter(action="dataplane.data_revealed").count()
    for persona in (staff, personas.outsider):
        with pytest.raises(PermissionDenied):
            browse.reveal(persona, people, page.rows[0]["_rid"], reason="想看看")
    assert AuditEntry.objects.filter(action="dataplane.data_revealed").count() == before


def test_pages(personas, people, client_for, anonymous):
    client = client_for(personas.provider_admin)
    response = client.get(f"/data/browse/{people.pk}/?f_f004=章华&sort=f005&dir=desc")
    body = response.content.decode()
    assert response.status_code == 200 and "430623********" in body and "数据浏览" in body
    htmx = client.get(
        f"/data/browse/{people.pk}/?page=2", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="browse-rows"
    )
    assert htmx.status_code == 200 and "<html" not in htmx.content.decode()
    bad = client.get(f"/data/browse/{people.pk}/?f_f005=x")
    assert bad.status_code == 400 and "筛选值格式不正确" in bad.content.decode()
    rid = browse.browse(personas.provider_admin, people, BrowseQuery()).rows[0]["_rid"]
    revealed = client.post(f"/data/browse/{people.pk}/reveal/{rid}/", {"reason": "核实"})
    assert revealed.status_code == 200 and "430623" in revealed.content.decode()
    assert revealed["Cache-Control"] == "no-store"
    refused = client.post(f"/data/browse/{people.pk}/reveal/{rid}/", {"reason": ""})
    assert refused.status_code == 400
    # Both stay under the data page's browse tab.
    assert tab_bar(revealed)[1] == tab_bar(refused)[1] == "browse"
    fragment = client.post(
        f"/data/browse/{people.pk}/reveal/{rid}/", {"reason": "核实"}, HTTP_HX_REQUEST="true"
    )
    assert "430623" in fragment.content.decode() and tab_bar(fragment) == ([], "")
    assert client_for(personas.outsider).get(f"/data/browse/{people.pk}/").status_code == 403
    denied = client_for(personas.outsider).post(f"/data/browse/{people.pk}/reveal/{rid}/", {"reason": "看看"})
    assert denied.status_code == 403 and tab_bar(denied) == ([], "")
    assert anonymous.get(f"/data/browse/{people.pk}/").status_code == 302


def test_masked_items_are_not_searchable_by_prefix_without_the_right_to_reveal(personas, people):
    """A prefix filter would recover a masked ID digit by digit; a browse-only user matches whole values only."""
    from tongshu.accounts.roles import Role
    from tongshu.accounts.tests.factories import make_user

    staff = make_user("provider_staff", Role.DEPT_USER, organization=personas.provider_org)
    full = person_id("19800110", 0)
    for prefix in (full[:12], full[:17], "430623", "张"):
        field = "f002" if prefix == "张" else "f001"
        page = browse.browse(staff, people, BrowseQuery(filters={field: prefix}))
        assert page.total == 0 and page.rows == [], prefix
        assert page.exact == {"f001", "f002", "f003"}
    whole = browse.browse(staff, people, BrowseQuery(filters={"f001": full}))
    assert whole.total == 1 and "*" in whole.rows[0]["f001"]
    assert browse.browse(staff, people, BrowseQuery(filters={"f002": "张三0"})).total == 1
    # Not masked: still by prefix. Those who may reveal keep prefix search on masked items too.
    assert browse.browse(staff, people, BrowseQuery(filters={"f004": "章华"})).total == 60
    admin = browse.browse(personas.provider_admin, people, BrowseQuery(filters={"f001": "430623"}))
    assert admin.total == 60 and admin.exact == set()


def test_page_filters_masked_items_by_whole_value_for_browse_only_users(personas, people, client_for):
    from tongshu.accounts.roles import Role
    from tongshu.accounts.tests.factories import make_user

    staff = client_for(make_user("provider_staff", Role.DEPT_USER, organization=personas.provider_org))
    full = person_id("19800110", 0)
    partial = staff.get(f"/data/browse/{people.pk}/?f_f001={full[:14]}")
    assert partial.status_code == 200 and partial.context["page"].total == 0
    body = partial.content.decode()
    assert "430623********" not in body and "完整值" in body  # no row, and the box says whole values only
    whole = staff.get(f"/data/browse/{people.pk}/?f_f001={full}")
    assert whole.context["page"].total == 1


def test_exact_lookups_of_masked_items_are_audited_and_limited_per_hour(
    personas, people, client_for, settings
):
    """Each whole-value query on a masked item by a user who may not reveal it confirms a guess: audited (items,
    never the value) and refused past the hourly limit, on the page and the API; other filters and users who may
    reveal are not limited."""
    from tongshu.accounts.roles import Role
    from tongshu.accounts.tests.factories import make_user
    from tongshu.core.errors import RateLimited
    from tongshu.security.models import AuditEntry

    settings.DATAPLANE_MASKED_LOOKUPS_PER_HOUR = 2
    user = make_user("provider_staff", Role.DEPT_USER, organization=personas.provider_org)
    full = person_id("19800110", 0)
    assert browse.browse(user, people, BrowseQuery(filters={"f001": full})).total == 1
    # A miss answers the guess as well as a hit: it counts too.
    assert browse.browse(user, people, BrowseQuery(filters={"f001": person_id("19800110", 1)})).total == 0
    with pytest.raises(RateLimited) as refused:
        browse.browse(user, people, BrowseQuery(filters={"f001": full}))
    assert refused.value.code == "masked_lookup_limited" and refused.value.status == 429
    entries = AuditEntry.objects.filter(action=browse.MASKED_LOOKUP, actor=user)
    assert entries.count() == 2 and entries.first().details["fields"] == ["公民身份号码"]
    assert full not in str(list(entries.values_list("details", flat=True)))
    # Filters on items that are not masked, and browsing without filters, go on.
    assert browse.browse(user, people, BrowseQuery(filters={"f004": "章华"})).total == 60
    assert browse.browse(user, people, BrowseQuery()).total == 60
    page = client_for(user).get(f"/data/browse/{people.pk}/?f_f001={full}")
    assert page.status_code == 429 and "过于频繁" in page.content.decode()
    api = client_for(user).get(f"/api/v1/data/browse/{people.pk}/rows", {"f_f001": full})
    assert api.status_code == 429 and api.json()["code"] == "masked_lookup_limited"
    # Those who may reveal search masked items freely (their reveals are audited one by one).
    for _ in range(3):
        assert browse.browse(personas.provider_admin, people, BrowseQuery(filters={"f001": full})).total == 1
    assert not AuditEntry.objects.filter(action=browse.MASKED_LOOKUP, actor=personas.provider_admin).exists()
