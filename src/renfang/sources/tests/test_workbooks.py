"""Workbooks read with python-calamine give what the hand-written XLSX reader gave (ADR 0027):
for XLSX, what openpyxl reads (openpyxl is the oracle here); for XLS and ODS, the same text as
the same sheet written as XLSX."""

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
from renfang.sources.tests.workbooks import write_ods, write_workbook, write_xls, write_xlsx
from renfang.sources.workbooks import Workbook, WorkbookError, workbook_kind


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
    kind = workbook_kind(path)
    assert kind is not None
    workbook = Workbook(path, kind)
    try:
        return as_text(list(workbook.sheet(sheet).rows()))
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

    with pytest.raises(WorkbookError, match="damaged or incomplete XLSX workbook"):
        Workbook(path, "xlsx")


# The rows of ROWS that every kind can hold alike: XLS and ODS have no formulas written as text
# and count days from another day 0, so the formula and the 1899 date stay out.
ALIKE: list[list[Any]] = [
    ROWS[0],
    ROWS[1],
    ROWS[2],
    [],
    ROWS[4],
    [
        "1003",
        "  阿依古丽·买买提 ",
        datetime.date(1950, 3, 1),
        datetime.time(12, 30),
        "+86 138",
        -7,
        1e20,
    ],
]


@pytest.mark.parametrize("kind", ["xls", "ods"])
def test_every_kind_reads_as_the_same_sheet_in_xlsx(tmp_path: Path, kind: str) -> None:
    xlsx = write_xlsx(tmp_path / "people.xlsx", {"人员": ALIKE, "说明": [["第二张表"]]})
    other = write_workbook(tmp_path / f"people.{kind}", {"人员": ALIKE, "说明": [["第二张表"]]})

    read = by_reader(other, "人员")

    assert read == by_openpyxl(xlsx, "人员")
    assert read[1] == (
        2,
        ["1001", "张伟", "1980-01-01", "2020-05-06 07:08:09", "13800138000", "3", "0.25", "TRUE"],
    )
    assert read[2][1][2] == "1990-02-15"  # a datetime at midnight is a date
    assert read[3] == (5, ["", "", "", "", "", "", "", "", "only the last cell"])
    assert read[4][1][2:4] == ["1950-03-01", "12:30:00"]
    assert by_reader(other, "说明") == [(1, ["第二张表"])]


def test_the_kind_comes_from_the_content_not_the_name(tmp_path: Path) -> None:
    sheets: dict[str, list[list[Any]]] = {"Sheet1": [["a"], [1]]}
    xlsx_named_xls = write_xlsx(tmp_path / "x.xlsx", sheets).rename(tmp_path / "export.xls")
    xls_named_xlsx = write_xls(tmp_path / "y.xls", sheets).rename(tmp_path / "export.xlsx")
    ods = write_ods(tmp_path / "z.ods", sheets)
    page = tmp_path / "page.xls"
    page.write_text("<html><table><tr><td>a</td></tr></table></html>", encoding="utf-8")
    text = tmp_path / "text.csv"
    text.write_text("a\n1\n", encoding="utf-8")

    kinds = [workbook_kind(p) for p in (xlsx_named_xls, xls_named_xlsx, ods, page, text)]

    assert kinds == ["xlsx", "xls", "ods", None, None]
    assert by_reader(xlsx_named_xls, "Sheet1") == [(1, ["a"]), (2, ["1"])]
    assert by_reader(xls_named_xlsx, "Sheet1") == [(1, ["a"]), (2, ["1"])]


@pytest.mark.parametrize("kind", ["xlsx", "xls", "ods"])
def test_a_big_sheet_is_read_whole_with_its_row_numbers(tmp_path: Path, kind: str) -> None:
    """20,000 rows are all read in order; a value far below and to the right of them keeps
    its row number and column (calamine holds the rectangle up to it: ADR 0027)."""
    rows: list[list[Any]] = [["编号", "姓名"]]
    rows += [[number, f"姓名{number}"] for number in range(1, 20_001)]
    rows += [[] for _ in range(20_002, 60_000)] + [[None] * 39 + ["远处的备注"]]
    path = write_workbook(tmp_path / f"big.{kind}", {"人员": rows})

    read = by_reader(path, "人员")

    assert len(read) == 20_002
    assert read[:2] == [(1, ["编号", "姓名"]), (2, ["1", "姓名1"])]
    assert read[20_000] == (20_001, ["20000", "姓名20000"])
    assert read[-1] == (60_000, [""] * 39 + ["远处的备注"])


def test_the_sheet_rows_start_where_its_cells_do(tmp_path: Path) -> None:
    """A sheet whose first cell is C3 gives row 3, values from column A."""
    path = write_xls(tmp_path / "offset.xls", {"S": [[], [], [None, None, "标题"], [None, 5]]})

    assert by_reader(path, "S") == [(3, ["", "", "标题"]), (4, ["", "5"])]


def test_a_stray_value_at_the_sheets_far_corner_is_refused_not_a_crash(tmp_path: Path) -> None:
    """calamine would hold 17 billion cells for it (ADR 0027): the reader says what to do."""
    from openpyxl import Workbook as OpenpyxlWorkbook

    workbook = OpenpyxlWorkbook()
    sheet = workbook.active
    sheet.title = "人员"
    sheet.append(["编号", "姓名"])
    sheet.append([1, "张伟"])
    sheet.cell(row=1_048_576, column=16_384, value="x")
    path = tmp_path / "stray.xlsx"
    workbook.save(path)

    with pytest.raises(WorkbookError, match="from row 1 to row 1048576 and from column 1 to"):
        Workbook(path, "xlsx").sheet("人员")


def test_a_far_cell_with_only_a_style_is_no_value_and_the_sheet_is_read(tmp_path: Path) -> None:
    from openpyxl import Workbook as OpenpyxlWorkbook
    from openpyxl.styles import Font

    workbook = OpenpyxlWorkbook()
    sheet = workbook.active
    sheet.title = "人员"
    sheet.append(["编号", "姓名"])
    sheet.append([1, "张伟"])
    sheet.cell(row=1_048_576, column=16_384).font = Font(bold=True)
    path = tmp_path / "styled.xlsx"
    workbook.save(path)

    assert by_reader(path, "人员") == [(1, ["编号", "姓名"]), (2, ["1", "张伟"])]
