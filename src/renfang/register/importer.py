"""``renfang register import``: the register format into the register, all or nothing.

1. Read and check every row (rows.py); collect every error with its line, column and reason.
   Any error: nothing is saved.
2. Turn each person's rows into facts: residence spells (contiguous rows in the same place are
   one spell), hukou spells (contiguous rows with the same hukou are one), a phone.
3. Compare with what the register holds: for a person in the file, the file's spells are the
   person's history. Equal facts are left alone (so importing a file twice changes nothing);
   facts the file no longer states are retracted, never deleted; new ones are recorded; a
   corrected identity field keeps its old value in IdentityRevision.
4. Write it all in one transaction with the bulk paths of renfang.core.bulk, and rebuild the changed
   people's population spells for the statistics.
5. Keep the register as a source (register/source.py, ADR 0015): one ``register`` source
   record per person of the file, stored by the bulk store of the sources (new and changed
   ones only) and linked to the person written. An identity field whose golden value comes
   from another source (the police household register) is not overwritten by the file: that
   disagreement is the golden record's conflict to show, and importing the same file twice
   changes nothing.
6. Audit it in the same transaction: one write event per person whose facts changed (each fact
   added or retracted, each identity field corrected: field, old, new) and one event for the
   import itself. The events are streamed into the chain last, so the chain's head is locked
   only for the last seconds of the import.
7. Refresh the golden records of the persons that changed and that other sources know too.
"""

from __future__ import annotations

import csv
import datetime
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Never, TypeVar, cast

from django.db import transaction
from django.db.models.fields.json import KT
from django.utils import timezone
from tqdm import tqdm

from renfang.areas.models import Area
from renfang.audit.services import (
    User,
)
from renfang.codes.selectors import active_codes, historic_division_successors
from renfang.core import bulk
from renfang.core.csvimport import ImportRejected, RowError, check_header
from renfang.houses.models import House
from renfang.people.categories import is_overseas
from renfang.people.facts.register import (
    Change,
    HukouFact,
    NewPerson,
    RegisterWrites,
    ResidenceFact,
    register_audit,
    register_publish,
    register_write,
)
from renfang.people.golden import golden_refresh
from renfang.people.models import (
    AttributeKind,
    Hukou,
    Person,
    PersonAttribute,
    Residence,
)
from renfang.register.rows import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    Identity,
    PersonRows,
    Reference,
    RowChecker,
    SpellRow,
)
from renfang.register.source import (
    RegisterRecord,
    golden_candidates,
    link,
    register_source,
    stored_records,
)
from renfang.register.source import store as store_records
from renfang.sources.models import REGISTER_SOURCE, Source
from renfang.stats.models import PopulationSpell

MAX_ERRORS_KEPT = 1000
_LOOKUP_CHUNK = 5000
_ONE_DAY = datetime.timedelta(days=1)


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


@dataclass
class _Plan(RegisterWrites):
    """What the write stage will do, and what the import needs to know of it afterwards."""

    person_of: dict[tuple[str, str], int] = field(default_factory=dict)  # people already known
    died: dict[int, datetime.date] = field(default_factory=dict)  # people already known, dead


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
        plan = _plan(people, today=today, summary=summary, records=records)
        summary.stages["compare"] = time.monotonic() - clock
        register_write(plan, progress=progress, stages=summary.stages)
        summary.residences_added = len(plan.residences)
        summary.residences_retracted = len(plan.retract_residences)
        summary.hukous_added = len(plan.hukous)
        summary.hukous_retracted = len(plan.retract_hukous)
        summary.phones_recorded = len(plan.phones)
        summary.identity_revisions = len(plan.identity_updates)
        clock = time.monotonic()
        refresh = _store_register_records(
            source,
            people,
            plan,
            records,
            house_codes=house_codes,
            columns=columns,
            path=path,
            actor=actor,
            summary=summary,
        )
        summary.stages["register records"] = time.monotonic() - clock
        clock = time.monotonic()
        register_audit(
            plan,
            _audit_counts(summary),
            source=f"register import {path.name}",
            file=path.name,
            actor=actor,
        )
        summary.stages["audit"] = time.monotonic() - clock
        clock = time.monotonic()
        register_publish(plan, today)
        summary.stages["feed"] = time.monotonic() - clock
        clock = time.monotonic()
        if refresh:
            summary.golden_refreshed = golden_refresh(refresh, actor=actor).persons
        summary.stages["golden"] = time.monotonic() - clock
        clock = time.monotonic()
    summary.stages["commit"] = time.monotonic() - clock
    if bulk.is_postgresql() and summary.changed_anything and rows > 10000:
        clock = time.monotonic()
        bulk.analyze(Person, Residence, Hukou, PersonAttribute, PopulationSpell)
        summary.stages["analyze"] = time.monotonic() - clock
    summary.seconds = time.monotonic() - started
    return summary


