"""``renfang register import``: the register format into the register, all or nothing.

The register is a source like the others (ADR 0025): its rows are source records of the
``register`` source, linked to persons, and the golden refresh writes the persons' facts from
them by the policy (data/golden.toml: the register's history owns the residences and the hukou).

1. Read and check every row (rows.py); collect every error with its line, column and reason.
   Any error: nothing is saved.
2. Find each person of the file: the person its register record is linked to (the link
   survives a corrected ID number, a merge, a split), else the person with that ID number,
   else a new person (inserted blank through the door: the golden record says who they are,
   and its audit event says so).
3. Store the register records (register/source.py): one per person of the file, carrying
   the person's identity, phone and whole history (every spell of the file); a record the
   register already holds as it is stays as it is (importing the same file twice changes
   nothing); link the new ones to their persons.
4. Refresh the golden records of the persons whose record is new or changed: the golden
   refresh (people/golden) writes, through the door, the identity fields the register is
   authoritative for (another source's value stays and is shown as a conflict), the phone,
   and the residences and hukou as the history states them (facts it no longer states are
   retracted, never deleted), rebuilds their population spells, and records one audit event
   and one change-feed event per changed person.
5. Audit the import itself (what it did, in counts), in the same transaction.
"""

from __future__ import annotations

import csv
import datetime
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Never

from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from renfang.areas.models import Area
from renfang.audit.context import os_user
from renfang.audit.models import Action
from renfang.audit.services import SYSTEM, PendingEvent, User, audit_record_stream, is_recording
from renfang.codes.selectors import active_codes, historic_division_successors
from renfang.core import bulk
from renfang.core.csvimport import ImportRejected, RowError, check_header
from renfang.houses.models import House
from renfang.people.facts import persons_blank
from renfang.people.golden import GoldenReport, golden_refresh
from renfang.people.models import Hukou, Person, PersonAttribute, Residence
from renfang.register.rows import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    Identity,
    PersonRows,
    Reference,
    RowChecker,
    SpellRow,
)
from renfang.register.source import RegisterRecord, link, register_source, stored_records
from renfang.register.source import store as store_records
from renfang.sources.models import SourceRecord
from renfang.stats.models import PopulationSpell

MAX_ERRORS_KEPT = 1000
_LOOKUP_CHUNK = 5000


@dataclass
class ImportSummary:
    rows: int = 0
    people: int = 0
    people_created: int = 0
    people_changed: int = 0
    people_unchanged: int = 0
    residences_added: int = 0
    residences_retracted: int = 0
    hukous_added: int = 0
    hukous_retracted: int = 0
    phones_recorded: int = 0
    identity_revisions: int = 0
    # Identity fields the file states differently from the source authoritative for them
    # (golden.toml): left as they are, shown as conflicts.
    identity_kept: int = 0
    # Rows whose birth date is not the one inside the ID number (kept as given).
    birth_dates_differing: int = 0
    # Persons of the file that are one person in renfang (merged): only the first one's rows
    # are that person's facts.
    people_merged: int = 0
    records_new: int = 0
    records_changed: int = 0
    golden_refreshed: int = 0
    # The identity of the persons renfang knew, before the import (by person id)
    identity_before: dict[int, Identity] = field(default_factory=dict, repr=False)
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)

    @property
    def changed_anything(self) -> bool:
        return bool(self.people_created or self.people_changed)

    def as_text(self) -> str:
        rate = self.rows / self.seconds if self.seconds else 0.0
        return (
            f"{self.rows} rows, {self.people} people: {self.people_created} new, "
            f"{self.people_changed} changed, {self.people_unchanged} unchanged; "
            f"residence spells +{self.residences_added} −{self.residences_retracted}, "
            f"hukou spells +{self.hukous_added} −{self.hukous_retracted}, "
            f"phones +{self.phones_recorded}, identity corrections {self.identity_revisions}"
            + (f" ({self.identity_kept} kept from another source)" if self.identity_kept else "")
            + (f", {self.people_merged} merged into another" if self.people_merged else "")
            + (
                f", {self.birth_dates_differing} rows with a birth date other than their "
                "ID number's (kept as given)"
                if self.birth_dates_differing
                else ""
            )
            + f"; register records +{self.records_new} changed {self.records_changed}, "
            f"golden records refreshed {self.golden_refreshed} "
            f"({self.seconds:.1f} s, {rate:,.0f} rows/s)"
        )


