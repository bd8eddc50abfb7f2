"""The length / format notation parser and the value check built on it."""

from __future__ import annotations

import pytest

from tongshu.standards.formats import LengthNotationError, LengthSpec, fits, parse_for_type, parse_length


@pytest.mark.parametrize(
    ("notation", "expected"),
    [
        ("C18", LengthSpec("C", 18, 18, 0)),
        ("C..50", LengthSpec("C", 1, 50, 0)),
        ("C2..50", LengthSpec("C", 2, 50, 0)),
        ("c..50", LengthSpec("C", 1, 50, 0)),
        ("N8,2", LengthSpec("N", 1, 8, 2)),
        ("N..18,2", LengthSpec("N", 1, 18, 2)),
        ("N8，2", LengthSpec("N", 1, 8, 2)),
        ("Y..18,2", LengthSpec("Y", 1, 18, 2)),
        ("I10", LengthSpec("I", 1, 10, 0)),
        ("D8", LengthSpec("D", 8, 8, 0)),
        ("D10", LengthSpec("D", 10, 10, 0)),
        ("T14", LengthSpec("T", 14, 14, 0)),
        ("L1", LengthSpec("L", 1, 1, 0)),
        ("M", LengthSpec("M", 1, None, 0)),
    ],
)
def test_parse_length_reads_the_guide_notation(notation, expected):
    assert parse_length(notation) == expected


@pytest.mark.parametrize(
    ("notation", "fragment"),
    [
        ("", "无法识别"),
        ("18", "无法识别"),
        ("C-5", "无法识别"),
        ("X12", "不是指南规定的数据类型"),
        ("C0", "必须大于 0"),
        ("C9..3", "最小长度大于最大长度"),
        ("C18,2", "只有数值型"),
        ("N8,8", "小数位数必须小于总位数"),
        ("D9", "D8、D10"),
        ("D..8", "D8、D10"),
        ("C..5000", "备注型"),
        ("N40", "位数超过"),
        ("L2", "逻辑型"),
    ],
)
def test_parse_length_rejects_with_a_chinese_reason(notation, fragment):
    with pytest.raises(LengthNotationError) as caught:
        parse_length(notation)
    assert fragment in str(caught.value)


def test_parse_for_type_requires_the_letters_to_agree():
    assert parse_for_type("C", "") is None
    assert parse_for_type("N", "N8,2") == LengthSpec("N", 1, 8, 2)
    with pytest.raises(LengthNotationError, match="不一致"):
        parse_for_type("N", "C18")
    with pytest.raises(LengthNotationError, match="必须写明格式"):
        parse_for_type("D", "")
    with pytest.raises(LengthNotationError, match="无法识别"):
        parse_for_type("C", "18")  # a data element writes its letter


@pytest.mark.parametrize(
    ("notation", "data_type", "expected"),
    [
        ("C18", "C", "C18"),
        ("C..50", "C", "C..50"),
        ("N8,2", "N", "N8,2"),
        ("..20", "C", "C..20"),
        ("n..12,2", "N", "N..12,2"),
        ("18", "C", "C18"),
        ("C2..50", "C", "C2..50"),
        ("C1..50", "C", "C..50"),
        (" N 8 ，0 ", "N", "N8,0"),
        ("M", "M", "M"),
    ],
)
def test_an_item_length_is_written_back_canonically(notation, data_type, expected):
    """Info items may leave out the letter of their type; the catalog stores the canonical writing."""
    assert parse_length(notation, data_type).notation == expected


@pytest.mark.parametrize(
    ("notation", "data_type", "fragment"),
    [
        ("C0", "C", "必须大于 0"),
        ("N2,2", "N", "小数位数必须小于总位数"),
        ("X..", "C", "无法识别"),
        ("N8", "C", "不一致"),
        ("", "C", "无法识别"),
        ("..", "C", "无法识别"),
        (",2", "N", "无法识别"),
        ("C18,2", "C", "只有数值型"),
        ("9", "D", "D8、D10"),
    ],
)
def test_an_item_length_is_checked_like_an_element_length(notation, data_type, fragment):
    with pytest.raises(LengthNotationError) as caught:
        parse_length(notation, data_type)
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("item", "element", "ok"),
    [
        ("C18", "C18", True),
        ("C..20", "C18", False),
        ("C..18", "C18", False),  # shorter values than the element's fixed 18
        ("C..50", "C..100", True),
        ("C..100", "C..50", False),
        ("C5..20", "C2..50", True),
        ("C..20", "C2..50", False),
        ("C..20", "C", True),
        ("C", "C..20", False),
        ("N..6", "N8", True),  # a numeric length is a precision: N8 is up to 8 digits, as N..8
        ("N8,2", "N..12,2", True),
        ("N..18", "N..18,2", False),  # 18 integer digits where the element allows 16
        ("N..12,4", "N..18,2", False),
        ("D8", "D10", False),
        ("Y..18,2", "N..18,2", False),
    ],
)
def test_fits_within_tells_whether_an_item_narrows_its_element(item, element, ok):
    assert parse_length(item).fits_within(parse_length(element)) is ok


@pytest.mark.parametrize(
    ("notation", "value", "ok"),
    [
        ("C18", "11010519491231002X", True),
        ("C18", "1101051949", False),
        ("C..5", "华容县章华", True),
        ("C..5", "华容县章华镇", False),
        ("N8,2", "123456.78", True),
        ("N8,2", "1234567.8", False),
        ("N8,2", "1.234", False),
        ("N8,2", "1.230", True),
        ("N8,2", "abc", False),
        ("N8", "12.5", False),
        ("I5", "42", True),
        ("I5", "4.5", False),
        ("F", "3.14159", True),
        ("D8", "20240229", True),
        ("D8", "20230229", False),
        ("D10", "2024-02-29", True),
        ("T14", "20240229235959", True),
        ("T14", "20240229246000", False),
        ("L1", "是", True),
        ("L1", "maybe", False),
        ("M", "任意长度的文本", True),
    ],
)
def test_fits_checks_a_value_against_the_notation(notation, value, ok):
    reason = fits(parse_length(notation), value)
    assert (reason is None) is ok, reason
