"""Deterministic synthetic population rows for benchmarks and the demo (valid GB 11643 checksums, 华容县 townships)."""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from pathlib import Path

from tongshu.core.checksums import resident_id_check_char

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
BIRTHPLACES = ["430623", "430623", "430623", "430602", "430621", "430681"]


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


def write_population_csv(path: Path, count: int, seed: int = 20261125) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        return path
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(population_rows(count, seed))
    tmp.rename(path)
    return path
