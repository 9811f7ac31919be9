"""The golden refresh's writes (``renfang.people.golden.refresh`` plans them, chunk by chunk):
the persons' identity fields and provenance (a changed field keeps its old value in
IdentityRevision), the time-valid facts closed, retracted and opened, the population spells of
the persons whose residence or hukou changed, the conflicts opened and settled, and, in the
same transaction, one audit event per changed person and its event in the change feed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django.db import connection

from renfang.audit.services import (
    PendingEvent,
    User,
    audit_record_stream,
    changes_json,
    write_event,
)
from renfang.core import bulk
from renfang.core.changes import FieldChange
from renfang.core.writeguard import through_door
from renfang.exchange.events import (
    PersonChange,
    Snapshot,
    open_division,
    publish_person_changes,
)
from renfang.exchange.models import Event
from renfang.people.facts.columns import FACT_INSERT, IDENTITY_FIELDS, PERSON_TYPES, PERSON_UPDATE
from renfang.people.facts.spells import spells_of_new, spells_rebuild
from renfang.people.facts.tables import close_facts, retract_facts, update_rows
from renfang.people.models import (
    Conflict,
    ConflictStatus,
    Hukou,
    IdentityRevision,
    Person,
    Residence,
)

if TYPE_CHECKING:
    from renfang.people.golden.chunks import ChunkWrites, Context, GoldenReport

AUDIT_SOURCE = "golden record"


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
# A new person's row (persons_reserve): PERSON_UPDATE's, then when it was created.
_PERSON_NEW = ["id", *PERSON_UPDATE, "created_at"]
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


@through_door
def golden_write(writes: ChunkWrites, context: Context, report: GoldenReport) -> None:
    with report.stage("write persons"):
        bulk.insert(
            Person,
            _PERSON_NEW,
            _db_time(
                [(*row, context.now) for row in writes.new_person_rows],
                (len(PERSON_UPDATE), len(PERSON_UPDATE) + 1),
            ),
        )
        update_rows(
            Person,
            PERSON_UPDATE,
            PERSON_TYPES,
            _db_time(writes.person_rows, (len(PERSON_UPDATE),)),
        )
        report.changed += len(writes.person_rows) + len(writes.new_person_rows)
        bulk.insert(IdentityRevision, _REVISION_INSERT, _db_time(writes.revisions, (4,)))
        report.identity_revisions += len(writes.revisions)
    planned = writes.facts
    with report.stage("write facts"):
        for model, closes in planned.closes.items():
            close_facts(model, closes)
            report.facts_closed += len(closes)
            _tally(report.closed, model, len(closes))
        for model, ids in planned.retracts.items():
            retract_facts(model, ids, context.now)
            report.facts_closed += len(ids)
            _tally(report.retracted, model, len(ids))
        for model, rows in planned.inserts.items():
            added = bulk.insert(model, FACT_INSERT[model], rows)
            report.facts_added += added
            _tally(report.added, model, added)
        if planned.spells_for:
            fresh = context.new
            spells_rebuild(
                {pid: writes.overseas[pid] for pid in planned.spells_for if pid not in fresh}
            )
            spells_of_new(
                {pid: writes.overseas[pid] for pid in planned.spells_for if pid in fresh},
                planned.inserts.get(Residence, ()),
                planned.inserts.get(Hukou, ()),
                writes.died,
            )
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
    report.audited_ids.update(audited)
    if audited:
        rendered: dict[int, str] = {}  # the lines as JSON, for the feed too
        with report.stage("audit"):
            audit_record_stream(_events(audited, context.actor, context.audit_source, rendered))
        with report.stage("feed"):
            sources = _event_sources(writes.person_rows + writes.new_person_rows, audited)
            # (a new person's lines name every identity field it has: it was blank)
            first = _first_known(writes.person_rows, audited)
            publish_person_changes(
                (
                    PersonChange(
                        person_id=pid,
                        changes=first.get(pid, []) + changes,
                        source=sources.get(pid) or AUDIT_SOURCE,
                        new=all(line.get("old") is None for line in changes),
                        changes_text="" if pid in first else rendered.get(pid, ""),
                    )
                    for pid, changes in sorted(audited.items())
                ),
                today=context.today,
                known=_snapshots(writes, context),
            )


def _snapshots(writes: ChunkWrites, context: Context) -> dict[int, Snapshot]:
    """The new persons of the chunk as this write leaves them (their events need not read
    them back): identity from their rows, today's residence and hukou from their facts."""
    if not writes.new_person_rows:
        return {}
    today = context.today
    facts: dict[type, dict[int, list[tuple[Any, Any, str]]]] = {}
    for model in (Residence, Hukou):
        by_person: dict[int, list[tuple[Any, Any, str]]] = {}
        for row in writes.facts.inserts.get(model, ()):
            by_person.setdefault(row[0], []).append((row[1], row[2], row[3]))
        facts[model] = by_person
    snapshots = {}
    for row in writes.new_person_rows:
        identity = dict(zip(IDENTITY_FIELDS, row[1 : 1 + len(IDENTITY_FIELDS)], strict=True))
        snapshots[row[0]] = Snapshot(
            sex=identity["sex"] or "",
            birth_date=identity["birth_date"],
            id_type=identity["id_type"] or "",
            nationality=identity["nationality"] or "",
            residence_division=open_division(facts[Residence].get(row[0], ()), today),
            hukou_division=open_division(facts[Hukou].get(row[0], ()), today),
        )
    return snapshots


def _tally(counts: dict[str, int], model: type, count: int) -> None:
    name = model._meta.model_name  # type: ignore[attr-defined]
    counts[name] = counts.get(name, 0) + count


def _first_known(
    person_rows: list[tuple[Any, ...]], changes: dict[int, list[FieldChange]]
) -> dict[int, list[FieldChange]]:
    """For persons the feed has never told of (created by ``renfang resolve`` with the ID
    number linkage anchored them on, which the golden record then finds unchanged; their
    audit event of creation says it): the identity lines their first event must carry, so
    that a subscriber learns who they are. Only for the feed: the audit keeps saying what
    changed. One query per chunk."""
    rows = {row[0]: row for row in person_rows if row[0] in changes}
    if not rows:
        return {}
    told = _told_of(sorted(rows))
    first: dict[int, list[FieldChange]] = {}
    for person_id, row in rows.items():
        if person_id in told:
            continue
        named = {line.get("field") for line in changes[person_id]}
        lines: list[FieldChange] = [
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
                f'SELECT DISTINCT person_id FROM "{table}" WHERE person_id = ANY(%s::bigint[])',  # noqa: S608
                [bulk.int_array(person_ids)],
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
    person_rows: list[tuple[Any, ...]], changes: dict[int, list[FieldChange]]
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


def _events(
    changes: dict[int, list[FieldChange]],
    actor: User | None,
    source: str,
    rendered: dict[int, str],
) -> Iterator[PendingEvent]:
    """The persons' audit events, their lines rendered as JSON once (kept in ``rendered``:
    their feed events carry the same lines)."""
    for person_id in sorted(changes):
        lines = changes[person_id]
        text = changes_json(lines)
        if text is not None:
            rendered[person_id] = text
        yield write_event(
            actor=actor,
            record_type="person",
            record_id=person_id,
            changes=lines,
            source=source,
            changes_text=text or "",
        )
