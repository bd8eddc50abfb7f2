"""A resource's data-plane settings: its bad-row policy (第十三条, 第十五条).

The policy decides what a batch with rows that fail validation does: `reject` (the default) refuses the whole batch,
`skip` loads the good rows and reports the bad ones. A full replace is always refused whole whatever the policy, since
loading it without its bad rows would retire their records (pipeline.run_pipeline). The provider's data administrators
and CDO set it; every change is audited.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from tongshu.catalog.models import Resource
from tongshu.core.errors import NotFound, PermissionDenied, ValidationFailed
from tongshu.security.audit import record

from . import permissions
from .models import BadRowPolicy, ResourceData


def get_settings(actor: Any, resource: Resource) -> ResourceData:
    """The settings of a resource whose batches the actor may see (404 otherwise, saying nothing of its existence)."""
    if not permissions.can_view_batches(actor, resource):
        raise NotFound("信息资源不存在或无权查看", code="resource_not_found")
    data, _created = ResourceData.objects.get_or_create(resource=resource)
    return data


def change_settings(actor: Any, resource: Resource, *, bad_row_policy: str) -> ResourceData:
    """第十三条: the provider's data administrator (or CDO) decides whether bad rows reject the whole batch or are
    left out of it. Applies to batches validated from now on; each batch records the policy it was checked under."""
    data = get_settings(actor, resource)
    if not permissions.can_manage_data_settings(actor, resource):
        raise PermissionDenied(
            "只有资源提供部门的数据管理员或首席数据官可以修改数据加载设置", code="forbidden"
        )
    if bad_row_policy not in BadRowPolicy.values:
        raise ValidationFailed(
            "不合格行处理方式只能是 reject（整批拒绝）或 skip（跳过不合格行并加载其余）",
            code="invalid_bad_row_policy",
            field="bad_row_policy",
        )
    previous = data.bad_row_policy
    if previous == bad_row_policy:
        return data
    with transaction.atomic():
        ResourceData.objects.filter(pk=data.pk).update(bad_row_policy=bad_row_policy)
        record(
            "resource_data.settings_changed",
            actor=actor,
            organization=resource.provider,
            target=resource,
            details={"resource": resource.code, "bad_row_policy": {"from": previous, "to": bad_row_policy}},
        )
    data.refresh_from_db()
    return data