def _store_register_records(
    source: Source,
    people: dict[tuple[str, str], PersonRows],
    plan: _Plan,
    records: dict[tuple[str, str], RegisterRecord],
    *,
    house_codes: dict[int, str],
    columns: list[str],
    path: Path,
    actor: User | None,
    summary: ImportSummary,
) -> list[int]:
    """Store and link the register records; the persons whose golden records to refresh."""
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
    person_of = dict(plan.person_of)
    for pid, person in zip(plan.new_ids, plan.new_people, strict=True):
        person_of[(person.id_type, person.id_number)] = pid
    link(
        source,
        [
            (key, person_of[key])
            for key in people
            if key in person_of and (key not in records or records[key].person_id is None)
        ],
    )
    # Persons renfang knew before this file whose register record is new or changed, or whose
    # facts changed: their golden records may say something else now.
    changed_records = set(stored.changed)
    touched = set(plan.changes) | set(plan.history_of)
    touched.update(
        person_id
        for key, person_id in plan.person_of.items()
        if key not in records or records[key].pk in changed_records
    )
    touched.difference_update(plan.new_ids)
    return golden_candidates(source, touched) if touched else []


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
    """Every person of the file, the number of rows, the codes of the houses of the persons'
    last spells (house id → code), the file's columns, and how many rows give a birth date
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
    last_houses = {person.spells[-1].house_id for person in people.values()} - {None}
    house_codes = {
        house_id: code
        for code, (house_id, _area) in checker.ref.houses.items()
        if house_id in last_houses
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


# ---------------------------------------------------------------- rows into facts


def _contiguous(previous_to: datetime.date | None, start: datetime.date | None) -> bool:
    return previous_to is not None and start is not None and previous_to + _ONE_DAY == start


def residence_facts(spells: list[SpellRow]) -> list[ResidenceFact]:
    facts: list[ResidenceFact] = []
    for spell in spells:
        if facts:
            start, end, division, house_id = facts[-1]
            if (
                _contiguous(end, spell.valid_from)
                and division == spell.residence_division
                and house_id == spell.house_id
            ):
                facts[-1] = (start, spell.valid_to, division, house_id)
                continue
        facts.append((spell.valid_from, spell.valid_to, spell.residence_division, spell.house_id))
    return facts


def hukou_facts(spells: list[SpellRow]) -> list[HukouFact]:
    facts: list[HukouFact] = []
    for spell in spells:
        if spell.hukou_division is None:
            continue
        if facts:
            start, end, division, household_type = facts[-1]
            if _contiguous(end, spell.valid_from) and (division, household_type) == (
                spell.hukou_division,
                spell.hukou_type,
            ):
                facts[-1] = (start, spell.valid_to, division, household_type)
                continue
        facts.append((spell.valid_from, spell.valid_to, spell.hukou_division, spell.hukou_type))
    return facts


# A fact as a tuple (first day, last day, …): ResidenceFact, HukouFact, SpellFact.
_Fact = TypeVar("_Fact", bound=tuple[Any, ...])


def until_death(facts: list[_Fact], died: datetime.date | None) -> list[_Fact]:
    """The facts of a dead person as they hold: none after the day of death (a fact that
    begins after it never held, one still open then ends on it). The golden record ends them
    so (people/golden/deaths.py); the register file, which knows no deaths, must not reopen
    them (ADR 0028)."""
    if died is None:
        return facts
    ended: list[_Fact] = []
    for fact in facts:
        start, end = fact[0], fact[1]
        if start is not None and start > died:
            continue
        if end is None or end > died:
            ended.append(cast("_Fact", (start, died, *fact[2:])))
        else:
            ended.append(fact)
    return ended


# ---------------------------------------------------------------- comparing with the register


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


def _golden_owners(person_ids: list[int]) -> dict[int, dict[str, str]]:
    """Which source each identity field of these persons' golden records came from."""
    owners: dict[int, dict[str, str]] = {}
    for offset in range(0, len(person_ids), _LOOKUP_CHUNK):
        chunk = person_ids[offset : offset + _LOOKUP_CHUNK]
        for person_id, *sources in (
            Person.objects.filter(id__in=chunk)
            .exclude(golden={})
            .values_list("id", *(KT(f"golden__{name}__source") for name in _IDENTITY_FIELDS))
        ):
            owners[person_id] = {
                name: source
                for name, source in zip(_IDENTITY_FIELDS, sources, strict=True)
                if source
            }
    return owners


