"""A chunk of a golden refresh: what the database holds for a few thousand persons
(``read_chunk``, in the main thread) and their golden records planned against it
(``plan_chunk``: pure Python, no database access, so that it can run beside the writes of the
chunk before, in a thread or a process)."""

from __future__ import annotations

import datetime
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import ngettext

from renfang.audit.services import User
from renfang.core import bulk
from renfang.core.changes import FieldChange
from renfang.houses.models import House
from renfang.people.categories import is_overseas
from renfang.people.golden import facts, history
from renfang.people.golden.conflicting import CONFLICT_FIELDS, ConflictWrites, plan_conflicts
from renfang.people.golden.identity import (
    StoredPerson,
    blank_person,
    drop_colliding_ids,
    golden_key,
    holders,
    load_people,
    new_identity,
    person_row,
    plan_identity,
)
from renfang.people.golden.policy import GoldenPolicy
from renfang.people.golden.records import (
    MAPPED_KEYS,
    Pick,
    Record,
    golden_text,
    pick_golden,
    record_from,
)
from renfang.people.idnumbers import normalize, upgrade_15
from renfang.people.models import (
    Conflict,
    Hukou,
    PersonAttribute,
    PersonTag,
    Residence,
)
from renfang.sources.models import SourceRecord


@dataclass
class GoldenReport:
    """What a refresh did."""

    persons: int = 0  # asked for
    merged_away: int = 0  # skipped: merged into another person (their open conflicts settled)
    changed: int = 0  # persons whose golden record (values or provenance) was written
    audited: int = 0  # persons whose values changed (one audit event each)
    identity_changes: int = 0  # Person fields set
    identity_revisions: int = 0  # of them, corrections of a value there was (IdentityRevision)
    facts_added: int = 0
    facts_closed: int = 0
    # The same by kind of fact (the model's name: "residence", "hukou", "personattribute"…)
    added: dict[str, int] = field(default_factory=dict)
    retracted: dict[str, int] = field(default_factory=dict)
    closed: dict[str, int] = field(default_factory=dict)
    audited_ids: set[int] = field(default_factory=set)  # the persons of ``audited``
    conflicts_opened: int = 0
    conflicts_settled: int = 0
    # Persons whose golden ID number another person holds: their ID was left as it was.
    id_collisions: list[int] = field(default_factory=list)
    # Persons a source of history knows (golden.toml [history]) whose records there carry no
    # usable history (no spells, or spells that are no history): their residences and hukou
    # were left as they were (history.followed), the golden values of today aside.
    no_history: list[int] = field(default_factory=list)
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)  # seconds spent, by stage
    # New persons inserted (``golden_refresh(new=…)``), and how many there were when their
    # tables' statistics were last taken (refresh._statistics_kept)
    inserted: int = 0
    analysed_at: int = 0

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        clock = time.monotonic()
        try:
            yield
        finally:
            self.stages[name] = self.stages.get(name, 0.0) + time.monotonic() - clock

    def as_text(self) -> str:
        return (
            f"{self.persons} persons: {self.changed} golden records written, "
            f"{self.identity_changes} identity fields set ({self.identity_revisions} corrected), "
            f"facts +{self.facts_added} closed {self.facts_closed}, conflicts "
            f"+{self.conflicts_opened} settled {self.conflicts_settled}, "
            f"{len(self.id_collisions)} ID numbers held by another person"
            + (f", {len(self.no_history)} without a usable history" if self.no_history else "")
            + f" ({self.seconds:.1f} s)"
        )


def no_history_note(persons: int) -> str:
    """What an operator is told of the persons whose record in a source of history carries no
    usable history (``GoldenReport.no_history``); empty when there are none."""
    if not persons:
        return ""
    return ngettext(
        "%(count)s person's record in a source of history (golden.toml, [history]) carries no "
        "usable history (no spells, or spells that are no history): their residences and hukou "
        "were left as they were; import the register file that holds them again (renfang "
        "register import) to restore it",
        "%(count)s persons' records in a source of history (golden.toml, [history]) carry no "
        "usable history (no spells, or spells that are no history): their residences and hukou "
        "were left as they were; import the register file that holds them again (renfang "
        "register import) to restore it",
        persons,
    ) % {"count": f"{persons:,}"}


