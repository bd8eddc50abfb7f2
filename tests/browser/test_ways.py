"""The other ways in, in Chromium at 1366×768: pull sources with their runs, an e-form with the engine's findings
beside the fields, a collection task and its public form with the personal-information notice (第十二条, 第十九条)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tongshu.dataplane import collection
from tongshu.dataplane.sources import services as sources
from tongshu.dataplane.tests.sources_kit import Upstream, small_resource

from .conftest import screenshot, submit_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
MAPPING = {"id": "f001", "name": "f002", "day": "f003", "people": "f004"}


@pytest.fixture
def data_dirs(tmp_path: Any, settings: Any) -> Any:
    from tongshu.dataplane import store

    settings.DATA_URL = f"sqlite:///{tmp_path / 'data.sqlite3'}"
    settings.VAR_DIR = tmp_path
    settings.PULL_ALLOWED_HOSTS = ["127.0.0.1", "10.0.0.0/24"]  # the test interface; a department database
    yield
    store.dispose_engines()


def test_ways_in_journey(page: Any, personas: Any, data_dirs: Any, captcha_test_mode: Any) -> None:
    resource = small_resource(personas.provider_org, name="村级综合服务点名录")
    admin = personas.provider_admin
    with Upstream() as upstream:
        good = sources.save_source(
            admin,
            resource,
            {
                "kind": "http",
                "name": "县政务服务网下发接口",
                "url": upstream.base + "/pages",
                "rows_path": "$.data.items",
                "page_param": "page",
                "size_param": "size",
                "page_size": 2,
                "mapping": MAPPING,
                "every_minutes": 60,
                "auth_header_name": "X-Token",
            },
            auth_value="s3cret-token",
        )
        sources.run_source(admin, good)
        broken = sources.save_source(
            admin,
            resource,
            {
                "kind": "http",
                "name": "旧版接口（故障）",
                "url": upstream.base + "/garbage",
                "cron": "0 2 * * *",
            },
        )
        sources.run_source(admin, broken)
    sources.save_source(
        admin,
        resource,
        {
            "kind": "database",
            "name": "民政业务库",
            "query": "SELECT code, title, day, headcount FROM service_points",
            "incremental_column": "version",
            "mapping": {"code": "f001", "title": "f002"},
            "cron": "30 1 * * *",
        },
        database_url="postgresql+psycopg://reader:pw@10.0.0.8/minzheng",
    )

    page.goto("/accounts/login/")
    submit_login(page, admin.username, personas.password)
    page.goto("/data/ways/sources/")
    assert page.get_by_text("县政务服务网下发接口").is_visible()
    assert page.locator("[data-testid=menu]").get_by_text("数据归集").is_visible()
    screenshot(page, "ways-sources")
    page.get_by_text("旧版接口（故障）").click()
    assert page.get_by_text("上游接口返回的内容不是有效的 JSON").first.is_visible()
    screenshot(page, "ways-source-failed-run")
    page.goto(f"/data/ways/sources/{good.pk}/")
    screenshot(page, "ways-source-detail")
    page.goto(f"/data/ways/sources/{good.pk}/edit/")
    screenshot(page, "ways-source-form")

    # E-form: the engine's findings beside the fields, then a good save.
    page.goto(f"/data/ways/eforms/{resource.pk}/new/")
    page.fill("input[name=f001]", "A100")
    page.fill("input[name=f004]", "十二")
    with page.expect_navigation():
        page.click("[data-testid=eform] button[type=submit]")
    assert page.get_by_text("不是整数").is_visible()
    screenshot(page, "ways-eform-errors")
    page.fill("input[name=f002]", "东山镇东山村综合服务点")
    page.fill("input[name=f004]", "12")
    with page.expect_navigation():
        page.click("[data-testid=eform] button[type=submit]")
    assert page.get_by_text("A100").is_visible()
    screenshot(page, "ways-eform-records")

    # Collection task: published by the department, filled in by a citizen, reviewed.
    task = collection.create_task(
        admin,
        resource,
        {
            "title": "村级综合服务点信息征集",
            "purpose": "完善全县村级综合服务点名录，方便群众就近办事。",
            "fields": ["f001", "f002", "f003", "f004"],
            "deadline": timezone.now() + timedelta(days=14),
            "collector": "华容县公安局",
            "retention": "自提交之日起保存三年，期满后删除",
            "contact": "0730-4221234（工作日 8:30–17:30）",
        },
    )
    page.goto(f"/data/ways/collection/new/?resource={resource.pk}")
    screenshot(page, "ways-collection-new")
    public = page.context.browser.new_context(
        viewport={"width": 1366, "height": 768}, locale="zh-CN", base_url=page.url.split("/data/")[0]
    )
    citizen = public.new_page()
    citizen.goto(f"/collect/{task.token}/")
    assert citizen.locator("[data-testid=pi-notice]").is_visible()
    citizen.fill("input[name=f001]", "C200")
    citizen.fill("input[name=f002]", "治河渡镇便民服务点")
    citizen.fill("input[name=f003]", "2024-05-01")
    citizen.fill("input[name=f004]", "6")
    citizen.fill("input[name=captcha_1]", "PASSED")
    with citizen.expect_navigation():
        citizen.click("[data-testid=collect-form] button[type=submit]")
    assert citizen.get_by_text("请先阅读并同意个人信息处理告知").is_visible()
    screenshot(citizen, "ways-collect-public-form")
    citizen.check("input[name=accept_notice]")
    citizen.fill("input[name=captcha_1]", "PASSED")
    with citizen.expect_navigation():
        citizen.click("[data-testid=collect-form] button[type=submit]")
    assert citizen.get_by_text("感谢您，信息已提交").is_visible()
    screenshot(citizen, "ways-collect-done")
    public.close()

    page.goto(f"/data/ways/collection/{task.pk}/")
    assert page.get_by_text("治河渡镇便民服务点").is_visible()
    screenshot(page, "ways-collection-review")
    with page.expect_navigation():
        page.get_by_role("button", name="采用并加载").click()
    assert page.get_by_text("数据已加载").is_visible()
    page.goto("/data/ways/collection/")
    screenshot(page, "ways-collection-tasks")


def test_collection_review_masks_sensitive_items_until_an_audited_reveal(
    page: Any, personas: Any, data_dirs: Any, captcha_test_mode: Any
) -> None:
    from tongshu.dataplane.tests.helpers import make_people, make_task, person_id
    from tongshu.security.models import AuditEntry

    resource = make_people(personas.provider_org, name="志愿者登记信息")
    task = make_task(personas.provider_admin, resource)
    resident_id = person_id("19800110", 7)
    values = {
        "f001": resident_id,
        "f002": "欧阳修",
        "f003": "13812345678",
        "f004": "章华镇",
        "f005": "1980-01-10",
    }
    submission = collection.submit(task.token, values, client_address="203.0.113.5", accepted_notice=True)

    page.goto("/accounts/login/")
    submit_login(page, personas.provider_admin.username, personas.password)
    page.goto(f"/data/ways/collection/{task.pk}/")
    table = page.locator("[data-testid=submissions]")
    assert table.get_by_text("欧**").is_visible() and table.get_by_text("138****5678").is_visible()
    assert resident_id not in table.inner_text() and "欧阳修" not in table.inner_text()
    table.get_by_text("原文").click()
    screenshot(page, "ways-collection-review-masked")
    table.get_by_placeholder("查看事由").fill("核对志愿者身份")
    with page.expect_navigation():
        table.get_by_role("button", name="查看").click()
    card = page.locator("[data-testid=submission]")
    assert card.get_by_text(resident_id).is_visible() and card.get_by_text("欧阳修").is_visible()
    screenshot(page, "ways-collection-submission-revealed")
    assert AuditEntry.objects.filter(action="dataplane.data_revealed").count() == 1
    page.goto(f"/data/ways/collection/submissions/{submission.pk}/")
    assert page.locator("[data-testid=submission]").get_by_text("欧**").is_visible()
    screenshot(page, "ways-collection-submission")


def test_geometries_show_as_shapes_on_the_data_page(page: Any, personas: Any, data_dirs: Any) -> None:
    """A geometry item (data element 几何) is drawn as a small outline beside its folded GeoJSON text."""
    from tongshu.dataplane.tests.helpers import geometry_resource, load_csv
    from tongshu.demo.spatial import townships

    areas = geometry_resource(
        personas.provider_org, name="乡镇行政区域（示意）", key="乡镇代码", shape="区域范围"
    )
    lines = ["乡镇代码,区域范围"]
    for township in townships()[:6]:
        lines.append(f'{township["township_code"]},"{township["area"].replace(chr(34), chr(34) * 2)}"')
    load_csv(personas.provider_admin, areas, "\n".join(lines) + "\n")

    page.goto("/accounts/login/")
    submit_login(page, personas.provider_admin.username, personas.password)
    page.goto(f"/data/browse/{areas.pk}/")
    shapes = page.locator("[data-testid=shape] svg path")
    shapes.first.wait_for()
    assert shapes.count() == 6
    box = shapes.first.bounding_box()
    assert box is not None and box["width"] > 20 and box["height"] > 20
    page.locator("[data-testid=shape] details summary").first.click()
    assert '"Polygon"' in page.locator("[data-testid=shape] code").first.inner_text()
    screenshot(page, "data-browse-shapes")