def register_import(
    *,
    path: Path,
    progress: bool = False,
    today: datetime.date | None = None,
    actor: User | None = None,
) -> ImportSummary:
    """Import a register-format file. Raises ImportRejected (and saves nothing) on any error.
    ``actor`` is the user who imports (None: the system, from a command)."""
    started = time.monotonic()
    today = today or timezone.localdate()
    people, rows, house_codes, columns, differing = _read(path, today=today, progress=progress)
    summary = ImportSummary(rows=rows, people=len(people), birth_dates_differing=differing)
    summary.stages["check"] = time.monotonic() - started
    # Registered (and audited) before the import's transaction: an audit event there would
    # hold the chain's head for the whole import.
    source = register_source(actor)
    with transaction.atomic():
        clock = time.monotonic()
        records = stored_records(source, people, house_codes)
        person_of, new_ids = _persons(people, records, summary)
        summary.stages["persons"] = time.monotonic() - clock
        clock = time.monotonic()
        _source_import, stored = store_records(
            source,
            people,
            house_codes=house_codes,
            columns=columns,
            path=path,
            actor=actor,
            stored=records,
        )
        summary.records_new, summary.records_changed = len(stored.new), len(stored.changed)
        link(
            source,
            [
                (key, person_of[key])
                for key in people
                if key not in records or records[key].person_id is None
            ],
        )
        summary.stages["register records"] = time.monotonic() - clock
        clock = time.monotonic()
        refresh = sorted(
            set(new_ids)
            | {person_of[key] for key in people if key not in records or not records[key].same}
        )
        if refresh:
            report = golden_refresh(
                refresh,
                progress=progress,
                actor=actor,
                today=today,
                reason=f"register import {path.name}",
            )
            _count(summary, report)
            for name, seconds in report.stages.items():
                summary.stages[f"golden {name}"] = seconds
        summary.identity_kept = _identity_kept(people, person_of, summary, refreshed=set(refresh))
        summary.people_unchanged = (
            summary.people - summary.people_created - summary.people_changed - summary.people_merged
        )
        summary.stages["golden"] = time.monotonic() - clock
        clock = time.monotonic()
        _audit_import(summary, file=path.name, actor=actor)
        summary.stages["audit"] = time.monotonic() - clock
        clock = time.monotonic()
    summary.stages["commit"] = time.monotonic() - clock
    if bulk.is_postgresql() and summary.changed_anything and rows > 10000:
        clock = time.monotonic()
        bulk.analyze(Person, Residence, Hukou, PersonAttribute, PopulationSpell, SourceRecord)
        summary.stages["analyze"] = time.monotonic() - clock
    summary.seconds = time.monotonic() - started
    return summary


def _persons(
    people: dict[tuple[str, str], PersonRows],
    records: dict[tuple[str, str], RegisterRecord],
    summary: ImportSummary,
) -> tuple[dict[tuple[str, str], int], list[int]]:
    """The person of each key of the file (persons renfang knows; new ones inserted blank
    through the door), and the new persons' ids."""
    existing = _existing_people(list(people), records)
    summary.identity_before = {known[0]: known[2] for known in existing.values()}
    person_of = {key: known[0] for key, known in existing.items()}
    claimed: set[int] = set()
    for person_id in person_of.values():
        if person_id in claimed:  # two persons of the file are one person in renfang
            summary.people_merged += 1
        claimed.add(person_id)
    new_keys = [key for key in people if key not in existing]
    new_ids = persons_blank(len(new_keys))
    person_of.update(zip(new_keys, new_ids, strict=True))
    summary.people_created = len(new_ids)
    return person_of, new_ids


