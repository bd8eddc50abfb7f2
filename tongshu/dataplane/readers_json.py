"""Reading JSON (an array of objects) and NDJSON (one object per line) as string chunks with row numbers in `_row`.

Both stream in bounded memory whatever the file's size: NDJSON line by line; a JSON array element by element with
the standard library's `JSONDecoder.raw_decode` over a sliding text buffer (each element must be an object, so a
successful decode is always a complete element; no extra dependency is needed). Row numbers are those a person
finds in the file: the NDJSON line number, the JSON array index + 1.

Values become text as written: strings unchanged, numbers as their literal (an integral float such as 1.0 → "1"),
true/false, null → empty; a nested array or object is kept as its JSON text, so validation can report it.
A line or element that is not a JSON object rejects the batch with its number (`bad_json`); a syntax error is
described in Chinese with its line and column in the file (`json_error_text`), never with the parser's English.
"""

from __future__ import annotations

import codecs
import io
import json
from collections.abc import Generator, Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import polars as pl

from tongshu.core.errors import ValidationFailed

ROW = "_row"
CHUNK_ROWS = 50_000
READ_CHARS = 256 << 10
MAX_ELEMENT_CHARS = 4 << 20  # one record larger than this is not a table row


def _number(text: str) -> str:
    """A JSON number's literal, without the noise of an integral float (1.0 → "1", 1e3 → "1000")."""
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - json only hands over valid literals
        return text
    if value == value.to_integral_value() and abs(value.adjusted()) < 30:
        return str(int(value))
    return text


def _reject_constant(name: str) -> Any:
    raise ValueError(f"不支持的数值 {name}")


_DECODER = json.JSONDecoder(parse_float=_number, parse_int=_number, parse_constant=_reject_constant)


