"""Reading as a subscriber: its latest events, and "as of" reads of people on a past day.

The as-of reads show a person as the golden facts held them on a day (the residence, hukou,
attributes and tags valid on it), with only what the subscription's view allows: the fields
both the grant and the subscription name, identifiers masked unless the grant holds them, a
place outside the subscription's areas not named. A person is there only if they lived in the
subscription's areas on that day and are one of the people it chose (sex, age on the day,
category on the day); anyone else is "not found", like a missing person.
"""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from renfang.accounts.access import Access, shown_id_number, shown_phone
from renfang.accounts.models import PersonField
from renfang.codes.selectors import division_name
from renfang.core.models import valid_on_q
from renfang.exchange.selectors import View
from renfang.people.categories import OVERSEAS_ID_TYPES, category
from renfang.people.models import (
    AttributeKind,
    Hukou,
    Person,
    PersonAttribute,
    PersonTag,
    Residence,
)
from renfang.people.selectors import people_visible_to, residences_in_areas_q


def view_access(view: View) -> Access:
    """The subscriber's access narrowed to the subscription: its areas and fields."""
    return dataclasses.replace(view.access, prefixes=view.prefixes, fields=view.fields)


def _lives_in_q(prefixes: tuple[str, ...], day: datetime.date) -> Q:
    """People with a residence in one of the areas on ``day``."""
    residences = Residence.objects.filter(
        residences_in_areas_q(prefixes), valid_on_q(day), person_id=OuterRef("pk")
    )
    return Q(Exists(residences))


