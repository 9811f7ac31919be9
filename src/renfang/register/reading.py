"""Reading a register-format file and checking every row (rows.py), all errors collected with
their line, column and reason: any error and nothing is saved."""

from __future__ import annotations

import csv
import datetime
from pathlib import Path
from typing import Never

from django.db import connections
from tqdm import tqdm

from renfang.areas.models import Area
from renfang.codes.selectors import active_codes, historic_division_successors
from renfang.core.collector import collector_calm
from renfang.core.csvimport import ImportRejected, RowError, check_header
from renfang.houses.models import House
from renfang.register.rows import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    PersonRows,
    Reference,
    RowChecker,
    SpellRow,
)

MAX_ERRORS_KEPT = 1000


def _reference(today: datetime.date, *, with_houses: bool) -> Reference:
    sexes = active_codes("sex")
    if not sexes:
        raise ImportRejected(
            [RowError(1, "-", "the code sets are not loaded: run `renfang codes load` first")]
        )
    return Reference(
        sexes=sexes,
        nationalities=active_codes("nationality"),
        divisions=active_codes("division"),
        historic=historic_division_successors(),
        areas=frozenset(Area.objects.values_list("code", flat=True)),
        houses=_houses() if with_houses else {},
        today=today,
    )


def _houses() -> dict[str, tuple[int, str]]:
    """house_code → (id, area code) of every house, by one cursor and in no order: the ORM's
    work per row was most of the time at a district's hundreds of thousands of houses."""
    query = House.objects.order_by().values_list("house_code", "id", "area_id")
    sql, params = query.query.get_compiler(using=query.db).as_sql()
    with connections[query.db].cursor() as cursor:
        cursor.execute(sql, params)
        return {code: (house_id, area_id) for code, house_id, area_id in cursor}


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


def read_register(
    path: Path, *, today: datetime.date, progress: bool
) -> tuple[dict[tuple[str, str], PersonRows], int, dict[int, str], list[str], int]:
    """Every person of the file, the number of rows, the codes of the houses the rows name
    (house id → code), the file's columns, and how many rows give a birth date
    other than the one inside their ID number."""
    # A file's rows make millions of small objects and no cycles: the cyclic collector, run
    # every 700 allocations, took a third of the check's time.
    with collector_calm():
        return _read_register(path, today=today, progress=progress)


def _read_register(
    path: Path, *, today: datetime.date, progress: bool
) -> tuple[dict[tuple[str, str], PersonRows], int, dict[int, str], list[str], int]:
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ImportRejected([RowError(0, "-", f"cannot open {path}: {exc.strerror}")]) from exc
    total = _count_lines(path) - 1 if progress else None
    with (
        handle,
        tqdm(total=total, unit=" rows", desc="check", disable=not progress, mininterval=0.5) as bar,
    ):
        reader = csv.DictReader(handle)
        try:
            header = reader.fieldnames
        except UnicodeDecodeError as exc:
            raise ImportRejected([RowError(1, "-", "the file is not UTF-8")]) from exc
        check_header(list(header) if header else None, REQUIRED_COLUMNS, OPTIONAL_COLUMNS)
        assert header is not None
        checker = RowChecker(_reference(today, with_houses="residence_house_code" in header))
        try:
            people, rows, errors, error_count = _read_rows(reader, checker, bar)
        finally:
            checker.forget()
    for person in people.values():
        overlap_errors = _check_overlaps(person)
        error_count += len(overlap_errors)
        if len(errors) < MAX_ERRORS_KEPT:
            errors.extend(overlap_errors)
    if rows == 0:
        errors.append(RowError(2, "-", "the file has a header and no rows"))
        error_count += 1
    if errors:
        errors.sort(key=lambda error: error.line)
        raise ImportRejected(errors, file_name=str(path), total=error_count)
    houses = {spell.house_id for person in people.values() for spell in person.spells} - {None}
    house_codes = {
        house_id: code
        for code, (house_id, _area) in checker.ref.houses.items()
        if house_id in houses
    }
    return people, rows, house_codes, list(header), checker.birth_dates_differing


