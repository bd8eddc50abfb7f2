"""Writing the department catalog spreadsheet (§7): the empty template and filled catalogs, with openpyxl.

Layout: sheet 信息资源 and sheet 信息项 with the standard's headers in row 1 (required ones in red, each with a note),
a frozen header row, column widths, and a drop-down list on every coded column. The lists live on a hidden sheet
代码表 and are referenced through defined names, because Excel limits an inline list to 255 characters and the category tree is
longer. The drop-downs warn rather than refuse, since a code is as good as a name (§7). A sheet 填写说明 explains
every column.
"""

from __future__ import annotations

from collections.abc import Iterable
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from .columns import (
    BOOL,
    CODED,
    CODES_SHEET,
    HELP_SHEET,
    ITEM_COLUMNS,
    ITEM_SHEET,
    MULTI,
    RESOURCE_COLUMNS,
    RESOURCE_SHEET,
    Column,
)
from .vocab import Vocabularies

HEADER_FILL = PatternFill("solid", fgColor="DCE6F4")
HEADER_FONT = Font(bold=True, color="1F2937")
REQUIRED_FONT = Font(bold=True, color="C62828")
LAST_ROW = 1048576

GENERAL_RULES = (
    "本模板依据《政务信息资源目录编制指南（试行）》和《华容县政务信息资源管理暂行办法》第八条制作，"
    "用于部门信息资源目录的批量编目。",
    "“信息资源”表每行一个信息资源，“信息项”表每行一个信息项；信息项的“资源序号”填写所属资源的“序号”。",
    "第一行为列名，请勿修改、删除或调整列名；数据从第二行开始。红色列名为必填项。",
    "带下拉列表的列可以从列表中选择，也可以填写对应代码（见隐藏的“代码表”）。",
    "多选列（提供方式、使用方式、开放方式、关联资源代码）用分号“;”分隔多个值。",
    "新资源的“信息资源代码”留空，发布时由平台赋码；填写已发布资源的代码表示修改该资源，"
    "导入后生成新的草稿版本，须重新提交审核。",
    "导入时任一行有错误，整个文件都不会保存；系统列出每个错误所在的表、行、列和原因，修改后重新导入即可。",
    "导入的资源均为草稿，由首席数据官提交、主管部门审核后发布。",
)


def _header(ws: Worksheet, columns: Iterable[Column]) -> None:
    for index, column in enumerate(columns, 1):
        cell = ws.cell(row=1, column=index, value=column.header)
        cell.fill = HEADER_FILL
        cell.font = REQUIRED_FONT if column.required else HEADER_FONT
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        if column.note:
            cell.comment = Comment(column.note, "通数")
        letter = get_column_letter(index)
        ws.column_dimensions[letter].width = column.width
        if column.kind not in (BOOL,):
            # Text format keeps leading zeros of codes (更新周期 01) and long numbers intact.
            ws.column_dimensions[letter].number_format = "@"
    ws.freeze_panes = "A2"
    ws.row_dimensions[1].height = 30


def _code_sheet(workbook: Workbook, vocabularies: Vocabularies, keys: list[str]) -> dict[str, str]:
    """Write each list as a column of the hidden 代码表 sheet, each named by a workbook-level defined name
    (`list_<key>`); return vocabulary key → that name. A defined name is how every Excel version and LibreOffice
    accept a drop-down list kept on another sheet."""
    ws = workbook.create_sheet(CODES_SHEET)
    ranges: dict[str, str] = {}
    column = 1
    for key in keys:
        vocabulary = vocabularies[key]
        show_codes = key in ("category", "code_set")
        values = [value for value, _name in vocabulary.entries] if show_codes else vocabulary.names
        ws.cell(row=1, column=column, value=vocabulary.title).font = HEADER_FONT
        for row, value in enumerate(values, 2):
            ws.cell(row=row, column=column, value=value)
        letter = get_column_letter(column)
        ws.column_dimensions[letter].width = 18
        if values:
            name = f"list_{key}"
            reference = f"{quote_sheetname(CODES_SHEET)}!${letter}$2:${letter}${len(values) + 1}"
            workbook.defined_names[name] = DefinedName(name, attr_text=reference)
            ranges[key] = name
        if show_codes:
            # The names beside the codes, for people reading the list.
            column += 1
            ws.cell(row=1, column=column, value=f"{vocabulary.title}名称").font = HEADER_FONT
            for row, (_value, name) in enumerate(vocabulary.entries, 2):
                ws.cell(row=row, column=column, value=name)
            ws.column_dimensions[get_column_letter(column)].width = 24
        column += 1
    ws.sheet_state = "hidden"
    return ranges


