"""Pages under /catalog/exchange/: the hub, the import form with its error table and downloads, the exports."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from tongshu.accounts.roles import Role
from tongshu.accounts.tests.factories import make_user
from tongshu.catalog.models import Resource
from tongshu.catalog.tests.factories import make_resource
from tongshu.standards.tests.factories import make_category

from .exchange_fixtures import items_for, resource_row, valid_workbook, workbook_bytes

BASE = "/catalog/exchange/"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def categories(db):
    make_category("101", "人口")


def post_file(client, data: bytes, name: str = "目录.xlsx"):
    return client.post(f"{BASE}import/", {"file": SimpleUploadedFile(name, data, content_type=XLSX)})


def test_hub_shows_what_each_role_may_do(personas, client_for) -> None:
    page = client_for(personas.provider_admin).get(BASE)
    assert page.status_code == 200
    html = page.content.decode()
    assert "导入部门目录" in html and "下载模板" in html and "导出本部门目录" in html
    assert f'href="{BASE}import/"' in html and f'href="{BASE}template.xlsx"' in html
    assert f'href="{BASE}county/"' not in html
    authority = client_for(personas.authority).get(BASE).content.decode()
    assert f'href="{BASE}county/"' in authority and f'href="{BASE}import/"' not in authority
    clerk = client_for(personas.consumer_user).get(BASE).content.decode()
    assert f'href="{BASE}import/"' not in clerk and f'href="{BASE}export/"' in clerk


def test_hub_refuses_public_and_anonymous(personas, client_for, anonymous) -> None:
    assert client_for(personas.citizen).get(BASE).status_code == 403
    response = anonymous.get(BASE)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_import_page_success_summary(categories, personas, client_for) -> None:
    client = client_for(personas.provider_cdo)
    assert client.get(f"{BASE}import/").status_code == 200
    response = post_file(client, valid_workbook(2))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="import-success"' in html and "导入测试资源1" in html and "导入测试资源2" in html
    assert Resource.objects.count() == 2


def test_import_page_shows_errors_and_offers_them_for_download(categories, personas, client_for) -> None:
    client = client_for(personas.provider_admin)
    data = workbook_bytes([resource_row(1), resource_row(2, 共享类型="随便")], [*items_for(1), *items_for(2)])
    response = post_file(client, data)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-testid="import-errors"' in html and "未保存任何内容" in html
    assert "信息资源" in html and "共享类型" in html and "“随便”不是有效的共享类型" in html
    assert Resource.objects.count() == 0

    as_csv = client.get(f"{BASE}import/errors.csv")
    assert as_csv.status_code == 200 and as_csv["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert rows[0] == ["工作表", "行号", "列名", "错误原因"]
    assert rows[1][:3] == ["信息资源", "3", "共享类型"]
    as_xlsx = client.get(f"{BASE}import/errors.xlsx")
    ws = load_workbook(io.BytesIO(as_xlsx.content)).active
    assert [cell.value for cell in ws[2]][:3] == ["信息资源", 3, "共享类型"]
    assert client.get(f"{BASE}import/errors.pdf").status_code == 404
    # Another user has no errors to download.
    assert client_for(personas.provider_cdo).get(f"{BASE}import/errors.csv").status_code == 404


@pytest.mark.parametrize(
    "data, status",
    [("名称\n人口库\n".encode("gbk"), 400), (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, 400)],
    ids=["gbk-csv", "png"],
)
def test_import_page_refuses_non_xlsx(categories, personas, client_for, data, status) -> None:
    response = post_file(client_for(personas.provider_admin), data)
    assert response.status_code == status
    assert "不是有效的 XLSX" in response.content.decode()
    assert Resource.objects.count() == 0


def test_import_page_refuses_oversize_with_413(personas, client_for, settings) -> None:
    settings.CATALOG_IMPORT_MAX_MB = 1
    response = post_file(client_for(personas.provider_admin), b"PK" + b"\0" * (1200 * 1024))
    assert response.status_code == 413
    assert "文件过大：上传的文件不能超过 1 MB" in response.content.decode()


def test_import_page_is_refused_to_others(personas, client_for, anonymous) -> None:
    clerk = make_user("gaj_clerk", Role.DEPT_USER, organization=personas.provider_org)
    for user in (clerk, personas.authority, personas.citizen):
        assert client_for(user).get(f"{BASE}import/").status_code == 403
        assert post_file(client_for(user), valid_workbook(1)).status_code == 403
    assert anonymous.get(f"{BASE}import/").status_code == 302
    assert Resource.objects.count() == 0


def test_template_and_department_export_pages(categories, personas, client_for, anonymous) -> None:
    make_resource(personas.provider_org, name="户籍人口")
    client = client_for(personas.provider_admin)
    template = client.get(f"{BASE}template.xlsx")
    assert template.status_code == 200 and template["Content-Type"] == XLSX
    own = client.get(f"{BASE}export/")
    assert own.status_code == 200 and "attachment" in own["Content-Disposition"]
    ws = load_workbook(io.BytesIO(own.content))["信息资源"]
    assert ws["C2"].value == "户籍人口"
    assert client.get(f"{BASE}export/?drafts=1").status_code == 200
    other = f"{BASE}export/?organization={personas.provider_org.pk}"
    assert client_for(personas.authority).get(other).status_code == 200
    assert client_for(personas.consumer_user).get(other).status_code == 403
    assert client_for(personas.authority).get(f"{other}&drafts=1").status_code == 403
    assert client_for(personas.citizen).get(f"{BASE}export/").status_code == 403
    assert client_for(personas.citizen).get(f"{BASE}template.xlsx").status_code == 403
    assert anonymous.get(f"{BASE}export/").status_code == 302


def test_county_pages(categories, personas, client_for, anonymous) -> None:
    make_resource(personas.provider_org, name="户籍人口")
    make_resource(personas.consumer_org, name="低保对象")
    client = client_for(personas.authority)
    page = client.get(f"{BASE}county/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "华容县公安局" in html and "华容县民政局" in html
    assert client.get(f"{BASE}county/export.xlsx").status_code == 200
    as_json = client.get(f"{BASE}county/export.json")
    assert as_json.status_code == 200 and as_json.json()["catalog"]["resource_count"] == 2
    assert client.get(f"{BASE}county/export.csv").status_code == 404
    for user in (personas.provider_cdo, personas.consumer_user):
        assert client_for(user).get(f"{BASE}county/").status_code == 403
        assert client_for(user).get(f"{BASE}county/export.json").status_code == 403
    assert anonymous.get(f"{BASE}county/").status_code == 302


def test_import_page_stops_an_upload_just_over_the_limit(personas, client_for, settings) -> None:
    settings.CATALOG_IMPORT_MAX_MB = 1
    response = post_file(client_for(personas.provider_admin), b"PK" + b"\0" * (1024 * 1024 + 10 * 1024))
    assert response.status_code == 413
    assert "文件过大" in response.content.decode()


def test_import_page_still_checks_csrf(categories, personas) -> None:
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(personas.provider_admin)
    response = post_file(client, valid_workbook(1))
    assert response.status_code == 403
    assert Resource.objects.count() == 0
