"""Reading a source's file: CSV (UTF-8 with or without BOM, GBK, GB18030), workbooks (XLSX, XLS,
XLSB, ODS) and JSON Lines.

Every reader gives the same thing: the header and the rows, each row with the line (or sheet
row) it starts on and its non-empty values by column, as text. A file that cannot be read as a
whole (undecodable, malformed, without the columns the mapping needs) is refused with the line
and the reason: the import saves nothing from it.

Files are read as streams, line by line, so an extract of a million records does not sit in
memory. Decoding is done per line (a newline byte never occurs inside a GBK or UTF-8 character)
so that a byte that does not decode is reported with its line.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.utils.translation import gettext as _

from renfang.core.csvimport import ImportRejected, RowError
from renfang.sources.mapping import FileOptions
from renfang.sources.workbooks import (
    KINDS,
    Workbook,
    WorkbookError,
    is_encrypted,
    protected,
    what_it_is,
    workbook_kind,
)

Row = dict[str, str]

SUFFIXES = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xls": "xls",
    ".xlsb": "xlsb",
    ".ods": "ods",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
_CHUNK = 1 << 20
# Python's codec names for the encodings a mapping may declare.
_CODECS = {"utf-8": "utf-8", "gbk": "gbk", "gb18030": "gb18030"}
_BOM = "\ufeff"


@dataclass(frozen=True)
class FileFacts:
    sha256: str
    utf8: bool  # the whole file decodes as UTF-8 (an "auto" encoding reads it so)
    size: int
    lines: int


def file_facts(path: Path) -> FileFacts:
    """The file's SHA-256, whether it is UTF-8 and how many lines it has, in one pass."""
    digest = hashlib.sha256()
    decoder: codecs.IncrementalDecoder | None = codecs.getincrementaldecoder("utf-8")()
    size = lines = 0
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            lines += chunk.count(b"\n")
            digest.update(chunk)
            if decoder is not None:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    decoder = None
        if decoder is not None:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                decoder = None
    return FileFacts(sha256=digest.hexdigest(), utf8=decoder is not None, size=size, lines=lines)


@dataclass
class Table:
    """A file opened for reading: its format, the encoding used, the header, the rows."""

    format: str
    encoding: str
    header: list[str]
    rows: Iterator[tuple[int, Row]]


class FileError(RowError):
    """An error of the file as a whole (no line to name)."""

    def __str__(self) -> str:
        if self.line:
            return super().__str__()
        return f"{self.column}: {self.reason}" if self.column != "-" else self.reason


def file_format(path: Path, options: FileOptions) -> str:
    """How to read the file. A workbook's kind is taken from its content (departments' systems
    name an XLSX ``.xls``); a mapping that names a kind (``file: format:``) must get that kind.
    Text files (CSV, JSON Lines) are told apart by the mapping or the file's name."""
    kind = workbook_kind(path)
    declared = options.format
    named = SUFFIXES.get(path.suffix.lower())
    if kind is not None:
        if declared not in ("auto", kind) and kind == "xls" and is_encrypted(path):
            # An XLSX saved with a password is an OLE2 package, as an XLS is.
            raise _refused(path, 0, "-", protected())
        if declared not in ("auto", kind):
            raise _refused(
                path,
                0,
                "-",
                _(
                    "the mapping reads %(declared)s (file: format: %(format)s), but the file is "
                    "an %(kind)s workbook: set file: format: %(found)s (or auto)"
                )
                % {
                    "declared": KINDS.get(declared, declared.upper()),
                    "format": declared,
                    "kind": KINDS[kind],
                    "found": kind,
                },
            )
        return kind
    if declared in KINDS or (declared == "auto" and named in KINDS):
        raise _refused(
            path,
            0,
            "-",
            _("not a workbook: %(reason)s") % {"reason": what_it_is(path)},
        )
    if declared != "auto":
        return declared
    if named is None:
        raise _refused(
            path,
            0,
            "-",
            _(
                "cannot tell the format from the file name %(name)s: name it .csv, .xlsx, .xls, "
                ".ods or .jsonl, or set file: format: in the mapping"
            )
            % {"name": path.name},
        )
    return named