def value_text(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


# The standard library's messages (C scanner and Python decoder alike), by their first words.
_REASONS = (
    ("Expecting value", "此处应为一个值（字符串、数字、true/false/null、对象或数组）"),
    ("Expecting property name enclosed in double quotes", "此处应为用英文双引号括起的属性名"),
    ("Expecting ':' delimiter", "此处应为英文冒号 :"),
    ("Expecting ',' delimiter", "此处应为英文逗号 ,"),
    ("Unterminated string", "字符串缺少结束的双引号"),
    ("Invalid control character", "字符串中有未转义的控制字符（如换行符、制表符）"),
    ("Invalid \\uXXXX escape", "无效的 \\u 转义序列"),
    ("Invalid \\escape", "无效的转义序列"),
    ("Extra data", "一个 JSON 值结束后还有多余的内容"),
    ("Illegal trailing comma", "末尾多了一个逗号"),
)


def json_error_reason(exc: BaseException) -> str:
    """What is wrong, in Chinese (the position is the caller's to give: it knows where the text came from)."""
    if isinstance(exc, json.JSONDecodeError):
        return next((zh for en, zh in _REASONS if exc.msg.startswith(en)), "格式不正确")
    if isinstance(exc, RecursionError):
        return "对象或数组嵌套层次过深"
    text = str(exc)
    # Our own ValueErrors (e.g. NaN) are already Chinese; anything else is not shown as the parser wrote it.
    return text if any("\u4e00" <= char <= "\u9fff" for char in text) else "格式不正确"


def json_error_text(exc: BaseException, *, line: int | None = None, column: int | None = None) -> str:
    """A decoding error in Chinese with its place: the given line and column (1-based) or the parser's."""
    if isinstance(exc, json.JSONDecodeError):
        return f"第 {line or exc.lineno} 行第 {column or exc.colno} 列：{json_error_reason(exc)}"
    return json_error_reason(exc)


def bad_json(message: str, row: int | None = None) -> ValidationFailed:
    details = {"row": row} if row is not None else None
    return ValidationFailed(message, code="bad_json", details=details)


def _text_stream(stream: BinaryIO) -> io.TextIOWrapper[BinaryIO]:
    head = stream.read(3)
    if head != codecs.BOM_UTF8:
        stream.seek(0)
    return io.TextIOWrapper(stream, encoding="utf-8", errors="strict", newline="")


class _Columns:
    """Accumulates records as columns of text; new keys become new columns (earlier rows empty)."""

    def __init__(self) -> None:
        self.columns: dict[str, list[str]] = {}
        self.rows: list[int] = []

    def add(self, row: int, record: dict[str, Any]) -> None:
        count = len(self.rows)
        for key, value in record.items():
            name = str(key).strip()
            column = self.columns.get(name)
            if column is None:
                column = self.columns[name] = [""] * count
            elif len(column) > count:  # the same key twice in one object: the last value wins, as in JSON
                column.pop()
            column.append(value_text(value))
        self.rows.append(row)
        for column in self.columns.values():
            if len(column) == count:
                column.append("")

    def __len__(self) -> int:
        return len(self.rows)

    def frame(self) -> pl.DataFrame:
        data: dict[str, Any] = {
            name: pl.Series(name, values, dtype=pl.String) for name, values in self.columns.items()
        }
        data[ROW] = pl.Series(ROW, self.rows, dtype=pl.Int64)
        return pl.DataFrame(data)


def _records_ndjson(text: TextIO) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(text, start=1):
        if not line.strip():
            continue
        try:
            record = _DECODER.decode(line)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
            place = f"第 {exc.colno} 列" if isinstance(exc, json.JSONDecodeError) else ""
            raise bad_json(f"第 {number} 行{place}不是有效的 JSON：{json_error_reason(exc)}", number) from exc
        if not isinstance(record, dict):
            raise bad_json(f'第 {number} 行不是 JSON 对象（每行应为一条记录，如 {{"姓名": "张三"}}）', number)
        yield number, record


def _records_array(text: TextIO) -> Iterator[tuple[int, dict[str, Any]]]:
    buffer, position, at_end = "", 0, False
    # Where the buffer starts in the file: lines before it, and characters of its first line before it.
    lines_before, columns_before = 0, 0

    def fill() -> bool:
        nonlocal buffer, position, at_end, lines_before, columns_before
        more = text.read(READ_CHARS)
        if not more:
            at_end = True
            return False
        dropped = buffer[:position]
        newlines = dropped.count("\n")
        if newlines:
            lines_before += newlines
            columns_before = len(dropped) - dropped.rfind("\n") - 1
        else:
            columns_before += len(dropped)
        buffer, position = buffer[position:] + more, 0
        return True

    def place(offset: int) -> str:
        """Line and column in the file (1-based) of a buffer offset."""
        newlines = buffer.count("\n", 0, offset)
        if newlines:
            return f"第 {lines_before + newlines + 1} 行第 {offset - buffer.rfind(chr(10), 0, offset)} 列"
        return f"第 {lines_before + 1} 行第 {columns_before + offset + 1} 列"

    def next_char() -> str:
        nonlocal position
        while True:
            while position < len(buffer) and buffer[position] in " \t\r\n":
                position += 1
            if position < len(buffer):
                return buffer[position]
            if not fill():
                return ""

    if next_char() != "[":
        raise bad_json('JSON 文件应为对象数组（以 [ 开头，如 [{"姓名": "张三"}]）')
    position += 1
    index = 0
    if next_char() == "]":
        position += 1
        if next_char() != "":
            raise bad_json("JSON 数组结束后还有多余的内容")
        return
    while True:
        index += 1
        if next_char() != "{":
            raise bad_json(f"第 {index} 条记录不是 JSON 对象", index)
        while True:
            try:
                record, end = _DECODER.raw_decode(buffer, position)
                break
            except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
                if at_end or len(buffer) - position > MAX_ELEMENT_CHARS or not fill():
                    where = f"文件{place(exc.pos)}，" if isinstance(exc, json.JSONDecodeError) else ""
                    raise bad_json(
                        f"第 {index} 条记录不是有效的 JSON（{where}{json_error_reason(exc)}）", index
                    ) from exc
        position = end
        yield index, record
        separator = next_char()
        if separator == "]":
            position += 1
            break
        if separator != ",":
            raise bad_json(f"第 {index} 条记录之后应为逗号或 ]", index)
        position += 1
    if next_char() != "":
        raise bad_json("JSON 数组结束后还有多余的内容")


def read_json(
    source: str | Path | BinaryIO, *, lines: bool, chunk_rows: int | None = None
) -> tuple[list[str], Iterator[pl.DataFrame]]:
    """The header (keys of the first chunk's records, in order of appearance) and the string chunks.

    The first chunk is read at once to learn the header; the rest streams. Keys first seen later become columns of
    later chunks."""
    size = chunk_rows or CHUNK_ROWS
    stream: BinaryIO = open(source, "rb") if isinstance(source, str | Path) else source  # noqa: SIM115
    text = _text_stream(stream)
    records = _records_ndjson(text) if lines else _records_array(text)

    def batches() -> Generator[pl.DataFrame]:
        columns = _Columns()
        try:
            for number, record in records:
                columns.add(number, record)
                if len(columns) >= size:
                    yield columns.frame()
                    columns = _Columns()
            if len(columns):
                yield columns.frame()
        except UnicodeDecodeError as exc:
            raise ValidationFailed("JSON 文件必须使用 UTF-8 编码", code="bad_encoding") from exc
        finally:
            text.detach()
            if isinstance(source, str | Path):
                stream.close()

    chunks = batches()
    try:
        first = next(chunks, None)
    except ValidationFailed:
        chunks.close()
        raise
    if first is None:
        raise ValidationFailed("文件中没有任何记录", code="empty_file")
    header = [name for name in first.columns if name != ROW]

    def all_chunks() -> Iterator[pl.DataFrame]:
        yield first
        yield from chunks

    return header, all_chunks()