@dataclass
class Context:
    policy: GoldenPolicy
    sources: dict[int, str]
    today: datetime.date
    now: datetime.datetime
    actor: User | None
    agreed_note: str
    gone_note: str
    # Known before planning starts: the planner thread must not touch the database connection.
    postgresql: bool
    stamp: object  # context.now as the database takes it
    # What the audit events name as the source of the changes (the refresh, or the import
    # that asked for it: "register import r.csv")
    audit_source: str = "golden record"
    # Persons whose ids were reserved and whose rows the refresh inserts (no facts yet).
    new: frozenset[int] = frozenset()


def _grouped(model: type, fields: list[str], ids: list[int]) -> dict[int, list[tuple[Any, ...]]]:
    """Rows of a person's facts (``fields`` after person_id), by person."""
    grouped: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    if ids:
        for row in bulk.select_in(model, ["person_id", *fields], "person", ids):
            grouped[row[0]].append(row[1:])
    return grouped


@dataclass
class ChunkWrites:
    """What one chunk of a refresh writes."""

    facts: facts.Writes
    conflicts: ConflictWrites
    person_rows: list[tuple[Any, ...]] = field(default_factory=list)  # to update
    # The persons the refresh inserts (Context.new), rows of the same form
    new_person_rows: list[tuple[Any, ...]] = field(default_factory=list)
    revisions: list[tuple[Any, ...]] = field(default_factory=list)
    # One audit event per person: its changes.
    changes: dict[int, list[FieldChange]] = field(default_factory=lambda: defaultdict(list))
    overseas: dict[int, bool] = field(default_factory=dict)
    # Every dead person of the chunk: the day of death (people/golden/deaths.py ends their facts).
    died: dict[int, datetime.date] = field(default_factory=dict)

    @classmethod
    def start(cls, context: Context) -> ChunkWrites:
        return cls(
            facts=facts.Writes(today=context.today),
            conflicts=ConflictWrites(
                fields=context.policy.conflict_fields,
                now=context.now,
                agreed_note=context.agreed_note,
                gone_note=context.gone_note,
            ),
        )


@dataclass
class ChunkRead:
    """What the database holds for a chunk of persons: all a plan needs."""

    people: list[StoredPerson]
    rows: list[tuple[Any, ...]]  # their records: (pk, person, source, mapped, received_at)
    # Persons whose residences or hukou a record's history writes (history.py, the policy's
    # [history]): person → {"residence"/"hukou": the candidate records, their spells parsed}.
    # The others' facts come from today's golden value.
    history: dict[int, dict[str, list[history.Carried]]]
    stored: Stored
    houses: dict[str, tuple[int, str]]  # house code → (id, area) of the houses records name
    codes: dict[int, str]  # house id → code of the houses of the stored residences
    held: dict[tuple[str, str], int]  # (id_type, id_number) → the person holding it


def read_chunk(chunk: list[int], context: Context, report: GoldenReport) -> ChunkRead:
    with report.stage("read"):
        people = load_people(chunk)
        fresh = [pk for pk in chunk if pk in context.new]
        if fresh:
            people.extend(blank_person(pk, postgresql=context.postgresql) for pk in fresh)
        rows, numbers, house_codes, spells = _load_records(chunk, context)
        live = {person.pk for person in people if person.merged_into is None}
        histories = history.candidates(rows, spells, live, context.sources, context.policy)
        # (a new person has no facts, nor conflicts, to read)
        live_ids = sorted(live - context.new) if fresh else sorted(live)
        stored = Stored(
            attributes=_grouped(
                PersonAttribute, ["id", "valid_from", "valid_to", "kind", "value"], live_ids
            ),
            tags=_grouped(PersonTag, ["id", "valid_from", "valid_to", "tag", "note"], live_ids),
            hukous=_grouped(
                Hukou,
                ["id", "valid_from", "valid_to", "division", "household_type", "address"],
                live_ids,
            ),
            residences=_grouped(
                Residence, ["id", "valid_from", "valid_to", "division", "house_id"], live_ids
            ),
            conflicts=_grouped(
                Conflict, CONFLICT_FIELDS, [pk for pk in chunk if pk not in context.new]
            ),
        )
        wanted_codes = {
            code
            for person_id, code in house_codes
            if "residence" not in histories.get(person_id, {})
        }
        for governed in histories.values():
            for candidate in governed.get("residence", ()):
                if candidate.spells is not None:
                    wanted_codes.update(history.house_codes(candidate.spells))
        houses = {
            code: (house_id, area_id)
            for code, house_id, area_id in bulk.select_in(
                House, ["house_code", "id", "area_id"], "house_code", sorted(wanted_codes)
            )
        }
        stored_houses = sorted(
            {
                fact[4]
                for person_id, facts_of in stored.residences.items()
                if person_id in histories
                for fact in facts_of
                if fact[4] is not None
            }
        )
        codes = (
            dict(bulk.select_in(House, ["id", "house_code"], "id", stored_houses))
            if stored_houses
            else {}
        )
        return ChunkRead(
            people=people,
            rows=rows,
            history=histories,
            stored=stored,
            houses=houses,
            codes=codes,
            held=holders(sorted(numbers)),  # own too: another person of the chunk may want it
        )


