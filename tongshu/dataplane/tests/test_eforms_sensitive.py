"""Sensitive items in the electronic form (review P1-5): editing a record shows them masked, as the data page does;
their original values only for those who may reveal them, with a reason, written to the audit log; saving never
writes the masked text over the stored value."""

from __future__ import annotations

import pytest

from tongshu.core.errors import PermissionDenied, ValidationFailed
from tongshu.dataplane import eforms, permissions, store
from tongshu.dataplane.schema import schema_for_version
from tongshu.security.models import AuditEntry

from .helpers import make_people, person_id, tab_bar

pytestmark = pytest.mark.django_db
ID = person_id("19800110", 7)
PERSON = {"f001": ID, "f002": "欧阳修", "f003": "13812345678", "f004": "章华镇", "f005": "1980-01-10"}
REVEALED = "dataplane.data_revealed"


@pytest.fixture
def people(personas):
    resource = make_people(personas.provider_org)
    eforms.save_record(personas.provider_admin, resource, PERSON)
    return resource


def stored(resource):
    [row] = store.read_rows(schema_for_version(resource.published_version))
    return {name: row[name] for name in ("f001", "f002", "f003", "f004")}


def rid_of(personas, resource):
    return eforms.list_records(personas.provider_admin, resource)[0][0]["_rid"]


def test_opening_a_record_masks_sensitive_items_and_writes_no_audit(personas, people):
    rows, _ = eforms.list_records(personas.provider_admin, people)
    assert rows[0]["f001"] == ID[:6] + "********" + ID[-4:] and rows[0]["f002"] == "欧**"
    assert rows[0]["f003"] == "138****5678" and rows[0]["f004"] == "章华镇"
    opened = eforms.open_record(personas.provider_admin, people, rows[0]["_rid"])
    assert not opened.revealed and opened.can_reveal
    assert {opened.initial[name] for name in ("f001", "f002", "f003")} == {""}
    assert opened.placeholders == {"f001": rows[0]["f001"], "f002": "欧**", "f003": "138****5678"}
    assert opened.initial["f004"] == "章华镇" and ID not in str(opened)
    assert not AuditEntry.objects.filter(action=REVEALED).exists()


def test_revealing_for_editing_needs_the_right_and_a_reason_and_is_audited(personas, people):
    rid = rid_of(personas, people)
    with pytest.raises(ValidationFailed) as caught:
        eforms.open_record(personas.provider_cdo, people, rid, reveal_reason=" ")
    assert caught.value.code == "reason_required"
    opened = eforms.open_record(personas.provider_cdo, people, rid, reveal_reason="更正户籍地址")
    assert opened.revealed and opened.initial["f001"] == ID and opened.initial["f002"] == "欧阳修"
    entry = AuditEntry.objects.get(action=REVEALED)
    assert entry.actor_id == personas.provider_cdo.pk and entry.details["record_key"] == {"f001": ID}
    assert entry.details["reason"] == "更正户籍地址" and entry.details["purpose"] == "eform_edit"
    for persona in (personas.outsider, personas.consumer_cdo, personas.consumer_user, personas.operator):
        with pytest.raises(PermissionDenied):
            eforms.open_record(persona, people, rid, reveal_reason="看看")
        with pytest.raises(PermissionDenied):
            eforms.open_record(persona, people, rid)
    assert AuditEntry.objects.filter(action=REVEALED).count() == 1


def test_an_editor_who_may_not_reveal_edits_other_items_and_keeps_the_masked_ones(
    personas, people, monkeypatch
):
    """Should the right to edit and the right to reveal ever part (a policy of the operator), the form stays usable:
    masked items stay masked and keep their values."""
    monkeypatch.setattr(permissions, "can_reveal_data", lambda user, resource: False)
    rid = rid_of(personas, people)
    opened = eforms.open_record(personas.provider_admin, people, rid)
    assert not opened.can_reveal and opened.initial["f001"] == ""
    with pytest.raises(PermissionDenied):
        eforms.open_record(personas.provider_admin, people, rid, reveal_reason="核对信息")
    assert not AuditEntry.objects.filter(action=REVEALED).exists()
    sent = {**opened.initial, "f004": "万庾镇"}  # the masked items come back empty
    eforms.save_record(personas.provider_admin, people, sent, rid=rid, keep_blank_masked=True)
    assert stored(people) == {"f001": ID, "f002": "欧阳修", "f003": "13812345678", "f004": "万庾镇"}


