"""A resource's change log through the service, the API (`/api/v1/data/browse/{id}/changes`) and the batch page:
operations per batch, keyset paging by cursor, masking as browsing, and the denials of browsing."""

from __future__ import annotations

import io

import pytest

from tongshu.accounts.roles import Role
from tongshu.accounts.services import create_api_key
from tongshu.accounts.tests.factories import make_user
from tongshu.core.errors import PermissionDenied, ValidationFailed
from tongshu.dataplane import browse, changes, services
from tongshu.dataplane.browse import BrowseQuery
from tongshu.dataplane.models import BatchStatus
from tongshu.dataplane.tests.helpers import load_csv, make_people, people_csv, person_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(personas):
    """Four batches: a first load of 5 people; an upsert changing one name and adding one person; a full replace that
    keeps 3 (one changed again) and retires 3; an upsert loading a retired person again."""
    resource = make_people(personas.provider_org)
    admin = personas.provider_admin
    first = load_csv(admin, resource, people_csv(5))
    second = load_csv(
        admin, resource, people_csv(2).replace("张三0", "李四") + people_csv(1, start=5).split("\n", 1)[1]
    )
    kept = people_csv(3).replace("张三0", "王五").replace("张四1", "赵六")
    third = load_csv(admin, resource, kept, mode="replace")
    fourth = load_csv(admin, resource, people_csv(1, start=4))
    batches = [first, second, third, fourth]
    assert [b.status for b in batches] == ["applied"] * 4, [b.message for b in batches]
    resource.batch_ids = [b.pk for b in batches]
    return resource


def ident(n: int) -> str:
    birth = f"19{80 + n % 20:02d}0{1 + n % 9}1{n % 10}"
    return person_id(birth, n % 1000)


def masked(n: int) -> str:
    return ident(n)[:6] + "********" + ident(n)[-4:]


def summary(log: changes.ChangeLog) -> list[tuple]:
    return [(c["_batch"], c["_op"], c["f001"]) for c in log.changes]


def test_the_change_log_lists_every_batch_in_order_masked(personas, history):
    first, second, third, fourth = history.batch_ids
    log = changes.changes(personas.provider_admin, history, limit=100)
    assert log.next_cursor is None
    listed = summary(log)
    assert listed[:5] == [(first, "insert", masked(n)) for n in range(5)]
    assert sorted(listed[5:7]) == sorted([(second, "update", masked(0)), (second, "insert", masked(5))])
    assert sorted(listed[7:12]) == sorted(
        [(third, "update", masked(n)) for n in (0, 1)] + [(third, "retire", masked(n)) for n in (3, 4, 5)]
    )
    assert listed[-1] == (fourth, "insert", masked(4))  # a retired person loaded again
    by_op = {(c["_batch"], c["_op"]): c for c in log.changes}
    assert by_op[(second, "update")]["f002"] == "李*"  # names masked too; values after the change
    assert by_op[(third, "retire")]["f004"] == "章华镇"  # a retired row keeps its values
    # Paging by cursor gives the same log; a later start gives its tail.
    paged, cursor = [], None
    while True:
        page = changes.changes(personas.provider_cdo, history, limit=3, cursor=cursor)
        paged += summary(page)
        assert len(page.changes) <= 3
        if page.next_cursor is None:
            break
        batch, rid = page.next_cursor.split(":")
        assert (int(batch), int(rid)) == (page.changes[-1]["_batch"], page.changes[-1]["_rid"])
        cursor = page.next_cursor
    assert paged == listed
    assert summary(changes.changes(personas.provider_admin, history, after_batch=third)) == [
        (fourth, "insert", masked(4))
    ]
    window = changes.changes(personas.provider_admin, history, after_batch=first, until_batch=second)
    assert {c["_batch"] for c in window.changes} == {second}
    one = changes.batch_changes(personas.provider_admin, history.batches.get(pk=third), limit=2)
    assert len(one.changes) == 2 and one.next_cursor is not None
    rest = changes.batch_changes(
        personas.provider_admin,
        history.batches.get(pk=third),
        after_rid=int(one.next_cursor.split(":")[1]),
    )
    assert {c["_batch"] for c in one.changes + rest.changes} == {third}
    assert summary(one) + summary(rest) == [c for c in listed if c[0] == third]


def test_bad_parameters(personas, history):
    for cursor in ("x", "12", "12:", ":3", "1:2:3", "-1:2"):
        with pytest.raises(ValidationFailed) as caught:
            changes.changes(personas.provider_admin, history, cursor=cursor)
        assert caught.value.code == "invalid_cursor"
    for limit in (0, changes.MAX_LIMIT + 1):
        with pytest.raises(ValidationFailed) as caught:
            changes.changes(personas.provider_admin, history, limit=limit)
        assert caught.value.code == "invalid_limit"
    with pytest.raises(ValidationFailed):
        changes.changes(personas.provider_admin, history, after_batch=-1)


