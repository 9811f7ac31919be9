"""Bulk updates of the door's tables.

``renfang.core.bulk`` inserts; the door also updates thousands of rows with a value of their
own each (a person's fields, a fact's last day, a conflict's status). One statement per few
thousand rows: ``UPDATE … FROM`` a temporary table filled with COPY on PostgreSQL,
executemany on SQLite.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from django.db import connection, models

from renfang.core import bulk

_CHUNK = 5000


def update_rows(
    model: type[models.Model],
    columns: Sequence[str],
    types: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> None:
    """Set ``columns`` (field names) of the rows whose id is each row's first value to the
    rest of its values (in database form). ``types`` are the PostgreSQL types of the columns
    (``jsonb`` values are given as JSON text)."""
    if not rows:
        return
    name = bulk.table(model)
    quote = connection.ops.quote_name
    names = [quote(_column(model, column)) for column in columns]
    with connection.cursor() as cursor:
        if bulk.is_postgresql():
            aliases = [f"c{index}" for index in range(len(names))]
            temp = bulk.temp_table(
                f"golden_{name}_{len(names)}",
                [("id", "bigint"), *zip(aliases, types, strict=True)],
                rows,
            )
            sets = ", ".join(
                f"{column} = v.{alias}" for column, alias in zip(names, aliases, strict=True)
            )
            cursor.execute(
                f"UPDATE {quote(name)} AS t SET {sets} "  # noqa: S608 (names from the model)
                f"FROM {quote(temp)} AS v WHERE t.id = v.id"
            )
            return
        sets = ", ".join(f"{column} = ?" for column in names)
        sql = f"UPDATE {quote(name)} SET {sets} WHERE id = ?"  # noqa: S608
        cursor.cursor.executemany(sql, [(*row[1:], row[0]) for row in rows])


def _column(model: type[models.Model], name: str) -> str:
    found = model._meta.get_field(name)
    assert isinstance(found, models.Field) and found.column, f"{model.__name__}.{name}"
    return found.column


def close_facts(model: type[models.Model], closes: Sequence[tuple[int, datetime.date]]) -> None:
    """Give open facts their last day."""
    update_rows(model, ["valid_to"], ["date"], closes)


def retract_facts(model: type[models.Model], ids: Sequence[int], now: datetime.datetime) -> None:
    """Retract facts (a correction: kept as history, no longer the register)."""
    for offset in range(0, len(ids), _CHUNK):
        model._default_manager.filter(id__in=ids[offset : offset + _CHUNK]).update(retracted_at=now)