def _kept_identity(
    stored: Identity, wanted: Identity, owners: dict[str, str], summary: ImportSummary
) -> Identity:
    """The file's identity, except the fields whose golden value another source gives."""
    kept = {
        name: getattr(stored, name)
        for name in _IDENTITY_FIELDS
        if owners.get(name, REGISTER_SOURCE) != REGISTER_SOURCE
        and getattr(stored, name) != getattr(wanted, name)
    }
    summary.identity_kept += len(kept)
    return replace(wanted, **kept) if kept else wanted


def _plan(
    people: dict[tuple[str, str], PersonRows],
    *,
    today: datetime.date,
    summary: ImportSummary,
    records: dict[tuple[str, str], RegisterRecord],
) -> _Plan:
    plan = _Plan()
    existing = _existing_people(list(people), records)
    known: list[tuple[int, str, Identity, PersonRows]] = []
    claimed: set[int] = set()
    for key, person in people.items():
        if key not in existing:
            plan.new_people.append(_new_person(person))
            continue
        person_id, id_type, identity, died = existing[key]
        plan.person_of[key] = person_id
        if died is not None:
            plan.died[person_id] = died
        if person_id in claimed:  # two persons of the file are one person in renfang
            summary.people_merged += 1
            continue
        claimed.add(person_id)
        known.append((person_id, id_type, identity, person))
    summary.people_created = len(plan.new_people)
    owners = _golden_owners(
        [person_id for person_id, _, identity, person in known if identity != person.identity]
    )
    changed_ids: list[tuple[int, PersonRows, bool]] = []
    for person_id, id_type, identity, person in known:
        effective = person.identity
        if identity != person.identity:
            effective = _kept_identity(
                identity, person.identity, owners.get(person_id, {}), summary
            )
        if effective != identity:
            corrected = {
                name: (getattr(identity, name), getattr(effective, name))
                for name in _IDENTITY_FIELDS
                if getattr(identity, name) != getattr(effective, name)
            }
            plan.identity_updates.append((person_id, corrected))
            plan.changes[person_id] = [(name, old, new) for name, (old, new) in corrected.items()]
        plan.overseas[person_id] = is_overseas(id_type, effective.nationality)
        changed_ids.append((person_id, person, effective != identity))
    for offset in range(0, len(changed_ids), _LOOKUP_CHUNK):
        chunk = changed_ids[offset : offset + _LOOKUP_CHUNK]
        _plan_existing(plan, chunk, today=today, summary=summary)
    return plan


