"""Writes to the houses: loading a houses.csv (``renfang houses load FILE.csv``).

The file is read in chunks; each chunk is checked, compared with the table and written in bulk,
all inside one transaction that is rolled back if any line of the file is wrong: a file is
saved whole or not at all, while memory stays flat for a million houses.

A house already loaded is updated where the file differs (a column that the file lacks is left
alone; an empty cell empties the field). Its use is a fact over time: the same use as now
changes nothing; another use closes the current one on the day before the new ``use_from`` and
opens the new one, so the history is kept; an empty ``use`` says nothing about the use.

Each house created or changed is an audit event (each field with its old and new value, the
use closed or opened), and the load itself one more; they are written into the audit chain at
the end of the load, so the chain's head is locked only for its last moments. A use that
changes is also a ``house.changed`` event of the change feed, written in the same transaction.
"""

from __future__ import annotations

import csv
import datetime
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from renfang.areas.models import Area
from renfang.audit.context import os_user
from renfang.audit.models import Action
from renfang.audit.services import (
    SYSTEM,
    PendingEvent,
    User,
    audit_record_stream,
    canonical_detail,
    field_change,
    is_recording,
)
from renfang.codes.selectors import active_codes
from renfang.core.bulk import db_value, insert, select_in
from renfang.core.changes import FieldChange
from renfang.core.csvimport import ImportRejected, RowError, check_header
from renfang.exchange.events import PendingFeedEvent, publish
from renfang.exchange.models import EventType
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
    # The audit: each new house's detail as canonical text, each changed one's changes.
    audited: list[tuple[str, str]] = field(default_factory=list)
    changes: dict[str, list[FieldChange]] = field(default_factory=dict)  # by house code
    areas: dict[str, str] = field(default_factory=dict)  # loaded house code → its area


def _address(values: dict[str, Any]) -> str:
    return standard_address(*(values[part] for part in _ADDRESS_PARTS))


def _use_error(row: HouseRow, reason: str) -> RowError:
    return RowError(row.line, "use_from", reason)


def _use_value(
    use: str, valid_from: datetime.date | None, valid_to: datetime.date | None = None
) -> dict[str, Any]:
    """A house use as the audit records it."""
    return {
        "use": use,
        "from": valid_from.isoformat() if valid_from is not None else None,
        "to": valid_to.isoformat() if valid_to is not None else None,
    }


def _plan_use(
    row: HouseRow, house_id: int, latest: _Use | None, plan: _Plan, errors: list[RowError]
) -> None:
    """The use of a loaded house: keep it, or close it and open the file's."""
    changes = plan.changes.setdefault(row.house_code, [])
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
        closed_on = row.use_from - _ONE_DAY
        plan.closed_uses.append(HouseUse(id=latest.id, valid_to=closed_on))
        old = _use_value(latest.use, latest.valid_from)
        changes.append(
            field_change("use", old, _use_value(latest.use, latest.valid_from, closed_on))
        )
    elif latest is not None:
        assert latest.valid_to is not None
        if row.use_from is None or row.use_from <= latest.valid_to:
            reason = f"must be after {latest.valid_to}, when the last use {latest.use} ended"
            errors.append(_use_error(row, reason))
            return
    plan.opened_uses.append((house_id, row.use, row.use_from))
    changes.append(field_change("use", None, _use_value(row.use, row.use_from)))


# House attribute → the field name an auditor reads.
_AUDITED = {attribute: attribute for attribute in [*ATTRIBUTES.values(), "address"]} | {
    "area_id": "area"
}


def _house_changes(old: dict[str, Any], new: dict[str, Any]) -> list[FieldChange]:
    changes = []
    for attribute, name in _AUDITED.items():
        before, after = old.get(attribute), new[attribute]
        if after != before:
            changes.append(field_change(name, before, after))
    return changes


# The JSON text of a string exactly as json.dumps(ensure_ascii=False) writes it.
_json_text = json.encoder.encode_basestring


def _json_value(value: Any) -> str:
    if isinstance(value, int):
        return str(value)
    return _json_text(str(value))  # text, and decimals as text (as field_change writes them)


def _new_house_detail(
    values: dict[str, Any], use: str, use_from: datetime.date | None, source: str
) -> str:
    """The detail of a new house's write event, written straight as canonical JSON text
    (keys in sorted order, no spaces): building the dicts and encoding them took as long as
    loading the house. Its structure is the one ``_house_changes`` and ``_use_value``
    build; a test holds them together."""
    parts = [
        f'{{"field":"{name}","new":{_json_value(values[attribute])},"old":null}}'
        for attribute, name in _AUDITED.items()
        if values[attribute] is not None and values[attribute] != ""
    ]
    if use:
        start = f'"{use_from.isoformat()}"' if use_from is not None else "null"
        parts.append(
            f'{{"field":"use","new":{{"from":{start},"to":null,"use":{_json_text(use)}}},'
            '"old":null}'
        )
    return f'{{"changes":[{",".join(parts)}],"source":{_json_text(source)}}}'


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