def _validations(ws: Worksheet, columns: Iterable[Column], ranges: dict[str, str]) -> None:
    for index, column in enumerate(columns, 1):
        if column.kind not in (CODED, MULTI, BOOL) or column.vocabulary not in ranges:
            continue
        letter = get_column_letter(index)
        prompt = "可从列表选择，或填写代码"
        if column.kind == MULTI:
            prompt = "可从列表选择一项；多项请用分号“;”分隔填写"
        validation = DataValidation(
            type="list",
            formula1=ranges[column.vocabulary],  # stored formulas carry no leading "="
            allow_blank=True,
            showDropDown=False,  # openpyxl's flag is inverted: False shows the in-cell arrow
            showErrorMessage=True,
            errorStyle="warning",
            errorTitle=column.header,
            error="该值不在列表中。如填写的是代码或多个值，可以继续。",
            showInputMessage=True,
            promptTitle=column.header,
            prompt=prompt,
        )
        validation.add(f"{letter}2:{letter}{LAST_ROW}")
        ws.add_data_validation(validation)


def _help_sheet(workbook: Workbook) -> None:
    ws = workbook.create_sheet(HELP_SHEET)
    ws.column_dimensions["A"].width = 12
    ws.column_dimensions["B"].width = 20
    ws.column_dimensions["C"].width = 10
    ws.column_dimensions["D"].width = 80
    ws.cell(row=1, column=1, value="部门信息资源目录导入模板 填写说明").font = Font(bold=True, size=14)
    row = 3
    for number, rule in enumerate(GENERAL_RULES, 1):
        ws.cell(row=row, column=1, value=f"{number}.")
        ws.cell(row=row, column=2, value=rule)
        ws.merge_cells(start_row=row, start_column=2, end_row=row, end_column=4)
        row += 1
    row += 1
    for col, title in enumerate(("表", "列名", "是否必填", "填写说明"), 1):
        cell = ws.cell(row=row, column=col, value=title)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
    for sheet, columns in ((RESOURCE_SHEET, RESOURCE_COLUMNS), (ITEM_SHEET, ITEM_COLUMNS)):
        for column in columns:
            row += 1
            ws.cell(row=row, column=1, value=sheet)
            ws.cell(row=row, column=2, value=column.header)
            ws.cell(row=row, column=3, value="是" if column.required else "")
            note = column.note
            if column.kind in (CODED, MULTI, BOOL) and not note:
                note = "从下拉列表选择，或填写代码"
            ws.cell(row=row, column=4, value=note)


def build_workbook(
    resource_rows: Iterable[dict[str, Any]] = (),
    item_rows: Iterable[dict[str, Any]] = (),
    *,
    vocabularies: Vocabularies | None = None,
) -> bytes:
    """The spreadsheet with the given rows (dicts keyed by column key); no rows gives the empty template."""
    vocabularies = vocabularies or Vocabularies()
    workbook = Workbook()
    resources = workbook.active
    resources.title = RESOURCE_SHEET
    items = workbook.create_sheet(ITEM_SHEET)
    for ws, columns, rows in (
        (resources, RESOURCE_COLUMNS, resource_rows),
        (items, ITEM_COLUMNS, item_rows),
    ):
        _header(ws, columns)
        for row in rows:
            _append(ws, [row.get(column.key) for column in columns])
    _help_sheet(workbook)
    keys = sorted(
        {c.vocabulary for c in (*RESOURCE_COLUMNS, *ITEM_COLUMNS) if c.kind in (CODED, MULTI, BOOL)},
        key=lambda key: [c.vocabulary for c in (*RESOURCE_COLUMNS, *ITEM_COLUMNS)].index(key),
    )
    ranges = _code_sheet(workbook, vocabularies, keys)
    _validations(resources, RESOURCE_COLUMNS, ranges)
    _validations(items, ITEM_COLUMNS, ranges)
    workbook.active = 0
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _append(ws: Worksheet, values: list[Any]) -> None:
    """Append a row; text always stays text (openpyxl would otherwise store "=…" as a formula)."""
    row = ws.max_row + 1 if ws.max_row > 1 or ws.cell(row=1, column=1).value is not None else 1
    for index, value in enumerate(values, 1):
        if value is None or value == "":
            continue
        if isinstance(value, str):
            value = ILLEGAL_CHARACTERS_RE.sub("", value)
        cell = ws.cell(row=row, column=index, value=value)
        if isinstance(value, str):
            cell.data_type = "s"


def build_table(title: str, headers: list[str], rows: Iterable[list[Any]]) -> bytes:
    """A one-sheet workbook (used for the list of import errors)."""
    workbook = Workbook()
    ws = workbook.active
    ws.title = title
    _append(ws, list(headers))
    for cell in ws[1]:
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
    for row in rows:
        _append(ws, list(row))
    for index, width in enumerate((10, 8, 18, 60), 1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.freeze_panes = "A2"
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