def _load_records(
    chunk: list[int], context: Context
) -> tuple[list[tuple[Any, ...]], set[str], set[tuple[int, str]], dict[int, str]]:
    """The chunk's records (their mapped values as a tuple of MAPPED_KEYS: the database picks
    them out faster than JSON can be parsed here), the ID numbers they carry (folded, as the
    golden record would hold them: the persons holding them are looked up) and the house codes
    they name, and the spells of the records that carry a history (history.py), by record."""
    table = bulk.table(SourceRecord)
    if context.postgresql:
        keys = ", ".join(f"mapped->>'{key}'" for key in (*MAPPED_KEYS, history.SPELLS_KEY))
        # A float of seconds makes a datetime faster than psycopg parses a timestamp.
        received = "extract(epoch FROM received_at)::float8"
        where = "person_id = ANY(%s::bigint[])"
        params: list[Any] = [bulk.int_array(chunk)]
    else:
        keys = ", ".join(
            f"json_extract(mapped, '$.{key}')" for key in (*MAPPED_KEYS, history.SPELLS_KEY)
        )
        received = "received_at"
        where = f"person_id IN ({', '.join(['%s'] * len(chunk))})"
        params = list(chunk)
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT id, person_id, source_id, {received}, {keys} FROM "{table}" '  # noqa: S608
            f"WHERE {where}",
            params,
        )
        fetched = cursor.fetchall()
    rows: list[tuple[Any, ...]] = []
    numbers: set[str] = set()
    house_codes: set[tuple[int, str]] = set()
    spells: dict[int, str] = {}
    for pk, person_id, source_id, received, *values, spells_text in fetched:
        rows.append((pk, person_id, source_id, tuple(values), _aware(received)))
        if spells_text:
            spells[pk] = spells_text
        number = values[_ID_NUMBER]
        if number:
            folded = normalize(number)
            numbers.add(folded)
            if len(folded) == 15 and folded.isdigit():  # noqa: PLR2004 (an old resident ID)
                numbers.add(upgrade_15(folded))
        house_code = values[_HOUSE_CODE]
        if house_code:
            house_codes.add((person_id, house_code))
    return rows, numbers, house_codes, spells


_ID_NUMBER = MAPPED_KEYS.index("id_number")
_HOUSE_CODE = MAPPED_KEYS.index("residence_house_code")


def _aware(value: datetime.datetime | str | float) -> datetime.datetime:
    """A time read with a raw query: seconds since the epoch (PostgreSQL, asked so), naive UTC
    as text or not (SQLite)."""
    if isinstance(value, float):
        return datetime.datetime.fromtimestamp(value, datetime.UTC)
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=datetime.UTC)


def plan_chunk(
    read: ChunkRead, context: Context, report: GoldenReport, taken: set[tuple[str, str]]
) -> ChunkWrites:
    """A chunk's golden records and what to write for them. Runs in the planner thread: no
    database access here, everything comes in ``read``."""
    records: dict[int, list[Record]] = defaultdict(list)
    with report.stage("choose"):
        for pk, person_id, source_id, mapped, received_at in read.rows:
            records[person_id].append(
                record_from(pk, context.sources[source_id], received_at, mapped)
            )
        live = [person for person in read.people if person.merged_into is None]
        report.merged_away += len(read.people) - len(live)
        picks_of = {person.pk: pick_golden(records[person.pk], context.policy) for person in live}
        report.id_collisions.extend(drop_colliding_ids(live, picks_of, read.held, taken))
    with report.stage("plan"):
        return _plan_people(read, records, picks_of, context=context, no_history=report.no_history)


@dataclass
class Stored:
    """A chunk's stored facts and conflicts, by person."""

    attributes: dict[int, list[tuple[Any, ...]]]
    tags: dict[int, list[tuple[Any, ...]]]
    hukous: dict[int, list[tuple[Any, ...]]]
    residences: dict[int, list[tuple[Any, ...]]]
    conflicts: dict[int, list[tuple[Any, ...]]]


