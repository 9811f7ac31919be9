"""Importing a source's file: read, map, store, report — all of it or none of it.

The file is read once, as a stream, inside one transaction: every row is mapped and stored in
chunks as it is read, and anything that makes the file unreadable (an undecodable line, a
malformed row, a repeated or empty record id) rolls the whole transaction back. What is left is
a ``SourceImport`` with status ``refused`` and the reason, written after the rollback, so the
pages can show why a file was not taken (ADR 0013).
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from tqdm import tqdm

from renfang.audit.services import User
from renfang.core import bulk
from renfang.core.csvimport import ImportRejected, RowError
from renfang.people.golden import golden_refresh
from renfang.sources.mapping import UNMAPPED, Applied, MappingError, MappingSpec, parse_mapping
from renfang.sources.models import (
    ImportStatus,
    Mapping,
    Source,
    SourceImport,
    SourceRecord,
    UnmappedCode,
)
from renfang.sources.readers import FileError, Table, file_facts, read_table
from renfang.sources.services.sources import (
    actor_name,
    audit_write,
    history_import_refused,
    history_sources,
)
from renfang.sources.services.store import IncomingRecord, records_store
from renfang.sources.workbooks import KINDS

MAX_PROBLEMS_KEPT = 1000  # in an import's report; every problem stays on its record
MAX_ERRORS_KEPT = 1000  # reasons a file is refused
_RECORD_ID_LENGTH = 200  # SourceRecord.record_id
_VALUE_LENGTH = 200  # UnmappedCode.value
_LOOKUP_CHUNK = 5000


@dataclass
class _Reading:
    """The rows of a file as incoming records, and what the report says about them."""

    spec: MappingSpec
    table: Table
    file_name: str
    bar: tqdm[Any] | None = None
    records: int = 0
    flagged: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    problems_total: int = 0
    problems_by_field: Counter[str] = field(default_factory=Counter)
    unmapped: Counter[tuple[str, str]] = field(default_factory=Counter)
    unmapped_problems: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    errors_total: int = 0
    rows_read: int = 0

    def error(self, line: int, column: str, reason: str) -> None:
        self.errors_total += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(RowError(line, column, reason))

    def incoming(self) -> Iterator[IncomingRecord]:
        """Records as read; raises ImportRejected after the last row when any row made the
        file unreadable (the caller's transaction then rolls back what was stored)."""
        first_line: dict[str, int] = {}
        apply = self.spec.apply
        columns = ", ".join(self.spec.record_id.columns)
        for line, row in self.table.rows:
            self.rows_read += 1
            if self.bar is not None and self.rows_read % 1000 == 0:
                self.bar.update(1000)
            applied = apply(row)
            record_id = applied.record_id
            if not record_id:
                self.error(
                    line, "record_id", _("no record id: %(columns)s empty") % {"columns": columns}
                )
                continue
            if len(record_id) > _RECORD_ID_LENGTH:
                self.error(
                    line,
                    "record_id",
                    _("the record id has more than %(n)d characters") % {"n": _RECORD_ID_LENGTH},
                )
                continue
            first = first_line.setdefault(record_id, line)
            if first != line:
                self.error(
                    line,
                    "record_id",
                    _("record id %(id)r appears on line %(first)d and line %(line)d")
                    % {"id": record_id, "first": first, "line": line},
                )
                continue
            if self.errors:
                continue  # the file is refused: check the rest, store nothing more
            yield self.record(line, row, applied)
        if self.errors:
            raise ImportRejected(self.errors, file_name=self.file_name, total=self.errors_total)

    def record(self, line: int, row: dict[str, str], applied: Applied) -> IncomingRecord:
        record_id, mapped, problems, unmapped = applied
        self.records += 1
        kept: list[dict[str, Any]] = list(problems)
        if problems:
            self.flagged += 1
            for problem in problems:
                self.problems_total += 1
                self.problems_by_field[problem["field"]] += 1
                if len(self.problems) < MAX_PROBLEMS_KEPT:
                    self.problems.append({"record_id": record_id, "line": line, **problem})
        if unmapped:
            for code in dict.fromkeys(unmapped):
                self.unmapped[code] += 1
                kept.append(self.unmapped_problem(code))
        return IncomingRecord(record_id, row, mapped, kept)

    def unmapped_problem(self, code: tuple[str, str]) -> dict[str, Any]:
        """The problem an unmapped code is on its record (made once per code)."""
        problem = self.unmapped_problems.get(code)
        if problem is None:
            field_name, value = code
            problem = {
                "field": field_name,
                "value": value,
                "reason": _("%(value)r is not a code of %(field)s")
                % {"value": value, "field": field_name},
                "kind": UNMAPPED,
            }
            self.unmapped_problems[code] = problem
        return problem

    def report(self, mapping: Mapping) -> dict[str, Any]:
        return {
            "format": self.table.format,
            "encoding": self.table.encoding,
            "mapping_version": mapping.version,
            "problems": self.problems,
            "problems_total": self.problems_total,
            "problems_by_field": dict(self.problems_by_field.most_common()),
            "unmapped": [
                {"field": field_name, "value": value, "records": count}
                for (field_name, value), count in sorted(
                    self.unmapped.items(), key=lambda item: (-item[1], item[0])
                )
            ],
        }


def _spec(source: Source) -> tuple[Mapping, MappingSpec]:
    mapping = source.current_mapping()
    if mapping is None:
        raise ImportRejected(
            [FileError(0, "-", _("source %(code)s has no mapping") % {"code": source.code})]
        )
    try:
        return mapping, parse_mapping(mapping.text)
    except MappingError as exc:
        raise ImportRejected(
            [
                FileError(
                    0,
                    "-",
                    _("mapping version %(version)d: %(problem)s")
                    % {"version": mapping.version, "problem": problem},
                )
                for problem in exc.problems
            ]
        ) from exc


def source_import(
    source: Source, path: Path, *, actor: User | None, progress: bool = False
) -> SourceImport:
    """Import one file of a source with its current mapping, all or nothing. Raises
    ImportRejected (and leaves a ``refused`` SourceImport with the reason) when the file cannot
    be read as a whole; a value that cannot be read only flags its record. A source that
    keeps people's history (``history_sources``) takes no file: it is refused so, before a
    line is read (only ``renfang register import`` writes such a source; ADR 0033)."""
    started = timezone.now()
    facts = file_facts(path)
    mapping: Mapping | None = None
    try:
        if source.code in history_sources():
            raise ImportRejected([FileError(0, "-", history_import_refused(source.code))])
        mapping, spec = _spec(source)
        with read_table(path, spec.file, needed=spec.columns, utf8=facts.utf8) as table:
            header_lines = spec.file.header_row if table.format == "csv" else 0
            expected = None if table.format in KINDS else max(facts.lines - header_lines, 0)
            with (
                tqdm(
                    total=expected,
                    unit=" records",
                    desc=f"{source.code} {path.name}",
                    disable=not progress,
                    leave=False,
                ) as bar,
                transaction.atomic(),
            ):
                reading = _Reading(spec, table, path.name, bar if progress else None)
                done = SourceImport.objects.create(
                    source=source,
                    mapping=mapping,
                    file_name=path.name[:300],
                    file_sha256=facts.sha256,
                    started_at=started,
                    actor=actor_name(actor),
                )
                stored = records_store(source, reading.incoming(), source_import=done)
                _unmapped_refresh(source, reading.unmapped)
                refreshed, no_history = _golden_refresh(
                    stored.changed, actor=actor, progress=progress
                )
                done.status = ImportStatus.DONE
                done.finished_at = timezone.now()
                done.records = reading.records
                done.new = len(stored.new)
                done.changed = len(stored.changed)
                done.unchanged = stored.unchanged
                done.flagged = reading.flagged
                done.report = {
                    **reading.report(mapping),
                    "golden_refreshed": refreshed,
                    "no_history": no_history,
                }
                done.save()
                _audit_import(done, actor)
    except ImportRejected as rejected:
        rejected.file_name = rejected.file_name or path.name
        _refused(
            source=source,
            mapping=mapping,
            path=path,
            sha256=facts.sha256,
            started=started,
            actor=actor,
            rejected=rejected,
        )
        raise
    return done


def _golden_refresh(changed: list[int], *, actor: User | None, progress: bool) -> tuple[int, int]:
    """The golden records of the persons whose linked records this import changed (a civil
    affairs file now saying married), in the import's transaction, as the register import
    does; returns how many persons, and how many of them have a record in a source of history
    that carries no usable history (their residences and hukou left as they were). New
    records have no person until ``renfang resolve``, which refreshes the persons it links
    them to."""
    persons: set[int] = set()
    for offset in range(0, len(changed), _LOOKUP_CHUNK):
        persons.update(
            SourceRecord.objects.filter(
                pk__in=changed[offset : offset + _LOOKUP_CHUNK], person__isnull=False
            ).values_list("person_id", flat=True)
        )
    if not persons:
        return 0, 0
    report = golden_refresh(sorted(persons), actor=actor, progress=progress)
    return report.persons, len(report.no_history)


def _refused(
    *,
    source: Source,
    mapping: Mapping | None,
    path: Path,
    sha256: str,
    started: datetime.datetime,
    actor: User | None,
    rejected: ImportRejected,
) -> None:
    with transaction.atomic():
        refused = SourceImport.objects.create(
            source=source,
            mapping=mapping,
            file_name=path.name[:300],
            file_sha256=sha256,
            status=ImportStatus.REFUSED,
            started_at=started,
            finished_at=timezone.now(),
            actor=actor_name(actor),
            report={
                "message": rejected.summary(),
                "errors": [
                    {"line": error.line, "column": error.column, "reason": error.reason}
                    for error in rejected.errors[:MAX_ERRORS_KEPT]
                ],
            },
        )
        _audit_import(refused, actor)


def _audit_import(done: SourceImport, actor: User | None) -> None:
    audit_write(
        actor,
        "source_import",
        done.pk,
        {
            "source": done.source.code,
            "file": done.file_name,
            "sha256": done.file_sha256,
            "status": done.status,
            "mapping": done.mapping.version if done.mapping is not None else None,
            "records": done.records,
            "new": done.new,
            "changed": done.changed,
            "unchanged": done.unchanged,
            "flagged": done.flagged,
        },
    )


def _unmapped_counts(source: Source) -> dict[tuple[str, str], int]:
    """(field, value) → how many of the source's records carry that unmapped code now."""
    name = bulk.table(SourceRecord)
    if bulk.is_postgresql():
        sql = (
            "SELECT p->>'field', p->>'value', count(DISTINCT r.id) "  # noqa: S608
            f'FROM "{name}" r CROSS JOIN LATERAL jsonb_array_elements(r.problems) p '
            "WHERE r.source_id = %s AND r.problems <> '[]'::jsonb AND p->>'kind' = %s "
            "GROUP BY 1, 2"
        )
    else:
        sql = (
            "SELECT json_extract(p.value, '$.field'), json_extract(p.value, '$.value'), "  # noqa: S608
            f'count(DISTINCT r.id) FROM "{name}" r, json_each(r.problems) p '
            "WHERE r.source_id = %s AND r.problems <> '[]' "
            "AND json_extract(p.value, '$.kind') = %s GROUP BY 1, 2"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, [source.pk, UNMAPPED])
        return {(str(f), str(v)[:_VALUE_LENGTH]): int(n) for f, v, n in cursor.fetchall()}


def _unmapped_refresh(source: Source, seen_now: Counter[tuple[str, str]]) -> None:
    """The source's unmapped codes as its records now carry them: counts recomputed, codes no
    record carries any more removed (a new mapping maps them), new ones added."""
    now = timezone.now()
    counts = _unmapped_counts(source)
    seen = {(f, v[:_VALUE_LENGTH]) for f, v in seen_now}
    existing = {(row.field, row.value): row for row in UnmappedCode.objects.filter(source=source)}
    gone = [row.pk for key, row in existing.items() if key not in counts]
    if gone:
        UnmappedCode.objects.filter(pk__in=gone).delete()
    changed: list[UnmappedCode] = []
    created: list[UnmappedCode] = []
    for key, count in counts.items():
        row = existing.get(key)
        if row is None:
            created.append(
                UnmappedCode(
                    source=source,
                    field=key[0],
                    value=key[1],
                    records=count,
                    first_seen=now,
                    last_seen=now,
                )
            )
        elif row.records != count or key in seen:
            row.records = count
            if key in seen:
                row.last_seen = now
            changed.append(row)
    UnmappedCode.objects.bulk_create(created, batch_size=1000)
    UnmappedCode.objects.bulk_update(changed, ["records", "last_seen"], batch_size=1000)