def _count(summary: ImportSummary, report: GoldenReport) -> None:
    """The import's figures from what the golden refresh wrote."""
    summary.golden_refreshed = report.persons
    summary.people_changed = sum(
        1 for person_id in report.audited_ids if person_id in summary.identity_before
    )
    summary.residences_added = report.added.get("residence", 0)
    summary.residences_retracted = report.retracted.get("residence", 0)
    summary.hukous_added = report.added.get("hukou", 0)
    summary.hukous_retracted = report.retracted.get("hukou", 0)
    summary.phones_recorded = report.added.get("personattribute", 0)
    summary.identity_revisions = report.identity_revisions


def _identity_kept(
    people: dict[tuple[str, str], PersonRows],
    person_of: dict[tuple[str, str], int],
    summary: ImportSummary,
    *,
    refreshed: set[int],
) -> int:
    """Identity fields of persons renfang knew that the file states otherwise than their
    golden record, which took them from a source authoritative before the register."""
    before = summary.identity_before
    identity_of = {pid: identity for pid, identity in before.items() if pid not in refreshed}
    wanted = sorted(pid for pid in before if pid in refreshed)
    for offset in range(0, len(wanted), _LOOKUP_CHUNK):
        for row in bulk.select_in(
            Person, _PERSON_LOOKUP, "id", wanted[offset : offset + _LOOKUP_CHUNK]
        ):
            identity_of[row[0]] = _known(row)[2]
    kept = 0
    for key, person in people.items():
        stored = identity_of.get(person_of[key])
        if stored is not None and stored != person.identity:
            kept += sum(
                1
                for name in _IDENTITY_FIELDS
                if getattr(stored, name) != getattr(person.identity, name)
            )
    return kept


def _audit_import(summary: ImportSummary, *, file: str, actor: User | None) -> None:
    """The import's own audit event: what it did, in counts."""
    if not is_recording():
        return
    audit_record_stream(
        [
            PendingEvent(
                action=Action.WRITE,
                user=actor,
                username=SYSTEM if actor is None else "",
                record_type="import",
                record_id=file,
                detail={
                    "source": "register import",
                    "file": file,
                    **_audit_counts(summary),
                    "os_user": os_user(),
                },
            )
        ]
    )


# ---------------------------------------------------------------- reading and checking


def _reference(today: datetime.date, *, with_houses: bool) -> Reference:
    sexes = active_codes("sex")
    if not sexes:
        raise ImportRejected(
            [RowError(1, "-", "the code sets are not loaded: run `renfang codes load` first")]
        )
    houses: dict[str, tuple[int, str]] = {}
    if with_houses:
        houses = {
            code: (house_id, area_id)
            for code, house_id, area_id in House.objects.values_list(
                "house_code", "id", "area_id"
            ).iterator(chunk_size=20000)
        }
    return Reference(
        sexes=sexes,
        nationalities=active_codes("nationality"),
        divisions=active_codes("division"),
        historic=historic_division_successors(),
        areas=frozenset(Area.objects.values_list("code", flat=True)),
        houses=houses,
        today=today,
    )


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


def _read(
    path: Path, *, today: datetime.date, progress: bool
) -> tuple[dict[tuple[str, str], PersonRows], int, dict[int, str], list[str], int]:
    """Every person of the file, the number of rows, the codes of the houses the rows name
    (house id → code), the file's columns, and how many rows give a birth date
    other than the one inside their ID number."""
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
        people, rows, errors, error_count = _read_rows(reader, checker, bar)
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
    people: dict[tuple[str, str], PersonRows] = {}
    errors: list[RowError] = []
    error_count = rows = 0
    width = len(reader.fieldnames or [])
    line = 1
    try:
        for row in reader:
            line = reader.line_num
            rows += 1
            if rows % 10000 == 0:
                bar.update(10000)
            if None in row or None in row.values():
                extra = len(row.get(None) or [])
                found = width + extra if extra else sum(v is not None for v in row.values())
                new_errors = [RowError(line, "-", f"{found} fields, the header has {width}")]
            else:
                new_errors = _add_row(people, checker, row, line)
            if new_errors:
                error_count += len(new_errors)
                if len(errors) < MAX_ERRORS_KEPT:
                    errors.extend(new_errors)
    except UnicodeDecodeError as exc:
        raise ImportRejected([RowError(line + 1, "-", "the line is not UTF-8")]) from exc
    except csv.Error as exc:
        raise ImportRejected([RowError(reader.line_num, "-", f"bad CSV: {exc}")]) from exc
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
    if identity != person.identity:
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


