"""Pull sources (第十九条(二), 数据下发接口; a department's own database): configure, run on a timetable or at once.

Every run that has rows goes through the one pipeline as a batch (source `pull_http` / `pull_db`). A run that cannot
read its source (timeout, HTTP error, not JSON, wrong path, too many pages, a refused query) records a failed batch
with the Chinese reason and leaves the resource's data unchanged. Scheduled runs load on behalf of the source's owner
(the person who last saved it), so a source whose owner lost the right to load stops loading.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from tongshu.accounts.roles import DEPARTMENT_MANAGER_ROLES, Role
from tongshu.catalog.models import Resource
from tongshu.core.errors import NotFound, PermissionDenied, ValidationFailed
from tongshu.security.audit import record

from .. import ingest_rows, permissions
from ..models import Batch, BatchMode, BatchSource, BatchStatus
from ..models_sources import PullSource, SourceKind, SourceRun
from . import crypto, database, guard, http
from .config import EDITABLE, HEADER_NAME, HEADER_VALUE, clean, next_run_after

__all__ = ["check_target", "next_run_after", "run_due_sources", "run_source", "save_source"]


# --- visibility --------------------------------------------------------------------------------------------------
def is_manager(user: Any) -> bool:
    return bool(
        getattr(user, "is_authenticated", False)
        and user.is_active
        and user.organization_id
        and user.has_role(*DEPARTMENT_MANAGER_ROLES)
    )


def loadable_resources(user: Any) -> QuerySet[Resource]:
    """Published resources the user may load data into: their own department's, as its data_admin or CDO."""
    if not is_manager(user):
        return Resource.objects.none()
    return (
        Resource.objects.filter(
            provider_id=user.organization_id, published_version__isnull=False, is_retired=False
        )
        .select_related("published_version", "provider")
        .order_by("code")
    )


def sources_visible_to(user: Any) -> QuerySet[PullSource]:
    if is_manager(user):
        scope = PullSource.objects.filter(resource__provider_id=user.organization_id)
    elif getattr(user, "is_authenticated", False) and user.has_role(Role.OPERATOR_ADMIN):
        scope = PullSource.objects.all()
    else:
        return PullSource.objects.none()
    return scope.select_related("resource", "resource__published_version", "owner")


def get_source(user: Any, source_id: int) -> PullSource:
    source = sources_visible_to(user).filter(pk=source_id).first()
    if source is None:
        raise NotFound("接入源不存在或无权查看", code="source_not_found")
    return source


def check_manage(actor: Any, resource: Resource) -> None:
    """Configuring and running a source: the resource's provider, its data administrators and CDO (a person)."""
    if not permissions.can_load_data(actor, resource) or getattr(actor, "prefix", None) is not None:
        raise PermissionDenied("只有资源提供部门的数据管理员或首席数据官可以配置数据接入源", code="forbidden")


def save_source(
    actor: Any,
    resource: Resource,
    values: dict[str, Any],
    *,
    source: PullSource | None = None,
    auth_value: str | None = None,
    database_url: str | None = None,
) -> PullSource:
    """Create or change a pull source. Secrets: None or "" keeps the stored one; a new value replaces it."""
    check_manage(actor, resource)
    if source is not None and source.resource_id != resource.pk:
        raise ValidationFailed("接入源不属于该资源", code="invalid")
    cleaned = clean(resource, {**({} if source is None else _current(source)), **values})
    if auth_value and not HEADER_VALUE.match(auth_value):
        raise ValidationFailed("认证信息只能包含英文字母、数字和常用符号", code="invalid", field="auth_value")
    if cleaned.get("auth_header_name") and not HEADER_NAME.match(cleaned["auth_header_name"]):
        raise ValidationFailed(
            "请求头名称只能包含英文字母、数字和连字符", code="invalid", field="auth_header_name"
        )
    dialect = ""
    if database_url:
        check_database_url(database_url)  # also a malformed URL: beside the field, never a server error
        dialect = database.dialect_of(database_url)
    with transaction.atomic():
        source = source or PullSource(resource=resource, owner=actor)
        old_cipher, old_column = source.cipher, source.incremental_column
        for name in EDITABLE:
            if name in cleaned:
                setattr(source, name, cleaned[name])
        if source.kind == SourceKind.DATABASE:
            if database_url:
                source.database_dialect = dialect
                source.database_secret = crypto.encrypt(database_url, source.cipher)
            elif source.database_secret and old_cipher != source.cipher:
                source.database_secret = crypto.encrypt(crypto.decrypt(source.database_secret), source.cipher)
            if not source.database_secret:
                raise ValidationFailed("请填写数据库连接地址", code="required", field="database_url")
            if old_column != source.incremental_column:
                source.high_water_mark = ""
        if auth_value:
            source.auth_header_secret = crypto.encrypt(auth_value, source.cipher)
        elif source.auth_header_secret and old_cipher != source.cipher:
            source.auth_header_secret = crypto.encrypt(
                crypto.decrypt(source.auth_header_secret), source.cipher
            )
        source.owner = actor
        source.updated_at = timezone.now()
        source.next_run_at = next_run_after(source, timezone.now())
        created = source.pk is None
        source.save()
        record(
            "source.created" if created else "source.changed",
            actor=actor,
            organization=resource.provider,
            target=source,
            details={
                "resource": resource.code,
                "kind": source.kind,
                "name": source.name,
                "secret_changed": bool(auth_value or database_url),
            },
        )
    return source


