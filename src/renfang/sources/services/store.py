"""The bulk store of source records that file imports and the register import share.

Incoming records are compared, a chunk at a time, with the current versions the source holds
(one query per chunk) and only what is new or changed is written: new records and their first
version with COPY (PostgreSQL) or executemany (SQLite), a changed record's new version the same
way and its current values through a temporary table. A changed record keeps its person link:
whether it still belongs to that person is for ``renfang resolve`` to say.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from django.db import connection, transaction
from django.utils import timezone

from renfang.core import bulk
from renfang.core.jsontext import compact
from renfang.sources.mapping import UNMAPPED
from renfang.sources.models import Source, SourceImport, SourceRecord, SourceRecordVersion

_CHUNK = 5000
_RECORD_COLUMNS = (
    "id",
    "source",
    "record_id",
    "version",
    "mapped",
    "problems",
    "flagged",
    "received_at",
    "link_rule",
    "link_detail",
    "person",
    "linked_at",
)
_VERSION_COLUMNS = (
    "record",
    "version",
    "source_import",
    "raw",
    "mapped",
    "problems",
    "received_at",
)


def _dumps(value: Any) -> str:
    """JSON as stored: compact, Chinese as it is; no encoder call for the usual empty list."""
    return compact(value) if value else ("[]" if isinstance(value, list) else compact(value))


@dataclass(frozen=True)
class IncomingRecord:
    """A record as a source sent it (``raw``: column → value as received) and as mapped.
    ``problems`` are ``{"field", "value", "reason", "kind"}``: kind ``unreadable`` flags the
    record, kind ``unmapped`` (a code no table knows) does not."""

    record_id: str
    raw: dict[str, Any]
    mapped: dict[str, str]
    problems: list[dict[str, Any]] = field(default_factory=list)
    # Stored already linked to this person, by this rule and detail (JSON text): an importer
    # that knows who its records are about (the register: by its own key). A new record only;
    # a changed one keeps the link it has.
    link: tuple[int, str, str] | None = None

    @property
    def flagged(self) -> bool:
        return any(problem.get("kind") != UNMAPPED for problem in self.problems)


@dataclass
class StoreResult:
    new: list[int] = field(default_factory=list)  # pks of the records created
    changed: list[int] = field(default_factory=list)  # pks of the records given a new version
    unchanged: int = 0


@dataclass(frozen=True)
class _Stored:
    pk: int
    version: int
    mapped: Any
    raw: Any
    problems: Any


def _problem_keys(problems: Any) -> list[tuple[str, str, str]]:
    """What a record's problems say, for telling a changed record: the field, value and kind
    of each (not the reason, whose wording follows the language of whoever imported). A new
    mapping that maps a code or reads a date leaves raw and mapped values as they were but
    clears the problem: the record must get a new version, or it would stay flagged and its
    code listed as unmapped for ever."""
    if not problems:
        return []
    return sorted(
        (str(p.get("field", "")), str(p.get("value", "")), str(p.get("kind", "")))
        for p in problems
        if isinstance(p, dict)
    )


def _chunks(items: Iterable[IncomingRecord], size: int) -> Iterator[list[IncomingRecord]]:
    chunk: list[IncomingRecord] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def _stored(source_id: int, record_ids: Sequence[str]) -> dict[str, _Stored]:
    """The current version of the source's records among ``record_ids``: one query."""
    records = bulk.table(SourceRecord)
    versions = bulk.table(SourceRecordVersion)
    select = (
        f'SELECT r.record_id, r.id, r.version, r.mapped, v.raw, r.problems FROM "{records}" r '  # noqa: S608
        f'LEFT JOIN "{versions}" v ON v.record_id = r.id AND v.version = r.version '
        "WHERE r.source_id = %s AND "
    )
    if bulk.is_postgresql():
        # Bound on the server: Django's client-side binding would spell the 5,000 ids out in
        # the statement, and parsing that costs more than the lookups.
        connection.ensure_connection()
        with psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(select + "r.record_id = ANY(%s)", [source_id, list(record_ids)])
            rows = cursor.fetchall()
    else:
        with connection.cursor() as cursor:
            marks = ", ".join(["%s"] * len(record_ids))
            cursor.execute(select + f"r.record_id IN ({marks})", [source_id, *record_ids])
            rows = cursor.fetchall()
    return {
        record_id: _Stored(pk, version, _json(mapped), _json(raw), _json(problems))
        for record_id, pk, version, mapped, raw, problems in rows
    }