@contextmanager
def read_table(
    path: Path, options: FileOptions, *, needed: Sequence[str], utf8: bool | None = None
) -> Iterator[Table]:
    """Open a source file. ``needed`` are the columns the mapping reads: a file without one of
    them is refused (for JSON Lines, which has no header, once the last line is read).
    ``utf8`` says whether the file is UTF-8 when that is known already (``file_facts``)."""
    kind = file_format(path, options)
    if kind in KINDS:
        with _workbook_table(path, kind, options, needed) as table:
            yield table
        return
    encoding = _encoding(path, options, utf8)
    with path.open("rb") as stream:
        lines = _decoded_lines(path, stream, encoding)
        if kind == "csv":
            yield _csv_table(path, lines, options, needed, encoding)
        else:
            yield Table("jsonl", encoding, [], _jsonl_rows(path, lines, needed))


def _refused(path: Path | str, line: int, column: str, reason: str) -> ImportRejected:
    """The file refused for one reason; ``path`` may be a name already (a workbook's file and
    sheet)."""
    name = path if isinstance(path, str) else path.name
    return ImportRejected([FileError(line, column, reason)], file_name=name)


def _encoding(path: Path, options: FileOptions, utf8: bool | None) -> str:
    if options.encoding != "auto":
        return _CODECS[options.encoding]
    if utf8 is None:
        utf8 = file_facts(path).utf8
    return "utf-8" if utf8 else "gb18030"


def _decoded_lines(path: Path, stream: IO[bytes], encoding: str) -> Iterator[str]:
    """The file's lines as text; an undecodable line refuses the file, naming the line."""
    for number, raw in enumerate(stream, 1):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as exc:
            raise _refused(
                path,
                number,
                "-",
                _(
                    "not %(encoding)s text (byte %(byte)s at byte %(at)d of the line): declare "
                    "the file's encoding in the mapping (file: encoding: utf-8, gbk or gb18030)"
                )
                % {
                    "encoding": encoding.upper(),
                    "byte": f"0x{raw[exc.start]:02x}",
                    "at": exc.start + 1,
                },
            ) from exc
        if number == 1 and text.startswith(_BOM):
            text = text[1:]
        yield text


def _named(cells: Iterable[Any]) -> list[str]:
    """Header cells as column names: stripped, an unnamed column called by its position, a
    repeated name numbered (the mapping may use only a name that appears once)."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for position, cell in enumerate(cells, 1):
        name = cell_text(cell).strip().lstrip(_BOM) or f"#{position}"
        if name in seen:
            seen[name] += 1
            name = f"{name} ({seen[name]})"
        else:
            seen[name] = 1
        names.append(name)
    return names


def _check_header(
    path: Path | str, line: int, cells: list[Any], needed: Sequence[str]
) -> list[str]:
    names = _named(cells)
    plain = [cell_text(cell).strip().lstrip(_BOM) for cell in cells]
    errors = [
        RowError(line, column, _("the mapping reads this column; the file lacks it"))
        for column in needed
        if column not in plain
    ]
    errors += [
        RowError(
            line, column, _("the column appears more than once: the mapping cannot tell which")
        )
        for column in needed
        if plain.count(column) > 1
    ]
    if errors:
        raise ImportRejected(errors, file_name=path if isinstance(path, str) else path.name)
    return names


def _row(
    path: Path | str, line: int, names: list[str], cells: Sequence[Any], *, text: bool
) -> Row | None:
    """A row's non-empty values by column; None for an empty row."""
    if len(cells) > len(names):
        extra = [cell for cell in cells[len(names) :] if cell_text(cell).strip()]
        if extra:
            raise _refused(
                path,
                line,
                "-",
                _("%(found)d values, but the header has %(columns)d columns")
                % {"found": len(cells), "columns": len(names)},
            )
    if text:
        row = {name: cell for name, cell in zip(names, cells, strict=False) if cell}
    else:
        row = {}
        for name, cell in zip(names, cells, strict=False):
            value = cell_text(cell)
            if value:
                row[name] = value
    if not any(value.strip() for value in row.values()):
        return None
    return row


# ---------------------------------------------------------------- CSV


def _csv_table(
    path: Path,
    lines: Iterator[str],
    options: FileOptions,
    needed: Sequence[str],
    encoding: str,
) -> Table:
    delimiter = options.delimiter
    if path.suffix.lower() == ".tsv" and delimiter == ",":
        delimiter = "\t"
    reader = csv.reader(lines, delimiter=delimiter)
    header: list[str] | None = None
    header_line = 0
    try:
        for _skipped in range(options.header_row):
            header_line = reader.line_num + 1
            header = next(reader, None)
    except csv.Error as exc:
        raise _refused(path, reader.line_num, "-", _csv_reason(exc)) from exc
    if header is None:
        raise _refused(
            path,
            header_line,
            "-",
            _("the file ends before its header (row %(row)d)") % {"row": options.header_row},
        )
    names = _check_header(path, header_line, header, needed)
    return Table("csv", encoding, names, _csv_rows(path, reader, names))