def test_only_those_who_may_browse_read_the_log(personas, history):
    batch = history.batches.first()
    for persona in (
        personas.outsider,
        personas.consumer_cdo,
        personas.authority,
        personas.operator,
        personas.citizen,
    ):
        with pytest.raises(PermissionDenied):
            changes.changes(persona, history)
        with pytest.raises(PermissionDenied):
            changes.batch_changes(persona, batch)
    staff = make_user("provider_staff", Role.DEPT_USER, organization=personas.provider_org)
    assert "********" in changes.changes(staff, history).changes[0]["f001"]


def url(resource) -> str:
    return f"/api/v1/data/browse/{resource.pk}/changes"


def test_api_pages_the_log_by_cursor(personas, history, client_for):
    first, second, third, fourth = history.batch_ids
    client = client_for(personas.provider_admin)
    response = client.get(url(history), {"limit": 4})
    assert response.status_code == 200
    body = response.json()
    assert body["after_batch"] == 0 and body["limit"] == 4 and len(body["changes"]) == 4
    assert {c["field"] for c in body["columns"] if c["masked"]} == {"f001", "f002", "f003"}
    change = body["changes"][0]
    assert set(change) == {"batch", "rid", "op", "updated_at", "row"}
    assert change["batch"] == first and change["op"] == "insert" and change["row"]["f001"] == masked(0)
    assert change["updated_at"].endswith("Z") or change["updated_at"].endswith("+00:00")
    assert change["row"]["f005"] == "1980-01-10" and change["row"]["f004"] == "章华镇"
    assert body["next_cursor"] == f"{first}:{body['changes'][-1]['rid']}"
    everything = body["changes"]
    while body["next_cursor"]:
        body = client.get(url(history), {"limit": 4, "cursor": body["next_cursor"]}).json()
        everything += body["changes"]
    service = changes.changes(personas.provider_admin, history).changes
    assert [(c["batch"], c["rid"], c["op"]) for c in everything] == [
        (c["_batch"], c["_rid"], c["_op"]) for c in service
    ]
    tail = client.get(url(history), {"after_batch": third}).json()
    assert [(c["batch"], c["op"], c["row"]["f001"]) for c in tail["changes"]] == [
        (fourth, "insert", masked(4))
    ]
    assert tail["next_cursor"] is None
    one = client.get(url(history), {"batch": second}).json()
    assert sorted(c["op"] for c in one["changes"]) == ["insert", "update"] and one["batch"] == second
    window = client.get(url(history), {"after_batch": first, "until_batch": second}).json()
    assert window["changes"] == one["changes"] and window["until_batch"] == second


def test_api_bad_parameters(personas, history, client_for):
    client = client_for(personas.provider_admin)
    bad = client.get(url(history), {"cursor": "abc"})
    assert (
        bad.status_code == 400 and bad.json()["code"] == "invalid_cursor" and "游标" in bad.json()["message"]
    )
    for params in ({"limit": 0}, {"limit": 5000}, {"after_batch": -1}, {"after_batch": "x"}, {"batch": 0}):
        response = client.get(url(history), params)
        assert response.status_code == 422 and response.json()["code"] == "invalid_request"
    # Batches are named by id and must be applied batches of this resource.
    first, second, _third, fourth = history.batch_ids
    other = load_csv(
        personas.provider_admin, make_people(personas.provider_org, name="流动人口"), people_csv(1)
    )
    for params in (
        {"after_batch": 999_999},
        {"after_batch": other.pk},
        {"until_batch": fourth + 1000},
        {"batch": other.pk},
        {"batch": second, "after_batch": first},
    ):
        response = client.get(url(history), params)
        assert response.status_code == 400 and response.json()["code"] == "invalid_batch", params
        assert "批次" in response.json()["message"]
    stale = client.get(url(history), {"cursor": f"{other.pk}:1"})
    assert stale.status_code == 400 and stale.json()["code"] == "invalid_cursor"
    assert client.get("/api/v1/data/browse/999999/changes").status_code == 404


def test_api_denials(personas, history, client_for, anonymous, client):
    assert anonymous.get(url(history)).status_code == 401
    for persona in (personas.outsider, personas.consumer_cdo, personas.operator, personas.citizen):
        response = client_for(persona).get(url(history))
        assert response.status_code == 403 and response.json()["code"] == "forbidden"
        assert response.json()["message"]
    _key, token = create_api_key(personas.provider_admin, name="人口系统", organization=personas.provider_org)
    keyed = client.get(url(history), HTTP_AUTHORIZATION=f"Bearer {token}")
    assert keyed.status_code == 403 and keyed.json()["code"] == "user_required"
    staff = make_user("provider_staff", Role.DEPT_USER, organization=personas.provider_org)
    body = client_for(staff).get(url(history)).json()
    assert body["changes"][0]["row"]["f001"] == masked(0)


