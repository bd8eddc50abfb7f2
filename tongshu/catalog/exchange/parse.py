"""From spreadsheet rows to catalog records, collecting every problem with its sheet, row, column and reason.

Nothing here writes to the database. The result is a list of `ParsedResource` (each with its spreadsheet row and its
record, see `records.py`) and a list of `RowError`; the importer adds the catalog's own validation and saves only
when both lists of problems are empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tongshu.catalog.models import BusinessSystem
from tongshu.standards.levels import SecurityLevel
from tongshu.standards.models import DataElement

from .columns import (
    BOOL,
    CODED,
    INTEGER,
    ITEM_COLUMNS,
    ITEM_SHEET,
    LIST,
    MULTI,
    RESOURCE_COLUMNS,
    RESOURCE_SHEET,
    SEPARATORS,
    Column,
)
from .records import code_list, unique_in_order
from .vocab import Vocabularies, normalize
from .xlsx_read import SheetRows, cell_text


@dataclass(frozen=True)
class RowError:
    sheet: str
    row: int | None
    column: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "reason": self.reason}


@dataclass
class ParsedItem:
    row: int
    values: dict[str, Any]


@dataclass
class ParsedResource:
    row: int
    serial: int
    code: str
    fields: dict[str, Any]
    items: list[ParsedItem] = field(default_factory=list)


def split_values(text: str) -> list[str]:
    pattern = "|".join(re.escape(separator) for separator in SEPARATORS)
    return [part.strip() for part in re.split(pattern, text) if part.strip()]


def _header_text(value: Any) -> str:
    text = cell_text(value).replace("（必填）", "").replace("(必填)", "")
    return re.sub(r"\s+", "", text).rstrip("*＊")


class SheetParser:
    """Reads the cells of one sheet's columns, appending problems to a shared list."""

    def __init__(
        self, sheet: SheetRows, columns: tuple[Column, ...], vocabularies: Vocabularies, errors: list
    ):
        self.name = sheet.name
        self.rows = sheet.rows
        self.columns = columns
        self.vocabularies = vocabularies
        self.errors: list[RowError] = errors
        self.positions: dict[str, int] = {}

    def error(self, row: int | None, column: str, reason: str) -> None:
        self.errors.append(RowError(self.name, row, column, reason))

    def read_header(self) -> bool:
        header = [_header_text(value) for value in (self.rows[0] if self.rows else [])]
        for index, text in enumerate(header):
            if not text:
                continue
            if text in self.positions:
                self.error(1, text, "列名重复")
            self.positions.setdefault(text, index)
        missing = [column.header for column in self.columns if column.header not in self.positions]
        for name in missing:
            self.error(1, name, "缺少此列（请使用平台模板，勿修改列名）")
        return not missing

    def data_rows(self) -> list[tuple[int, list[Any]]]:
        """(spreadsheet row number, cells) of every row below the header that has any value."""
        return [
            (number, cells)
            for number, cells in enumerate(self.rows[1:], 2)
            if any(cell_text(value) for value in cells)
        ]

    def read_row(self, number: int, cells: list[Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for column in self.columns:
            index = self.positions[column.header]
            text = cell_text(cells[index]) if index < len(cells) else ""
            values[column.key] = self._value(number, column, text)
        return values

    def _value(self, number: int, column: Column, text: str) -> Any:
        if not text:
            if column.required:
                self.error(number, column.header, "必填项未填写")
            return [] if column.kind in (MULTI, LIST) else (False if column.kind == BOOL else "")
        if column.max_length and len(text) > column.max_length:
            self.error(number, column.header, f"不能超过 {column.max_length} 个字符（现有 {len(text)} 个）")
        if column.kind == INTEGER:
            if not text.isdigit() or int(text) < 1:
                self.error(number, column.header, f"“{text}”不是正整数")
                return ""
            return int(text)
        if column.kind in (CODED, BOOL):
            value = self.vocabularies[column.vocabulary].lookup(text)
            if value is None:
                self.error(number, column.header, self._unknown(column, text))
                return False if column.kind == BOOL else ""
            return value == "1" if column.kind == BOOL else value
        if column.kind == MULTI:
            chosen = []
            for part in split_values(text):
                value = self.vocabularies[column.vocabulary].lookup(part)
                if value is None:
                    self.error(number, column.header, self._unknown(column, part))
                else:
                    chosen.append(value)
            return code_list(chosen)
        if column.kind == LIST:
            return unique_in_order(split_values(text))
        return text

    def _unknown(self, column: Column, text: str) -> str:
        vocabulary = self.vocabularies[column.vocabulary]
        if column.kind == BOOL:
            return f"“{text}”无效，应填写“是”或“否”"
        if not vocabulary.entries:
            return f"“{text}”不是有效的{vocabulary.title}（平台尚未配置{vocabulary.title}）"
        if len(vocabulary.entries) <= 12:
            return f"“{text}”不是有效的{vocabulary.title}，可选：{'、'.join(vocabulary.names)}"
        return f"“{text}”不是有效的{vocabulary.title}（见模板中的代码表）"


def _resource_record(values: dict[str, Any]) -> dict[str, Any]:
    record = {
        key: values[key] for key in values if key not in ("serial", "code", "provider_name", "provider_code")
    }
    record["security_level"] = record["security_level"] or SecurityLevel.GENERAL_1.value
    return record


def parse_catalog(
    sheets: dict[str, SheetRows | None], *, provider: Any, vocabularies: Vocabularies
) -> tuple[list[ParsedResource], list[RowError]]:
    errors: list[RowError] = []
    for name in (RESOURCE_SHEET, ITEM_SHEET):
        if sheets.get(name) is None:
            errors.append(RowError(name, None, "", f"缺少工作表“{name}”（请使用平台模板）"))
    if errors:
        return [], errors
    resource_sheet = SheetParser(sheets[RESOURCE_SHEET], RESOURCE_COLUMNS, vocabularies, errors)  # type: ignore[arg-type]
    item_sheet = SheetParser(sheets[ITEM_SHEET], ITEM_COLUMNS, vocabularies, errors)  # type: ignore[arg-type]
    if not (resource_sheet.read_header() & item_sheet.read_header()):
        return [], errors

    resources = _parse_resources(resource_sheet, provider)
    if not resource_sheet.data_rows():
        errors.append(RowError(RESOURCE_SHEET, None, "", "文件中没有信息资源"))
    _parse_items(item_sheet, resources)
    for resource in resources.values():
        if not resource.items:
            errors.append(RowError(RESOURCE_SHEET, resource.row, "序号", "该资源没有任何信息项"))
    errors.sort(key=lambda e: (e.sheet != RESOURCE_SHEET, e.row or 0))
    return list(resources.values()), errors


def _parse_resources(sheet: SheetParser, provider: Any) -> dict[int, ParsedResource]:
    resources: dict[int, ParsedResource] = {}
    names: dict[str, int] = {}
    codes: dict[str, int] = {}
    systems = {
        normalize(name): name
        for name in BusinessSystem.objects.filter(organization=provider).values_list("name", flat=True)
    }
    provider_names = {normalize(provider.name), normalize(provider.short_name or provider.name)}
    provider_codes = {normalize(code) for code in (provider.credit_code, provider.code) if code}
    for number, cells in sheet.data_rows():
        values = sheet.read_row(number, cells)
        serial = values["serial"]
        if values["provider_name"] and normalize(values["provider_name"]) not in provider_names:
            sheet.error(
                number,
                "信息资源提供方",
                f"只能导入本单位（{provider.name}）的目录；此列应留空或填写本单位名称",
            )
        if values["provider_code"] and normalize(values["provider_code"]) not in provider_codes:
            sheet.error(number, "信息资源提供方代码", "与本单位的统一社会信用代码（或机构代码）不符")
        if values["business_system"]:
            known = systems.get(normalize(values["business_system"]))
            if known is None:
                sheet.error(
                    number, "所属业务系统", f"本单位没有登记名为“{values['business_system']}”的业务系统"
                )
            else:
                values["business_system"] = known
        name_key = normalize(values["name"])
        if name_key and name_key in names:
            sheet.error(number, "信息资源名称", f"与第 {names[name_key]} 行的资源重名")
        names.setdefault(name_key, number)
        code = values["code"]
        if code and code in codes:
            sheet.error(number, "信息资源代码", f"与第 {codes[code]} 行的代码重复")
        codes.setdefault(code, number)
        if serial == "":
            continue
        if serial in resources:
            sheet.error(number, "序号", f"序号 {serial} 与第 {resources[serial].row} 行重复")
            continue
        resources[serial] = ParsedResource(number, serial, code, _resource_record(values))
    return resources


def _parse_items(sheet: SheetParser, resources: dict[int, ParsedResource]) -> None:
    element_ids = {
        normalize(identifier): identifier
        for identifier in DataElement.objects.filter(is_active=True).values_list("identifier", flat=True)
    }
    seen_positions: dict[tuple[int, int], int] = {}
    seen_names: dict[tuple[int, str], int] = {}
    for number, cells in sheet.data_rows():
        values = sheet.read_row(number, cells)
        serial = values.pop("resource_serial")
        if values["data_element"]:
            identifier = element_ids.get(normalize(values["data_element"]))
            if identifier is None:
                sheet.error(number, "数据元标识符", f"数据元“{values['data_element']}”不存在或已停用")
            values["data_element"] = identifier or ""
        values["security_level"] = values["security_level"] or SecurityLevel.GENERAL_1.value
        if serial == "":
            continue
        resource = resources.get(serial)
        if resource is None:
            sheet.error(number, "资源序号", f"资源序号 {serial} 在“信息资源”表中不存在")
            continue
        if values["position"] == "":
            values["position"] = len(resource.items) + 1
        position_key = (serial, values["position"])
        if position_key in seen_positions:
            sheet.error(number, "信息项序号", f"与第 {seen_positions[position_key]} 行的信息项序号重复")
        seen_positions.setdefault(position_key, number)
        name_key = (serial, normalize(values["name"]))
        if values["name"] and name_key in seen_names:
            sheet.error(number, "信息项名称", f"同一资源中与第 {seen_names[name_key]} 行的信息项重名")
        seen_names.setdefault(name_key, number)
        resource.items.append(ParsedItem(number, values))
    for resource in resources.values():
        resource.items.sort(key=lambda item: (item.values["position"] or 0, item.row))
