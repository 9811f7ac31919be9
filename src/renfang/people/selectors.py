"""Reads of people. Every read takes the acting user first: access by area, masking and the
read audit (next issue) are added here, in ``_people_visible_to``, and nowhere else."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from renfang.core.models import valid_on_q
from renfang.houses.models import House
from renfang.people.idnumbers import normalize, upgrade_15
from renfang.people.models import (
    AttributeKind,
    Hukou,
    Person,
    PersonAttribute,
    PersonTag,
    Residence,
)

User = AbstractBaseUser | AnonymousUser

# Separators people type inside phone numbers; "+86"/"0086" is China's country prefix.
_PHONE_SEPARATORS = re.compile(r"[\s\-()（）]")
_COUNTRY_PREFIX = re.compile(r"^(\+86|0086)")


@dataclass(frozen=True)
class PersonQuery:
    """What a search box entry means: a name part, or identifiers (ID numbers, phones).

    An entry with a digit in it is an identifier, never a name: names have no digits, and an
    exact lookup on an indexed column must not turn into a scan of every name.
    """

    name: str = ""
    id_numbers: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (self.name or self.id_numbers or self.phones)


def parse_person_query(query: str) -> PersonQuery:
    text = query.strip()
    if not text:
        return PersonQuery()
    if not any(char.isdigit() for char in normalize(text)):
        return PersonQuery(name=text)
    id_number = normalize(text)
    id_numbers = {id_number}
    if len(id_number) == 15 and id_number.isdigit():
        id_numbers.add(upgrade_15(id_number))
    phone = _COUNTRY_PREFIX.sub("", _PHONE_SEPARATORS.sub("", normalize(text)))
    phones = {phone} if phone.isdigit() else set()
    return PersonQuery(id_numbers=tuple(sorted(id_numbers)), phones=tuple(phones))


def _people_visible_to(user: User) -> QuerySet[Person]:
    if not user.is_authenticated:
        return Person.objects.none()
    # Access control (next issue): filter by the areas of the user's roles here.
    return Person.objects.all()


def _current_residences(day: datetime.date) -> Prefetch[str, QuerySet[Residence], str]:
    return Prefetch(
        "residences",
        queryset=Residence.objects.filter(valid_on_q(day)).select_related("house"),
        to_attr="current_residences",
    )


def person_search_for_user(
    user: User, query: str, *, as_of: datetime.date | None = None
) -> QuerySet[Person]:
    """People whose name contains the entry, or whose ID number or phone is the entry.

    Each person carries ``current_residences`` (their residence spells on ``as_of``, today
    by default) for the result list.
    """
    parsed = parse_person_query(query)
    people = _people_visible_to(user)
    if parsed.is_empty:
        return people.none()
    if parsed.name:
        people = people.filter(name__icontains=parsed.name)
    else:
        # Two index lookups first (the unique (id_number, id_type) index, the (kind, value)
        # index), then the people by primary key: an OR of subqueries would make PostgreSQL
        # scan every person.
        matched = set(
            Person.objects.filter(id_number__in=parsed.id_numbers).values_list("pk", flat=True)
        )
        if parsed.phones:
            matched.update(
                PersonAttribute.objects.filter(
                    kind=AttributeKind.PHONE, value__in=parsed.phones
                ).values_list("person_id", flat=True)
            )
        people = people.filter(pk__in=matched)
    day = as_of or timezone.localdate()
    return people.order_by("name", "pk").prefetch_related(_current_residences(day))


def person_get_for_user(user: User, person_id: int) -> Person:
    """One person with every current fact, ready for the person page.

    Raises ``Person.DoesNotExist`` for an unknown person — and, once access control is in
    place, for a person the user may not see: the two must look the same.
    """
    return (
        _people_visible_to(user)
        .prefetch_related(
            Prefetch("hukous", queryset=Hukou.objects.order_by("valid_from", "pk")),
            Prefetch(
                "residences",
                queryset=Residence.objects.select_related("house").order_by("valid_from", "pk"),
            ),
            Prefetch(
                "attributes",
                queryset=PersonAttribute.objects.order_by("kind", "valid_from", "pk"),
            ),
            Prefetch("tags", queryset=PersonTag.objects.order_by("tag", "valid_from", "pk")),
        )
        .get(pk=person_id)
    )


def residence_list_for_house_for_user(user: User, house: House) -> QuerySet[Residence]:
    """Everyone who lives or lived in a house, latest arrivals first."""
    if not user.is_authenticated:
        return Residence.objects.none()
    # Access control (next issue): keep only the people the user may see, here.
    return (
        Residence.objects.filter(house=house)
        .select_related("person")
        .order_by("-valid_from", "person__name", "pk")
    )
