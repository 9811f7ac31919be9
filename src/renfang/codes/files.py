"""Code set files: the index ``code_sets.csv`` and one ``<key>.csv`` per set.

The package's own files live in ``codes/data/``; a district keeps its own files (a full copy of
a set with its local options added, or a new set listed in its own ``code_sets.csv``) and loads
them with ``renfang codes load PATH``. The ``division`` set has no file of its own in the
package: it is built from ``areas/data/china_divisions.csv`` so the county list is kept once.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from renfang.core.csvimport import ImportRejected, RowError, check_header

PACKAGE_DATA_DIR = Path(__file__).resolve().parent / "data"
CHINA_DIVISIONS_CSV = (
    Path(__file__).resolve().parent.parent / "areas" / "data" / "china_divisions.csv"
)
HISTORY_FILE_NAME = "division_history.csv"
DIVISION_HISTORY_CSV = CHINA_DIVISIONS_CSV.with_name(HISTORY_FILE_NAME)
INDEX_FILE_NAME = "code_sets.csv"
DIVISION_SET = "division"

INDEX_COLUMNS = ["key", "name", "name_en", "standard"]
CODE_COLUMNS = ["code", "name", "name_en"]
CODE_OPTIONAL_COLUMNS = ["sensitive"]

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_CODE_LENGTH = 40  # Code.code
MAX_NAME_LENGTH = 100  # Code.name, CodeSet.name
MAX_STANDARD_LENGTH = 60  # CodeSet.standard
# Codes are stored in fields narrower than Code.code; a longer code could never be recorded.
FIELD_CODE_LENGTH: dict[str, int] = {
    "id_type": 16,  # Person.id_type
    "sex": 1,  # Person.sex
    "ethnicity": 2,  # Person.ethnicity
    "nationality": 3,  # Person.nationality
    "division": 12,  # Hukou.division
    "household_type": 10,  # Hukou.household_type
    "house_kind": 20,  # House.kind
    "house_use": 20,  # HouseUse.use
    "residence_relation": 10,  # Residence.relation
}
# Prefecture names that are placeholders, not places (北京市市辖区东城区 is 北京市东城区).
_PLACEHOLDER_PREFECTURES = frozenset(
    {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}
)


@dataclass(frozen=True)
class CodeRow:
    code: str
    name: str
    name_en: str = ""
    sensitive: bool = False


@dataclass(frozen=True)
class CodeSetMeta:
    """A row of the index: what a set is called and which standard defines it."""

    key: str
    name: str
    name_en: str = ""
    standard: str = ""


@dataclass
class CodeSetSource:
    """One set read from a file, ready to load. ``meta`` is None when the file came without an
    index row: the set must then exist already."""

    key: str
    codes: list[CodeRow]
    meta: CodeSetMeta | None = None
    file_name: str = ""


def _rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of a UTF-8 CSV file (a byte-order mark is allowed: Excel writes
    one); blank lines are skipped."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            for cells in reader:
                if any(cell.strip() for cell in cells):
                    yield reader.line_num, [cell.strip() for cell in cells]
    except UnicodeDecodeError as exc:
        raise ImportRejected(
            [RowError(1, "-", f"the file is not UTF-8 text ({exc.reason})")], file_name=path.name
        ) from exc
    except csv.Error as exc:
        raise ImportRejected(
            [RowError(1, "-", f"not a CSV file: {exc}")], file_name=path.name
        ) from exc


def _records(
    path: Path, required: list[str], optional: list[str]
) -> Iterator[tuple[int, dict[str, str]]]:
    rows = _rows(path)
    first = next(rows, None)
    header = first[1] if first else None
    try:
        check_header(header, required, optional)
    except ImportRejected as exc:
        raise ImportRejected(exc.errors, file_name=path.name) from None
    assert header is not None
    errors: list[RowError] = []
    for line, cells in rows:
        if len(cells) != len(header):
            errors.append(RowError(line, "-", f"expected {len(header)} fields, found {len(cells)}"))
            continue
        yield line, dict(zip(header, cells, strict=True))
    if errors:
        raise ImportRejected(errors, file_name=path.name)


def _check_text(
    errors: list[RowError], line: int, column: str, value: str, *, required: bool, limit: int
) -> None:
    if required and not value:
        errors.append(RowError(line, column, "must not be empty"))
    elif len(value) > limit:
        errors.append(RowError(line, column, f"longer than {limit} characters"))


def read_index(path: Path) -> dict[str, tuple[int, CodeSetMeta]]:
    """The index file: key → (line, meta). Raises ImportRejected naming line and column."""
    errors: list[RowError] = []
    index: dict[str, tuple[int, CodeSetMeta]] = {}
    for line, record in _records(path, INDEX_COLUMNS, []):
        key = record["key"]
        if not KEY_PATTERN.match(key):
            errors.append(
                RowError(line, "key", f"{key!r} is not a key (a-z, 0-9 and _, at most 40)")
            )
            continue
        if key in index:
            errors.append(
                RowError(line, "key", f"{key} appears twice (first on line {index[key][0]})")
            )
            continue
        _check_text(errors, line, "name", record["name"], required=True, limit=MAX_NAME_LENGTH)
        _check_text(
            errors, line, "name_en", record["name_en"], required=False, limit=MAX_NAME_LENGTH
        )
        _check_text(
            errors, line, "standard", record["standard"], required=False, limit=MAX_STANDARD_LENGTH
        )
        index[key] = (
            line,
            CodeSetMeta(key, record["name"], record["name_en"], record["standard"]),
        )
    if errors:
        raise ImportRejected(errors, file_name=path.name)
    return index


def read_code_file(path: Path, key: str) -> list[CodeRow]:
    """The codes of one set, in the file's order. Raises ImportRejected naming line and column."""
    errors: list[RowError] = []
    codes: list[CodeRow] = []
    first_line: dict[str, int] = {}
    code_limit = FIELD_CODE_LENGTH.get(key, MAX_CODE_LENGTH)
    for line, record in _records(path, CODE_COLUMNS, CODE_OPTIONAL_COLUMNS):
        code = record["code"]
        row_errors: list[RowError] = []
        if not code:
            row_errors.append(RowError(line, "code", "must not be empty"))
        elif len(code) > code_limit:
            row_errors.append(
                RowError(line, "code", f"{code!r} is longer than {code_limit} characters")
            )
        elif code in first_line:
            row_errors.append(
                RowError(line, "code", f"{code} appears twice (first on line {first_line[code]})")
            )
        else:
            first_line[code] = line
        _check_text(row_errors, line, "name", record["name"], required=True, limit=MAX_NAME_LENGTH)
        _check_text(
            row_errors, line, "name_en", record["name_en"], required=False, limit=MAX_NAME_LENGTH
        )
        sensitive = record.get("sensitive", "")
        if sensitive not in {"", "0", "1"}:
            row_errors.append(RowError(line, "sensitive", f"{sensitive!r} is not 1 or 0"))
        if row_errors:
            errors += row_errors
            continue
        codes.append(CodeRow(code, record["name"], record["name_en"], sensitive == "1"))
    if not codes and not errors:
        # An empty set would close every code of the set: surely not what was meant.
        errors.append(RowError(2, "code", "the file has no codes"))
    if errors:
        raise ImportRejected(errors, file_name=path.name)
    return codes


