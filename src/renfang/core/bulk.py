"""Bulk writes for large imports and loads: COPY on PostgreSQL, executemany on SQLite.

The ORM's ``bulk_create`` builds one statement per batch and Python objects per row; a register
of a million people needs millions of rows in five tables, so imports write plain tuples
straight to the database instead (ADR 0003).
"""

from __future__ import annotations

import datetime
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connection, models

from renfang.core import writeguard

# The format Django itself stores dates in on SQLite; registered explicitly because the
# sqlite3 module's own default adapters are deprecated.
sqlite3.register_adapter(datetime.date, datetime.date.isoformat)

_BATCH = 5000


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def table(model: type[models.Model]) -> str:
    return model._meta.db_table


def _field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    found = model._meta.get_field(name)
    assert isinstance(found, models.Field), f"{model.__name__}.{name} is not a column"
    return found


def db_value(model: type[models.Model], field_name: str, value: Any) -> Any:
    """A value as the database takes it (an aware datetime becomes naive UTC on SQLite):
    for values that are the same on every row, prepared once."""
    return _field(model, field_name).get_db_prep_save(value, connection)


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """Primary keys for ``count`` new rows, taken before the rows are written so that the rows
    that point at them can be written in the same pass. Call inside the import transaction."""
    if count == 0:
        return []
    with connection.cursor() as cursor:
        if is_postgresql():
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table(model), count],
            )
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{table(model)}"')  # noqa: S608
        start = int(cursor.fetchone()[0]) + 1
    return list(range(start, start + count))


def insert(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    on_batch: Callable[[int], object] | None = None,
) -> int:
    """Insert plain rows (values in database form) into the model's table, in the caller's
    transaction; ``columns`` are field names or column names. Returns how many were written;
    ``on_batch(n)`` is called after every few thousand rows (for a progress bar)."""
    written = 0
    name = table(model)
    writeguard.check_table(name)
    column_list = ", ".join(f'"{_field(model, column).column}"' for column in columns)
    with connection.cursor() as cursor:
        if is_postgresql():
            raw = cursor.cursor  # the psycopg cursor under Django's wrapper
            with raw.copy(f'COPY "{name}" ({column_list}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
                    written += 1
                    if on_batch is not None and written % _BATCH == 0:
                        on_batch(_BATCH)
            if on_batch is not None:
                on_batch(written % _BATCH)
            return written
        placeholders = ", ".join("?" for _ in columns)
        sql = f'INSERT INTO "{name}" ({column_list}) VALUES ({placeholders})'  # noqa: S608
        raw = cursor.cursor
        batch: list[Sequence[Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= _BATCH:
                raw.executemany(sql, batch)
                written += len(batch)
                if on_batch is not None:
                    on_batch(len(batch))
                batch.clear()
        if batch:
            raw.executemany(sql, batch)
            written += len(batch)
            if on_batch is not None:
                on_batch(len(batch))
    return written


# A load this large (rows) is worth rebuilding indexes and checking keys after it, when it at
# least doubles the table (tests lower it to see a small load do the same).
LARGE_LOAD = 100_000


@contextmanager
def indexes_deferred(model: type[models.Model], *, new_rows: int) -> Iterator[None]:
    """On PostgreSQL, when a load at least doubles a table, drop its secondary indexes for the
    load and build them again afterwards, inside the same transaction: one sort per index is
    much cheaper than millions of random insertions into it. Indexes that back a constraint
    (primary key, unique) or are unique themselves stay: they say no while the load runs,
    and the load may look rows up by them."""
    if not is_postgresql() or new_rows < LARGE_LOAD:
        yield
        return
    name = table(model)
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [name])
        existing = max(int(cursor.fetchone()[0]), 0)
        if new_rows < existing:
            deferred: list[tuple[str, str]] = []
        else:
            cursor.execute(
                """
                SELECT i.indexname, i.indexdef FROM pg_indexes i
                WHERE i.tablename = %s AND i.indexdef NOT LIKE 'CREATE UNIQUE %%'
                AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
                """,
                [name],
            )
            deferred = list(cursor.fetchall())
            for index_name, _ in deferred:
                cursor.execute(f'DROP INDEX "{index_name}"')
    yield
    if deferred:
        with connection.cursor() as cursor:
            # Deferred foreign-key checks of the rows just written must run before the table's
            # index can be built; they would run at commit anyway.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for _, definition in deferred:
                cursor.execute(definition)
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


@contextmanager
def foreign_keys_checked_after(
    models_: Sequence[type[models.Model]], *, new_rows: int
) -> Iterator[None]:
    """On PostgreSQL, when a load at least doubles a table (a district's first import), check
    its foreign keys once after the load instead of once per row: each is dropped for the load
    and added again, which checks every row with one join (a row that points at nothing fails
    the load then, as it would at commit). PostgreSQL checks a deferred key row by row at
    commit: 3 s for half a million rows, against a fraction of a second for the join. The
    tables and those they point at are locked for the load, which nobody else uses then.
    Smaller loads (``LARGE_LOAD``), and SQLite: nothing changes."""
    if not is_postgresql() or new_rows < LARGE_LOAD:
        yield
        return
    dropped: list[tuple[str, str, str]] = []  # (table, constraint, definition)
    with connection.cursor() as cursor:
        for model in models_:
            name = table(model)
            cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [name])
            if new_rows < max(int(cursor.fetchone()[0]), 0):
                continue
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE contype = 'f' AND conrelid = %s::regclass ORDER BY conname",
                [name],
            )
            for constraint, definition in cursor.fetchall():
                cursor.execute(f'ALTER TABLE "{name}" DROP CONSTRAINT "{constraint}"')
                dropped.append((name, constraint, definition))
    yield
    if dropped:
        with connection.cursor() as cursor:
            for name, constraint, definition in dropped:
                cursor.execute(f'ALTER TABLE "{name}" ADD CONSTRAINT "{constraint}" {definition}')