def check_database_url(url: str) -> None:
    """A database URL `guard` allows: a department's database server, not a file, not the platform's own databases,
    not an internal address unless the operator lists it."""
    try:
        guard.check_database_url(url)
    except http.SourceFault as fault:
        raise ValidationFailed(fault.message, code=fault.code, field="database_url") from None


def check_target(source: PullSource) -> None:
    """Before queueing a run by hand: the stored URL is still allowed (the allow-list or DNS may have changed since
    it was saved). Runs check again when they connect."""
    try:
        if source.kind == SourceKind.HTTP:
            http.check_url(source.url)
        elif source.database_secret:
            guard.check_database_url(crypto.decrypt(source.database_secret))
    except http.SourceFault as fault:
        field = "url" if source.kind == SourceKind.HTTP else "database_url"
        raise ValidationFailed(fault.message, code=fault.code, field=field) from None


def _current(source: PullSource) -> dict[str, Any]:
    return {name: getattr(source, name) for name in EDITABLE}


def delete_source(actor: Any, source: PullSource) -> None:
    """Remove a source; what it loaded (data, batches) stays. Its runs go with it."""
    check_manage(actor, source.resource)
    with transaction.atomic():
        record(
            "source.deleted",
            actor=actor,
            organization=source.resource.provider,
            target=source,
            details={"name": source.name},
        )
        source.delete()


# --- running -----------------------------------------------------------------------------------------------------
def _source_kind(source: PullSource) -> str:
    return BatchSource.PULL_HTTP if source.kind == SourceKind.HTTP else BatchSource.PULL_DB


def _pages(source: PullSource, pull: database.DatabasePull) -> Any:
    if source.kind == SourceKind.HTTP:
        return http.iter_pages(
            http.HttpConfig(
                url=source.url,
                rows_path=source.rows_path,
                auth_header_name=source.auth_header_name,
                auth_header_value=crypto.decrypt(source.auth_header_secret),
                page_param=source.page_param,
                size_param=source.size_param,
                page_size=source.page_size,
                first_page=source.first_page,
                next_link_path=source.next_link_path,
                timeout_seconds=source.timeout_seconds,
                max_pages=source.max_pages,
            )
        )
    return database.iter_pages(
        database.DatabaseConfig(
            url=crypto.decrypt(source.database_secret),
            query=source.query,
            incremental_column=source.incremental_column,
            mark=source.high_water_mark,
            page_size=source.page_size,
            max_pages=source.max_pages,
            timeout_seconds=source.timeout_seconds,
        ),
        pull,
    )


