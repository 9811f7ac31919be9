"""Bulk updates and population spells for the golden refresh.

``renfang.core.bulk`` inserts; a golden refresh also updates thousands of rows with a value of
their own each (a person's fields, a fact's last day, a conflict's status). One statement per
few thousand rows: ``UPDATE … FROM unnest(arrays)`` on PostgreSQL, executemany on SQLite.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models

from renfang.core import bulk
from renfang.people.models import Hukou, Residence
from renfang.stats.models import PopulationSpell
from renfang.stats.spells import Interval, build_spells

_CHUNK = 5000


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
            temp = temp_table(
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


def _start_key(interval: Interval) -> tuple[int, str]:
    return (interval.start.toordinal() if interval.start else 0, interval.division or "")


def spells_rebuild(overseas: dict[int, bool]) -> int:
    """Rebuild the population spells of these people (person id → overseas) from their
    current residence and hukou facts, as ``stats.services.population_spells_refresh`` does,
    in bulk. Returns how many spells were written."""
    ids = sorted(overseas)
    written = 0
    for offset in range(0, len(ids), _CHUNK):
        chunk = ids[offset : offset + _CHUNK]
        residences: dict[int, list[Interval]] = defaultdict(list)
        hukous: dict[int, list[Interval]] = defaultdict(list)
        for person_id, start, end, division in bulk.select_in(
            Residence, ["person_id", "valid_from", "valid_to", "division"], "person", chunk
        ):
            residences[person_id].append(Interval(start, end, division or None))
        for person_id, start, end, division in bulk.select_in(
            Hukou, ["person_id", "valid_from", "valid_to", "division"], "person", chunk
        ):
            hukous[person_id].append(Interval(start, end, division or None))
        PopulationSpell.objects.filter(person_id__in=chunk).delete()
        rows = [
            (
                person_id,
                spell.valid_from,
                spell.valid_to,
                spell.residence_division,
                spell.hukou_division,
                overseas[person_id],
            )
            for person_id in chunk
            for spell in build_spells(
                sorted(residences[person_id], key=_start_key),
                sorted(hukous[person_id], key=_start_key),
            )
        ]
        written += bulk.insert(
            PopulationSpell,
            [
                "person_id",
                "valid_from",
                "valid_to",
                "residence_division",
                "hukou_division",
                "overseas",
            ],
            rows,
        )
    return written