def _years_before(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _chosen_q(view: View, day: datetime.date) -> Q:
    """The people the subscription chose, as they were on ``day``."""
    where = Q()
    if view.sex:
        where &= Q(sex=view.sex)
    if view.age_min is not None:
        where &= Q(birth_date__lte=_years_before(day, view.age_min))
    if view.age_max is not None:
        where &= Q(birth_date__gt=_years_before(day, view.age_max + 1))
    if view.categories:
        overseas = ~Q(nationality="CHN") | Q(id_type__in=sorted(OVERSEAS_ID_TYPES))
        in_city = Exists(
            Hukou.objects.filter(
                valid_on_q(day),
                person_id=OuterRef("pk"),
                division__startswith=settings.RENFANG_CITY_CODE,
            )
        )
        chosen = Q(pk__in=[])
        if "overseas" in view.categories:
            chosen |= overseas
        if "registered" in view.categories:
            chosen |= ~overseas & Q(in_city)
        if "domestic_migrant" in view.categories:
            chosen |= ~overseas & ~Q(in_city)
        where &= chosen
    return where


def _valid_on(model: type[Any], day: datetime.date, to_attr: str) -> Prefetch[Any, Any, Any]:
    queryset = model.objects.filter(valid_on_q(day)).order_by("-valid_from", "-pk")
    if model is Residence:
        queryset = queryset.select_related("house")
    related = {
        Residence: "residences",
        Hukou: "hukous",
        PersonAttribute: "attributes",
        PersonTag: "tags",
    }[model]
    return Prefetch(related, queryset=queryset, to_attr=to_attr)


def people_as_of(view: View, day: datetime.date, *, within: str = "") -> QuerySet[Person]:
    """The people of the subscription's areas (or of the area ``within``, inside them) on
    ``day``, chosen as the subscription chooses, with their facts of that day prefetched."""
    prefixes = (within,) if within else view.prefixes
    if not view.prefixes:
        return Person.objects.none()
    return (
        people_visible_to_view(view)
        .filter(_lives_in_q(prefixes, day), _chosen_q(view, day))
        .order_by("name", "pk")
        .prefetch_related(
            _valid_on(Residence, day, "residences_on"),
            _valid_on(Hukou, day, "hukous_on"),
            _valid_on(PersonAttribute, day, "attributes_on"),
            _valid_on(PersonTag, day, "tags_on"),
        )
    )


def people_visible_to_view(view: View) -> QuerySet[Person]:
    """The subscriber's people (its grant), through the one door every read of people uses."""
    subscriber = get_user_model().objects.filter(pk=view.access.user_id or 0).first()
    return people_visible_to(subscriber) if subscriber is not None else Person.objects.none()


@dataclass(frozen=True)
class PlaceOn:
    division: str | None
    division_name: str
    house_code: str | None
    address: str


@dataclass(frozen=True)
class PersonOn:
    """One person on one day, as the subscription may see them (None: not granted)."""

    id: int
    as_of: datetime.date
    name: str | None
    sex: str | None
    birth_date: datetime.date | None
    id_type: str | None
    shown_id_number: str | None
    nationality: str | None
    ethnicity: str | None
    category: str | None
    hukou_division: str | None
    residence: PlaceOn | None
    shown_phone: str | None
    marital_status: str | None
    education: str | None
    employment: str | None
    tags: list[str] | None


def _attribute(access: Access, attributes: list[PersonAttribute], kind: str) -> str | None:
    if not access.sees_field(kind):
        return None
    value = next((a.value for a in attributes if a.kind == kind), None)
    if value is not None and kind == AttributeKind.PHONE:
        return shown_phone(access, value)
    return value


def _residence(access: Access, residences: list[Residence]) -> PlaceOn | None:
    if not access.sees_field(PersonField.RESIDENCES) or not residences:
        return None
    residence = next((r for r in residences if access.covers(r.division)), residences[0])
    if not access.covers(residence.division):
        return PlaceOn(division=None, division_name="", house_code=None, address="")
    house = residence.house
    return PlaceOn(
        division=residence.division,
        division_name=division_name(residence.division) if residence.division else "",
        house_code=house.house_code if house is not None else None,
        address=house.address if house is not None else "",
    )


def person_on(
    view: View, person: Person, day: datetime.date, sensitive: frozenset[str]
) -> PersonOn:
    """A person of ``people_as_of`` as the subscription sees them on ``day``."""
    access = view_access(view)
    sees = access.sees_field
    hukous: list[Hukou] = getattr(person, "hukous_on", [])
    attributes: list[PersonAttribute] = getattr(person, "attributes_on", [])
    tags: list[PersonTag] = getattr(person, "tags_on", [])
    hukou = hukous[0].division if hukous else None
    return PersonOn(
        id=person.pk,
        as_of=day,
        name=person.name if sees(PersonField.NAME) else None,
        sex=person.sex if sees(PersonField.SEX) else None,
        birth_date=person.birth_date if sees(PersonField.BIRTH_DATE) else None,
        id_type=person.id_type if sees(PersonField.ID_NUMBER) else None,
        shown_id_number=shown_id_number(access, person.id_number, person.id_type)
        if sees(PersonField.ID_NUMBER) and person.id_number
        else None,
        nationality=person.nationality if sees(PersonField.NATIONALITY) else None,
        ethnicity=person.ethnicity if sees(PersonField.ETHNICITY) else None,
        category=str(
            category(id_type=person.id_type, nationality=person.nationality, hukou_division=hukou)
        )
        if sees(PersonField.HUKOU) and sees(PersonField.NATIONALITY)
        else None,
        hukou_division=hukou if sees(PersonField.HUKOU) else None,
        residence=_residence(access, getattr(person, "residences_on", [])),
        shown_phone=_attribute(access, attributes, AttributeKind.PHONE),
        marital_status=_attribute(access, attributes, AttributeKind.MARITAL_STATUS),
        education=_attribute(access, attributes, AttributeKind.EDUCATION),
        employment=_attribute(access, attributes, AttributeKind.EMPLOYMENT),
        tags=sorted(t.tag for t in tags if access.sees_tag(t.tag, sensitive=t.tag in sensitive))
        if sees(PersonField.TAGS)
        else None,
    )


__all__ = [
    "PersonOn",
    "PlaceOn",
    "people_as_of",
    "person_on",
    "view_access",
]