def test_the_batch_page_lists_its_changed_rows(personas, history, client_for, anonymous):
    first, _second, third, _fourth = history.batch_ids
    client = client_for(personas.provider_admin)
    page = client.get(f"/data/batches/{third}/")
    text = page.content.decode()
    assert page.status_code == 200 and 'data-testid="changes"' in text
    assert text.count('data-op="retire"') == 3 and masked(3) in text and ident(3) not in text
    assert 'data-testid="changes-next"' not in text
    # Paged 50 rows at a time: a first load of 60 rows has a second page.
    big = load_csv(
        personas.provider_admin, make_people(personas.provider_org, name="流动人口"), people_csv(60)
    )
    first_page = client.get(f"/data/batches/{big.pk}/").content.decode()
    assert first_page.count('data-op="insert"') == 50 and 'data-testid="changes-next"' in first_page
    after = changes.batch_changes(personas.provider_admin, big).next_cursor.split(":")[1]
    second_page = client.get(f"/data/batches/{big.pk}/?after={after}").content.decode()
    assert second_page.count('data-op="insert"') == 10 and 'data-testid="changes-next"' not in second_page
    # The operator sees every batch with its counts, but not the rows; other departments not even the batch.
    operator = client_for(personas.operator).get(f"/data/batches/{third}/")
    assert operator.status_code == 200 and 'data-testid="changes"' not in operator.content.decode()
    assert client_for(personas.outsider).get(f"/data/batches/{first}/").status_code == 404
    assert anonymous.get(f"/data/batches/{first}/").status_code == 302


def test_a_batch_applied_after_a_later_one_comes_after_it_in_the_log(personas, client_for):
    """An upload created first but applied after a push (it waited at its mapping step): a consumer in sync after the
    push gets the upload's changes, as-of reads follow apply order, and the batch page lists the upload's rows."""
    admin = personas.provider_admin
    resource = make_people(personas.provider_org)
    first = load_csv(admin, resource, people_csv(3))
    waiting = services.submit_file(
        admin,
        resource,
        io.BytesIO(people_csv(1, start=1).replace("张四1", "王五").encode()),
        file_name="late.csv",
    )
    push = load_csv(admin, resource, people_csv(1).replace("张三0", "李四"))
    assert waiting.pk < push.pk and waiting.status == BatchStatus.PENDING
    client = client_for(admin)
    synced = client.get(url(resource), {"after_batch": first.pk}).json()
    assert [(c["batch"], c["op"]) for c in synced["changes"]] == [(push.pk, "update")]
    late = services.apply_batch(waiting.pk)
    assert late.status == BatchStatus.APPLIED
    # The consumer asks again after the last batch it applied: the upload's change comes, after the push's.
    tail = client.get(url(resource), {"after_batch": push.pk}).json()
    assert [(c["batch"], c["op"], c["row"]["f002"]) for c in tail["changes"]] == [(late.pk, "update", "王*")]
    everything = changes.changes(admin, resource).changes
    assert [c["_batch"] for c in everything] == [first.pk] * 3 + [push.pk, late.pk]
    assert changes.changes(admin, resource, after_batch=first.pk, until_batch=push.pk).changes == [
        c for c in everything if c["_batch"] == push.pk
    ]
    assert [c["_batch"] for c in changes.batch_changes(admin, late).changes] == [late.pk]

    # As-of reads: after the push the upload's change is not there yet; after the upload both are.
    def names(as_of: int) -> dict[int, str]:
        body = client.get(f"/api/v1/data/browse/{resource.pk}/rows", {"as_of_batch": as_of}).json()
        return {row["_rid"]: row["f002"] for row in body["rows"]}

    assert names(first.pk) == {1: "张**", 2: "张**", 3: "张**"}
    assert names(push.pk) == {1: "李*", 2: "张**", 3: "张**"}
    assert names(late.pk) == {1: "李*", 2: "王*", 3: "张**"}
    page = browse.browse(admin, resource, BrowseQuery(as_of_batch=push.pk))
    assert page.total == 3 and [row["f002"] for row in page.rows] == ["李*", "张**", "张**"]
    # The data page's as-of choice lists the batches as applied, the last first (not by id).
    assert [b.pk for b in browse.applied_batches(resource, page.schema)] == [late.pk, push.pk, first.pk]
    listed = client.get(f"/data/browse/{resource.pk}/").content.decode()
    assert (
        listed.index(f'value="{late.pk}"')
        < listed.index(f'value="{push.pk}"')
        < listed.index(f'value="{first.pk}"')
    )