def _update_current(rows: list[tuple[Any, ...]]) -> None:
    """Set version, mapped, problems, flagged and received_at of changed records, in bulk:
    on PostgreSQL through a temporary table filled with COPY, on SQLite with executemany.
    Each row is (pk, version, mapped JSON, problems JSON, flagged, received_at)."""
    name = bulk.table(SourceRecord)
    with connection.cursor() as cursor:
        if bulk.is_postgresql():
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS sources_record_update (id bigint, "
                "version integer, mapped jsonb, problems jsonb, flagged boolean, "
                "received_at timestamptz) ON COMMIT DROP"
            )
            cursor.execute("TRUNCATE sources_record_update")
            raw = cursor.cursor
            with raw.copy(
                "COPY sources_record_update (id, version, mapped, problems, flagged, received_at)"
                " FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(
                f'UPDATE "{name}" r SET version = u.version, mapped = u.mapped, '  # noqa: S608
                "problems = u.problems, flagged = u.flagged, received_at = u.received_at "
                "FROM sources_record_update u WHERE r.id = u.id"
            )
            return
        cursor.cursor.executemany(
            f'UPDATE "{name}" SET version = ?, mapped = ?, problems = ?, '  # noqa: S608
            "flagged = ?, received_at = ? WHERE id = ?",
            [
                (version, mapped, problems, flagged, at, pk)
                for pk, version, mapped, problems, flagged, at in rows
            ],
        )


def records_store(
    source: Source,
    incoming: Iterable[IncomingRecord],
    *,
    source_import: SourceImport | None,
    received_at: datetime.datetime | None = None,
) -> StoreResult:
    """Store a source's records: a new record id gets a record and its version 1; a record whose
    raw or mapped values or problems differ from its current version gets version n+1 (its link
    to a person is left alone); an equal one changes nothing. Record ids must be unique in
    ``incoming``.
    Bulk: one lookup query and a few bulk writes per few thousand records, in one transaction."""
    at = bulk.db_value(SourceRecord, "received_at", received_at or timezone.now())
    import_id = source_import.pk if source_import is not None else None
    result = StoreResult()
    with transaction.atomic():
        # One store per source at a time: two imports adding the same new record ids would
        # otherwise collide on the unique (source, record_id) at the end.
        Source.objects.select_for_update().filter(pk=source.pk).first()
        empty = not SourceRecord.objects.filter(source=source).exists()
        for chunk in _chunks(incoming, _CHUNK):
            stored = {} if empty else _stored(source.pk, [r.record_id for r in chunk])
            new: list[IncomingRecord] = []
            changed: list[tuple[_Stored, IncomingRecord]] = []
            for record in chunk:
                found = stored.get(record.record_id)
                if found is None:
                    new.append(record)
                elif (
                    found.raw != record.raw
                    or found.mapped != record.mapped
                    or _problem_keys(found.problems) != _problem_keys(record.problems)
                ):
                    changed.append((found, record))
                else:
                    result.unchanged += 1
            if new:
                result.new.extend(_insert_new(source, new, import_id, at))
            if changed:
                result.changed.extend(_insert_changed(changed, import_id, at))
    return result


def _insert_new(
    source: Source, records: list[IncomingRecord], import_id: int | None, at: Any
) -> list[int]:
    ids = bulk.reserve_ids(SourceRecord, len(records))
    dumped = [(_dumps(r.mapped), _dumps(r.problems)) for r in records]
    bulk.insert(
        SourceRecord,
        _RECORD_COLUMNS,
        (
            (pk, source.pk, r.record_id, 1, mapped, problems, r.flagged, at, *_link(r, at))
            for pk, r, (mapped, problems) in zip(ids, records, dumped, strict=True)
        ),
    )
    bulk.insert(
        SourceRecordVersion,
        _VERSION_COLUMNS,
        (
            (pk, 1, import_id, _dumps(r.raw), mapped, problems, at)
            for pk, r, (mapped, problems) in zip(ids, records, dumped, strict=True)
        ),
    )
    return ids


def _link(record: IncomingRecord, at: Any) -> tuple[Any, ...]:
    """The link columns of a new record: link_rule, link_detail, person, linked_at."""
    if record.link is None:
        return ("", "{}", None, None)
    person_id, rule, detail = record.link
    return (rule, detail, person_id, at)


def _insert_changed(
    changed: list[tuple[_Stored, IncomingRecord]], import_id: int | None, at: Any
) -> list[int]:
    rows = [
        (found.pk, found.version + 1, _dumps(r.mapped), _dumps(r.problems), r.flagged, at)
        for found, r in changed
    ]
    _update_current(rows)
    bulk.insert(
        SourceRecordVersion,
        _VERSION_COLUMNS,
        (
            (pk, version, import_id, _dumps(r.raw), mapped, problems, at)
            for (pk, version, mapped, problems, _flagged, _at), (_found, r) in zip(
                rows, changed, strict=True
            )
        ),
    )
    return [found.pk for found, _r in changed]
