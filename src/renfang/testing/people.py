"""Persons of the test world and their facts, all written through the one door
(``renfang.people.facts``): as an import, a form or the golden refresh leaves them."""

from __future__ import annotations

import datetime
import itertools
from typing import Any

from renfang.houses.models import House
from renfang.people.facts import (
    attribute_record,
    hukou_record,
    person_create,
    person_placeholder,
    residence_record,
    tag_record,
)
from renfang.people.idnumbers import upgrade_15, with_check_digit
from renfang.people.models import AttributeKind, Person

D = datetime.date
LONG_AGO = D(2015, 1, 1)
TENANT_SINCE = D(2019, 1, 1)

_sequence = itertools.count(1)


def chinese(name: str = "张伟", *, region: str = "310104") -> Person:
    """A Chinese citizen with a valid resident ID number (born 1985-03-15 in ``region``)."""
    sequence = next(_sequence) % 1000
    number = with_check_digit(f"{region}19850315{sequence:03d}")
    return person_create(
        id_type="resident_id",
        id_number=number,
        name=name,
        sex="1" if sequence % 2 else "2",
        birth_date=None,
    )


def foreigner(name: str = "John Smith", *, id_type: str = "passport", nationality: str) -> Person:
    """A foreigner known by a passport (or another ``id_type``) of ``nationality``."""
    return person_create(
        id_type=id_type,
        id_number=f"X{next(_sequence):08d}",
        name=name,
        sex="1",
        birth_date=D(1980, 1, 1),
        nationality=nationality,
    )


def resident(
    *,
    hukou: str | None,
    lives: str | None,
    since: datetime.date = LONG_AGO,
    until: datetime.date | None = None,
    person: Person | None = None,
) -> Person:
    """A person with a hukou (or none) and a residence from ``since`` to ``until``; ``lives``
    None records a spell of unknown whereabouts; the hukou holds throughout."""
    person = person or chinese()
    if hukou is not None:
        hukou_record(person=person, division=hukou, valid_from=D(2000, 1, 1))
    residence_record(person=person, valid_from=since, valid_to=until, division=lives)
    return person


def tenant(  # noqa: PLR0913 (one planted person's values)
    *,
    body: str,
    name: str,
    house: House | None,
    phone: str = "",
    since: datetime.date = TENANT_SINCE,
    tags: tuple[str, ...] = ("drug_user", "subsistence_allowance"),
) -> Person:
    """A person whose ID number is ``body`` and its check digit (sex from the body), living
    as a tenant in ``house`` since ``since`` (no residence if None), with a phone (if given) and
    sensitive tags: values a test can look for in any response."""
    person = person_create(
        id_type="resident_id",
        id_number=with_check_digit(body),
        name=name,
        sex="1" if int(body[-1]) % 2 else "2",
        birth_date=None,
    )
    if house is not None:
        residence_record(person=person, valid_from=since, house=house, relation="tenant")
    if phone:
        attribute_record(person=person, kind=AttributeKind.PHONE, value=phone, valid_from=since)
    for tag in tags:
        tag_record(person=person, tag=tag, valid_from=D(2020, 1, 1))
    return person


def placeholder(**identity: Any) -> Person:
    """A person as ``renfang resolve`` makes one: known by nothing yet but its records."""
    values: dict[str, Any] = {"name": "", "sex": ""}
    values.update(identity)
    created: Person = person_placeholder(**values)
    return created


def old_id_ending_in_x() -> tuple[str, str]:
    """A 15-digit old ID number whose 18-digit form ends in X (a woman born 1975-06-18)."""
    for sequence in range(2, 1000, 2):
        old = f"310104750618{sequence:03d}"
        new = upgrade_15(old)
        if new.endswith("X"):
            return old, new
    raise AssertionError("no sequence gives an X check digit")
