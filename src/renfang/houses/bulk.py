"""Inserting many rows at once, below the ORM: ``COPY`` on PostgreSQL, ``executemany`` on
SQLite. Building a model instance per row costs more than the database's work; a loader that
has already checked its rows hands them over as tuples in field order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, models


def _field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    found = model._meta.get_field(name)
    assert isinstance(found, models.Field), f"{model.__name__}.{name} is not a column"
    return found


def insert_rows(
    model: type[models.Model], fields: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert ``rows`` (values already in database form, see ``db_value``) into ``model``'s
    table, in the caller's transaction."""
    if not rows:
        return
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(_field(model, name).column) for name in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(fields))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)


def db_value(model: type[models.Model], field_name: str, value: Any) -> Any:
    """A value as the database takes it (an aware datetime becomes naive UTC on SQLite):
    for values that are the same on every row, prepared once."""
    return _field(model, field_name).get_db_prep_save(value, connection)


def select_in(
    model: type[models.Model], fields: Sequence[str], key: str, values: Sequence[Any]
) -> list[tuple[Any, ...]]:
    """``fields`` of the rows (of the default manager) whose ``key`` is one of ``values``.
    On PostgreSQL the values go as one array (``= ANY(%s)``): a list of thousands of
    parameters costs more to parse than to run."""
    if not values:
        return []
    manager = model._default_manager
    if connection.vendor != "postgresql":
        return list(manager.filter(**{f"{key}__in": values}).order_by().values_list(*fields))
    # The manager's own filter (current facts only) compiled by Django, then the key. No
    # ordering: a model's default order may join another table.
    query = manager.filter(**{f"{key}__isnull": False}).order_by().values_list(*fields).query
    sql, params = query.sql_with_params()
    quote = connection.ops.quote_name
    column = f"{quote(model._meta.db_table)}.{quote(_field(model, key).column)}"
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} AND {column} = ANY(%s)", [*params, list(values)])
        return list(cursor.fetchall())