def division_codes(path: Path = CHINA_DIVISIONS_CSV) -> list[CodeRow]:
    """Every county-level division of China, named province + prefecture + county
    (浙江省温州市鹿城区; 北京市东城区 without the placeholder 市辖区)."""
    codes = []
    for _line, record in _records(path, ["code", "name", "province", "prefecture"], []):
        prefecture = record["prefecture"]
        if prefecture in _PLACEHOLDER_PREFECTURES or prefecture == record["province"]:
            prefecture = ""
        codes.append(CodeRow(record["code"], f"{record['province']}{prefecture}{record['name']}"))
    return codes


@dataclass(frozen=True)
class HistoricDivisionRow:
    """A row of ``division_history.csv`` (see ``codes.models.HistoricDivision``)."""

    code: str
    name: str
    full_name: str
    first_seen: str
    last_seen: str
    gone_in: str
    successor: str


HISTORY_COLUMNS = [
    "code",
    "name",
    "province",
    "prefecture",
    "first_seen",
    "last_seen",
    "gone_in",
    "successor",
]


def division_history(path: Path = DIVISION_HISTORY_CSV) -> list[HistoricDivisionRow]:
    """The county-level codes of earlier GB/T 2260 revisions that are not divisions today,
    named as ``division_codes`` names them. Raises ImportRejected naming line and column."""
    rows: list[HistoricDivisionRow] = []
    errors: list[RowError] = []
    for line, record in _records(path, HISTORY_COLUMNS, []):
        code, successor = record["code"], record["successor"]
        if not (code.isdigit() and len(code) == 6):  # noqa: PLR2004 (a county code)
            errors.append(RowError(line, "code", f"{code!r} is not a county-level code"))
            continue
        if successor and not (successor.isdigit() and len(successor) == 6):  # noqa: PLR2004
            errors.append(RowError(line, "successor", f"{successor!r} is not a county-level code"))
            continue
        prefecture = record["prefecture"]
        if prefecture in _PLACEHOLDER_PREFECTURES or prefecture == record["province"]:
            prefecture = ""
        full_name = f"{record['province']}{prefecture}{record['name']}"
        _check_text(errors, line, "name", full_name, required=True, limit=MAX_NAME_LENGTH)
        rows.append(
            HistoricDivisionRow(
                code,
                record["name"],
                full_name,
                record["first_seen"],
                record["last_seen"],
                record["gone_in"],
                successor,
            )
        )
    if errors:
        raise ImportRejected(errors, file_name=path.name)
    return rows