def _plan_existing(
    plan: _Plan,
    chunk: list[tuple[int, PersonRows, bool]],
    *,
    today: datetime.date,
    summary: ImportSummary,
) -> None:
    """Plan the facts of persons already known; ``chunk``: (id, rows, identity changed)."""
    ids = [person_id for person_id, _, _ in chunk]
    stored_residences: dict[int, dict[ResidenceFact, int]] = {pid: {} for pid in ids}
    for fact_id, pid, start, end, division, house_id in bulk.select_in(
        Residence,
        ["id", "person_id", "valid_from", "valid_to", "division", "house_id"],
        "person",
        ids,
    ):
        stored_residences[pid][(start, end, division, house_id)] = fact_id
    stored_hukous: dict[int, dict[HukouFact, int]] = {pid: {} for pid in ids}
    for fact_id, pid, start, end, division, household_type in bulk.select_in(
        Hukou,
        ["id", "person_id", "valid_from", "valid_to", "division", "household_type"],
        "person",
        ids,
    ):
        stored_hukous[pid][(start, end, division, household_type)] = fact_id
    phones: dict[int, tuple[int, str, datetime.date | None]] = {}
    for fact_id, pid, kind, value, start, end in bulk.select_in(
        PersonAttribute,
        ["id", "person_id", "kind", "value", "valid_from", "valid_to"],
        "person",
        ids,
    ):
        if kind == AttributeKind.PHONE and end is None:
            phones[pid] = (fact_id, value, start)

    for person_id, person, identity_changed in chunk:
        changes = _diff_facts(
            plan,
            person_id,
            person,
            stored_residences=stored_residences[person_id],
            stored_hukous=stored_hukous[person_id],
            phone=phones.get(person_id),
            today=today,
        )
        if changes:
            plan.changes.setdefault(person_id, []).extend(changes)
        if changes or identity_changed:
            summary.people_changed += 1
            died = plan.died.get(person_id)
            plan.history_of[person_id] = (
                until_death(residence_facts(person.spells), died),
                until_death(hukou_facts(person.spells), died),
            )
        else:
            summary.people_unchanged += 1


def _diff_facts(
    plan: _Plan,
    person_id: int,
    person: PersonRows,
    *,
    stored_residences: dict[ResidenceFact, int],
    stored_hukous: dict[HukouFact, int],
    phone: tuple[int, str, datetime.date | None] | None,
    today: datetime.date,
) -> list[Change]:
    """Plan the facts to add and retract for one person; what changes (empty: nothing).
    A dead person's facts end on the day of death, whatever the file says after it."""
    died = plan.died.get(person_id)
    wanted_residences = until_death(residence_facts(person.spells), died)
    added = [fact for fact in wanted_residences if fact not in stored_residences]
    plan.residences.extend((person_id, fact) for fact in added)
    keep = set(wanted_residences)
    retracted = [fact_id for fact, fact_id in stored_residences.items() if fact not in keep]
    plan.retract_residences.extend(retracted)

    wanted_hukous = until_death(hukou_facts(person.spells), died)
    added_hukous = [fact for fact in wanted_hukous if fact not in stored_hukous]
    plan.hukous.extend((person_id, fact) for fact in added_hukous)
    keep_hukous = set(wanted_hukous)
    retracted_hukous = [
        fact_id for fact, fact_id in stored_hukous.items() if fact not in keep_hukous
    ]
    plan.retract_hukous.extend(retracted_hukous)

    changes: list[Change] = []
    if person.phone and (phone is None or phone[1] != person.phone):
        changes.append(("phone", phone[1] if phone is not None else None, person.phone))
        if phone is not None:
            plan.phones_closed.append(phone[0])
        plan.phones.append((person_id, person.phone, today if phone is not None else None))
    if added or retracted or added_hukous or retracted_hukous:
        retracted_facts = [fact for fact in stored_residences if fact not in keep]
        changes += _paired("residence", retracted_facts, added)
        retracted_hukou_facts = [fact for fact in stored_hukous if fact not in keep_hukous]
        changes += _paired("hukou", retracted_hukou_facts, added_hukous)
    return changes


def _paired(
    name: str, retracted: list[tuple[Any, ...]], added: list[tuple[Any, ...]]
) -> list[Change]:
    """Retracted and added facts as changes; a fact retracted and one added that begin on the
    same day (a spell closed, a house corrected) are one change from the old to the new."""
    added_from = {fact[0]: fact for fact in added}
    changes: list[Change] = []
    for old in retracted:
        new = added_from.pop(old[0], None)
        changes.append((name, old, new))
    changes += [(name, None, new) for new in added_from.values()]
    return changes


_IDENTITY_FIELDS = ("name", "sex", "birth_date", "nationality")


def _new_person(person: PersonRows) -> NewPerson:
    identity = person.identity
    return NewPerson(
        id_type=person.id_type,
        id_number=person.id_number,
        name=identity.name,
        sex=identity.sex,
        birth_date=identity.birth_date,
        nationality=identity.nationality,
        phone=person.phone or "",
        residences=residence_facts(person.spells),
        hukous=hukou_facts(person.spells),
        overseas=is_overseas(person.id_type, identity.nationality),
    )


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
