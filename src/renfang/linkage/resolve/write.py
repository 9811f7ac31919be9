"""Stage 5 of ``renfang resolve``: what changed goes to the database, in bulk.

New persons are inserted with COPY (ids reserved first), known by their ID number only: the
golden refresh that follows writes and audits the rest; persons left without records are
merged into their survivor (``merged_into``, a ``PersonMerge`` by nobody, reason "resolve",
their facts moved); only the links that changed are written (PostgreSQL: COPY into a temporary
table and one ``UPDATE … FROM``); the open review pairs are brought up to date. A second run
over unchanged records writes nothing.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]
from django.db import connection

from renfang.audit.services import User
from renfang.core import bulk
from renfang.linkage.models import MergeKind, PersonMerge, ReviewPair, ReviewStatus
from renfang.linkage.resolve import duck, model
from renfang.linkage.resolve.assign import Assignment
from renfang.people import facts
from renfang.people.models import IdType, Person
from renfang.sources.models import PINNED_RULES, SourceRecord

_BATCH = 20_000
# A link a person pinned while this run was computing is left alone.
_PINNED = sorted(str(rule) for rule in PINNED_RULES)


@dataclass
class Written:
    new_person_ids: list[int] = field(default_factory=list)
    new_person_records: list[int] = field(default_factory=list)
    changed_links: int = 0
    changed_persons: set[int] = field(default_factory=set)
    review_open: int = 0
    review_added: int = 0
    review_removed: int = 0


def persons_create(outcome: Assignment, now: datetime.datetime) -> list[int]:
    """Insert the new persons, known by the ID number linkage gave them and nothing else (the
    rest of who they are is the golden refresh's to write and to audit); replace their
    placeholders in ``outcome`` by their ids."""
    new = outcome.new_persons
    ids = bulk.reserve_ids(Person, len(new))
    stamp = bulk.db_value(Person, "created_at", now)
    real = {-1 - index: person_id for index, person_id in enumerate(ids)}
    for root, person_id in outcome.person_of_root.items():
        if person_id < 0:
            outcome.person_of_root[root] = real[person_id]
    outcome.merges = [
        (merged, real.get(survivor, survivor), records)
        for merged, survivor, records in outcome.merges
    ]

    def rows() -> Iterator[tuple[Any, ...]]:
        # Known by their ID number only: the golden refresh of the run writes and audits the
        # rest of who they are; the run's audit event of their creation says the number.
        for person_id, person in zip(ids, new, strict=True):
            id_type = IdType.RESIDENT_ID.value if person.id_number else ""
            yield (
                person_id,
                id_type,
                person.id_number,
                "",
                "",
                None,
                "",
                "CHN",
                stamp,
                stamp,
                "{}",
            )

    facts.persons_insert(ids, rows())
    return ids


def persons_merge(outcome: Assignment, now: datetime.datetime, actor: User | None) -> facts.Merged:
    """Persons left without records: merged into their survivor, facts and all (the
    survivors' population spells rebuilt from them, the feed told). Returns the merge as the
    audit will tell it: the run writes its events last, in its audit stream."""
    done = facts.persons_merge(
        [(merged, survivor) for merged, survivor, _ in outcome.merges],
        now,
        records={merged: records for merged, _, records in outcome.merges},
        actor=actor,
        source="resolve",
        audit_later=True,
    )
    if not outcome.merges:
        return done
    PersonMerge.objects.bulk_create(
        [
            PersonMerge(
                kind=MergeKind.MERGE,
                survivor_id=survivor,
                merged_id=merged,
                records=records,
                by=None,
                at=now,
                reason="resolve",
            )
            for merged, survivor, records in outcome.merges
        ],
        batch_size=1000,
    )
    return done


def links_write(
    con: duckdb.DuckDBPyConnection,
    outcome: Assignment,
    now: datetime.datetime,
    *,
    scratch: Path,
    on_batch: Callable[[int], object] | None = None,
) -> Written:
    """Write the links that changed; returns what was written."""
    written = Written()
    roots = list(outcome.person_of_root)
    con.register(
        "person_of_root",
        pa.table(
            {
                "root": pa.array(roots, pa.int64()),
                "person_id": pa.array([outcome.person_of_root[r] for r in roots], pa.int64()),
            }
        ),
    )
    con.execute(
        """
        CREATE OR REPLACE TABLE changed AS
        SELECT f.unique_id, p.person_id, f.rule, f.detail, f.old_person
        FROM final f JOIN person_of_root p USING (root)
        WHERE NOT f.pinned
            AND (f.old_person IS DISTINCT FROM p.person_id OR f.old_rule <> f.rule)
        """
    )
    con.unregister("person_of_root")
    for old, new in con.execute("SELECT DISTINCT old_person, person_id FROM changed").fetchall():
        if old is not None:
            written.changed_persons.add(int(old))
        written.changed_persons.add(int(new))
    stamp = bulk.db_value(SourceRecord, "linked_at", now)
    if bulk.is_postgresql():
        written.changed_links = _links_postgresql(con, scratch, stamp, on_batch)
    else:
        reader = con.sql(
            "SELECT unique_id, person_id, rule, detail FROM changed ORDER BY unique_id"
        ).to_arrow_reader(_BATCH)
        written.changed_links = _links_sqlite(reader, stamp, on_batch)
    return written


def _batches(reader: pa.RecordBatchReader) -> Iterator[list[tuple[Any, ...]]]:
    for batch in reader:
        columns = [column.to_pylist() for column in batch.columns]
        yield list(zip(*columns, strict=True))


# When a run changes at least this share of all links (the first run over a district, a big
# re-import), the foreign key of source records to persons is dropped for the UPDATE and
# validated again in one pass: millions of row-by-row key checks (each locking its person)
# cost far more.
_MASS_SHARE = 0.5
_MASS_MINIMUM = 100_000


def _links_postgresql(
    con: duckdb.DuckDBPyConnection,
    scratch: Path,
    stamp: Any,
    on_batch: Callable[[int], object] | None,
) -> int:
    """COPY the changed links (DuckDB writes them as CSV, no Python per row) into a temporary
    table and UPDATE from it."""
    path = scratch / "links.csv"
    con.execute(
        f"COPY (SELECT unique_id, person_id, rule, detail FROM changed ORDER BY unique_id) "
        f"TO '{path}' (FORMAT csv, HEADER false)"
    )
    count = duck.count(con, "SELECT count(*) FROM changed")
    table = bulk.table(SourceRecord)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE linkage_links (id bigint, person_id bigint, "
            "link_rule varchar(16), link_detail jsonb) ON COMMIT DROP"
        )
        raw: Any = cursor.cursor
        with raw.copy("COPY linkage_links FROM STDIN (FORMAT csv)") as copy, path.open("rb") as csv:
            while block := csv.read(1 << 20):
                copy.write(block)
        path.unlink()
        if on_batch is not None:
            on_batch(count)
        cursor.execute("ANALYZE linkage_links")
        mass = _is_mass(cursor, table, count)
        with _key_checked_later(cursor, table, mass=mass):
            cursor.execute(
                f'UPDATE "{table}" r SET person_id = n.person_id, link_rule = n.link_rule, '  # noqa: S608
                f"link_detail = n.link_detail, linked_at = %s "
                f"FROM linkage_links n WHERE r.id = n.id AND r.link_rule <> ALL(%s)",
                [stamp, _PINNED],
            )
        cursor.execute("DROP TABLE linkage_links")
    if mass:
        # The planner's statistics still say what was there before (no links at all, on a
        # first run): the golden refresh's lookups by person would scan the whole table.
        bulk.analyze(SourceRecord)
    return count


def _is_mass(cursor: Any, table: str, count: int) -> bool:
    if count < _MASS_MINIMUM:
        return False
    cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table])
    row = cursor.fetchone()
    return bool(row) and count >= _MASS_SHARE * max(int(row[0]), 1)


@contextmanager
def _key_checked_later(cursor: Any, table: str, *, mass: bool) -> Iterator[None]:
    """For a mass update: drop the foreign key on ``person_id`` and put it back afterwards (in
    the same transaction: added NOT VALID, then validated in one pass).

    The index on ``person_id`` stays (kept up row by row, not dropped and built again): an
    index built in a transaction that has updated its table (some updates are HOT once the
    index is gone) is marked ``indcheckxmin`` and the planner ignores it for the rest of that
    transaction, so the golden refresh that follows in it would scan the whole table for every
    chunk of persons (ADR 0014)."""
    if not mass:
        yield
        return
    column = SourceRecord._meta.get_field("person").column
    cursor.execute(
        """
        SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)
        WHERE c.conrelid = %s::regclass AND c.contype = 'f' AND a.attname = %s
        """,
        [table, column],
    )
    keys = list(cursor.fetchall())
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    for name, _ in keys:
        cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
    yield
    for name, definition in keys:
        cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition} NOT VALID')
        cursor.execute(f'ALTER TABLE "{table}" VALIDATE CONSTRAINT "{name}"')
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _links_sqlite(
    reader: pa.RecordBatchReader, stamp: Any, on_batch: Callable[[int], object] | None
) -> int:
    count = 0
    table = bulk.table(SourceRecord)
    sql = (
        f'UPDATE "{table}" SET person_id = ?, link_rule = ?, link_detail = ?, '  # noqa: S608
        f"linked_at = ? WHERE id = ? AND link_rule NOT IN ({', '.join('?' for _ in _PINNED)})"
    )
    with connection.cursor() as cursor:
        raw = cursor.cursor
        for rows in _batches(reader):
            raw.executemany(
                sql,
                [
                    (person, rule, detail, stamp, rid, *_PINNED)
                    for rid, person, rule, detail in rows
                ],
            )
            count += len(rows)
            if on_batch is not None:
                on_batch(len(rows))
    return count


def review_pairs_write(
    con: duckdb.DuckDBPyConnection,
    outcome: Assignment,
    trained: model.Model,
    now: datetime.datetime,
) -> tuple[int, int, int]:
    """Bring the open review pairs up to date; returns (open now, added, removed)."""
    con.register(
        "review_arrow",
        pa.table(
            {
                "l": pa.array([c.left for c in outcome.review], pa.int64()),
                "r": pa.array([c.right for c in outcome.review], pa.int64()),
            }
        ),
    )
    wanted = {
        (left, right): (probability, weight, weights)
        for left, right, probability, weight, weights in con.execute(
            f"""
            SELECT s.unique_id_l, s.unique_id_r, round(s.match_probability, 6),
                round(s.match_weight, 2), {trained.weights_sql("s")}::VARCHAR
            FROM review_arrow c JOIN scored s ON s.unique_id_l = c.l AND s.unique_id_r = c.r
            """  # noqa: S608
        ).fetchall()
    }
    con.unregister("review_arrow")
    existing = {
        (left, right): (pk, status, probability)
        for pk, left, right, status, probability in ReviewPair.objects.values_list(
            "pk", "left_id", "right_id", "status", "probability"
        )
    }
    stale = [
        pk
        for key, (pk, status, _) in existing.items()
        if status == ReviewStatus.OPEN and key not in wanted
    ]
    for offset in range(0, len(stale), 5000):
        ReviewPair.objects.filter(pk__in=stale[offset : offset + 5000]).delete()
    added = [
        ReviewPair(
            left_id=left,
            right_id=right,
            probability=probability,
            match_weight=weight,
            weights=json.loads(weights),
            created_at=now,
        )
        for (left, right), (probability, weight, weights) in sorted(wanted.items())
        if (left, right) not in existing
    ]
    ReviewPair.objects.bulk_create(added, batch_size=2000)
    for key, (probability, weight, weights) in wanted.items():
        known = existing.get(key)
        if known and known[1] == ReviewStatus.OPEN and known[2] != probability:
            ReviewPair.objects.filter(pk=known[0]).update(
                probability=probability, match_weight=weight, weights=json.loads(weights)
            )
    return len(wanted), len(added), len(stale)