def test_the_masked_text_never_overwrites_the_stored_value(personas, people):
    rid = rid_of(personas, people)
    masked = eforms.list_records(personas.provider_admin, people)[0][0]
    # An API client that sends back what it was shown: every masked item keeps its value.
    sent = {**PERSON, **{name: masked[name] for name in ("f001", "f002", "f003")}, "f004": "梅田湖镇"}
    eforms.save_record(personas.provider_admin, people, sent, rid=rid)
    assert stored(people) == {"f001": ID, "f002": "欧阳修", "f003": "13812345678", "f004": "梅田湖镇"}
    # A complete new value replaces it; an empty one clears it when the form was shown unmasked.
    eforms.save_record(personas.provider_admin, people, {**PERSON, "f002": "欧阳询", "f003": ""}, rid=rid)
    assert stored(people)["f002"] == "欧阳询" and stored(people)["f003"] is None


def test_pages(personas, people, client_for, anonymous):
    client = client_for(personas.provider_admin)
    rid = rid_of(personas, people)
    url = f"/data/ways/eforms/{people.pk}/{rid}/"
    listing = client.get(f"/data/ways/eforms/{people.pk}/").content.decode()
    assert ID not in listing and "欧阳修" not in listing and "欧**" in listing
    page = client.get(url)
    body = page.content.decode()
    assert page.status_code == 200 and ID not in body and "欧阳修" not in body and "13812345678" not in body
    assert "138****5678" in body and "显示原值" in body and "章华镇" in body
    assert not AuditEntry.objects.filter(action=REVEALED).exists()
    refused = client.post(url, {"reveal": "1", "reason": ""})
    assert refused.status_code == 400 and ID not in refused.content.decode()
    assert not AuditEntry.objects.filter(action=REVEALED).exists()
    revealed = client.post(url, {"reveal": "1", "reason": "更正手机号"})
    body = revealed.content.decode()
    assert revealed.status_code == 200 and ID in body and "欧阳修" in body and 'name="revealed"' in body
    # The reveal, refused or granted, stays under the data page's e-form tab.
    assert tab_bar(refused)[1] == tab_bar(revealed)[1] == tab_bar(page)[1] == "eform"
    assert AuditEntry.objects.filter(action=REVEALED, actor=personas.provider_admin).count() == 1
    # Saving the masked form: the empty masked items keep their values, the rest changes.
    form = {"f001": "", "f002": "", "f003": "", "f004": "万庾镇", "f005": "1980-01-10"}
    assert client.post(url, form).status_code == 302
    assert stored(people) == {"f001": ID, "f002": "欧阳修", "f003": "13812345678", "f004": "万庾镇"}
    # Saving the revealed form with a new phone number.
    changed = {**PERSON, "f003": "13900001111", "revealed": "1"}
    assert client.post(url, changed).status_code == 302
    assert stored(people)["f003"] == "13900001111"
    for persona in (personas.outsider, personas.consumer_user, personas.consumer_cdo):
        other = client_for(persona)
        assert other.get(url).status_code == 404
        denied = other.post(url, {"reveal": "1", "reason": "看看"})
        assert denied.status_code == 404 and tab_bar(denied) == ([], "")
    assert anonymous.get(url).status_code == 302
    assert AuditEntry.objects.filter(action=REVEALED).count() == 1


def test_api_edit_keeps_masked_items_sent_back_masked(personas, people, client_for):
    rid = rid_of(personas, people)
    masked = eforms.list_records(personas.provider_admin, people)[0][0]
    body = {**PERSON, "f001": masked["f001"], "f003": masked["f003"], "f004": "治河渡镇"}
    answer = client_for(personas.provider_admin).put(
        f"/api/v1/data/ways/eforms/{people.pk}/records/{rid}", body, content_type="application/json"
    )
    assert answer.status_code == 200, answer.json()
    assert stored(people) == {"f001": ID, "f002": "欧阳修", "f003": "13812345678", "f004": "治河渡镇"}
