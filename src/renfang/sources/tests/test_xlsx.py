"""The XLSX reader gives what openpyxl gives, only faster: openpyxl is the oracle here."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook as OpenpyxlWorkbook
from openpyxl import load_workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.utils.datetime import MAC_EPOCH

from renfang.sources.readers import cell_text
from renfang.sources.xlsx import Workbook, XlsxError


def as_text(rows: list[tuple[int, list[Any]]]) -> list[tuple[int, list[str]]]:
    """Rows as the import sees them: text, without trailing empty cells, empty rows left out."""
    shown = []
    for number, cells in rows:
        texts = [cell_text(cell) for cell in cells]
        while texts and not texts[-1]:
            texts.pop()
        if texts:
            shown.append((number, texts))
    return shown


def by_openpyxl(path: Path, sheet: str) -> list[tuple[int, list[str]]]:
    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        return as_text(
            list(enumerate((list(r) for r in workbook[sheet].iter_rows(values_only=True)), 1))
        )
    finally:
        workbook.close()


def by_reader(path: Path, sheet: str) -> list[tuple[int, list[str]]]:
    workbook = Workbook(path)
    try:
        return as_text(list(workbook.rows(sheet)))
    finally:
        workbook.close()


ROWS: list[list[Any]] = [
    ["档案号", "姓名", "出生日期", "登记时间", "电话", "人数", "比例", "在册", "备注"],
    [
        1001,
        "张伟",
        datetime.date(1980, 1, 1),
        datetime.datetime(2020, 5, 6, 7, 8, 9),  # noqa: DTZ001 (Excel has no zones)
        13800138000,
        3,
        0.25,
        True,
        None,
    ],
    [
        1002,
        "李娜",
        datetime.datetime(1990, 2, 15),  # noqa: DTZ001
        None,
        "021-64391234",
        None,
        1.5,
        False,
        "x005F_y",
    ],
    [],
    [None, None, None, None, None, None, None, None, "only the last cell"],
    [
        "1003",
        "  阿依古丽·买买提 ",
        datetime.date(1899, 12, 31),
        datetime.time(12, 30),
        "+86 138",
        -7,
        1e20,
        None,
        "=SUM(F2:F3)",
    ],
]


@pytest.mark.parametrize("write_only", [False, True])
def test_values_are_those_openpyxl_reads(tmp_path: Path, write_only: bool) -> None:
    workbook = OpenpyxlWorkbook(write_only=write_only)
    sheet = workbook.create_sheet("人员") if write_only else workbook.active
    sheet.title = "人员"
    for row in ROWS:
        sheet.append(row)
    extra = workbook.create_sheet("说明")
    extra.append(["第二张表"])
    path = tmp_path / "people.xlsx"
    workbook.save(path)

    assert by_reader(path, "人员") == by_openpyxl(path, "人员")
    assert by_reader(path, "说明") == [(1, ["第二张表"])]
    assert by_reader(path, "人员")[1] == (
        2,
        ["1001", "张伟", "1980-01-01", "2020-05-06 07:08:09", "13800138000", "3", "0.25", "TRUE"],
    )


def test_custom_date_formats_rich_text_and_the_1904_calendar(tmp_path: Path) -> None:
    workbook = OpenpyxlWorkbook()
    workbook.epoch = MAC_EPOCH
    sheet = workbook.active
    sheet.title = "Sheet1"
    sheet.append(["日期", "文字", "数字"])
    sheet.append(
        [datetime.date(2024, 2, 29), CellRichText("张", TextBlock(InlineFont(b=True), "三")), 42]
    )
    sheet["A2"].number_format = "yyyy年m月d日"
    sheet["C2"].number_format = "0.00"
    sheet.cell(row=5, column=4, value="far away")
    path = tmp_path / "mac.xlsx"
    workbook.save(path)

    read = by_reader(path, "Sheet1")

    assert read == by_openpyxl(path, "Sheet1")
    assert read[1] == (2, ["2024-02-29", "张三", "42"])
    assert read[2] == (5, ["", "", "", "far away"])


def test_a_file_that_is_no_workbook_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "not.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")

    with pytest.raises(XlsxError):
        Workbook(path)