def _csv_reason(exc: csv.Error) -> str:
    return _("not readable as CSV: %(reason)s") % {"reason": exc}


def _csv_rows(path: Path, reader: Any, names: list[str]) -> Iterator[tuple[int, Row]]:
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _refused(path, line, "-", _csv_reason(exc)) from exc
        row = _row(path, line, names, cells, text=True)
        if row is not None:
            yield line, row


# ---------------------------------------------------------------- workbooks


def cell_text(value: Any) -> str:
    """A cell as text: dates ISO, whole numbers without ``.0``. A whole number past 2**53 is
    not written out in digits: a float holds no more, so the digits would be made up (an ID
    number typed into a number cell comes out as ``3.10104199001011e+17``)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < _EXACT else repr(value)
    if isinstance(value, datetime.datetime):
        at_midnight = value.time() == datetime.time()
        return value.date().isoformat() if at_midnight else value.isoformat(sep=" ")
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return value.isoformat() if isinstance(value, datetime.date | datetime.time) else str(value)


_EXACT = 2.0**53


@contextmanager
def _workbook_table(
    path: Path, kind: str, options: FileOptions, needed: Sequence[str]
) -> Iterator[Table]:
    try:
        workbook = Workbook(path, kind)
    except WorkbookError as exc:
        raise _refused(path, 0, "-", str(exc)) from exc
    try:
        if options.sheet is not None and options.sheet not in workbook.sheetnames:
            raise _refused(
                path,
                0,
                "-",
                _("the workbook has no sheet %(sheet)r; it has %(sheets)s")
                % {"sheet": options.sheet, "sheets": ", ".join(workbook.sheetnames)},
            )
        if not workbook.sheetnames:
            raise _refused(path, 0, "-", _("the workbook has no sheets"))
        name = options.sheet or workbook.sheetnames[0]
        where = _("%(file)s, sheet %(sheet)s") % {"file": path.name, "sheet": name}
        try:
            sheet = workbook.sheet(name)
        except WorkbookError as exc:
            raise _refused(where, 0, "-", str(exc)) from exc
        if sheet.empty:
            raise _refused(
                where,
                0,
                "-",
                _("the sheet %(sheet)r is empty: is it the sheet the records are on?")
                % {"sheet": name},
            )
        rows = sheet.rows()
        header: Sequence[Any] | None = None
        for number, cells in rows:
            if number >= options.header_row:
                header = cells if number == options.header_row else None
                break
        if header is None:
            raise _refused(
                where,
                options.header_row,
                "-",
                _("the sheet has no header in row %(row)d") % {"row": options.header_row},
            )
        names = _check_header(where, options.header_row, list(header), needed)
        yield Table(kind, "", names, _workbook_rows(where, rows, names))
    finally:
        workbook.close()


def _workbook_rows(
    where: str, rows: Iterator[tuple[int, Sequence[Any]]], names: list[str]
) -> Iterator[tuple[int, Row]]:
    for number, cells in rows:
        row = _row(where, number, names, cells, text=False)
        if row is not None:
            yield number, row


# ---------------------------------------------------------------- JSON Lines


def _json_text(path: Path, line: int, key: str, value: Any) -> str:
    if isinstance(value, dict | list):
        raise _refused(
            path,
            line,
            key,
            _("a nested value: each line must be one object of plain values"),
        )
    if isinstance(value, bool):
        return "true" if value else "false"
    return cell_text(value)


def _jsonl_rows(
    path: Path, lines: Iterator[str], needed: Sequence[str]
) -> Iterator[tuple[int, Row]]:
    seen: set[str] = set()
    records = 0
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _refused(
                path, number, "-", _("not JSON: %(reason)s") % {"reason": exc.msg}
            ) from exc
        if not isinstance(record, dict):
            raise _refused(path, number, "-", _("not a JSON object: each line is one record"))
        row: Row = {}
        for key, value in record.items():
            if value is None:
                continue
            value_text = _json_text(path, number, key, value)
            if value_text:
                row[key] = value_text
        if len(seen) < len(record) or not seen.issuperset(record):
            seen.update(record)  # a key written with an empty value is a column all the same
        if row:
            records += 1
            yield number, row
    missing = [column for column in needed if column not in seen]
    if records and missing:
        raise ImportRejected(
            [
                FileError(0, column, _("the mapping reads this key; no line of the file has it"))
                for column in missing
            ],
            file_name=path.name,
        )
