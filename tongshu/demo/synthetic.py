"""Deterministic synthetic records of 华容县 for the demo and the benchmarks: residents with valid GB 11643 ID
numbers (the demo's all born in 华容县, 430623; the benchmark's also in its neighbours), companies with valid GB 32100 unified social credit codes, their tax
credit ratings and electronic licenses, in the county's real townships. Same seed, same records."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from tongshu.core.checksums import make_uscc, resident_id_check_char

TOWNSHIPS = [
    "三封寺镇",
    "治河渡镇",
    "北景港镇",
    "鲇鱼须镇",
    "万庾镇",
    "插旗镇",
    "注滋口镇",
    "操军镇",
    "东山镇",
    "梅田湖镇",
    "章华镇",
    "禹山镇",
    "新河乡",
    "团洲乡",
]
TOWNSHIP_CODES = [
    "101",
    "102",
    "103",
    "104",
    "106",
    "110",
    "111",
    "112",
    "114",
    "119",
    "120",
    "121",
    "201",
    "207",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红梅建国志华海燕晓东春梅文斌永刚淑华卫东"
HEADER = ["公民身份号码", "姓名", "性别", "出生日期", "户籍地址", "联系电话", "户号", "所属乡镇"]
BIRTHPLACES = [
    "430623",
    "430623",
    "430623",
    "430602",
    "430621",
    "430681",
]  # the benchmark's (population_rows)
DEMO_BIRTHPLACE = "430623"  # 华容县: every resident of the demo


def population_rows(count: int, seed: int = 20261125, start: int = 0):
    rng = random.Random(seed + start)
    epoch = date(1930, 1, 1)
    for n in range(start, start + count):
        # Unique IDs: the birth date comes from n // 500 (17-day steps over ~93 years), the sequence from n % 500.
        birth = epoch + timedelta(days=(n // 500) * 17 % 34000)
        sequence = (n % 500) * 2 + rng.randrange(2)
        first17 = f"{rng.choice(BIRTHPLACES)}{birth:%Y%m%d}{sequence:03d}"
        sex = "1" if sequence % 2 else "2"
        resident_id = first17 + resident_id_check_char(first17)
        t = rng.randrange(len(TOWNSHIPS))
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")
        yield [
            resident_id,
            name,
            sex,
            f"{birth:%Y-%m-%d}",
            f"湖南省岳阳市华容县{TOWNSHIPS[t]}{rng.randrange(1, 40)}村{rng.randrange(1, 20)}组{rng.randrange(1, 99)}号",
            f"1{rng.choice('3456789')}{rng.randrange(0, 10**9):09d}",
            f"4306231{TOWNSHIP_CODES[t]}{rng.randrange(0, 10**6):06d}",
            TOWNSHIPS[t],
        ]


def people(count: int, seed: int = 20261125) -> Iterator[dict[str, str]]:
    """Residents for the demo's population resource: born in 华容县 (address code 430623, as the issue asks), birth
    dates spread over 1935–2020, IDs unique and valid, ethnic group and township code (the benchmark's
    `population_rows` favours speed and uniqueness over realism)."""
    rng = random.Random(seed * 7 + 1)
    seen: set[str] = set()
    start, span = date(1935, 1, 1), (date(2020, 12, 31) - date(1935, 1, 1)).days
    while len(seen) < count:
        birth = start + timedelta(days=rng.randrange(span))
        sex = rng.choice("12")
        sequence = rng.randrange(50) * 2 + (1 if sex == "1" else 0) + rng.choice([0, 100, 200, 300])
        first17 = f"{DEMO_BIRTHPLACE}{birth:%Y%m%d}{sequence:03d}"
        if first17 in seen:
            continue
        seen.add(first17)
        t = rng.randrange(len(TOWNSHIPS))
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")
        yield {
            "resident_id": first17 + resident_id_check_char(first17),
            "name": name,
            "sex": sex,
            "birth_date": f"{birth:%Y-%m-%d}",
            "ethnic_group": "01"
            if rng.random() < 0.93
            else rng.choice(["15", "03", "09"]),  # 汉、土家、回、苗
            "address": f"湖南省岳阳市华容县{TOWNSHIPS[t]}{rng.randrange(1, 40)}村{rng.randrange(1, 20)}组"
            f"{rng.randrange(1, 99)}号",
            "phone": f"1{rng.choice('3456789')}{rng.randrange(0, 10**9):09d}",
            "township_code": f"430623{TOWNSHIP_CODES[t]}",
            "township": TOWNSHIPS[t],
        }


BRAND = "华丰瑞兴洞庭鑫盛宏达新禹章华众诚永安天成金穗长江荆湖楚韵润丰明辉远航恒泰嘉禾福源"
TRADES = [
    ("A", "农业发展", "种植、养殖及农产品初加工"),
    ("A", "水产养殖", "淡水鱼类养殖、销售"),
    ("C", "食品", "食品生产、加工与销售"),
    ("C", "纺织", "棉纺织品生产与销售"),
    ("C", "机械制造", "通用机械设备制造、销售"),
    ("E", "建筑工程", "房屋建筑工程、市政工程施工"),
    ("F", "商贸", "日用百货、五金交电批发零售"),
    ("F", "超市", "预包装食品、日用品零售"),
    ("G", "物流", "普通货物道路运输、仓储"),
    ("H", "餐饮管理", "餐饮服务"),
    ("I", "信息技术", "软件开发、信息系统集成服务"),
    ("L", "物业服务", "物业管理、家政服务"),
    ("M", "工程设计", "工程勘察设计、技术咨询"),
    ("Q", "医药", "药品零售、医疗器械销售"),
]
FOOD_TRADES = {"食品", "超市", "餐饮管理"}
ENTERPRISE_TYPES = [
    "有限责任公司（自然人投资或控股）",
    "有限责任公司（自然人独资）",
    "股份有限公司（非上市）",
    "个人独资企业",
]
STATUSES = ["存续"] * 17 + ["在业"] * 2 + ["注销"]
REGISTRAR = "华容县市场监督管理局"


def companies(count: int, representatives: list[str], seed: int = 20261125) -> Iterator[dict[str, str]]:
    rng = random.Random(seed * 11 + 2)
    used: set[str] = set()
    for n in range(count):
        section, trade, scope = TRADES[n % len(TRADES)]
        brand = rng.choice(BRAND) + rng.choice(BRAND)
        while f"{brand}{trade}" in used:
            brand = rng.choice(BRAND) + rng.choice(BRAND)
        used.add(f"{brand}{trade}")
        township = TOWNSHIPS[rng.randrange(len(TOWNSHIPS))]
        founded = date(1998, 1, 1) + timedelta(days=rng.randrange(9800))
        yield {
            "credit_code": make_uscc("9", "1", "430623", f"MA{n:06d}"),
            "name": f"华容县{brand}{trade}有限公司",
            "representative": representatives[rng.randrange(len(representatives))],
            "registrar": REGISTRAR,
            "founded": f"{founded:%Y-%m-%d}",
            "capital": f"{rng.choice([10, 30, 50, 100, 200, 500, 1000, 3000]) * (1 + rng.randrange(3))}.00",
            "domicile": f"湖南省岳阳市华容县{township}{rng.choice(['建设路', '华容大道', '章华路', '东升路', '人民路'])}"
            f"{rng.randrange(1, 300)}号",
            "scope": scope,
            "industry": section,
            "kind": rng.choice(ENTERPRISE_TYPES),
            "status": rng.choice(STATUSES),
            "township": township,
            "trade": trade,
        }


def credit_ratings(companies: list[dict[str, str]], years: tuple[int, ...], seed: int = 20261125):
    """纳税信用等级 (A, B, M, C, D) per company and year, evaluated each April."""
    rng = random.Random(seed * 13 + 3)
    for company in companies:
        for year in years:
            if company["founded"] > f"{year}-12-31":
                continue
            level = rng.choices(["A", "B", "M", "C", "D"], weights=[18, 52, 20, 7, 3])[0]
            yield {
                "credit_code": company["credit_code"],
                "name": company["name"],
                "year": str(year),
                "level": level,
                "evaluated": f"{year + 1}-04-{rng.randrange(10, 28)}",
            }


def licenses(companies: list[dict[str, str]], seed: int = 20261125) -> Iterator[dict[str, Any]]:
    """营业执照 for every company; 食品经营许可证 for food businesses."""
    rng = random.Random(seed * 17 + 4)
    for n, company in enumerate(companies):
        yield {
            "number": f"{company['credit_code']}-YYZZ",
            "title": "营业执照",
            "holder": company["name"],
            "credit_code": company["credit_code"],
            "issuer": REGISTRAR,
            "issued": company["founded"],
            "expires": "",
        }
        if company["trade"] in FOOD_TRADES:
            issued = date(2020, 1, 1) + timedelta(days=rng.randrange(1800))
            yield {
                "number": f"JY14306230{n:06d}",
                "title": "食品经营许可证",
                "holder": company["name"],
                "credit_code": company["credit_code"],
                "issuer": REGISTRAR,
                "issued": f"{issued:%Y-%m-%d}",
                "expires": f"{issued.replace(year=issued.year + 5):%Y-%m-%d}",
            }
