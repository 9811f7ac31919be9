"""Workbooks as departments export them: XLSX, XLS (Excel 97–2003), XLSB and ODS (WPS,
LibreOffice), read by python-calamine (ADR 0027).

What kind a file is comes from its first bytes, not its name: departments' systems name an
XLSX ``.xls`` and the other way round. This module says what kind a file is, opens it, and
gives a sheet's rows with their row numbers, values from column A on; readers.py turns them
into records.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import iterparse

from django.utils.translation import gettext as _
from python_calamine import CalamineError, CalamineSheet, CalamineWorkbook, PasswordError

# The kinds, as a mapping names them (file: format:) and as a person reads them.
KINDS = {"xlsx": "XLSX", "xls": "XLS", "xlsb": "XLSB", "ods": "ODS"}
_SUFFIXES = {"xlsx": ".xlsx", "xls": ".xls", "xlsb": ".xlsb", "ods": ".ods"}
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97–2003, and Office's encrypted packages
_ZIP = b"PK\x03\x04"
_ODS = b"application/vnd.oasis.opendocument.spreadsheet"
# An Office file saved with a password is an OLE2 package holding these streams.
_ENCRYPTED = "EncryptionInfo".encode("utf-16-le")
_CHUNK = 1 << 20
# calamine holds a sheet as one rectangle of cells (32 bytes each, empty or not) from its first
# value to its last. Past this many the allocation would fail and abort the process.
MAX_CELLS = 40_000_000
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension ref="([A-Z]*)(\d*):?([A-Z]+)(\d+)"')
# A cell with a value (a cell with only a style is written <c r="…" s="1"/> and is not read).
_VALUED_CELL = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="([A-Z]+)(\d+)"[^>]*?(?<!/)>(?!</)')


class WorkbookError(ValueError):
    """A file that cannot be read as a workbook; the message says why, for a person."""


def workbook_kind(path: Path) -> str | None:
    """The workbook kind of the file's content, or None for a file that is no workbook."""
    with path.open("rb") as stream:
        start = stream.read(8)
    if start == _OLE2:
        return "xls"
    if not start.startswith(_ZIP):
        return None
    try:
        with zipfile.ZipFile(path) as package:
            names = set(package.namelist())
            is_ods = "mimetype" in names and package.read("mimetype").strip() == _ODS
    except zipfile.BadZipFile:
        # A damaged package: let the extension say which kind it was meant to be.
        suffix = path.suffix.lower()
        return next((kind for kind, known in _SUFFIXES.items() if known == suffix), "xlsx")
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "xl/workbook.bin" in names:
        return "xlsb"
    return "ods" if is_ods else None


def what_it_is(path: Path) -> str:
    """What a file that is no workbook seems to be, for the refusal."""
    with path.open("rb") as stream:
        start = stream.read(512).lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith((b"<html", b"<!doctype html", b"<table", b"<meta")):
        return _("it is a web page (HTML) named like a workbook: open it and save it as .xlsx")
    if start.startswith(b"<?xml"):
        return _("it is an XML file (an Excel 2003 XML spreadsheet?): save it as .xlsx")
    if start.startswith(_ZIP):
        return _("it is a ZIP archive without a workbook in it")
    return _("it is neither an Excel (XLSX, XLS, XLSB) nor an OpenDocument (ODS) workbook")


def is_encrypted(path: Path) -> bool:
    """Whether an OLE2 file is an Office package saved with a password."""
    with path.open("rb") as stream:
        tail = b""
        while chunk := stream.read(_CHUNK):
            if _ENCRYPTED in tail + chunk:
                return True
            tail = chunk[-len(_ENCRYPTED) :]
    return False


class Workbook:
    """A workbook opened for reading its sheets' values."""

    def __init__(self, path: Path, kind: str) -> None:
        self.kind = kind
        self._path = path
        try:
            if path.suffix.lower() == _SUFFIXES[kind]:
                self._book = CalamineWorkbook.from_path(path)
            else:
                # calamine picks its reader from the name; the content said otherwise.
                with path.open("rb") as stream:
                    self._book = CalamineWorkbook.from_filelike(stream)
        except PasswordError as exc:
            raise WorkbookError(protected()) from exc
        except CalamineError as exc:
            if kind == "xls" and is_encrypted(path):
                raise WorkbookError(protected()) from exc
            raise WorkbookError(_damaged(kind, exc)) from exc

    def close(self) -> None:
        self._book.close()

    @property
    def sheetnames(self) -> list[str]:
        return list(self._book.sheet_names)

    def sheet(self, name: str) -> Sheet:
        if self.kind == "xlsx":
            _check_extent(self._path, name)
        try:
            return Sheet(self._book.get_sheet_by_name(name))
        except PasswordError as exc:
            raise WorkbookError(protected()) from exc
        except CalamineError as exc:
            raise WorkbookError(_damaged(self.kind, exc)) from exc


