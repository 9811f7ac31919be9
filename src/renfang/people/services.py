"""Writes to people and their facts. Every write to a person goes through here (or through
the bulk register import, which follows the same rules in bulk), and each one records an
audit event in its own transaction: who (``actor``; None is the system, a command), which
person, each field with its old and new value, and where the data came from (``source``)."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from renfang.audit.services import User, audit_write, field_change
from renfang.houses.models import House
from renfang.people.idnumbers import IdNumberError, parse_resident_id
from renfang.people.models import Hukou, IdType, Person, Residence
from renfang.stats.services import population_spells_refresh


def person_create(
    *,
    id_type: str,
    id_number: str,
    name: str,
    sex: str,
    birth_date: datetime.date | None,
    nationality: str = "CHN",
    ethnicity: str = "",
    actor: User | None = None,
    source: str = "person_create",
) -> Person:
    if id_type == IdType.RESIDENT_ID:
        try:
            resident_id = parse_resident_id(id_number)
        except IdNumberError as exc:
            raise ValidationError({"id_number": str(exc)}) from exc
        id_number = resident_id.number
        if birth_date is not None and birth_date != resident_id.birth_date:
            raise ValidationError(
                {"birth_date": f"{birth_date} differs from {resident_id.birth_date} in the ID"}
            )
        if sex in {"1", "2"} and sex != resident_id.sex:
            raise ValidationError({"sex": f"sex {sex} differs from {resident_id.sex} in the ID"})
        birth_date = resident_id.birth_date
    if not name.strip():
        raise ValidationError({"name": "a name is required"})
    if len(nationality) != 3 or not nationality.isupper():
        raise ValidationError({"nationality": "nationality is a 3-letter GB/T 2659 code"})
    with transaction.atomic():
        person: Person = Person.objects.create(
            id_type=id_type,
            id_number=id_number,
            name=name.strip(),
            sex=sex,
            birth_date=birth_date,
            nationality=nationality,
            ethnicity=ethnicity,
        )
        audit_write(
            actor=actor,
            record_type="person",
            record_id=person.pk,
            changes=[
                field_change(attribute, None, getattr(person, attribute))
                for attribute in _IDENTITY_FIELDS
                if getattr(person, attribute) not in (None, "")
            ],
            source=source,
        )
    return person


_IDENTITY_FIELDS = (
    "id_type",
    "id_number",
    "name",
    "sex",
    "birth_date",
    "nationality",
    "ethnicity",
)


def _spell(
    valid_from: datetime.date | None, valid_to: datetime.date | None, **values: Any
) -> dict[str, Any]:
    """A fact as the audit records it (as the register import does): its days and values."""
    return {
        "from": valid_from.isoformat() if valid_from is not None else None,
        "to": valid_to.isoformat() if valid_to is not None else None,
        **values,
    }


def _check_dates(valid_from: datetime.date | None, valid_to: datetime.date | None) -> None:
    if valid_from is not None and valid_to is not None and valid_to < valid_from:
        raise ValidationError({"valid_to": f"ends {valid_to}, before it starts {valid_from}"})


def residence_record(
    *,
    person: Person,
    valid_from: datetime.date,
    valid_to: datetime.date | None = None,
    division: str | None = None,
    house: House | None = None,
    relation: str = "",
    actor: User | None = None,
    source: str = "residence_record",
) -> Residence:
    """Record a residence spell. A spell may not overlap another spell of the same person.
    With a house and no division, the division is the house's area."""
    _check_dates(valid_from, valid_to)
    if house is not None and not division:
        division = house.area_id
    if house is not None and division and not str(house.area_id).startswith(division):
        raise ValidationError({"division": f"house {house.house_code} is not in {division}"})
    with transaction.atomic():
        for other in Residence.objects.select_for_update().filter(person=person):
            if other.valid_from <= (valid_to or datetime.date.max) and valid_from <= (
                other.valid_to or datetime.date.max
            ):
                raise ValidationError({"valid_from": f"overlaps the spell from {other.valid_from}"})
        residence: Residence = Residence.objects.create(
            person=person,
            valid_from=valid_from,
            valid_to=valid_to,
            division=division or None,
            house=house,
            relation=relation,
        )
        population_spells_refresh(person_ids=[person.pk])
        new = _spell(
            valid_from,
            valid_to,
            division=division or None,
            house=house.house_code if house is not None else None,
        )
        if relation:
            new["relation"] = relation
        audit_write(
            actor=actor,
            record_type="person",
            record_id=person.pk,
            changes=[field_change("residence", None, new)],
            source=source,
        )
    return residence


def hukou_record(
    *,
    person: Person,
    division: str,
    valid_from: datetime.date | None,
    valid_to: datetime.date | None = None,
    address: str = "",
    household_type: str = "",
    actor: User | None = None,
    source: str = "hukou_record",
) -> Hukou:
    _check_dates(valid_from, valid_to)
    if not division.isdigit() or len(division) not in (6, 9, 12):
        raise ValidationError({"division": f"{division!r} is not a division code"})
    with transaction.atomic():
        hukou: Hukou = Hukou.objects.create(
            person=person,
            division=division,
            address=address,
            household_type=household_type,
            valid_from=valid_from,
            valid_to=valid_to,
        )
        population_spells_refresh(person_ids=[person.pk])
        new = _spell(valid_from, valid_to, division=division, household_type=household_type)
        if address:
            new["address"] = address
        audit_write(
            actor=actor,
            record_type="person",
            record_id=person.pk,
            changes=[field_change("hukou", None, new)],
            source=source,
        )
    return hukou
