"""华容县's departments, townships and public-service enterprises, and the demo accounts."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tongshu.accounts.models import Organization, OrganizationKind, RoleAssignment, User
from tongshu.accounts.roles import Role
from tongshu.core.checksums import make_uscc

DATA = Path(__file__).parent / "data"
COUNTY = "430623"

# (code, name, short name); the order gives each department its number in resource codes (the two-digit 项 of
# the department branch): departments 1–20, townships 21–34, public-service enterprises 35–37.
DEPARTMENTS = [
    ("SPJ", "华容县行政审批服务局", "县行政审批服务局"),
    ("DSJ", "华容县大数据中心", "县大数据中心"),
    ("WXB", "中共华容县委网络安全和信息化委员会办公室", "县委网信办"),
    ("GAJ", "华容县公安局", "县公安局"),
    ("MZJ", "华容县民政局", "县民政局"),
    ("RSJ", "华容县人力资源和社会保障局", "县人力资源和社会保障局"),
    ("ZRJ", "华容县自然资源局", "县自然资源局"),
    ("SJJ", "华容县市场监督管理局", "县市场监督管理局"),
    ("WJJ", "华容县卫生健康局", "县卫生健康局"),
    ("JYJ", "华容县教育局", "县教育局"),
    ("ZJJ", "华容县住房和城乡建设局", "县住房和城乡建设局"),
    ("NYJ", "华容县农业农村局", "县农业农村局"),
    ("SLJ", "华容县水利局", "县水利局"),
    ("JTJ", "华容县交通运输局", "县交通运输局"),
    ("CZJ", "华容县财政局", "县财政局"),
    ("SWJ", "国家税务总局华容县税务局", "县税务局"),
    ("YBJ", "华容县医疗保障局", "县医疗保障局"),
    ("HJJ", "岳阳市生态环境局华容分局", "县生态环境局"),
    ("YJJ", "华容县应急管理局", "县应急管理局"),
    ("TJJ", "华容县统计局", "县统计局"),
]
ENTERPRISES = [
    ("GS", "华容县自来水有限公司", "县自来水公司"),
    ("GD", "国网湖南省电力有限公司华容县供电分公司", "县供电公司"),
    ("GQ", "华容县天然气有限公司", "县燃气公司"),
]
# Departments left without a chief data officer in the demo, so the home pages show the 第六条 flag.
WITHOUT_CDO = {"TJJ", "YJJ"}

# One account per role: (username, full name, organization code, role).
DEMO_ACCOUNTS = [
    ("operator", "周建国", "DSJ", Role.OPERATOR_ADMIN),
    ("security", "吴晓明", "DSJ", Role.SECURITY_ADMIN),
    ("auditor", "郑丽华", "DSJ", Role.AUDITOR),
    ("authority", "王志强", "SPJ", Role.AUTHORITY),
    ("cdo", "李红梅", "GAJ", Role.CDO),
    ("data_admin", "张伟", "GAJ", Role.DATA_ADMIN),
    ("dept_user", "刘洋", "MZJ", Role.DEPT_USER),
    ("inspector", "陈静", "WXB", Role.INSPECTOR),
    ("citizen", "赵敏", None, Role.PUBLIC),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜"
GIVEN = [
    "建华",
    "丽娟",
    "志明",
    "秀英",
    "海燕",
    "国平",
    "晓东",
    "春梅",
    "红军",
    "玉兰",
    "文斌",
    "桂芳",
    "永刚",
    "淑华",
    "卫东",
]


def _uscc(index: int, kind: str = "1") -> str:
    return make_uscc("1", kind, COUNTY, f"{44000000 + index:08d}"[-8:])


def townships() -> list[dict[str, str]]:
    with open(DATA / "huarong-townships.csv", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _upsert_org(code: str, **fields: Any) -> Organization:
    org, _ = Organization.objects.update_or_create(code=code, defaults=fields)
    return org


@transaction.atomic
def load_organizations() -> dict[str, Organization]:
    orgs: dict[str, Organization] = {}
    for number, (code, name, short) in enumerate(DEPARTMENTS, start=1):
        orgs[code] = _upsert_org(
            f"{COUNTY}-{code}",
            name=name,
            short_name=short,
            kind=OrganizationKind.DEPARTMENT,
            division_code=COUNTY,
            credit_code=_uscc(number),
            sequence=number,
        )
    for offset, row in enumerate(townships(), start=1):
        orgs[row["code"]] = _upsert_org(
            row["code"],
            name=f"华容县{row['name']}人民政府",
            short_name=row["name"],
            kind=OrganizationKind.TOWNSHIP,
            division_code=row["code"],
            credit_code=_uscc(100 + offset),
            sequence=len(DEPARTMENTS) + offset,
        )
    for offset, (code, name, short) in enumerate(ENTERPRISES, start=1):
        orgs[code] = _upsert_org(
            f"{COUNTY}-{code}",
            name=name,
            short_name=short,
            kind=OrganizationKind.PUBLIC_SERVICE,
            division_code=COUNTY,
            credit_code=make_uscc("9", "1", COUNTY, f"{55000000 + offset:08d}"),
            sequence=len(DEPARTMENTS) + len(townships()) + offset,
        )
    orgs["YYS"] = _upsert_org(
        "4306-DSJ",
        name="岳阳市数据资源局",
        short_name="市数据资源局",
        kind=OrganizationKind.UPPER_LEVEL,
        division_code="430600",
        credit_code=make_uscc("1", "1", "430600", "66000001"),
        sequence=None,
    )
    return orgs


def _demo_user(username: str, full_name: str, org: Organization | None, role: str) -> User:
    user, created = User.objects.get_or_create(
        username=username,
        defaults={
            "full_name": full_name,
            "organization": org,
            "is_demo": True,
            "password_changed_at": timezone.now(),
        },
    )
    if created:
        user.set_password(settings.DEMO_PASSWORD)
        user.save(update_fields=["password"])
    RoleAssignment.objects.get_or_create(user=user, role=role)
    return user


@transaction.atomic
def load_accounts(orgs: dict[str, Organization]) -> list[User]:
    users = []
    for username, full_name, org_code, role in DEMO_ACCOUNTS:
        users.append(_demo_user(username, full_name, orgs[org_code] if org_code else None, role))
    # Every other department and township gets its own chief data officer, except the few left to show the flag.
    index = 0
    for key, org in orgs.items():
        if org.kind not in (OrganizationKind.DEPARTMENT, OrganizationKind.TOWNSHIP) or key in WITHOUT_CDO:
            continue
        if org.chief_data_officer is not None:
            continue
        index += 1
        name = SURNAMES[index % len(SURNAMES)] + GIVEN[index % len(GIVEN)]
        users.append(_demo_user(f"cdo_{org.code.replace('-', '_').lower()}", name, org, Role.CDO))
    return users