class Sheet:
    """One sheet's cells, read whole by calamine and handed out a row at a time."""

    def __init__(self, sheet: CalamineSheet) -> None:
        self._sheet = sheet

    @property
    def empty(self) -> bool:
        return self._sheet.start is None

    @property
    def height(self) -> int:
        """The number of the last row that has a cell (0 for an empty sheet)."""
        end = self._sheet.end
        return end[0] + 1 if end is not None else 0

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        """The sheet's rows that have a value: (row number, values from column A on), an empty
        cell as "". Empty cells at a row's end are left out, and so are rows without a value."""
        start = self._sheet.start
        if start is None:
            return
        lead: list[Any] = [""] * start[1]
        # iter_rows pads the rows above the first cell, then gives the cells from the first
        # column that has one: row numbers count from 1, and columns are put back from A.
        for number, cells in enumerate(self._sheet.iter_rows(), 1):
            if number <= start[0]:
                continue
            while cells and cells[-1] == "":
                cells.pop()
            if cells:
                yield number, lead + cells if lead else cells


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _sheet_part(package: zipfile.ZipFile, name: str) -> str | None:
    """The XLSX part holding the named sheet."""
    targets: dict[str, str] = {}
    with package.open("xl/_rels/workbook.xml.rels") as stream:
        for _event, element in iterparse(stream):
            if element.tag.endswith("Relationship"):
                target = element.get("Target", "")
                path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
                targets[element.get("Id", "")] = posixpath.normpath(path)
    with package.open("xl/workbook.xml") as stream:
        for _event, element in iterparse(stream):
            if element.tag.endswith("}sheet") and element.get("name") == name:
                relation = next((v for k, v in element.attrib.items() if k.endswith("}id")), "")
                return targets.get(relation)
    return None


def _check_extent(path: Path, name: str) -> None:
    """Refuse an XLSX sheet whose values span more cells than calamine can hold. The sheet's
    own dimension says when to look: it counts cells with only a style, so a large one is
    checked against the cells that have a value."""
    try:
        with zipfile.ZipFile(path) as package:
            part = _sheet_part(package, name)
            if part is None:
                return
            with package.open(part) as stream:
                found = _DIMENSION.search(stream.read(1 << 16))
            if found is None or _cells(*found.groups()) <= MAX_CELLS:
                return
            top, left, bottom, right = _value_extent(package, part)
    except (KeyError, zipfile.BadZipFile, SyntaxError):
        return  # calamine says what is wrong with the package
    if bottom and (bottom - top + 1) * (right - left + 1) > MAX_CELLS:
        raise WorkbookError(
            _(
                "the sheet's values reach from row %(top)d to row %(bottom)d and from column "
                "%(left)d to column %(right)d, more cells than can be read: delete what lies "
                "beyond the records (Ctrl+End shows the last cell) and save it again"
            )
            % {"top": top, "bottom": bottom, "left": left, "right": right}
        )


def _cells(left: bytes, top: bytes, right: bytes, bottom: bytes) -> int:
    width = _column_number(right) - (_column_number(left) if left else 1) + 1
    return (int(bottom) - (int(top) if top else 1) + 1) * width


def _value_extent(package: zipfile.ZipFile, part: str) -> tuple[int, int, int, int]:
    """The first and last row and column that have a value (0s for none)."""
    top = left = 1 << 30
    bottom = right = 0
    with package.open(part) as stream:
        tail = b""
        while chunk := stream.read(_CHUNK):
            text = tail + chunk
            cut = text.rfind(b"<")  # a cell's tag may run past the chunk
            for letters, row in _VALUED_CELL.findall(text, 0, cut):
                column, number = _column_number(letters), int(row)
                top, bottom = min(top, number), max(bottom, number)
                left, right = min(left, column), max(right, column)
            tail = text[cut:]
    return (top, left, bottom, right) if bottom else (0, 0, 0, 0)


def protected() -> str:
    return _(
        "the workbook is protected by a password: open it, remove the password and save it again"
    )


def _damaged(kind: str, exc: Exception) -> str:
    return _("a damaged or incomplete %(kind)s workbook (%(reason)s)") % {
        "kind": KINDS[kind],
        "reason": exc,
    }
