"""The persons renfang already has for the persons of a register file."""

from __future__ import annotations

import datetime
from typing import Any

from renfang.core import bulk
from renfang.people.golden.identity import HELD
from renfang.people.models import Person
from renfang.register.rows import Identity
from renfang.register.source import RegisterRecord

LOOKUP_CHUNK = 5000


PERSON_LOOKUP = [
    "id",
    "id_type",
    "id_number",
    "name",
    "sex",
    "birth_date",
    "nationality",
    "merged_into_id",
    "death_date",
]
# (person id, the person's id_type, identity, death date)
Known = tuple[int, str, Identity, datetime.date | None]


def known(row: tuple[Any, ...]) -> Known:
    return row[0], row[1], Identity(*row[3:7]), row[8]


def _survivor(row: tuple[Any, ...] | None) -> tuple[Any, ...] | None:
    """The person a merged-away person was merged into (rare: a merge moves the records)."""
    hops = 0
    while row is not None and row[7] is not None and hops < 20:
        row = Person.objects.filter(pk=row[7]).values_list(*PERSON_LOOKUP).first()
        hops += 1
    return row if row is not None and row[7] is None else None


def existing_people(
    keys: list[tuple[str, str]], records: dict[tuple[str, str], RegisterRecord]
) -> dict[tuple[str, str], Known]:
    """The persons renfang already has for these keys: the person a register record of the
    key is linked to (the link survives a corrected ID number, a merge, a split), else the
    person with that ID number."""
    found: dict[tuple[str, str], Known] = {}
    if not Person.objects.exists():
        return found
    linked = {key: record.person_id for key, record in records.items() if record.person_id}
    ids = sorted(set(linked.values()))
    rows: dict[int, tuple[Any, ...]] = {}
    for offset in range(0, len(ids), LOOKUP_CHUNK):
        wanted = ids[offset : offset + LOOKUP_CHUNK]
        rows.update((row[0], row) for row in bulk.select_in(Person, PERSON_LOOKUP, "id", wanted))
    for key, person_id in linked.items():
        survivor = _survivor(rows.get(person_id))
        if survivor is not None:
            found[key] = known(survivor)
    numbers_by_type: dict[str, list[str]] = {}
    for id_type, number in keys:
        if (id_type, number) not in found:
            numbers_by_type.setdefault(id_type, []).append(number)
    for id_type, numbers in numbers_by_type.items():
        for offset in range(0, len(numbers), LOOKUP_CHUNK):
            chunk = numbers[offset : offset + LOOKUP_CHUNK]
            for row in bulk.select_in(Person, PERSON_LOOKUP, "id_number", chunk, where=HELD):
                if row[1] == id_type and row[7] is None:
                    found[(id_type, row[2])] = known(row)
    return found
