"""Writes to the division hierarchy: loading area files (code,name,parent_code,level).

A file is checked whole before anything is written: codes are digits of the length their level
has (a grid's code extends its committee's), a parent exists (in the table or anywhere in the
file) and is of a higher level, a code starts with its parent's code and with the deployment's
city code (a division belongs to the city by its prefix). Loading is idempotent; a changed
name, parent or level is updated; areas missing from the file are left alone.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction

from renfang.areas.models import LEVEL_CODE_LENGTH, LEVEL_ORDER, Area, AreaLevel
from renfang.codes.selectors import clear_cache
from renfang.core.csvimport import ImportRejected, RowError, check_header

BUILTIN_AREAS_CSV = Path(__file__).resolve().parent / "data" / "shanghai.csv"
BUILTIN_CITY_CODE = "31"
COLUMNS = ["code", "name", "parent_code", "level"]
MAX_CODE_LENGTH = 20  # Area.code
MAX_NAME_LENGTH = 100  # Area.name


@dataclass(frozen=True)
class AreaRow:
    line: int
    code: str
    name: str
    parent_code: str
    level: str


@dataclass(frozen=True)
class AreaLoadResult:
    created: int
    updated: int
    unchanged: int

    def __str__(self) -> str:
        return f"areas: {self.created} created, {self.updated} updated, {self.unchanged} unchanged"


def _read(path: Path) -> list[AreaRow]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            header = [cell.strip() for cell in header] if header else None
            try:
                check_header(header, COLUMNS, [])
            except ImportRejected as exc:
                raise ImportRejected(exc.errors, file_name=path.name) from None
            assert header is not None
            positions = [header.index(name) for name in COLUMNS]
            rows: list[AreaRow] = []
            errors: list[RowError] = []
            for cells in reader:
                if not any(cell.strip() for cell in cells):
                    continue
                if len(cells) != len(header):
                    reason = f"expected {len(header)} fields, found {len(cells)}"
                    errors.append(RowError(reader.line_num, "-", reason))
                    continue
                code, name, parent_code, level = (cells[i].strip() for i in positions)
                rows.append(AreaRow(reader.line_num, code, name, parent_code, level))
    except UnicodeDecodeError as exc:
        raise ImportRejected(
            [RowError(1, "-", f"the file is not UTF-8 text ({exc.reason})")], file_name=path.name
        ) from exc
    if errors:
        raise ImportRejected(errors, file_name=path.name)
    return rows


def _expected_length(level: str, city_code: str) -> int | None:
    """The code length of a level; None for a grid, whose length depends on its committee."""
    if level == AreaLevel.CITY:
        return len(city_code)
    return LEVEL_CODE_LENGTH.get(level)


def _check_row(row: AreaRow, city_code: str) -> list[RowError]:
    """What can be said of a row alone."""
    errors = []
    line = row.line
    if row.level not in LEVEL_ORDER:
        errors.append(
            RowError(line, "level", f"{row.level!r} is not one of {', '.join(LEVEL_ORDER)}")
        )
    if not row.code.isascii() or not row.code.isdigit():
        errors.append(RowError(line, "code", f"{row.code!r} is not a code of digits"))
    elif len(row.code) > MAX_CODE_LENGTH:
        errors.append(RowError(line, "code", f"longer than {MAX_CODE_LENGTH} digits"))
    elif row.level in LEVEL_ORDER:
        expected = _expected_length(row.level, city_code)
        if expected is not None and len(row.code) != expected:
            errors.append(
                RowError(
                    line, "code", f"a {row.level} code has {expected} digits, not {len(row.code)}"
                )
            )
        if row.level == AreaLevel.CITY and row.code != city_code:
            errors.append(
                RowError(line, "code", f"this deployment serves city {city_code}, not {row.code}")
            )
        elif not row.code.startswith(city_code):
            errors.append(
                RowError(line, "code", f"{row.code} is not in city {city_code} (RENFANG_CITY_CODE)")
            )
    if not row.name:
        errors.append(RowError(line, "name", "must not be empty"))
    elif len(row.name) > MAX_NAME_LENGTH:
        errors.append(RowError(line, "name", f"longer than {MAX_NAME_LENGTH} characters"))
    if row.level == AreaLevel.CITY and row.parent_code:
        errors.append(RowError(line, "parent_code", "a city has no parent"))
    if row.level != AreaLevel.CITY and row.level in LEVEL_ORDER and not row.parent_code:
        errors.append(RowError(line, "parent_code", f"a {row.level} needs a parent"))
    return errors


def _check_parent(row: AreaRow, parent_level: str | None) -> list[RowError]:
    """What depends on the parent, found in the file or in the table (level None: nowhere)."""
    if parent_level is None:
        return [
            RowError(
                row.line, "parent_code", f"{row.parent_code} is neither loaded nor in the file"
            )
        ]
    errors = []
    if LEVEL_ORDER.index(row.level) <= LEVEL_ORDER.index(parent_level):
        errors.append(RowError(row.line, "level", f"a {row.level} cannot lie in a {parent_level}"))
    elif row.level == AreaLevel.GRID and parent_level != AreaLevel.COMMITTEE:
        errors.append(RowError(row.line, "parent_code", "a grid lies in a committee"))
    if not row.code.startswith(row.parent_code) or len(row.code) <= len(row.parent_code):
        errors.append(
            RowError(
                row.line, "code", f"{row.code} does not extend its parent's code {row.parent_code}"
            )
        )
    return errors


def _validate(rows: list[AreaRow], city_code: str) -> list[RowError]:
    errors: list[RowError] = []
    first_line: dict[str, int] = {}
    for row in rows:
        if row.code in first_line:
            errors.append(
                RowError(
                    row.line,
                    "code",
                    f"{row.code} appears twice (first on line {first_line[row.code]})",
                )
            )
        else:
            first_line[row.code] = row.line
    in_file = {row.code: row.level for row in rows}
    parents_wanted = {row.parent_code for row in rows if row.parent_code} - set(in_file)
    in_table = dict(Area.objects.filter(code__in=parents_wanted).values_list("code", "level"))
    for row in rows:
        parent_level = in_file.get(row.parent_code) or in_table.get(row.parent_code)
        # A parent row that is itself wrong has its own error already.
        if parent_level in LEVEL_ORDER or parent_level is None:
            errors += check_area_row(row, city_code, parent_level)
        else:
            errors += _check_row(row, city_code)
    return sorted(errors, key=lambda error: error.line)


def check_area_row(row: AreaRow, city_code: str, parent_level: str | None) -> list[RowError]:
    """The rules one area must follow, given its parent's level (None: no such parent).
    Used for file rows and for the admin's form."""
    errors = _check_row(row, city_code)
    if not errors and row.parent_code:
        errors = _check_parent(row, parent_level)
    return errors