def _read_rows(
    reader: csv.DictReader[str], checker: RowChecker, bar: tqdm[Never]
) -> tuple[dict[tuple[str, str], PersonRows], int, list[RowError], int]:
    """The rows after the header, read by the DictReader's own csv.reader (a dict is made only
    for a row of the header's width, blank lines skipped) and numbered as DictReader.line_num
    numbers them: a row by its last line, a CSV error by the first of the blank lines before
    it, if any, else by the row before it."""
    people: dict[tuple[str, str], PersonRows] = {}
    errors: list[RowError] = []
    error_count = rows = 0
    header = reader.fieldnames or []
    width = len(header)
    source = reader.reader
    at = reader.line_num  # what DictReader.line_num would say
    line = 1
    blank = False
    try:
        for values in source:
            if not values:
                if not blank:
                    at, blank = source.line_num, True
                continue
            line = at = source.line_num
            blank = False
            rows += 1
            if rows % 10000 == 0:
                bar.update(10000)
            if len(values) != width:
                new_errors = [RowError(line, "-", f"{len(values)} fields, the header has {width}")]
            else:
                new_errors = _add_row(people, checker, dict(zip(header, values, strict=True)), line)
            if new_errors:
                error_count += len(new_errors)
                if len(errors) < MAX_ERRORS_KEPT:
                    errors.extend(new_errors)
    except UnicodeDecodeError as exc:
        raise ImportRejected([RowError(line + 1, "-", "the line is not UTF-8")]) from exc
    except csv.Error as exc:
        raise ImportRejected([RowError(at, "-", f"bad CSV: {exc}")]) from exc
    bar.update(rows % 10000)
    return people, rows, errors, error_count


def _add_row(
    people: dict[tuple[str, str], PersonRows],
    checker: RowChecker,
    row: dict[str, str],
    line: int,
) -> list[RowError]:
    key, identity, spell, phone, errors = checker.check(row, line)
    if errors:
        return errors
    person = people.get(key)
    if person is None:
        people[key] = PersonRows(
            id_type=key[0],
            id_number=key[1],
            identity=identity,
            first_line=line,
            phone=phone,
            phone_line=line if phone else 0,
            spells=[spell],
        )
        return []
    if identity is not person.identity and identity != person.identity:
        for name in ("name", "sex", "birth_date", "nationality"):
            mine, theirs = getattr(identity, name), getattr(person.identity, name)
            if mine != theirs:
                errors.append(
                    RowError(
                        line,
                        name,
                        f"{mine} differs from {theirs} on line {person.first_line} "
                        "for the same person",
                    )
                )
        return errors
    if phone:
        if person.phone and person.phone != phone:
            return [
                RowError(
                    line,
                    "phone",
                    f"{phone} differs from {person.phone} on line {person.phone_line} "
                    "for the same person",
                )
            ]
        person.phone, person.phone_line = phone, person.phone_line or line
    person.spells.append(spell)
    return []


def _first_day(spell: SpellRow) -> datetime.date:
    return spell.valid_from or datetime.date.min


def _check_overlaps(person: PersonRows) -> list[RowError]:
    """Two rows of a person on one day. A row with no first day holds since always: it comes
    first, and only one such row can be (ADR 0028)."""
    person.spells.sort(key=_first_day)
    errors = []
    for previous, current in zip(person.spells, person.spells[1:], strict=False):
        if (
            previous.valid_to is None
            or current.valid_from is None
            or previous.valid_to >= current.valid_from
        ):
            errors.append(
                RowError(
                    current.line,
                    "residence_from",
                    f"{current.valid_from or 'an unknown day'} overlaps the spell on line "
                    f"{previous.line} ({previous.valid_from or 'an unknown day'} – "
                    f"{previous.valid_to or 'now'})",
                )
            )
    return errors
