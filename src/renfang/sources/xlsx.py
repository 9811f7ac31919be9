"""A streaming reader of XLSX sheets: cell values only, row by row.

openpyxl's read-only mode builds an object per cell (and several per inline string); a
department's workbook of 150,000 rows then takes minutes. This reader walks the sheet's XML
with the C parser, keeps nothing but the current row, and uses openpyxl only for what it knows
best: which number formats are dates, and how Excel counts days. Values come out as openpyxl
gives them (str, int, float, bool, datetime), so the two are interchangeable; the tests hold
them to that.
"""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any
from xml.etree.ElementTree import Element, iterparse

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format
from openpyxl.utils.cell import column_index_from_string
from openpyxl.utils.datetime import MAC_EPOCH, WINDOWS_EPOCH, from_excel, from_ISO8601

_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_DATE = 1
_DURATION = 2


class XlsxError(ValueError):
    """Not a workbook this reader can read; the message says why."""


def _local(tag: str) -> str:
    """A tag without its namespace (transitional and strict OOXML use different ones)."""
    return tag.rpartition("}")[2]


def _children(element: Element, name: str) -> Iterator[Element]:
    return (child for child in element if _local(child.tag) == name)


def _text_of(element: Element) -> str:
    """A string item's text: its ``t``, or the ``t`` of each rich-text run (not the phonetic
    ``rPh`` guide)."""
    if len(element) == 1 and element[0].tag.endswith("}t"):
        return element[0].text or ""  # the usual plain string
    parts: list[str] = []
    for child in element:
        name = _local(child.tag)
        if name == "t":
            parts.append(child.text or "")
        elif name == "r":
            parts.extend(t.text or "" for t in _children(child, "t"))
    return "".join(parts)


def _column(reference: str) -> int:
    index: int = column_index_from_string(reference.rstrip("0123456789"))
    return index


class Workbook:
    """An XLSX file opened for reading its sheets' values."""

    def __init__(self, path: Path) -> None:
        try:
            self._zip = zipfile.ZipFile(path)
            self._sheets, self._epoch = self._read_workbook()
            self._strings: list[str] | None = None
            self._dates: list[int] | None = None
        except (zipfile.BadZipFile, KeyError, SyntaxError) as exc:
            raise XlsxError(str(exc) or type(exc).__name__) from exc

    def close(self) -> None:
        self._zip.close()

    @property
    def sheetnames(self) -> list[str]:
        return list(self._sheets)

    def _open(self, name: str) -> IO[bytes]:
        return self._zip.open(name)

    def _read_workbook(self) -> tuple[dict[str, str], Any]:
        targets: dict[str, str] = {}
        with self._open("xl/_rels/workbook.xml.rels") as stream:
            for _event, element in iterparse(stream):
                if _local(element.tag) == "Relationship":
                    target = element.get("Target", "")
                    path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
                    targets[element.get("Id", "")] = posixpath.normpath(path)
        sheets: dict[str, str] = {}
        epoch = WINDOWS_EPOCH
        with self._open("xl/workbook.xml") as stream:
            for _event, element in iterparse(stream):
                name = _local(element.tag)
                if name == "sheet":
                    relation = element.get(f"{{{_REL}}}id", "")
                    if relation in targets:
                        sheets[element.get("name", "")] = targets[relation]
                elif name == "workbookPr" and element.get("date1904") in ("1", "true"):
                    epoch = MAC_EPOCH
        return sheets, epoch

    def _shared_strings(self) -> list[str]:
        if self._strings is None:
            self._strings = []
            if "xl/sharedStrings.xml" in self._zip.namelist():
                with self._open("xl/sharedStrings.xml") as stream:
                    for _event, element in iterparse(stream):
                        if _local(element.tag) == "si":
                            # What openpyxl makes of Excel's escaped underscore.
                            self._strings.append(_text_of(element).replace("x005F_", ""))
                            element.clear()
        return self._strings

    def _date_styles(self) -> list[int]:
        """For each cell style (``s`` of a cell), whether its number format is a date
        (``_DATE``), a duration (``_DURATION``) or neither (0)."""
        if self._dates is None:
            self._dates = []
            if "xl/styles.xml" not in self._zip.namelist():
                return self._dates
            formats: dict[int, str] = dict(BUILTIN_FORMATS)
            with self._open("xl/styles.xml") as stream:
                root = next(
                    element
                    for event, element in iterparse(stream, events=("end",))
                    if _local(element.tag) == "styleSheet"
                )
            for group in _children(root, "numFmts"):
                for number_format in _children(group, "numFmt"):
                    formats[int(number_format.get("numFmtId", "0"))] = number_format.get(
                        "formatCode", ""
                    )
            for group in _children(root, "cellXfs"):
                for style in _children(group, "xf"):
                    code = formats.get(int(style.get("numFmtId", "0")))
                    if code is None or not is_date_format(code):
                        self._dates.append(0)
                    else:
                        self._dates.append(_DURATION if is_timedelta_format(code) else _DATE)
        return self._dates

    def rows(self, sheet: str) -> Iterator[tuple[int, list[Any]]]:
        """The sheet's rows that have cells: (row number, values from column A on)."""
        strings = self._shared_strings()
        dates = self._date_styles()
        with self._open(self._sheets[sheet]) as stream:
            events = iterparse(stream, events=("start", "end"))
            _event, root = next(events)
            # The sheet's namespace, once: comparing whole tags is what keeps this quick.
            namespace = root.tag[: root.tag.find("}") + 1]
            tags = _CellTags(namespace)
            sheet_data, row_tag = namespace + "sheetData", tags.row
            parent: Element | None = None
            number = 0
            for event, element in events:
                tag = element.tag
                if event == "start":
                    if tag == sheet_data:
                        parent = element
                elif tag == row_tag:
                    number = int(element.get("r") or number + 1)
                    values = self._row(element, strings, dates, tags)
                    if parent is not None:
                        parent.clear()  # the rows read so far: keep nothing
                    if values:
                        yield number, values

    def _row(
        self, row: Element, strings: list[str], dates: list[int], tags: _CellTags
    ) -> list[Any]:
        values: list[Any] = []
        for cell in row:
            reference = cell.get("r")
            index = _column(reference) - 1 if reference else len(values)
            if index > len(values):
                values.extend([None] * (index - len(values)))
            values.append(self._value(cell, strings, dates, tags))
        return values

    def _value(self, cell: Element, strings: list[str], dates: list[int], tags: _CellTags) -> Any:
        kind = cell.get("t", "n")
        if kind == "inlineStr":
            item = cell.find(tags.inline)
            return _text_of(item) if item is not None else None
        raw = cell.findtext(tags.value)
        if not raw:
            return None
        if kind == "n":
            return self._number(raw, int(cell.get("s") or 0), dates)
        if kind == "s":
            return strings[int(raw)]
        if kind == "b":
            return bool(int(raw))
        # "d" an ISO date; "str" a formula's text; "e" an error such as #N/A
        return from_ISO8601(raw) if kind == "d" else raw

    def _number(self, raw: str, style: int, dates: list[int]) -> Any:
        number: int | float = float(raw) if "." in raw or "E" in raw or "e" in raw else int(raw)
        if style >= len(dates) or not dates[style]:
            return number
        try:
            return from_excel(number, self._epoch, timedelta=dates[style] == _DURATION)
        except (OverflowError, ValueError):
            return "#VALUE!"


class _CellTags:
    """The tags of a sheet's cells in the sheet's namespace."""

    def __init__(self, namespace: str) -> None:
        self.row = namespace + "row"
        self.value = namespace + "v"
        self.inline = namespace + "is"
