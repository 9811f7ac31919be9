"""Writing test workbooks in every kind departments send: XLSX (openpyxl), XLS (xlwt), ODS
(odfpy), and an XLSX saved with a password (msoffcrypto-tool). Each takes sheets as lists of
rows of Python values (None: an empty cell); dates and times become date cells."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

Sheets = dict[str, list[list[Any]]]


def write_xlsx(path: Path, sheets: Sheets) -> Path:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    workbook.save(path)
    return path


def write_xls(path: Path, sheets: Sheets) -> Path:
    import xlwt

    workbook = xlwt.Workbook(encoding="utf-8")
    styles = {
        datetime.date: xlwt.easyxf(num_format_str="yyyy-mm-dd"),
        datetime.datetime: xlwt.easyxf(num_format_str="yyyy-mm-dd hh:mm:ss"),
        datetime.time: xlwt.easyxf(num_format_str="hh:mm:ss"),
    }
    for name, rows in sheets.items():
        sheet = workbook.add_sheet(name)
        for row_index, row in enumerate(rows):
            for column, value in enumerate(row):
                if value is None:
                    continue
                style = styles.get(type(value))
                if style is None:
                    sheet.write(row_index, column, value)
                else:
                    sheet.write(row_index, column, value, style)
    workbook.save(str(path))
    return path


def _ods_cell(value: Any) -> Any:
    from odf.table import TableCell
    from odf.text import P

    if value is None:
        return TableCell()
    if isinstance(value, bool):
        cell = TableCell(valuetype="boolean", booleanvalue="true" if value else "false")
    elif isinstance(value, int | float):
        cell = TableCell(valuetype="float", value=repr(value))
    elif isinstance(value, datetime.date):  # and datetime
        cell = TableCell(valuetype="date", datevalue=value.isoformat())
    elif isinstance(value, datetime.time):
        cell = TableCell(valuetype="time", timevalue=value.strftime("PT%HH%MM%SS"))
    else:
        cell = TableCell(valuetype="string")
    cell.addElement(P(text=str(value)))
    return cell


def write_ods(path: Path, sheets: Sheets) -> Path:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableRow

    document = OpenDocumentSpreadsheet()
    for name, rows in sheets.items():
        table = Table(name=name)
        for row in rows:
            table_row = TableRow()
            for value in row:
                table_row.addElement(_ods_cell(value))
            table.addElement(table_row)
        document.spreadsheet.addElement(table)
    document.save(str(path))
    return path


WRITERS = {"xlsx": write_xlsx, "xls": write_xls, "ods": write_ods}


def write_workbook(path: Path, sheets: Sheets) -> Path:
    """A workbook of the kind the file's suffix names."""
    return WRITERS[path.suffix.lstrip(".").lower()](path, sheets)


def write_protected_xlsx(path: Path, sheets: Sheets, password: str = "123456") -> Path:
    """An XLSX saved with a password to open it, as Excel saves it (an encrypted package)."""
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = write_xlsx(path.with_name("plain-" + path.name), sheets)
    with plain.open("rb") as source, path.open("wb") as target:
        OOXMLFile(source).encrypt(password, target)
    plain.unlink()
    return path
