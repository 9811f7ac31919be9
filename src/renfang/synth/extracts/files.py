"""Department files as their systems write them: CSV in UTF-8 (with or without a byte-order
mark), GBK or GB 18030; Excel workbooks; JSON Lines.

Each file appears under its name only when complete (written as ``.partial``, renamed on
success), like the register. Workbooks carry a fixed timestamp (the as-of date), so that the
same seed gives the same bytes.
"""

from __future__ import annotations

import csv
import datetime
import json
import zipfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Self
from xml.sax.saxutils import escape

from renfang.synth.extracts.department import Output, Value

_BUFFER = 1 << 20
# Windows tools end lines with CR LF; so do the department exports made with them.
_CRLF_ENCODINGS = frozenset({"gbk", "gb18030", "utf-8-sig"})


class Sink:
    """One department file, written record by record."""

    def __init__(self, path: Path, columns: tuple[str, ...]) -> None:
        self.path = path
        self.partial = path.with_name(path.name + ".partial")
        self.columns = columns
        self.rows = 0

    def write(self, values: dict[str, Value]) -> None:
        raise NotImplementedError

    def _finish(self) -> None:
        raise NotImplementedError

    def _abandon(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is None:
            self._finish()
            self.partial.replace(self.path)
        else:
            self._abandon()
            self.partial.unlink(missing_ok=True)


class CsvSink(Sink):
    def __init__(self, path: Path, columns: tuple[str, ...], encoding: str) -> None:
        super().__init__(path, columns)
        # A character GBK lacks becomes "?", as it does in the systems that write GBK.
        errors = "replace" if encoding == "gbk" else "strict"
        self._file: IO[str] = self.partial.open(
            "w", encoding=encoding, errors=errors, newline="", buffering=_BUFFER
        )
        terminator = "\r\n" if encoding in _CRLF_ENCODINGS else "\n"
        self._writer = csv.writer(self._file, lineterminator=terminator)
        self._writer.writerow(columns)

    def write(self, values: dict[str, Value]) -> None:
        self._writer.writerow([str(values.get(column, "")) for column in self.columns])
        self.rows += 1

    def _finish(self) -> None:
        self._file.close()

    def _abandon(self) -> None:
        self._file.close()


class JsonLinesSink(Sink):
    def __init__(self, path: Path, columns: tuple[str, ...]) -> None:
        super().__init__(path, columns)
        self._file: IO[str] = self.partial.open(
            "w", encoding="utf-8", newline="\n", buffering=_BUFFER
        )

    def write(self, values: dict[str, Value]) -> None:
        line = {column: str(values.get(column, "")) for column in self.columns}
        self._file.write(json.dumps(line, ensure_ascii=False) + "\n")
        self.rows += 1

    def _finish(self) -> None:
        self._file.close()

    def _abandon(self) -> None:
        self._file.close()


class XlsxSink(Sink):
    """A workbook of one sheet, written as plain SpreadsheetML: strings inline, dates as date
    cells. openpyxl's write-only mode would do, but without lxml it spends over half a
    millisecond on a row; this writes a row in microseconds. The rows go to a temporary file
    and are packed into the workbook when complete (the sheet's size leads its XML)."""

    def __init__(
        self, path: Path, columns: tuple[str, ...], sheet: str, stamp: datetime.date
    ) -> None:
        super().__init__(path, columns)
        self.sheet = sheet
        self._stamp = stamp
        self._letters = [_column_letter(index) for index in range(len(columns))]
        self._body_path = path.with_name(path.name + ".rows")
        self._body: IO[str] = self._body_path.open("w", encoding="utf-8", buffering=_BUFFER)
        self._write_row(1, list(columns))

    def write(self, values: dict[str, Value]) -> None:
        self.rows += 1
        self._write_row(self.rows + 1, [values.get(column, "") for column in self.columns])

    def _write_row(self, number: int, cells: Sequence[Value]) -> None:
        parts = [f'<row r="{number}">']
        for letter, value in zip(self._letters, cells, strict=True):
            if isinstance(value, datetime.date):
                serial = (value - _EXCEL_EPOCH).days
                parts.append(f'<c r="{letter}{number}" s="1"><v>{serial}</v></c>')
            elif value:
                parts.append(
                    f'<c r="{letter}{number}" t="inlineStr"><is><t xml:space="preserve">'
                    f"{escape(value)}</t></is></c>"
                )
        parts.append("</row>")
        self._body.write("".join(parts))

    def _finish(self) -> None:
        self._body.close()
        moment = (self._stamp.year, self._stamp.month, self._stamp.day, 0, 0, 0)
        last = f"{self._letters[-1]}{self.rows + 1}"
        with zipfile.ZipFile(self.partial, "w", zipfile.ZIP_DEFLATED) as book:
            for name, text in _xlsx_parts(self.sheet).items():
                book.writestr(_entry(name, moment), text)
            with (
                book.open(_entry("xl/worksheets/sheet1.xml", moment), "w") as sheet,
                self._body_path.open("rb") as body,
            ):
                sheet.write(
                    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet '
                    f'xmlns="{_MAIN_NS}"><dimension ref="A1:{last}"/><sheetData>'.encode()
                )
                while chunk := body.read(_BUFFER):
                    sheet.write(chunk)
                sheet.write(b"</sheetData></worksheet>")
        self._body_path.unlink()

    def _abandon(self) -> None:
        self._body.close()
        self._body_path.unlink(missing_ok=True)


_EXCEL_EPOCH = datetime.date(1899, 12, 30)
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _entry(name: str, moment: tuple[int, int, int, int, int, int]) -> zipfile.ZipInfo:
    entry = zipfile.ZipInfo(name, date_time=moment)
    entry.compress_type = zipfile.ZIP_DEFLATED
    return entry


def _xlsx_parts(sheet: str) -> dict[str, str]:
    """The parts of a one-sheet workbook besides the sheet: the package's content types and
    relations, the workbook and its styles (style 1: a date, built-in number format 14)."""
    sheet_type = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    return {
        "[Content_Types].xml": (
            f'{_XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{sheet_type}.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" '
            f'ContentType="{sheet_type}.worksheet+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{sheet_type}.styles+xml"/>'
            "</Types>"
        ),
        "_rels/.rels": (
            f'{_XML}<Relationships xmlns="{_RELS_NS}"><Relationship Id="rId1" '
            f'Type="{_DOC_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'{_XML}<workbook xmlns="{_MAIN_NS}" xmlns:r="{_DOC_NS}"><sheets>'
            f'<sheet name="{escape(sheet)}" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            f'{_XML}<Relationships xmlns="{_RELS_NS}">'
            f'<Relationship Id="rId1" Type="{_DOC_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{_DOC_NS}/styles" Target="styles.xml"/>'
            "</Relationships>"
        ),
        "xl/styles.xml": (
            f'{_XML}<styleSheet xmlns="{_MAIN_NS}">'
            '<fonts count="1"><font><sz val="11"/><name val="宋体"/></font></fonts>'
            '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
            '<borders count="1"><border/></borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
            '</cellStyleXfs><cellXfs count="2">'
            '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
            '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" '
            'applyNumberFormat="1"/></cellXfs><cellStyles count="1">'
            '<cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
        ),
    }


def open_sink(
    directory: Path, output: Output, columns: tuple[str, ...], stamp: datetime.date
) -> Sink:
    path = directory / output.file_name
    if output.kind == "xlsx":
        return XlsxSink(path, columns, output.sheet, stamp)
    if output.kind == "jsonl":
        return JsonLinesSink(path, columns)
    return CsvSink(path, columns, output.encoding)