# ---------------------------------------------------------------- persons renfang knows


_PERSON_LOOKUP = [
    "id",
    "id_type",
    "id_number",
    "name",
    "sex",
    "birth_date",
    "nationality",
    "merged_into_id",
    "death_date",
]
# (person id, the person's id_type, identity, death date)
Known = tuple[int, str, Identity, datetime.date | None]


def _known(row: tuple[Any, ...]) -> Known:
    return row[0], row[1], Identity(*row[3:7]), row[8]


def _survivor(row: tuple[Any, ...] | None) -> tuple[Any, ...] | None:
    """The person a merged-away person was merged into (rare: a merge moves the records)."""
    hops = 0
    while row is not None and row[7] is not None and hops < 20:
        row = Person.objects.filter(pk=row[7]).values_list(*_PERSON_LOOKUP).first()
        hops += 1
    return row if row is not None and row[7] is None else None


def _existing_people(
    keys: list[tuple[str, str]], records: dict[tuple[str, str], RegisterRecord]
) -> dict[tuple[str, str], Known]:
    """The persons renfang already has for these keys: the person a register record of the
    key is linked to (the link survives a corrected ID number, a merge, a split), else the
    person with that ID number."""
    found: dict[tuple[str, str], Known] = {}
    if not Person.objects.exists():
        return found
    linked = {key: record.person_id for key, record in records.items() if record.person_id}
    ids = sorted(set(linked.values()))
    rows: dict[int, tuple[Any, ...]] = {}
    for offset in range(0, len(ids), _LOOKUP_CHUNK):
        wanted = ids[offset : offset + _LOOKUP_CHUNK]
        rows.update((row[0], row) for row in bulk.select_in(Person, _PERSON_LOOKUP, "id", wanted))
    for key, person_id in linked.items():
        survivor = _survivor(rows.get(person_id))
        if survivor is not None:
            found[key] = _known(survivor)
    numbers_by_type: dict[str, list[str]] = {}
    for id_type, number in keys:
        if (id_type, number) not in found:
            numbers_by_type.setdefault(id_type, []).append(number)
    for id_type, numbers in numbers_by_type.items():
        for offset in range(0, len(numbers), _LOOKUP_CHUNK):
            chunk = numbers[offset : offset + _LOOKUP_CHUNK]
            for row in bulk.select_in(Person, _PERSON_LOOKUP, "id_number", chunk):
                if row[1] == id_type and row[7] is None:
                    found[(id_type, row[2])] = _known(row)
    return found


_IDENTITY_FIELDS = ("name", "sex", "birth_date", "nationality")


def _audit_counts(summary: ImportSummary) -> dict[str, int]:
    """The import's own audit event: what it did, in counts."""
    return {
        "rows": summary.rows,
        "people": summary.people,
        "people_created": summary.people_created,
        "people_changed": summary.people_changed,
        "people_unchanged": summary.people_unchanged,
        "residences_added": summary.residences_added,
        "residences_retracted": summary.residences_retracted,
        "hukous_added": summary.hukous_added,
        "hukous_retracted": summary.hukous_retracted,
        "phones_recorded": summary.phones_recorded,
        "identity_revisions": summary.identity_revisions,
        "birth_dates_differing": summary.birth_dates_differing,
    }