def _plan_chunk(
    rows: list[HouseRow], created_at: Any, errors: list[RowError], source: str = ""
) -> _Plan:
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
            address = _address(values)
            plan.new_houses.append((row.house_code, *values.values(), address, created_at))
            if row.use:
                plan.new_house_uses.append((row.house_code, row.use, row.use_from))
            if is_recording():
                plan.audited.append(
                    (
                        row.house_code,
                        _new_house_detail(
                            values | {"address": address}, row.use, row.use_from, source
                        ),
                    )
                )
            continue
        values = loaded | row.values
        values["address"] = _address(values)
        plan.areas[row.house_code] = str(values["area_id"])
        if values != loaded:
            plan.changed_houses.append(House(house_code=row.house_code, **values))
            plan.changes[row.house_code] = _house_changes(loaded, values)
        else:
            plan.unchanged += 1
        if row.use:
            _plan_use(row, loaded["id"], latest_uses.get(loaded["id"]), plan, errors)
    return plan


def _use_events(plan: _Plan, source: str) -> list[PendingFeedEvent]:
    """A ``house.changed`` event for each loaded house whose use changed (the use closed and
    the one opened, as ``house_use`` lines), in the load's transaction. A new house is no
    change: the first load of a million houses publishes nothing."""
    events = []
    for house_code, changes in plan.changes.items():
        lines: list[FieldChange] = [
            {**line, "field": "house_use"} for line in changes if line["field"] == "use"
        ]
        if lines:
            events.append(
                PendingFeedEvent(
                    type=EventType.HOUSE_CHANGED,
                    house_code=house_code,
                    division=plan.areas.get(house_code, ""),
                    changes=lines,
                    source=source,
                )
            )
    return events


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

    def __init__(self, checker: RowChecker, bar: tqdm[Any], *, source: str) -> None:
        self.checker = checker
        self.bar = bar
        self.source = source
        # Each changed house's audit detail, as compact canonical text until the end.
        self.audited: list[tuple[str, str]] = []
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
        plan = _plan_chunk(chunk, self.created_at, errors, self.source)
        if not errors:  # after an error, only look for more errors
            _apply(plan, self.recorded_at)
            publish(_use_events(plan, self.source))
            if is_recording():
                self.audited += plan.audited
                self.audited += [
                    (code, canonical_detail({"changes": changes, "source": self.source}))
                    for code, changes in plan.changes.items()
                    if changes
                ]
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


def houses_load(
    *, path: Path, progress: bool = False, actor: User | None = None
) -> HouseLoadResult:
    """Load a houses.csv, all or nothing; raises ImportRejected naming line, column, reason
    (at most ``MAX_ERRORS`` of them). ``actor`` is the user who loads (None: the system)."""
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
            loader = _Loader(checker, bar, source=f"houses load {path.name}")
            loader.read(reader, header, lambda: reader.line_num)
            if checker.errors:
                raise ImportRejected(checker.errors)
            _audit(loader, file=path.name, actor=actor)
    except ImportRejected as exc:
        raise ImportRejected(exc.errors, file_name=path.name) from None
    except UnicodeDecodeError as exc:
        reason = f"the file is not UTF-8 text ({exc.reason})"
        raise ImportRejected([RowError(1, "-", reason)], file_name=path.name) from exc
    finally:
        bar.close()
    return loader.result()


def _audit(loader: _Loader, *, file: str, actor: User | None) -> None:
    """One write event per house created or changed, then one for the load."""
    username = SYSTEM if actor is None else ""
    result = loader.result()

    def events() -> Iterator[PendingEvent]:
        for house_code, detail_text in loader.audited:
            yield PendingEvent(
                action=Action.WRITE,
                user=actor,
                username=username,
                record_type="house",
                record_id=house_code,
                detail_text=detail_text,
            )
        yield PendingEvent(
            action=Action.WRITE,
            user=actor,
            username=username,
            record_type="import",
            record_id=file,
            detail={
                "source": "houses load",
                "file": file,
                "houses_created": result.created,
                "houses_updated": result.updated,
                "houses_unchanged": result.unchanged,
                "uses_opened": result.uses_opened,
                "uses_closed": result.uses_closed,
                "os_user": os_user(),
            },
        )

    audit_record_stream(events())
