"""The demo's other ways in (第十二条, 第十九条): public collection tasks of 县公安局's volunteer register, and example
pull sources of its population registry.

Collection: a closed task whose submissions were reviewed (most approved and loaded, one refused) six weeks into
the replayed 90 days, and an open task with submissions awaiting review. Both run through `dataplane.collection`
(the public submission with its notice, the review, the close at the deadline) and are then moved to their days.

Pull sources: configured through `sources.services.save_source`, disabled and never run. They point at a documented
placeholder, the TEST-NET-1 network 192.0.2.0/24 (RFC 5737, reserved for documentation), because a demo has no
upstream interface or department database to reach, and a pull must not read the platform itself or a file database
(so no local SQLite stand-in). Where the rules refuse to store a source on an internal address unless it is allowed,
the demo logs a line instead of creating them (allowing 192.0.2.0/24 brings them back).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from tongshu.accounts.models import User
from tongshu.core.errors import DomainError
from tongshu.dataplane import collection
from tongshu.dataplane.models import BatchMode
from tongshu.dataplane.models_sources import CollectionSubmission, CollectionTask, PullSource
from tongshu.dataplane.sources import services as sources

if TYPE_CHECKING:
    from .history import Replay

log = logging.getLogger(__name__)
SERVICES = ["治安巡逻", "交通劝导", "反诈宣传", "矛盾纠纷调解", "消防安全宣传", "大型活动秩序维护"]
CLOSED_TITLE = "华容县第一批平安志愿者招募"
OPEN_TITLE = "华容县平安志愿者常态化招募"
NOTICE = {
    "purpose": "招募平安志愿者（义警）参与社区治安巡逻、反诈宣传等群防群治活动，报名信息用于资格审核、编组和联络。",
    "collector": "华容县公安局",
    "retention": "自报名之日起保存三年，退出志愿服务后六个月内删除",
    "contact": "华容县公安局治安管理大队 0730-4221100",
    "fields": ["resident_id", "name", "sex", "birth_date", "phone", "township", "service"],
}


def volunteers(replay: Replay) -> list[dict[str, str]]:
    """Residents aged 18 to 65 in 2025, with a phone number, as they would fill the public form."""
    chosen = []
    for n, person in enumerate(p for p in replay.people if "1960-01-01" <= p["birth_date"] <= "2007-01-01"):
        if not person["phone"]:
            continue
        chosen.append(
            {
                **{
                    name: person[name]
                    for name in ("resident_id", "name", "sex", "birth_date", "phone", "township")
                },
                "service": SERVICES[n % len(SERVICES)],
            }
        )
    return chosen


def _manager() -> User:
    return User.objects.get(username="data_admin")  # 县公安局's data administrator (a demo account)


def _task(replay: Replay, title: str, deadline: datetime) -> CollectionTask:
    return collection.create_task(
        _manager(),
        replay.resources["volunteers"],
        {"title": title, "deadline": deadline, "per_address_hourly_limit": 10, "hourly_limit": 500, **NOTICE},
    )


def _submit(task: CollectionTask, values: dict[str, str], n: int) -> CollectionSubmission:
    # Documentation addresses (RFC 5737); only a keyed hash of them is stored.
    return collection.submit(task.token, values, client_address=f"198.51.100.{10 + n}", accepted_notice=True)


def closed_task(replay: Replay, moment: datetime) -> None:
    """Published three weeks before `moment`, eight residents applied, seven were approved at `moment` (loaded into
    the register), one was refused; closed at its deadline a week later."""
    if CollectionTask.objects.filter(title=CLOSED_TITLE).exists():
        return
    from .history import backdate

    task = _task(replay, CLOSED_TITLE, timezone.now() + timedelta(days=1))
    people = volunteers(replay)[:8]
    submissions = [_submit(task, values, n) for n, values in enumerate(people)]
    reviewer = _manager()
    for n, submission in enumerate(submissions):
        if n == 5:
            collection.reject(reviewer, submission, "经电话核实，本人表示未报名，系他人代填")
        else:
            approved = collection.approve(reviewer, submission)
            backdate(approved.batch, moment + timedelta(minutes=n))
    created, deadline = moment - timedelta(days=21), moment + timedelta(days=7)
    CollectionTask.objects.filter(pk=task.pk).update(created_at=created, deadline=deadline)
    task.refresh_from_db()
    for n, submission in enumerate(submissions):
        at = created + timedelta(days=1 + n * 2, hours=n % 5)
        CollectionSubmission.objects.filter(pk=submission.pk).update(
            created_at=at,
            notice_accepted_at=at,
            notice_text=collection.notice_text(task),  # as it read then, with the deadline it had
            reviewed_at=moment + timedelta(minutes=n),
        )
    collection.close_expired()  # the periodic job, as it would have at the deadline
    CollectionTask.objects.filter(pk=task.pk).update(closed_at=deadline)


def open_task(replay: Replay) -> None:
    """Published ten days ago, open for another twenty: five submissions await review, one was refused. Nothing is
    loaded, so the register's last load stays the closed task's approvals (overdue on its monthly cycle)."""
    if CollectionTask.objects.filter(title=OPEN_TITLE).exists():
        return
    now = timezone.now()
    task = _task(replay, OPEN_TITLE, now + timedelta(days=20))
    people = volunteers(replay)[8:14]
    submissions = [_submit(task, values, 20 + n) for n, values in enumerate(people)]
    collection.reject(_manager(), submissions[0], "报名人不在本县居住，请向居住地公安机关报名")
    CollectionTask.objects.filter(pk=task.pk).update(created_at=now - timedelta(days=10))
    for n, submission in enumerate(submissions):
        at = now - timedelta(days=9 - n, hours=n)
        reviewed = {"reviewed_at": at + timedelta(days=1)} if n == 0 else {}
        CollectionSubmission.objects.filter(pk=submission.pk).update(
            created_at=at, notice_accepted_at=at, **reviewed
        )


# The 户政 system's column names (pinyin initials) → the population resource's fields, in its interface and its database.
HUZHENG_COLUMNS = {
    "sfzh": "resident_id",
    "xm": "name",
    "xb": "sex",
    "csrq": "birth_date",
    "mz": "ethnic_group",
    "hjdz": "address",
    "lxdh": "phone",
    "xzdm": "township_code",
    "ssxz": "township",
}
# (settings, secret): the auth header value of an interface, or the URL of a database.
EXAMPLE_SOURCES: list[tuple[dict[str, Any], str]] = [
    (
        {
            "kind": "http",
            "name": "省级共享平台户籍人口下发接口（示例，未启用）",
            "is_enabled": False,
            "mode": BatchMode.UPSERT,
            "cron": "0 3 * * *",
            "url": "https://192.0.2.11/api/v1/population/changes",
            "auth_header_name": "X-Api-Key",
            "page_param": "page",
            "size_param": "size",
            "page_size": 500,
            "rows_path": "data.rows",
            "mapping": HUZHENG_COLUMNS,
        },
        "REPLACE-WITH-THE-KEY-ISSUED-BY-THE-PROVINCE",
    ),
    (
        {
            "kind": "database",
            "name": "户政管理系统数据库（示例，未启用）",
            "is_enabled": False,
            "mode": BatchMode.UPSERT,
            "cron": "30 2 * * *",
            "query": "select sfzh, xm, xb, csrq, mz, hjdz, lxdh, xzdm, ssxz, gxsj from rk_jbxx",
            "incremental_column": "gxsj",
            "mapping": HUZHENG_COLUMNS,
        },
        "postgresql://tongshu_reader:REPLACE-ME@192.0.2.10:5432/huzheng",
    ),
]


def example_sources(replay: Replay) -> None:
    resource = replay.resources["people"]
    for values, secret in EXAMPLE_SOURCES:
        if PullSource.objects.filter(resource=resource, name=values["name"]).exists():
            continue
        is_http = values["kind"] == "http"
        try:
            sources.save_source(
                _manager(),
                resource,
                values,
                auth_value=secret if is_http else None,
                database_url=None if is_http else secret,
            )
        except DomainError as exc:
            log.warning("demo pull source %s not created: %s", values["name"], exc.message)
