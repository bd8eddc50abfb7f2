"""Reading JSON (an array of objects) and NDJSON (one object per line) as string chunks with row numbers in `_row`.

Both stream in bounded memory whatever the file's size: NDJSON line by line; a JSON array element by element with
the standard library's `JSONDecoder.raw_decode` over a sliding text buffer (each element must be an object, so a
successful decode is always a complete element; no extra dependency is needed). Row numbers are those a person
finds in the file: the NDJSON line number, the JSON array index + 1.

Values become text as written: strings unchanged, numbers as their literal (an integral float such as 1.0 → "1"),
true/false, null → empty; a nested array or object is kept as its JSON text, so validation can report it.
A line or element that is not a JSON object rejects the batch with its number (`bad_json`).
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
        except (json.JSONDecodeError, ValueError) as exc:
            raise bad_json(f"第 {number} 行不是有效的 JSON：{exc}", number) from exc
        if not isinstance(record, dict):
            raise bad_json(f'第 {number} 行不是 JSON 对象（每行应为一条记录，如 {{"姓名": "张三"}}）', number)
        yield number, record


def _records_array(text: TextIO) -> Iterator[tuple[int, dict[str, Any]]]:
    buffer, position, at_end = "", 0, False

    def fill() -> bool:
        nonlocal buffer, position, at_end
        more = text.read(READ_CHARS)
        if not more:
            at_end = True
            return False
        buffer, position = buffer[position:] + more, 0
        return True

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
            except (json.JSONDecodeError, ValueError) as exc:
                if at_end or len(buffer) - position > MAX_ELEMENT_CHARS or not fill():
                    raise bad_json(f"第 {index} 条记录不是有效的 JSON：{exc}", index) from exc
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
