"""The identity fields of ``Person`` that a golden record sets: reading them, the new values,
the ID numbers another person holds, and the audit lines and revisions of a change."""

from __future__ import annotations

import datetime
import hashlib
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db import connection

from renfang.core import bulk
from renfang.core.changes import FieldChange
from renfang.people.facts.columns import IDENTITY_FIELDS
from renfang.people.golden.records import Pick
from renfang.people.golden.values import parse_day
from renfang.people.models import Person

_DATES = frozenset({"birth_date", "death_date"})


def golden_key(text: str, *, postgresql: bool) -> str:
    """What ``load_people`` reads of a golden record: on PostgreSQL the MD5 of its text (a
    million golden records of 1–2 kB need not cross the wire to be found unchanged), on SQLite
    the text."""
    return hashlib.md5(text.encode()).hexdigest() if postgresql else text  # noqa: S324


@dataclass
class StoredPerson:
    """A person as stored: identity fields and the golden record's key (``golden_key``)."""

    pk: int
    merged_into: int | None
    identity: dict[str, Any]
    golden: str


def load_people(chunk: list[int]) -> list[StoredPerson]:
    """The persons' identity, and their golden record's key (``golden_key``): a new golden
    record is compared with it, not parsed (``golden_text`` writes what jsonb gives back)."""
    table = bulk.table(Person)
    columns = ", ".join(["id", "merged_into_id", *IDENTITY_FIELDS])
    with connection.cursor() as cursor:
        if bulk.is_postgresql():
            cursor.execute(
                f'SELECT {columns}, md5(golden::text) FROM "{table}" WHERE id = ANY(%s::bigint[])',  # noqa: S608
                [bulk.int_array(chunk)],
            )
        else:
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f'SELECT {columns}, golden FROM "{table}" WHERE id IN ({marks})',  # noqa: S608
                chunk,
            )
        rows = cursor.fetchall()
    people = []
    for row in rows:
        identity = dict(zip(IDENTITY_FIELDS, row[2:-1], strict=True))
        for name in _DATES:
            if isinstance(identity[name], str):  # SQLite gives the text
                identity[name] = parse_day(identity[name])
        people.append(
            StoredPerson(pk=row[0], merged_into=row[1], identity=identity, golden=row[-1])
        )
    return people


def blank_person(pk: int, *, postgresql: bool) -> StoredPerson:
    """A person whose id is reserved and whose row the refresh inserts: as a blank person
    would be stored (no identity, an empty golden record)."""
    identity: dict[str, Any] = {name: None if name in _DATES else "" for name in IDENTITY_FIELDS}
    return StoredPerson(
        pk=pk, merged_into=None, identity=identity, golden=golden_key("{}", postgresql=postgresql)
    )


def new_identity(person: StoredPerson, picks: dict[str, Pick]) -> dict[str, Any]:
    """The person's identity fields as the golden record has them (unknown: as they were)."""
    identity = dict(person.identity)
    for name in IDENTITY_FIELDS:
        pick = picks.get(name)
        if pick is None:
            continue
        if name in _DATES:
            identity[name] = parse_day(pick.value)
        elif name == "name":
            identity[name] = pick.value[:100]
        elif name == "nationality":
            identity[name] = pick.value.upper()
        else:
            identity[name] = pick.value
    return identity


# The condition of the unique index of persons' ID numbers (people_person_identity_unique):
# a lookup by ID number that states it is one index lookup per number, not a scan of every
# person (a district's first import read 1.5 M persons' chunks by such scans).
HELD: dict[str, Any] = {"merged_into__isnull": True, "id_number__gt": ""}


def holders(numbers: list[str]) -> dict[tuple[str, str], int]:
    """Who holds these ID numbers: (id_type, id_number) → person (merged-away ones hold none)."""
    held: dict[tuple[str, str], int] = {}
    for pk, id_type, number, merged_into in bulk.select_in(
        Person,
        ["id", "id_type", "id_number", "merged_into_id"],
        "id_number",
        numbers,
        where=HELD,
    ):
        if merged_into is None:
            held[(id_type, number)] = pk
    return held


def drop_colliding_ids(
    live: list[StoredPerson],
    picks_of: dict[int, dict[str, Pick]],
    held: dict[tuple[str, str], int],
    taken: set[tuple[str, str]],
) -> list[int]:
    """Persons whose golden ID number another person holds (``held``: as stored; ``taken``: by
    earlier chunks of this refresh, added to here), or that two persons would take: they keep
    the ID they have and their golden record names no source for it; returns them, for a
    reviewer to look at (one person twice, or a number given to two people?)."""
    wanted: dict[tuple[str, str], list[int]] = defaultdict(list)
    for person in live:
        picks = picks_of[person.pk]
        number = picks.get("id_number")
        if number is None:
            continue
        id_type = picks["id_type"].value if "id_type" in picks else person.identity["id_type"]
        key = (id_type or "", number.value)
        if key != (person.identity["id_type"], person.identity["id_number"]):
            wanted[key].append(person.pk)
    refused = []
    for key, person_ids in wanted.items():
        if len(person_ids) > 1 or key in held or key in taken:
            refused.extend(person_ids)
        else:
            taken.add(key)
    for person_id in refused:
        picks_of[person_id].pop("id_number", None)
        picks_of[person_id].pop("id_type", None)
    return sorted(refused)


def plan_identity(
    revisions: list[tuple[Any, ...]],
    person: StoredPerson,
    identity: dict[str, Any],
    picks: dict[str, Pick],
    now: datetime.datetime,
) -> list[FieldChange]:
    """The audit lines of the identity fields that change; a value that was there and is
    corrected keeps it in an IdentityRevision row (appended to ``revisions``)."""
    changes: list[FieldChange] = []
    for name in IDENTITY_FIELDS:
        old, new = person.identity[name], identity[name]
        if old == new:
            continue
        source = picks[name].record.source
        changes.append(
            {
                "field": name,
                "old": None if old in (None, "") else _plain(old),
                "new": _plain(new),
                "source": source,
            }
        )
        if old not in (None, ""):
            revisions.append(
                (
                    person.pk,
                    name,
                    str(old)[:200],
                    ("" if new is None else str(new))[:200],
                    now,
                    f"golden record: {source}"[:200],
                )
            )
    return changes


def _plain(value: Any) -> Any:
    """A value as the audit detail holds it (a date as ISO text)."""
    return value.isoformat() if isinstance(value, datetime.date) else value


def person_row(
    person: StoredPerson, identity: dict[str, Any], golden: str, now: datetime.datetime
) -> tuple[Any, ...]:
    """The row of PERSON_UPDATE for the person."""
    return (
        person.pk,
        *(identity[name] or (None if name in _DATES else "") for name in IDENTITY_FIELDS),
        golden,
        now,
    )
