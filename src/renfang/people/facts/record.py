"""One person or one fact at a time (a form, a test's world): each write records its audit
event in the same transaction: who (``actor``; None is the system, a command), which person,
each field with its old and new value, and where the data came from (``source``)."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from renfang.audit.services import User, audit_write, field_change
from renfang.core.changes import FieldChange
from renfang.core.writeguard import through_door
from renfang.exchange.events import PersonChange, publish_person_changes
from renfang.houses.models import House
from renfang.people.facts.lines import hukou_value, residence_value
from renfang.people.facts.spells import spells_rebuild_for
from renfang.people.idnumbers import IdNumberError, parse_resident_id
from renfang.people.models import (
    AttributeKind,
    Hukou,
    IdType,
    Person,
    PersonAttribute,
    PersonTag,
    Residence,
)


@through_door
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
        _recorded(
            new=True,
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


def _recorded(
    *,
    actor: User | None,
    record_type: str,
    record_id: int,
    changes: list[FieldChange],
    source: str,
    new: bool = False,
) -> None:
    """The change's audit event and its event in the change feed (in the write's
    transaction: neither commits without the other)."""
    audit_write(
        actor=actor, record_type=record_type, record_id=record_id, changes=changes, source=source
    )
    publish_person_changes(
        [PersonChange(person_id=record_id, changes=changes, source=source, new=new)]
    )


_IDENTITY_FIELDS = (
    "id_type",
    "id_number",
    "name",
    "sex",
    "birth_date",
    "nationality",
    "ethnicity",
)


def _check_dates(valid_from: datetime.date | None, valid_to: datetime.date | None) -> None:
    if valid_from is not None and valid_to is not None and valid_to < valid_from:
        raise ValidationError({"valid_to": f"ends {valid_to}, before it starts {valid_from}"})


@through_door
def residence_record(
    *,
    person: Person,
    valid_from: datetime.date | None,
    valid_to: datetime.date | None = None,
    division: str | None = None,
    house: House | None = None,
    relation: str = "",
    actor: User | None = None,
    source: str = "residence_record",
) -> Residence:
    """Record a residence spell. A spell may not overlap another spell of the same person.
    With a house and no division, the division is the house's area. Only whereabouts unknown
    may begin on an unknown day (``valid_from`` None, ADR 0028)."""
    _check_dates(valid_from, valid_to)
    if house is not None and not division:
        division = house.area_id
    if valid_from is None and division:
        raise ValidationError({"valid_from": "the first day is required with a residence"})
    if house is not None and division and not str(house.area_id).startswith(division):
        raise ValidationError({"division": f"house {house.house_code} is not in {division}"})
    with transaction.atomic():
        for other in Residence.objects.select_for_update().filter(person=person):
            if (other.valid_from or datetime.date.min) <= (valid_to or datetime.date.max) and (
                valid_from or datetime.date.min
            ) <= (other.valid_to or datetime.date.max):
                since = other.valid_from or "an unknown day"
                raise ValidationError({"valid_from": f"overlaps the spell from {since}"})
        residence: Residence = Residence.objects.create(
            person=person,
            valid_from=valid_from,
            valid_to=valid_to,
            division=division or None,
            house=house,
            relation=relation,
        )
        spells_rebuild_for([person.pk])
        new = residence_value(
            valid_from, valid_to, division or None, house.house_code if house is not None else None
        )
        if relation:
            new["relation"] = relation
        _recorded(
            actor=actor,
            record_type="person",
            record_id=person.pk,
            changes=[field_change("residence", None, new)],
            source=source,
        )
    return residence


@through_door
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
        spells_rebuild_for([person.pk])
        new = hukou_value(valid_from, valid_to, division, household_type)
        if address:
            new["address"] = address
        _recorded(
            actor=actor,
            record_type="person",
            record_id=person.pk,
            changes=[field_change("hukou", None, new)],
            source=source,
        )
    return hukou


@through_door
def attribute_record(
    *,
    person: Person,
    kind: str,
    value: str,
    valid_from: datetime.date | None,
    valid_to: datetime.date | None = None,
    actor: User | None = None,
    source: str = "attribute_record",
) -> PersonAttribute:
    """Record an attribute that holds over time (a phone, marital status, education…)."""
    _check_dates(valid_from, valid_to)
    if kind not in AttributeKind.values:
        raise ValidationError({"kind": f"{kind!r} is not an attribute kind"})
    if not value.strip():
        raise ValidationError({"value": "a value is required"})
    with transaction.atomic():
        attribute: PersonAttribute = PersonAttribute.objects.create(
            person=person, kind=kind, value=value.strip(), valid_from=valid_from, valid_to=valid_to
        )
        _recorded(
            actor=actor,
            record_type="person",
            record_id=person.pk,
            changes=[field_change(kind, None, value.strip())],
            source=source,
        )
    return attribute


@through_door
def tag_record(
    *,
    person: Person,
    tag: str,
    valid_from: datetime.date | None,
    valid_to: datetime.date | None = None,
    note: str = "",
    actor: User | None = None,
    source: str = "tag_record",
) -> PersonTag:
    """Record a tag (a sensitive one is seen only by the roles granted it)."""
    _check_dates(valid_from, valid_to)
    if not tag.strip():
        raise ValidationError({"tag": "a tag is required"})
    with transaction.atomic():
        recorded: PersonTag = PersonTag.objects.create(
            person=person, tag=tag.strip(), valid_from=valid_from, valid_to=valid_to, note=note
        )
        _recorded(
            actor=actor,
            record_type="person",
            record_id=person.pk,
            changes=[field_change("tag", None, tag.strip())],
            source=source,
        )
    return recorded
