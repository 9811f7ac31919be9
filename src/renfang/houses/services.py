"""Writes to the houses: loading a houses.csv (``renfang houses load FILE.csv``).

The file is read in chunks; each chunk is checked, compared with the table and written in bulk,
all inside one transaction that is rolled back if any line of the file is wrong: a file is
saved whole or not at all, while memory stays flat for a million houses.

A house already loaded is updated where the file differs (a column that the file lacks is left
alone; an empty cell empties the field). Its use is a fact over time: the same use as now
changes nothing; another use closes the current one on the day before the new ``use_from`` and
opens the new one, so the history is kept; an empty ``use`` says nothing about the use.
"""

from __future__ import annotations

import csv
import datetime
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from renfang.areas.models import Area
from renfang.codes.selectors import active_codes
from renfang.core.bulk import db_value, insert, select_in
from renfang.core.csvimport import ImportRejected, RowError, check_header
from renfang.houses.models import House, HouseUse, standard_address
from renfang.houses.rows import (
    ATTRIBUTES,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    HouseRow,
    RowChecker,
)

CHUNK_ROWS = 5000
MAX_ERRORS = 1000  # enough to fix a file; the check stops there
_ONE_DAY = datetime.timedelta(days=1)
_ADDRESS_PARTS = ("road", "number", "building", "unit", "room")
_EMPTY_HOUSE: dict[str, Any] = {attribute: None for attribute in ATTRIBUTES.values()} | {
    "number": "",
    "building": "",
    "unit": "",
    "room": "",
}
_HOUSE_INSERT = ["house_code", *ATTRIBUTES.values(), "address", "created_at"]
_USE_INSERT = ["house", "use", "valid_from", "valid_to", "recorded_at", "retracted_at"]


@dataclass(frozen=True)
class HouseLoadResult:
    created: int
    updated: int
    unchanged: int
    uses_opened: int
    uses_closed: int

    def __str__(self) -> str:
        return (
            f"houses: {self.created} created, {self.updated} updated, {self.unchanged} "
            f"unchanged; uses: {self.uses_opened} opened, {self.uses_closed} closed"
        )


@dataclass(frozen=True)
class _Use:
    id: int
    use: str
    valid_from: datetime.date | None
    valid_to: datetime.date | None


@dataclass
class _Plan:
    """What one chunk changes, found before anything is written."""

    new_houses: list[tuple[Any, ...]] = field(default_factory=list)
    new_house_uses: list[tuple[str, str, datetime.date | None]] = field(default_factory=list)
    changed_houses: list[House] = field(default_factory=list)
    closed_uses: list[HouseUse] = field(default_factory=list)
    opened_uses: list[tuple[int, str, datetime.date | None]] = field(default_factory=list)
    unchanged: int = 0


def _address(values: dict[str, Any]) -> str:
    return standard_address(*(values[part] for part in _ADDRESS_PARTS))


def _use_error(row: HouseRow, reason: str) -> RowError:
    return RowError(row.line, "use_from", reason)


def _plan_use(
    row: HouseRow, house_id: int, latest: _Use | None, plan: _Plan, errors: list[RowError]
) -> None:
    """The use of a loaded house: keep it, or close it and open the file's."""
    if latest is not None and latest.valid_to is None:
        if latest.use == row.use:
            return
        if row.use_from is None:
            reason = f"the use changes from {latest.use} to {row.use}: say since when"
            errors.append(_use_error(row, reason))
            return
        if latest.valid_from is not None and row.use_from <= latest.valid_from:
            reason = f"{row.use_from} is not after {latest.valid_from}, when {latest.use} began"
            errors.append(_use_error(row, reason))
            return
        plan.closed_uses.append(HouseUse(id=latest.id, valid_to=row.use_from - _ONE_DAY))
    elif latest is not None:
        assert latest.valid_to is not None
        if row.use_from is None or row.use_from <= latest.valid_to:
            reason = f"must be after {latest.valid_to}, when the last use {latest.use} ended"
            errors.append(_use_error(row, reason))
            return
    plan.opened_uses.append((house_id, row.use, row.use_from))


def _latest_uses(house_ids: list[int]) -> dict[int, _Use]:
    """Each house's current use: its open one, else the one that ended last."""
    latest: dict[int, _Use] = {}
    fields = ["house_id", "id", "use", "valid_from", "valid_to"]
    for house_id, *fact in select_in(HouseUse, fields, "house", house_ids):
        use = _Use(*fact)
        current = latest.get(house_id)
        if current is None or _later(use, current):
            latest[house_id] = use
    return latest


def _later(use: _Use, than: _Use) -> bool:
    def key(fact: _Use) -> tuple[bool, datetime.date, int]:
        return (
            fact.valid_to is None,
            fact.valid_to or fact.valid_from or datetime.date.min,
            fact.id,
        )

    return key(use) > key(than)