def _plan_people(
    read: ChunkRead,
    records: dict[int, list[Record]],
    picks_of: dict[int, dict[str, Pick]],
    *,
    context: Context,
    no_history: list[int],
) -> ChunkWrites:
    """Each person's golden record against what is stored: what to write; the persons whose
    history record carries no usable history are added to ``no_history``."""
    stored = read.stored
    attributes, tags, conflicts = stored.attributes, stored.tags, stored.conflicts
    writes = ChunkWrites.start(context)
    stamp = context.stamp
    for person in read.people:
        if person.merged_into is not None:
            continue  # its open conflicts were settled first (_settle_merged_away)
        picks = picks_of[person.pk]
        golden = {name: pick.value for name, pick in picks.items()}
        identity = new_identity(person, picks)
        if identity["death_date"] is not None:
            writes.died[person.pk] = identity["death_date"]
        changes = writes.changes[person.pk]
        changes += plan_identity(writes.revisions, person, identity, picks, context.now)
        changes += facts.plan_attributes(
            writes.facts, person.pk, golden, attributes.get(person.pk, []), stamp
        )
        tag_pick = picks.get("tags")
        changes += facts.plan_tags(
            writes.facts,
            person.pk,
            tags=tag_pick.value if tag_pick else "",
            source=tag_pick.record.source if tag_pick else "",
            stored=tags.get(person.pk, []),
            stamp=stamp,
        )
        place, usable = _plan_places(
            writes, read, person.pk, picks=picks, golden=golden, identity=identity, context=context
        )
        changes += place
        if not usable:
            no_history.append(person.pk)
        changes += plan_conflicts(
            writes.conflicts,
            person.pk,
            picks=picks,
            records=records[person.pk],
            stored=conflicts.get(person.pk, []),
        )
        new_golden = golden_text(picks)
        if person.pk in context.new:
            writes.new_person_rows.append(person_row(person, identity, new_golden, context.now))
        elif (
            golden_key(new_golden, postgresql=context.postgresql) != person.golden
            or identity != person.identity
        ):
            writes.person_rows.append(person_row(person, identity, new_golden, context.now))
        overseas = is_overseas(identity["id_type"] or "", identity["nationality"] or "")
        writes.overseas[person.pk] = overseas
        if overseas != is_overseas(
            person.identity["id_type"] or "", person.identity["nationality"] or ""
        ):
            writes.facts.spells_for.add(person.pk)
    return writes


def _plan_places(
    writes: ChunkWrites,
    read: ChunkRead,
    person_id: int,
    *,
    picks: dict[str, Pick],
    golden: dict[str, str],
    identity: dict[str, Any],
    context: Context,
) -> tuple[list[FieldChange], bool]:
    """A person's residences and hukou: their history record's (history.py), or today's
    golden values; the change lines, and whether the history record (if any) was usable."""
    houses, residences, hukous = read.houses, read.stored.residences, read.stored.hukous
    stamp = context.stamp
    changes: list[FieldChange] = []
    governed = read.history.get(person_id, {})
    died = identity["death_date"]
    unusable = False
    if "residence" in governed:
        spells = history.followed(governed["residence"], picks)
        unusable = spells is None
        if spells is not None:
            changes += history.plan_residences(
                writes.facts,
                person_id,
                spells,
                stored=residences.get(person_id, []),
                died=died,
                houses=houses,
                codes=read.codes,
                stamp=stamp,
            )
    else:
        changes += facts.plan_residence(
            writes.facts,
            person_id,
            _wanted_residence(picks, houses, context.today),
            residences.get(person_id, []),
            stamp,
        )
    if "hukou" in governed:
        spells = history.followed(governed["hukou"], picks)
        unusable = unusable or spells is None
        if spells is not None:
            changes += history.plan_hukous(
                writes.facts,
                person_id,
                spells,
                stored=hukous.get(person_id, []),
                died=died,
                stamp=stamp,
            )
    else:
        changes += facts.plan_hukou(
            writes.facts, person_id, golden, hukous.get(person_id, []), stamp
        )
    return changes, not unusable


def _wanted_residence(
    picks: dict[str, Pick], houses: dict[str, tuple[int, str]], today: datetime.date
) -> facts.WantedResidence | None:
    pick = picks.get("residence_division") or picks.get("residence_house_code")
    if pick is None:
        return None
    # The day it was received in the district's zone (renfang activates no other; the planner
    # thread never had one): the default zone is cached, the active one a thread-local lookup.
    received = pick.record.received_at.astimezone(timezone.get_default_timezone()).date()
    return facts.wanted_residence(pick.record.values, min(received, today), houses)
