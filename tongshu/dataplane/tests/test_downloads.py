"""Downloads: CSV with BOM, XLSX and JSON, streamed page by page, masked unless revealed with a reason; audited."""

from __future__ import annotations

import csv
import io
import json

import pytest
from openpyxl import load_workbook

from tongshu.core.errors import PermissionDenied, ValidationFailed
from tongshu.dataplane import downloads, store
from tongshu.dataplane.tests.helpers import load_csv, make_people, people_csv
from tongshu.security.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(personas):
    resource = make_people(personas.provider_org)
    load_csv(personas.provider_admin, resource, people_csv(45))
    return resource


def body(download):
    return b"".join(download.chunks())


def test_csv_has_bom_labels_and_masked_values(personas, people):
    download = downloads.start_download(personas.provider_admin, people, "csv")
    data = body(download)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["公民身份号码", "姓名", "联系电话", "所属乡镇", "出生日期"]
    assert len(rows) == 46 and "********" in rows[1][0] and "****" in rows[1][2]
    entry = AuditEntry.objects.filter(action="dataplane.data_downloaded").latest("pk")
    assert entry.details["format"] == "csv" and entry.details["unmasked"] is False


def test_json_and_xlsx(personas, people):
    records = json.loads(body(downloads.start_download(personas.provider_cdo, people, "json")))
    assert len(records) == 45 and records[0]["f004"] == "章华镇" and records[0]["f005"].startswith("19")
    workbook = load_workbook(
        io.BytesIO(body(downloads.start_download(personas.provider_cdo, people, "xlsx")))
    )
    sheet = workbook.active
    assert sheet.max_row == 46 and sheet.cell(1, 1).value == "公民身份号码"


def test_unmasked_needs_the_right_and_a_reason(personas, people):
    with pytest.raises(ValidationFailed):
        downloads.start_download(personas.provider_admin, people, "csv", unmasked=True)
    download = downloads.start_download(
        personas.provider_admin, people, "csv", unmasked=True, reason="报送省厅"
    )
    assert "*" not in body(download).decode()
    from tongshu.accounts.roles import Role
    from tongshu.accounts.tests.factories import make_user

    staff = make_user("provider_staff", Role.DEPT_USER, organization=personas.provider_org)
    assert downloads.start_download(staff, people, "csv").masked  # staff download masked
    with pytest.raises(PermissionDenied):
        downloads.start_download(staff, people, "csv", unmasked=True, reason="报送")
    for persona in (personas.outsider, personas.consumer_cdo, personas.operator, personas.citizen):
        with pytest.raises(PermissionDenied):
            downloads.start_download(persona, people, "csv")


def test_streaming_reads_page_by_page(personas, people, monkeypatch):
    """A large table never materializes: the response iterates keyset pages, and the first bytes go out before the
    last page is read."""
    calls = []
    original = store.iter_pages

    def spy(*args, **kwargs):
        for page in original(*args, **kwargs):
            calls.append(len(page))
            yield page

    monkeypatch.setattr(store, "iter_pages", spy)
    download = downloads.start_download(personas.provider_admin, people, "csv")
    download.page_size = 10
    chunks = download.chunks()
    header = next(chunks)
    assert header.startswith(b"\xef\xbb\xbf") and calls == []
    first = next(chunks)
    assert calls == [10] and first.count(b"\n") == 10
    rest = list(chunks)
    assert calls == [10, 10, 10, 10, 5] and len(rest) == 4


def test_keyset_pages_cover_every_row_once(personas, people):
    from tongshu.dataplane.evolution import read_schema

    rids = [row["_rid"] for page in store.iter_pages(read_schema(people), page_size=7) for row in page]
    assert len(rids) == 45 and len(set(rids)) == 45 and rids == sorted(rids)


def test_download_pages(personas, people, client_for):
    client = client_for(personas.provider_admin)
    response = client.get(f"/data/browse/{people.pk}/download.csv")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert b"".join(response.streaming_content).startswith(b"\xef\xbb\xbf")
    unmasked = client.post(f"/data/browse/{people.pk}/download.csv", {"unmasked": "1", "reason": "核对"})
    assert b"*" not in b"".join(unmasked.streaming_content)
    assert client.get(f"/data/browse/{people.pk}/download.exe").status_code == 400
    assert client_for(personas.outsider).get(f"/data/browse/{people.pk}/download.csv").status_code == 403
