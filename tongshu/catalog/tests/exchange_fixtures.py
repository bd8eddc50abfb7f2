"""Helpers for the exchange tests: build §7 workbooks cell by cell, and the usual published resources."""

from __future__ import annotations

import functools
import io
import zipfile
from typing import Any

from openpyxl import Workbook

from tongshu.catalog.exchange.columns import ITEM_COLUMNS, ITEM_SHEET, RESOURCE_COLUMNS, RESOURCE_SHEET

RESOURCE_HEADERS = [column.header for column in RESOURCE_COLUMNS]
ITEM_HEADERS = [column.header for column in ITEM_COLUMNS]


def resource_row(serial: int = 1, **cells: Any) -> dict[str, Any]:
    """A valid 信息资源 row (header → value); keyword arguments override cells by header."""
    row = {
        "序号": serial,
        "信息资源分类": "101",
        "信息资源名称": f"导入测试资源{serial}",
        "信息资源摘要": "记录户籍人口的基本信息，用于人口管理与公共服务。",
        "信息资源格式分类": "数据库",
        "信息资源格式类型": "达梦",
        "共享类型": "无条件共享",
        "共享方式": "共享平台方式-接口",
        "提供方式": "系统对接",
        "使用方式": "验证服务;查询服务",
        "是否向社会开放": "不予开放",
        "更新周期": "每日",
        "安全级别": "一般数据（二级）",
        "联系人": "张三",
        "联系电话": "0730-4281234",
    }
    row.update(cells)
    return row


def item_row(
    serial: int = 1, position: int | None = 1, name: str = "公民身份号码", **cells: Any
) -> dict[str, Any]:
    row = {
        "资源序号": serial,
        "信息项序号": position,
        "信息项名称": name,
        "数据类型": "字符型",
        "数据长度": "C18",
        "是否主键": "是",
        "是否可查询": "是",
        "是否敏感": "是",
        "安全级别": "一般数据（二级）",
    }
    row.update(cells)
    return row


def items_for(serial: int) -> list[dict[str, Any]]:
    return [
        item_row(serial, 1, "公民身份号码"),
        item_row(serial, 2, "姓名", 数据长度="C..50", 是否主键="否"),
        item_row(
            serial,
            3,
            "出生日期",
            数据类型="日期型",
            数据长度="D8",
            是否主键="否",
            是否可查询="否",
            是否敏感="否",
        ),
    ]


def workbook_bytes(
    resources: list[dict[str, Any]],
    items: list[dict[str, Any]],
    *,
    resource_headers: list[str] | None = None,
    item_headers: list[str] | None = None,
    sheets: tuple[str, str] = (RESOURCE_SHEET, ITEM_SHEET),
) -> bytes:
    workbook = Workbook()
    first = workbook.active
    first.title = sheets[0]
    second = workbook.create_sheet(sheets[1])
    for ws, headers, rows in (
        (first, resource_headers or RESOURCE_HEADERS, resources),
        (second, item_headers or ITEM_HEADERS, items),
    ):
        ws.append(headers)
        for row in rows:
            ws.append([row.get(header) for header in headers])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def valid_workbook(count: int = 2) -> bytes:
    resources = [resource_row(n) for n in range(1, count + 1)]
    items = [item for n in range(1, count + 1) for item in items_for(n)]
    return workbook_bytes(resources, items)


@functools.cache
def zip_bomb(size: int = 120 * 1024 * 1024) -> bytes:
    """A small zip that claims to be an XLSX package and inflates to `size` bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as entry:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(size // len(chunk)):
                entry.write(chunk)
    return buffer.getvalue()