def _plan_chunk(rows: list[HouseRow], created_at: Any, errors: list[RowError]) -> _Plan:
    plan = _Plan()
    fields = ["house_code", "id", *ATTRIBUTES.values(), "address"]
    codes = [row.house_code for row in rows]
    existing = {
        values[0]: dict(zip(fields[1:], values[1:], strict=True))
        for values in select_in(House, fields, "house_code", codes)
    }
    with_use = [existing[r.house_code]["id"] for r in rows if r.use and r.house_code in existing]
    latest_uses = _latest_uses(with_use) if with_use else {}
    for row in rows:
        loaded = existing.get(row.house_code)
        if loaded is None:
            values = _EMPTY_HOUSE | row.values
            plan.new_houses.append((row.house_code, *values.values(), _address(values), created_at))
            if row.use:
                plan.new_house_uses.append((row.house_code, row.use, row.use_from))
            continue
        values = loaded | row.values
        values["address"] = _address(values)
        if values != loaded:
            plan.changed_houses.append(House(house_code=row.house_code, **values))
        else:
            plan.unchanged += 1
        if row.use:
            _plan_use(row, loaded["id"], latest_uses.get(loaded["id"]), plan, errors)
    return plan


def _apply(plan: _Plan, recorded_at: Any) -> None:
    insert(House, _HOUSE_INSERT, plan.new_houses)
    new_codes = [code for code, _use, _from in plan.new_house_uses]
    ids = dict(select_in(House, ["house_code", "id"], "house_code", new_codes))
    uses = [
        (ids[code], use, start, None, recorded_at, None) for code, use, start in plan.new_house_uses
    ]
    uses += [
        (house_id, use, start, None, recorded_at, None) for house_id, use, start in plan.opened_uses
    ]
    insert(HouseUse, _USE_INSERT, uses)
    House.objects.bulk_update(
        plan.changed_houses, [*ATTRIBUTES.values(), "address"], batch_size=1000
    )
    HouseUse.all_versions.bulk_update(plan.closed_uses, ["valid_to"], batch_size=1000)


class _Loader:
    """One load: reads the file chunk by chunk, plans each chunk and writes it."""

    def __init__(self, checker: RowChecker, bar: tqdm[Any]) -> None:
        self.checker = checker
        self.bar = bar
        now = timezone.now()
        # The same on every row: prepared for the database once.
        self.created_at = db_value(House, "created_at", now)
        self.recorded_at = db_value(HouseUse, "recorded_at", now)
        self.created = self.updated = self.unchanged = self.opened = self.closed = 0

    def read(self, reader: Iterator[list[str]], header: list[str], line_of: Any) -> None:
        errors = self.checker.errors
        chunk: list[HouseRow] = []
        for cells in reader:
            line = line_of()
            if len(cells) != len(header):
                if any(cell.strip() for cell in cells):
                    errors.append(
                        RowError(line, "-", f"expected {len(header)} fields, found {len(cells)}")
                    )
                continue
            row = self.checker.parse(
                line, dict(zip(header, (cell.strip() for cell in cells), strict=True))
            )
            if row is not None:
                chunk.append(row)
            if len(chunk) >= CHUNK_ROWS:
                self.write(chunk)
                chunk = []
            if len(errors) >= MAX_ERRORS:
                return
        self.write(chunk)

    def write(self, chunk: list[HouseRow]) -> None:
        if not chunk:
            return
        errors = self.checker.errors
        plan = _plan_chunk(chunk, self.created_at, errors)
        if not errors:  # after an error, only look for more errors
            _apply(plan, self.recorded_at)
        self.created += len(plan.new_houses)
        self.updated += len(plan.changed_houses)
        self.unchanged += plan.unchanged
        self.opened += len(plan.new_house_uses) + len(plan.opened_uses)
        self.closed += len(plan.closed_uses)
        self.bar.update(len(chunk))

    def result(self) -> HouseLoadResult:
        return HouseLoadResult(self.created, self.updated, self.unchanged, self.opened, self.closed)


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return max(sum(1 for _ in handle) - 1, 0)


def houses_load(*, path: Path, progress: bool = False) -> HouseLoadResult:
    """Load a houses.csv, all or nothing; raises ImportRejected naming line, column, reason
    (at most ``MAX_ERRORS`` of them)."""
    kinds, uses = active_codes("house_kind"), active_codes("house_use")
    if not kinds or not uses:
        reason = "code sets house_kind and house_use are not loaded: run `renfang codes load`"
        raise ImportRejected([RowError(1, "-", reason)], file_name=path.name)
    bar = tqdm(total=_count_lines(path), unit=" rows", disable=not progress, file=sys.stderr)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle, transaction.atomic():
            reader = csv.reader(handle)
            first = next(reader, None)
            header = [cell.strip() for cell in first] if first else None
            check_header(header, REQUIRED_COLUMNS, OPTIONAL_COLUMNS)
            assert header is not None
            checker = RowChecker(
                area_codes=frozenset(Area.objects.values_list("code", flat=True)),
                kinds=kinds,
                uses=uses,
            )
            loader = _Loader(checker, bar)
            loader.read(reader, header, lambda: reader.line_num)
            if checker.errors:
                raise ImportRejected(checker.errors)
    except ImportRejected as exc:
        raise ImportRejected(exc.errors, file_name=path.name) from None
    except UnicodeDecodeError as exc:
        reason = f"the file is not UTF-8 text ({exc.reason})"
        raise ImportRejected([RowError(1, "-", reason)], file_name=path.name) from exc
    finally:
        bar.close()
    return loader.result()
