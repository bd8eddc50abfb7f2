"""Loading data through the services: upload, push with idempotency, permissions, bad input leaves data unchanged."""

from __future__ import annotations

import io

import pytest

from tongshu.catalog.tests.factories import make_resource
from tongshu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tongshu.dataplane import services, store
from tongshu.dataplane.models import Batch, BatchStatus
from tongshu.dataplane.schema import schema_for_version

pytestmark = pytest.mark.django_db
ITEMS = [
    ("公民身份号码", "C", "C18", True, True, True),
    ("姓名", "C", "C..50", False, True, True),
    ("出生日期", "D", "D8", False, False, False),
]
CSV = "公民身份号码,姓名,出生日期\n11010519491231002X,张三,1949-12-31\n430623199001011237,李四,1990-01-01\n"


@pytest.fixture
def resource(personas):
    resource = make_resource(personas.provider_org, name="户籍人口基本信息", items=ITEMS)
    from tongshu.catalog.models import InfoItem
    from tongshu.standards.tests.factories import make_data_element

    element = make_data_element("居民身份证号码", length="C18", check_rule="resident_id")
    # Published items are immutable through the ORM; the fixture binds the element as the catalog would have.
    InfoItem.objects.filter(version=resource.published_version, name="公民身份号码").update(
        data_element=element
    )
    return resource


def live_names(resource):
    return sorted(r["f002"] for r in store.read_rows(schema_for_version(resource.published_version)))


def test_upload_and_apply(personas, resource):
    batch = services.submit_file(
        personas.provider_admin, resource, io.BytesIO(CSV.encode()), file_name="人口.csv"
    )
    batch = services.apply_batch(batch.pk)
    assert batch.status == BatchStatus.APPLIED and batch.inserted == 2
    assert live_names(resource) == ["张三", "李四"]
    # Applying again only reconciles.
    assert services.apply_batch(batch.pk).inserted == 2
    assert live_names(resource) == ["张三", "李四"]


def test_other_department_and_plain_user_cannot_load(personas, resource):
    # Another department does not see the resource's batches: it is not found, as in the batch listing.
    for persona in (personas.outsider, personas.consumer_user, personas.authority):
        with pytest.raises(NotFound):
            services.submit_file(persona, resource, io.BytesIO(CSV.encode()), file_name="x.csv")
        with pytest.raises(NotFound):
            services.push_rows(persona, resource, [{"姓名": "张三"}], idempotency_key="x")
    # The operator sees them but may not load another department's data.
    with pytest.raises(PermissionDenied):
        services.submit_file(personas.operator, resource, io.BytesIO(CSV.encode()), file_name="x.csv")
    with pytest.raises(PermissionDenied):
        services.push_rows(personas.operator, resource, [{"姓名": "张三"}], idempotency_key="x")
    assert not Batch.objects.exists() and live_names(resource) == []


def test_bad_rows_reject_whole_batch_and_keep_data(personas, resource):
    services.apply_batch(
        services.submit_file(
            personas.provider_admin, resource, io.BytesIO(CSV.encode()), file_name="a.csv"
        ).pk
    )
    bad = "公民身份号码,姓名,出生日期\n11010519491231002X,张三改,1949-12-31\n123456,坏行,2020-01-01\n"
    batch = services.apply_batch(
        services.submit_file(
            personas.provider_admin, resource, io.BytesIO(bad.encode()), file_name="b.csv"
        ).pk
    )
    assert batch.status == BatchStatus.REJECTED and batch.bad_rows == 1 and batch.reason_code == "bad_rows"
    assert batch.error_sample[0]["row"] == 3 and batch.error_sample[0]["label"] == "公民身份号码"
    assert live_names(resource) == ["张三", "李四"]


def test_missing_key_column_and_unsupported_format(personas, resource):
    batch = services.submit_file(
        personas.provider_admin, resource, io.BytesIO("姓名\n张三\n".encode()), file_name="c.csv"
    )
    batch = services.apply_batch(batch.pk)
    assert batch.status == BatchStatus.REJECTED and "主键" in batch.message
    assert batch.reason_code == "missing_key_column"
    with pytest.raises(ValidationFailed):
        services.submit_file(personas.provider_admin, resource, io.BytesIO(b"x"), file_name="c.exe")


def test_push_is_idempotent(personas, resource):
    from tongshu.accounts.services import create_api_key

    key, _token = create_api_key(personas.provider_admin, name="人口系统", organization=personas.provider_org)
    rows = [{"公民身份号码": "11010519491231002X", "姓名": "张三", "出生日期": "1949-12-31"}]
    first = services.push_rows(key, resource, rows, idempotency_key="k1")
    again = services.push_rows(key, resource, rows, idempotency_key="k1")
    assert first.pk == again.pk and first.status == BatchStatus.APPLIED
    with pytest.raises(Conflict):
        services.push_rows(key, resource, [{**rows[0], "姓名": "别人"}], idempotency_key="k1")
    with pytest.raises(Conflict):
        services.push_rows(key, resource, rows, idempotency_key="k1", mode="replace")
    assert live_names(resource) == ["张三"]


def test_upload_idempotency_key_includes_the_mode(personas, resource):
    def submit(mode):
        return services.submit_file(
            personas.provider_admin,
            resource,
            io.BytesIO(CSV.encode()),
            file_name="a.csv",
            mode=mode,
            idempotency_key="u1",
        )

    first = services.apply_batch(submit("upsert").pk)
    assert submit("upsert").pk == first.pk
    with pytest.raises(Conflict) as caught:
        submit("replace")
    assert caught.value.code == "idempotency_conflict" and "加载方式" in caught.value.message
    assert Batch.objects.count() == 1 and live_names(resource) == ["张三", "李四"]


def test_push_refuses_unknown_and_doubled_keys_before_any_batch(personas, resource):
    rows = [{"公民身份号码": "11010519491231002X", "姓名": "张三", "phon": "13800000000", "备注": "x"}]
    with pytest.raises(ValidationFailed) as caught:
        services.push_rows(personas.provider_admin, resource, rows, idempotency_key="k1")
    assert caught.value.code == "unknown_fields" and "phon、备注" in caught.value.message
    with pytest.raises(ValidationFailed) as caught:
        services.push_rows(
            personas.provider_admin, resource, [{**rows[0], "f002": "李四"}], idempotency_key="k1"
        )
    assert caught.value.code == "unknown_fields"
    doubled = [{"公民身份号码": "11010519491231002X", "姓名": "张三", "f002": "李四"}]
    with pytest.raises(ValidationFailed) as caught:
        services.push_rows(personas.provider_admin, resource, doubled, idempotency_key="k1")
    assert caught.value.code == "duplicate_fields"
    assert not Batch.objects.exists() and live_names(resource) == []