def analyze(*models_: type[models.Model]) -> None:
    """Refresh the planner's statistics after a large load, so the next query plans well."""
    with connection.cursor() as cursor:
        for model in models_:
            cursor.execute(f'ANALYZE "{table(model)}"')


def int_array(values: Iterable[int]) -> str:
    """PostgreSQL: integers as the text of one array parameter (``= ANY(%s::bigint[])``):
    psycopg adapts a list of thousands of ints one by one, several times slower."""
    return "{" + ",".join(map(str, map(int, values))) + "}"


def _all_ints(values: Sequence[Any]) -> bool:
    return all(type(value) is int for value in values)


def select_in(
    model: type[models.Model],
    fields: Sequence[str],
    key: str,
    values: Sequence[Any],
    *,
    where: dict[str, Any] | None = None,
) -> list[tuple[Any, ...]]:
    """``fields`` of the rows (of the default manager) whose ``key`` is one of ``values``
    (and that match ``where``: what lets PostgreSQL use a partial index, whose condition the
    query must state). On PostgreSQL the values go as one array (``= ANY(%s)``): a list of
    thousands of parameters costs more to parse than to run (integers: as the array's text)."""
    if not values:
        return []
    manager = model._default_manager
    where = where or {}
    if connection.vendor != "postgresql":
        return list(
            manager.filter(**where, **{f"{key}__in": values}).order_by().values_list(*fields)
        )
    # The manager's own filter (current facts only) compiled by Django, then the key. No
    # ordering: a model's default order may join another table.
    query = (
        manager.filter(**where, **{f"{key}__isnull": False}).order_by().values_list(*fields).query
    )
    sql, params = query.sql_with_params()
    quote = connection.ops.quote_name
    column = f"{quote(model._meta.db_table)}.{quote(_field(model, key).column)}"
    with connection.cursor() as cursor:
        if _all_ints(values):
            kind = _field(model, key).db_type(connection)
            cursor.execute(f"{sql} AND {column} = ANY(%s::{kind}[])", [*params, int_array(values)])
        else:
            cursor.execute(f"{sql} AND {column} = ANY(%s)", [*params, list(values)])
        return list(cursor.fetchall())


def temp_table(name: str, columns: Sequence[tuple[str, str]], rows: Iterable[Sequence[Any]]) -> str:
    """PostgreSQL: a temporary table ``name`` (dropped at commit) holding ``rows``, written with
    COPY: bound as parameters, thousands of strings would be quoted one by one in Python."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {quote(name)} "
            f"({', '.join(f'{quote(column)} {kind}' for column, kind in columns)}) ON COMMIT DROP"
        )
        cursor.execute(f"TRUNCATE {quote(name)}")
        with cursor.cursor.copy(
            f"COPY {quote(name)} ({', '.join(quote(column) for column, _ in columns)}) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)
    return name
