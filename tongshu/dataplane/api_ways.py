"""`/api/v1/data/ways`: the other ways in, for a signed-in person (第十二条, 第十九条).

Pull sources (`api_sources`: create, change, delete, run now, recent runs; credentials are write-only, answers only
say whether they are set), electronic-form records (here: save, retire; the engine's findings come back as `details`
by field), and collection tasks (`api_collection`: create, change a draft, publish, close; submissions, approve,
reject with a reason). Every endpoint calls the same services as the pages, which decide who may do what: the
provider's data administrator or CDO. Errors are `{"code", "message"}` in Chinese; anonymous callers get 401,
application keys 403, other departments 404.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Body, Router, Schema

from tongshu.core.api_auth import calling_user
from tongshu.core.errors import ValidationFailed

from . import eforms
from .api import ERRORS, BatchOut, batch_out
from .api_collection import router as collection_router
from .api_sources import router as sources_router
from .services import published_schema
from .views_ways import loadable_resource

router = Router(tags=["data-ways"])
router.add_router("", sources_router)
router.add_router("", collection_router)


# --- electronic forms --------------------------------------------------------------------------------------------
class RetireIn(Schema):
    reason: str = ""


def _form_text(value: Any) -> str:
    """A JSON value as the text the form would submit (booleans 1/0, null empty)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value).strip()


def _save(request: HttpRequest, resource_id: int, values: dict[str, Any], rid: int | None) -> Any:
    user = calling_user(request)
    resource = loadable_resource(user, resource_id)
    schema = published_schema(resource)
    labels = {column.field_name: column.label for column in schema.columns}
    unknown = sorted(name for name in values if name not in labels)
    if unknown:
        raise ValidationFailed(
            "请求中包含资源没有的信息项：" + "、".join(unknown),
            code="unknown_field",
            details=[{"field": name, "label": "", "reason": "没有该信息项"} for name in unknown],
        )
    try:
        batch = eforms.save_record(
            user, resource, {name: _form_text(values.get(name)) for name in labels}, rid=rid
        )
    except ValidationFailed as exc:
        if isinstance(exc.details, dict):
            exc.details = [
                {"field": field, "label": labels.get(field, ""), "reason": reason}
                for field, reasons in exc.details.items()
                for reason in reasons
            ]
        raise
    return batch_out(batch)


@router.post(
    "/eforms/{resource_id}/records", response={200: BatchOut, **ERRORS}, summary="电子表单：新增记录"
)
def eform_add(request: HttpRequest, resource_id: int, values: Body[dict[str, Any]]) -> Any:
    """Body: the record's values by field name (`{"f001": "C001", …}`). Checked by the same engine as uploads; when
    not valid, 400 `invalid_record` with `details` = [{field, label, reason}] and nothing is loaded."""
    return _save(request, resource_id, values, None)


@router.put(
    "/eforms/{resource_id}/records/{rid}", response={200: BatchOut, **ERRORS}, summary="电子表单：修改记录"
)
def eform_edit(request: HttpRequest, resource_id: int, rid: int, values: Body[dict[str, Any]]) -> Any:
    """All values of the record by field name; keys cannot change (retire and add instead). A sensitive item sent
    as its masked text (`430623********1234`, as the data API shows it) keeps its stored value."""
    return _save(request, resource_id, values, rid)


@router.post(
    "/eforms/{resource_id}/records/{rid}/retire",
    response={200: BatchOut, **ERRORS},
    summary="电子表单：注销记录",
)
def eform_retire(request: HttpRequest, resource_id: int, rid: int, body: RetireIn) -> Any:
    user = calling_user(request)
    resource = loadable_resource(user, resource_id)
    return batch_out(eforms.retire_record(user, resource, rid, reason=body.reason))