def areas_load(*, path: Path) -> AreaLoadResult:
    """Load an area file, all or nothing; raises ImportRejected naming line, column, reason."""
    city_code = settings.RENFANG_CITY_CODE
    rows = _read(path)
    errors = _validate(rows, city_code)
    if errors:
        raise ImportRejected(errors, file_name=path.name)
    rows.sort(key=lambda row: (LEVEL_ORDER.index(row.level), row.code))  # parents first
    created = updated = 0
    with transaction.atomic():
        existing = Area.objects.in_bulk([row.code for row in rows])
        new_areas: list[Area] = []
        changed: list[Area] = []
        for row in rows:
            area = existing.get(row.code)
            parent_id = row.parent_code or None
            if area is None:
                new_areas.append(
                    Area(code=row.code, name=row.name, parent_id=parent_id, level=row.level)
                )
            elif (area.name, area.parent_id, area.level) != (row.name, parent_id, row.level):
                area.name, area.parent_id, area.level = row.name, parent_id, row.level
                changed.append(area)
        # Level by level, so that a parent row exists before its children refer to it.
        for level in LEVEL_ORDER:
            Area.objects.bulk_create([a for a in new_areas if a.level == level], batch_size=1000)
        Area.objects.bulk_update(changed, ["name", "parent", "level"], batch_size=500)
        created, updated = len(new_areas), len(changed)
    clear_cache()
    return AreaLoadResult(created, updated, len(rows) - created - updated)


def areas_load_builtin() -> AreaLoadResult:
    """Load the package's Shanghai data: the city, its 16 districts, all their streets and
    towns, and Xuhui's neighbourhood and village committees."""
    city_code = settings.RENFANG_CITY_CODE
    if city_code != BUILTIN_CITY_CODE:
        raise ImportRejected(
            [
                RowError(
                    1,
                    "-",
                    f"the built-in areas are Shanghai's ({BUILTIN_CITY_CODE}); this deployment "
                    f"serves {city_code}: load its own areas with `renfang areas load FILE.csv`",
                )
            ],
            file_name=BUILTIN_AREAS_CSV.name,
        )
    return areas_load(path=BUILTIN_AREAS_CSV)