def run_source(actor: Any, source: PullSource, *, trigger: str = "manual") -> SourceRun:
    """Fetch from the source and load what it returned as one batch (第十九条). `actor` is None for the timetable."""
    source.refresh_from_db()  # the mark and settings as stored now, whatever the caller holds
    resource = source.resource
    loader = actor or source.owner
    if actor is not None:
        check_manage(actor, resource)
    run = SourceRun.objects.create(source=source, trigger=trigger, mark_before=source.high_water_mark)
    kind = _source_kind(source)
    pull = database.DatabasePull()
    spool = ingest_rows.spool_file()
    try:
        if not permissions.can_load_data(loader, resource):
            raise http.SourceFault(
                "接入源的负责人已无该资源的加载权限，请由本部门数据管理员重新保存接入源", "owner_not_allowed"
            )
        # Rows spool to disk as NDJSON while their columns are collected, then become the batch's CSV.
        columns: dict[str, None] = {}
        with open(spool.with_suffix(".ndjson"), "w", encoding="utf-8") as lines:
            for page in _pages(source, pull):
                run.pages += 1
                for row in page:
                    columns.update(dict.fromkeys(row))
                    lines.write(
                        json.dumps({k: ingest_rows.cell(v) for k, v in row.items()}, ensure_ascii=False)
                    )
                    lines.write("\n")
                    run.rows_fetched += 1
        if run.rows_fetched == 0:
            if source.mode == BatchMode.REPLACE:
                raise http.SourceFault("数据源返回 0 行：全量替换会注销全部记录，本次未加载", "empty_replace")
            return _finish(run, message="没有新的数据")
        with open(spool, "wb") as target, open(spool.with_suffix(".ndjson"), encoding="utf-8") as lines:
            ingest_rows.rows_to_csv((json.loads(line) for line in lines), list(columns), target)
        batch = ingest_rows.submit_spooled(
            loader,
            resource,
            spool,
            source=kind,
            mode=source.mode,
            mapping=source.mapping or {name: name for name in columns},
            file_name=f"{source.name}.csv",
        )
    except (http.SourceFault, ValidationFailed, PermissionDenied) as fault:
        message = fault.message
        batch = ingest_rows.record_failure(
            loader, resource, source=kind, mode=source.mode, message=message, reason_code=fault.code
        )
        return _finish(run, batch=batch, message=message)
    finally:
        spool.unlink(missing_ok=True)
        spool.with_suffix(".ndjson").unlink(missing_ok=True)
    mark_after = ""
    if batch.status == BatchStatus.APPLIED and source.incremental_column:
        # Only an applied batch moves the mark; the conditional update keeps a concurrent run from going backwards.
        mark_after = pull.mark
        PullSource.objects.filter(pk=source.pk, high_water_mark=run.mark_before).update(
            high_water_mark=mark_after
        )
    note = "本次达到条数上限，其余数据将在下次运行时继续拉取" if pull.truncated else ""
    return _finish(run, batch=batch, mark_after=mark_after, message=note or batch.message)


def _finish(
    run: SourceRun, *, batch: Batch | None = None, mark_after: str = "", message: str = ""
) -> SourceRun:
    run.batch, run.mark_after, run.message = batch, mark_after, message
    run.finished_at = timezone.now()
    run.save()
    PullSource.objects.filter(pk=run.source_id).update(last_run_at=run.finished_at)
    if batch is not None and batch.status != BatchStatus.APPLIED:
        from tongshu.core.services import notify

        source = run.source
        notify(
            [source.owner],
            f"数据接入源“{source.name}”本次运行未加载",
            body=message or batch.message,
            link=f"/data/ways/sources/{source.pk}/",
        )
    return run


def run_due_sources(now: datetime | None = None) -> int:
    """The timetable: run each enabled source whose next run is due. A source is claimed by moving its next run
    forward first, so two schedulers or workers never run it twice for the same slot."""
    now = now or timezone.now()
    count = 0
    for source in PullSource.objects.filter(is_enabled=True, next_run_at__lte=now).select_related(
        "resource", "resource__provider", "resource__published_version", "owner"
    ):
        claimed = PullSource.objects.filter(pk=source.pk, next_run_at=source.next_run_at).update(
            next_run_at=next_run_after(source, now)
        )
        if not claimed:
            continue
        try:
            run_source(None, source, trigger="schedule")
        except ValidationFailed as exc:  # e.g. the resource was retired: record and go on with the others
            ingest_rows.record_failure(
                source.owner,
                source.resource,
                source=_source_kind(source),
                mode=source.mode,
                message=exc.message,
                reason_code=exc.code,
            )
        count += 1
    return count


def recent_runs(source: PullSource, limit: int = 20) -> list[SourceRun]:
    return list(source.runs.select_related("batch")[:limit])
