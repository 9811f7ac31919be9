"""Persons made in bulk or before anyone knows who they are: by ``renfang resolve`` (the
persons its clusters found), by a split (the records split off), by a record published about
someone renfang does not know yet. Their identity and facts are then the golden record's to
write (and to audit): the refresh that follows each of these writes."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

from django.db import models

from renfang.core import bulk
from renfang.core.writeguard import through_door
from renfang.people.facts.columns import PERSON_INSERT
from renfang.people.models import (
    Hukou,
    IdentityRevision,
    IdType,
    Person,
    PersonAttribute,
    PersonTag,
    Residence,
)
from renfang.stats.models import PopulationSpell


@through_door
def persons_insert(ids: Sequence[int], rows: Iterable[Sequence[Any]]) -> int:
    """Insert persons whose ids were reserved (``bulk.reserve_ids``): ``rows`` in the order
    of ``PERSON_INSERT``, values in database form. Returns how many were written."""
    with bulk.indexes_deferred(Person, new_rows=len(ids)):
        written = bulk.insert(Person, PERSON_INSERT, rows)
    if bulk.is_postgresql() and len(ids) >= 100_000:
        bulk.analyze(Person)
    return written


@contextmanager
def persons_loading(new_persons: int, *, others: int) -> Iterator[None]:
    """A load of ``new_persons`` new persons, with ``others`` known persons refreshed beside
    them (a district's first register import: none). The foreign keys of the door's tables
    are checked once after the load, not row by row (``bulk.foreign_keys_checked_after``);
    when no known person's facts are read during the load, the fact tables' secondary
    indexes are built after it too (``bulk.indexes_deferred``): new persons' facts are never
    read back, and a known person's would be looked up by an index that is not there."""
    facts: list[type[models.Model]] = [
        Residence,
        Hukou,
        PersonAttribute,
        PersonTag,
        PopulationSpell,
    ]
    with ExitStack() as stack:
        stack.enter_context(
            bulk.foreign_keys_checked_after(
                [Person, IdentityRevision, *facts], new_rows=new_persons
            )
        )
        # (the person's name indexes too; their unique identity is looked up and kept)
        stack.enter_context(bulk.indexes_deferred(Person, new_rows=new_persons))
        if not others:
            for model in facts:
                stack.enter_context(bulk.indexes_deferred(model, new_rows=new_persons))
        yield


def persons_analysed() -> None:
    """The statistics of the door's tables taken again (PostgreSQL), while a load grows them
    (``golden_refresh`` of new persons); ANALYZE sees the transaction's own rows."""
    bulk.analyze(Person, Residence, Hukou, PersonAttribute, PersonTag, PopulationSpell)


def persons_reserve(count: int) -> list[int]:
    """Ids for ``count`` new persons known by nothing yet but the records about to be linked
    to them (a register import's new persons). No row is written: the golden refresh that
    follows, told they are new (``golden_refresh(new=…)``), inserts each person with who they
    are, and audits it, in the same transaction (the records' links to them are checked at
    commit)."""
    return bulk.reserve_ids(Person, count) if count else []


@through_door
def person_placeholder(
    *,
    id_type: str = "",
    id_number: str = "",
    name: str = "",
    sex: str = "",
    birth_date: datetime.date | None = None,
) -> Person:
    """A person known by nothing yet but its records: a published record of someone renfang
    does not know, the records a split takes off another person (with what they say; an ID
    number only when no other person holds it). The golden refresh that follows writes, and
    audits, who they are."""
    person: Person = Person.objects.create(
        id_type=id_type or (IdType.RESIDENT_ID if id_number else ""),
        id_number=id_number,
        name=name[:100],
        sex=sex[:1],
        birth_date=birth_date,
    )
    return person