def key_of(path: Path) -> str:
    """The set a file holds, by its name; raises ImportRejected for a name that is no key."""
    key = path.stem
    if path.suffix.lower() != ".csv" or not KEY_PATTERN.match(key):
        raise ImportRejected(
            [RowError(1, "-", "a code set file is named <key>.csv, the key in a-z, 0-9 and _")],
            file_name=path.name,
        )
    return key


def read_sources(paths: list[Path]) -> list[CodeSetSource]:
    """Read files and directories of code sets. A directory contributes its ``code_sets.csv``
    (if any) and every other ``*.csv`` but ``division_history.csv`` (see ``history_paths``);
    every index row must have its file beside it.
    Raises ImportRejected for the first bad file, FileNotFoundError for a missing path."""
    files: list[Path] = []
    history = history_paths(paths)
    index: dict[str, tuple[int, CodeSetMeta]] = {}
    index_path: Path | None = None
    for path in paths:
        if path.is_dir():
            candidates = sorted(p for p in path.iterdir() if p.suffix.lower() == ".csv")
        elif path.exists():
            candidates = [path]
        else:
            raise FileNotFoundError(f"no such file or directory: {path}")
        for candidate in candidates:
            if candidate.name == INDEX_FILE_NAME:
                index_path = candidate
                index.update(read_index(candidate))
            elif candidate.name != HISTORY_FILE_NAME:
                files.append(candidate)
    by_key: dict[str, Path] = {}
    for path in files:
        key = key_of(path)
        if key in by_key:
            raise ImportRejected(
                [RowError(1, "-", f"set {key} is given twice ({by_key[key]} and {path})")],
                file_name=path.name,
            )
        by_key[key] = path
    if not by_key and not index and not history:
        raise FileNotFoundError(f"no code set files (<key>.csv) in {', '.join(map(str, paths))}")
    # As in the package, an index may list the division set without a file of its own.
    missing = [
        RowError(line, "key", f"no file {key}.csv beside the index")
        for key, (line, _meta) in index.items()
        if key not in by_key and key != DIVISION_SET
    ]
    if missing:
        raise ImportRejected(missing, file_name=str(index_path))
    sources = [
        CodeSetSource(
            key=key,
            codes=read_code_file(path, key),
            meta=index[key][1] if key in index else None,
            file_name=path.name,
        )
        for key, path in by_key.items()
    ]
    if DIVISION_SET in index and DIVISION_SET not in by_key:
        meta = index[DIVISION_SET][1]
        sources.append(
            CodeSetSource(DIVISION_SET, division_codes(), meta, CHINA_DIVISIONS_CSV.name)
        )
    return sources


def history_paths(paths: list[Path]) -> list[Path]:
    """The ``division_history.csv`` files among these files and directories: a district's own
    copy of the historic division codes, e.g. with successors it takes from the published
    change lists (ADR 0026)."""
    found = []
    for path in paths:
        candidate = path / HISTORY_FILE_NAME if path.is_dir() else path
        if candidate.name == HISTORY_FILE_NAME and candidate.is_file():
            found.append(candidate)
    return found


def package_sources() -> list[CodeSetSource]:
    """The sets shipped with renfang, in the index's order."""
    index = read_index(PACKAGE_DATA_DIR / INDEX_FILE_NAME)
    sources = []
    for key, (_line, meta) in index.items():
        if key == DIVISION_SET:
            sources.append(
                CodeSetSource(key, division_codes(), meta, file_name=CHINA_DIVISIONS_CSV.name)
            )
        else:
            path = PACKAGE_DATA_DIR / f"{key}.csv"
            sources.append(CodeSetSource(key, read_code_file(path, key), meta, path.name))
    return sources
