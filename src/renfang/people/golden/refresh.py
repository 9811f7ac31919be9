"""``golden_refresh``: each person's golden record from the source records linked to them.

Field by field, the first source of the policy (data/golden.toml) that has a value gives the
golden value (``"*"``: any other source, the most recently received record first). The golden
record is written where the rest of renfang reads a person: the identity fields of ``Person``
(a changed one keeps its old value in IdentityRevision), the time-valid facts (facts.py), the
provenance ``Person.golden`` ({field: {value, source, record, as_of}}), and the conflicts
(another record that disagrees with the golden value of a conflict field). Every person whose
values changed gets one audit event listing each change.

Bulk, for the million persons of ``renfang resolve``: persons in chunks, each chunk's records
and facts read with one query per table (``bulk.select_in``), its rows inserted with COPY and
updated with one ``UPDATE … FROM`` a temporary table filled with COPY. Idempotent: a second
call on the same records writes nothing.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from tqdm import tqdm

from renfang.audit.services import (
    PendingEvent,
    User,
    audit_record_stream,
    write_event,
)
from renfang.core import bulk
from renfang.exchange.events import PersonChange, publish_person_changes
from renfang.exchange.models import Event
from renfang.people.golden import facts
from renfang.people.golden.chunks import (
    ChunkRead,
    ChunkWrites,
    Context,
    GoldenReport,
    plan_chunk,
    read_chunk,
)
from renfang.people.golden.conflicting import (
    CONFLICT_FIELDS,
    settle_open,
)
from renfang.people.golden.deaths import plan_deaths
from renfang.people.golden.identity import (
    IDENTITY_FIELDS,
    PERSON_TYPES,
    PERSON_UPDATE,
)
from renfang.people.golden.policy import GoldenPolicy, golden_policy
from renfang.people.golden.writes import close_facts, retract_facts, spells_rebuild, update_rows
from renfang.people.models import (
    Conflict,
    ConflictStatus,
    IdentityRevision,
    Person,
    Residence,
)
from renfang.sources.models import REGISTER_SOURCE, Source

_CHUNK = 5000
AUDIT_SOURCE = "golden record"


# ---------------------------------------------------------------- the refresh


def _actor(actor: User | str | None) -> User | None:
    return None if actor is None or isinstance(actor, str) else actor


def golden_refresh(
    person_ids: Iterable[int],
    *,
    progress: bool = False,
    actor: User | str | None = None,
    policy: GoldenPolicy | None = None,
    today: datetime.date | None = None,
) -> GoldenReport:
    """Compute and write the golden records of these persons (see the module's docstring).

    ``actor`` is who caused it (None or a name: the system); ``policy`` replaces the
    district's (tests). Runs in the caller's transaction, or its own."""
    started = time.monotonic()
    ids = sorted(set(person_ids))
    report = GoldenReport(persons=len(ids))
    policy = policy or golden_policy()
    sources = dict(Source.objects.values_list("id", "code"))
    now = timezone.now()
    context = Context(
        policy=policy,
        sources=sources,
        today=today or timezone.localdate(),
        now=now,
        actor=_actor(actor),
        agreed_note=_("the sources now agree"),
        gone_note=_("the record no longer belongs to this person"),
        postgresql=bulk.is_postgresql(),
        register_id=next((pk for pk, code in sources.items() if code == REGISTER_SOURCE), None),
        stamp=bulk.db_value(Residence, "recorded_at", now),
    )
    with (
        transaction.atomic(),
        tqdm(total=len(ids), unit=" persons", desc="golden", disable=not progress) as bar,
        _planner(context) as (planner, plan),
    ):
        _settle_merged_away(context, report)
        # A pipeline: while this process writes one chunk (and PostgreSQL works), the next
        # one is planned by the planner (pure Python, no database access).
        pending: tuple[Future[_Planned], int] | None = None
        for offset in range(0, len(ids), _CHUNK):
            chunk = ids[offset : offset + _CHUNK]
            read = read_chunk(chunk, context, report)
            done = pending[0].result() if pending is not None else None
            planned = planner.submit(plan, read)
            if done is not None and pending is not None:
                _write(done.into(report), context, report)
                bar.update(pending[1])
            pending = (planned, len(chunk))
        if pending is not None:
            _write(pending[0].result().into(report), context, report)
            bar.update(pending[1])
    report.seconds = time.monotonic() - started
    return report


# ---------------------------------------------------------------- the planner


@dataclass
class _Planned:
    """A planned chunk, and what planning it adds to the report."""

    writes: ChunkWrites
    stages: dict[str, float]
    merged_away: int
    id_collisions: list[int]

    def into(self, report: GoldenReport) -> ChunkWrites:
        for name, seconds in self.stages.items():
            report.stages[name] = report.stages.get(name, 0.0) + seconds
        report.merged_away += self.merged_away
        report.id_collisions.extend(self.id_collisions)
        return self.writes


def plan_job(read: ChunkRead, context: Context, taken: set[tuple[str, str]]) -> _Planned:
    """Plan one chunk (in the planner thread)."""
    report = GoldenReport()
    writes = plan_chunk(read, context, report, taken)
    return _Planned(writes, report.stages, report.merged_away, report.id_collisions)


@contextmanager
def _planner(context: Context) -> Iterator[tuple[Executor, Callable[[ChunkRead], _Planned]]]:
    """The planner of a refresh: a thread (pure Python: it overlaps with this thread's waits
    for the database) and the function to submit to it. (A process of its own was tried: the
    pickling of every chunk both ways cost more than it saved on two busy cores.)"""
    taken: set[tuple[str, str]] = set()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="golden") as thread:
        yield thread, partial(plan_job, context=context, taken=taken)


def _merged_note(survivor: int | None) -> str:
    return _("the person was merged into person %(id)s") % {"id": survivor}


def _settle_merged_away(context: Context, report: GoldenReport) -> None:
    """Open conflicts of persons merged into another: moot (the records and their conflicts
    are the survivor's now), whoever merged them and whichever persons this refresh is for.
    Few rows, found by one query."""
    stale = (
        Conflict.objects.filter(
            status__in=(ConflictStatus.OPEN, ConflictStatus.VISIT),
            person__merged_into__isnull=False,
        )
        .order_by("pk")
        .values_list(*CONFLICT_FIELDS, "person_id", "person__merged_into_id")
    )
    writes = ChunkWrites.start(context)
    for row in stale:
        writes.changes[row[-2]] += settle_open(writes.conflicts, [row[:-2]], _merged_note(row[-1]))
    if writes.conflicts.updates:
        _write(writes, context, report)


# ---------------------------------------------------------------- writing


_CONFLICT_UPDATE = [
    "golden_value",
    "golden_source",
    "other_value",
    "status",
    "note",
    "settled_by",
    "settled_at",
]
_CONFLICT_TYPES = ["text", "text", "text", "text", "text", "bigint", "timestamptz"]
_CONFLICT_INSERT = [
    "person_id",
    "field",
    "golden_value",
    "golden_source",
    "other_value",
    "other_source",
    "other_record_id",
    "status",
    "note",
    "created_at",
]
_REVISION_INSERT = ["person_id", "field", "old_value", "new_value", "changed_at", "reason"]


def _db_time(rows: list[tuple[Any, ...]], positions: tuple[int, ...]) -> list[tuple[Any, ...]]:
    """Rows with the datetimes at ``positions`` in database form (naive UTC text on SQLite)."""
    if bulk.is_postgresql() or not rows:
        return rows
    prepared = []
    for row in rows:
        values = list(row)
        for position in positions:
            if values[position] is not None:
                values[position] = bulk.db_value(Conflict, "settled_at", values[position])
        prepared.append(tuple(values))
    return prepared


def _write(writes: ChunkWrites, context: Context, report: GoldenReport) -> None:
    plan_deaths(writes.facts, writes.changes, writes.died)
    with report.stage("write persons"):
        update_rows(
            Person,
            PERSON_UPDATE,
            PERSON_TYPES,
            _db_time(writes.person_rows, (len(PERSON_UPDATE),)),
        )
        report.changed += len(writes.person_rows)
        bulk.insert(IdentityRevision, _REVISION_INSERT, _db_time(writes.revisions, (4,)))
        report.identity_revisions += len(writes.revisions)
    planned = writes.facts
    with report.stage("write facts"):
        for model, closes in planned.closes.items():
            close_facts(model, closes)
            report.facts_closed += len(closes)
        for model, ids in planned.retracts.items():
            retract_facts(model, ids, context.now)
            report.facts_closed += len(ids)
        for model, rows in planned.inserts.items():
            report.facts_added += bulk.insert(model, facts.INSERT_COLUMNS[model], rows)
        if planned.spells_for:
            spells_rebuild({pid: writes.overseas[pid] for pid in planned.spells_for})
    with report.stage("write conflicts"):
        bulk.insert(Conflict, _CONFLICT_INSERT, _db_time(writes.conflicts.new, (9,)))
        report.conflicts_opened += len(writes.conflicts.new)
        update_rows(
            Conflict, _CONFLICT_UPDATE, _CONFLICT_TYPES, _db_time(writes.conflicts.updates, (7,))
        )
        report.conflicts_settled += sum(
            1 for row in writes.conflicts.updates if row[4] == ConflictStatus.SETTLED
        )
    audited = {pid: changes for pid, changes in writes.changes.items() if changes}
    report.identity_changes += sum(
        1 for changes in audited.values() for line in changes if line["field"] in IDENTITY_FIELDS
    )
    report.audited += len(audited)
    if audited:
        with report.stage("audit"):
            audit_record_stream(_events(audited, context.actor))
        with report.stage("feed"):
            sources = _event_sources(writes.person_rows, audited)
            first = _first_known(writes.person_rows, audited)
            publish_person_changes(
                (
                    PersonChange(
                        person_id=pid,
                        changes=first.get(pid, []) + changes,
                        source=sources.get(pid) or AUDIT_SOURCE,
                        new=all(line.get("old") is None for line in changes),
                    )
                    for pid, changes in sorted(audited.items())
                ),
                today=context.today,
            )


def _first_known(
    person_rows: list[tuple[Any, ...]], changes: dict[int, list[dict[str, Any]]]
) -> dict[int, list[dict[str, Any]]]:
    """For persons the feed has never told of (created by ``renfang resolve`` or a split with
    their identity already written, so the golden record finds it unchanged): the identity
    lines their first event must carry, so that a subscriber learns who they are. Only for
    the feed: the audit keeps saying what changed. One query per chunk."""
    rows = {row[0]: row for row in person_rows if row[0] in changes}
    if not rows:
        return {}
    told = _told_of(sorted(rows))
    first: dict[int, list[dict[str, Any]]] = {}
    for person_id, row in rows.items():
        if person_id in told:
            continue
        named = {line.get("field") for line in changes[person_id]}
        lines = [
            {
                "field": name,
                "old": None,
                "new": value.isoformat() if hasattr(value, "isoformat") else value,
            }
            for name, value in zip(IDENTITY_FIELDS, row[1 : 1 + len(IDENTITY_FIELDS)], strict=True)
            if value not in (None, "") and name not in named
        ]
        if lines:
            first[person_id] = lines
    return first


def _told_of(person_ids: list[int]) -> set[int]:
    """Which of these persons have events already."""
    table = bulk.table(Event)
    with connection.cursor() as cursor:
        if bulk.is_postgresql():
            cursor.execute(
                f'SELECT DISTINCT person_id FROM "{table}" WHERE person_id = ANY(%s)',  # noqa: S608
                [person_ids],
            )
            return {row[0] for row in cursor.fetchall()}
    found = Event.objects.filter(person_id__in=person_ids).values_list("person_id", flat=True)
    return {person_id for person_id in found if person_id is not None}


# A change line's field → the golden record's field whose source gave it.
_GOLDEN_FIELD_OF = {
    "residence": "residence_division",
    "hukou": "hukou_division",
    "tag": "tags",
}


def _event_sources(
    person_rows: list[tuple[Any, ...]], changes: dict[int, list[dict[str, Any]]]
) -> dict[int, str]:
    """Each changed person's event source: the source code that gave the first changed value
    (an identity line names it; otherwise the golden record's provenance of the field, read
    from the golden text about to be written: no JSON is parsed for the million persons of a
    first resolve). A person with no such line keeps the refresh's name (``AUDIT_SOURCE``)."""
    golden = {row[0]: row[-2] for row in person_rows}
    found: dict[int, str] = {}
    for person_id, lines in changes.items():
        text = golden.get(person_id, "")
        for line in lines:
            source = line.get("source") or _provenance_source(
                text, _GOLDEN_FIELD_OF.get(str(line.get("field")), str(line.get("field")))
            )
            if source:
                found[person_id] = str(source)
                break
    return found


def _provenance_source(text: str, name: str) -> str:
    """``source`` of the field ``name`` in a golden text (records.golden_text's form: values
    are JSON strings, so a quote inside one is escaped and cannot end the search early)."""
    start = text.find(f'"{name}": {{')
    if start < 0:
        return ""
    key = '"source": "'
    at = text.find(key, start)
    end = text.find('"', at + len(key)) if at >= 0 else -1
    return text[at + len(key) : end] if end >= 0 else ""


def _events(changes: dict[int, list[dict[str, Any]]], actor: User | None) -> Iterator[PendingEvent]:
    for person_id in sorted(changes):
        yield write_event(
            actor=actor,
            record_type="person",
            record_id=person_id,
            changes=changes[person_id],
            source=AUDIT_SOURCE,
        )
