"""Reads of people. Every read takes the acting user first: ``people_visible_to`` keeps only
the people who live or hold hukou, at any time, in the user's area, and reads of one person
are audited here (a record outside the area is "not found", and the attempt is audited)."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from renfang.accounts.access import Access, access_for, in_areas_q
from renfang.audit.models import Action
from renfang.audit.services import audit_record
from renfang.core.models import valid_on_q
from renfang.houses.models import House
from renfang.houses.selectors import houses_visible_to
from renfang.people import identify
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


# Residence divisions are committee codes; a grid's code is longer and is matched through
# the house's area.
_COMMITTEE_CODE_LENGTH = 12


def residences_in_areas_q(prefixes: Iterable[str]) -> Q:
    """Residences in the areas: by their division, or a grid's through the house's area."""
    prefixes = tuple(prefixes)
    grids = [p for p in prefixes if len(p) > _COMMITTEE_CODE_LENGTH]
    divisions = [p for p in prefixes if len(p) <= _COMMITTEE_CODE_LENGTH]
    return in_areas_q(grids, "house__area__code") | in_areas_q(divisions, "division")


def people_in_area_q(prefixes: tuple[str, ...]) -> Q:
    """People with a residence or a hukou (any time, not retracted) in the areas."""
    if not prefixes:
        return Q(pk__in=[])
    residences = Residence.objects.filter(residences_in_areas_q(prefixes), person_id=OuterRef("pk"))
    hukous = Hukou.objects.filter(in_areas_q(prefixes, "division"), person_id=OuterRef("pk"))
    return Q(Exists(residences)) | Q(Exists(hukous))


def people_visible_to(user: User) -> QuerySet[Person]:
    """Every person the user may see; the only way pages, exports and the API get people."""
    access = access_for(user)
    if not access.reads_people:
        return Person.objects.none()
    return Person.objects.filter(people_in_area_q(access.prefixes))


def person_not_found(user: User, access: Access, person_id: int) -> None:
    """A person id the user cannot read, missing or outside their area: the same work for
    both (one query, one ``denied`` event, one miss counted; ADR 0021), so that neither the
    answer nor its time tells them apart; an enumeration of ids raises an alert."""
    exists = Person.objects.filter(pk=person_id).exists()
    reason = ("outside the user's area" if access.reads_people else "no role") if exists else ""
    audit_record(
        Action.DENIED,
        user=user,
        record_type="person",
        record_id=str(person_id),
        detail={"reason": reason or "not found"},
    )
    if user.pk is not None:
        identify.count_miss(user, identify.RECORD)


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
    by default) for the result list. An exact-number search is an identification attempt
    (``renfang.people.identify``): audited as such, and refused with ``IdentifyRefused`` for
    a user who has no misses left.
    """
    parsed = parse_person_query(query)
    people = people_visible_to(user)
    if parsed.is_empty:
        return people.none()
    access = access_for(user)
    # A department reader finds people only by what it was granted: a search by an ID number
    # or a name it may not see would tie that identity to the fields it may see.
    parsed = PersonQuery(
        name=parsed.name if access.sees_field("name") else "",
        id_numbers=parsed.id_numbers if access.sees_field("id_number") else (),
        phones=parsed.phones if access.sees_field("phone") else (),
    )
    exact = not parsed.name and identify.is_identifier_query(query)
    if not parsed.name and not exact:
        # Digits that look like no ID or phone number (an address's "12-301"): no person is
        # looked up by them, so every exact lookup is an identification attempt.
        parsed = PersonQuery()
    if exact and not parsed.is_empty:
        identify.check_budget(user, access)  # before the search: the same for any number
    else:
        terms = identify.masked_terms(query)
        audit_record(Action.SEARCH, user=user, record_type="person", detail={"terms": terms})
    if parsed.is_empty:
        return people.none()
    day = as_of or timezone.localdate()
    if parsed.name:
        people = people.filter(name__icontains=parsed.name)
        return people.order_by("name", "pk").prefetch_related(_current_residences(day))
    # Two index lookups first (the unique (id_number, id_type) index, the (kind, value)
    # index), then the people by primary key: an OR of subqueries would make PostgreSQL
    # scan every person. The unique index is partial (numbers of persons not merged away):
    # the query states its condition, or PostgreSQL cannot use it and reads 1.5 M rows.
    matched = set(
        Person.objects.filter(id_number__in=parsed.id_numbers, merged_into__isnull=True)
        .exclude(id_number="")
        .values_list("pk", flat=True)
    )
    if parsed.phones:
        matched.update(
            PersonAttribute.objects.filter(
                kind=AttributeKind.PHONE, value__in=parsed.phones
            ).values_list("person_id", flat=True)
        )
    # Which of them the user may see: one query whether the number exists or not (a number
    # outside the area must cost what a number nowhere costs).
    found = list(people.filter(pk__in=sorted(matched) or [0]).values_list("pk", flat=True))
    if exact and not parsed.is_empty:
        identify.record_number_search(
            user, access, query, hit=bool(found) or _is_visible_house_code(user, query)
        )
    return (
        Person.objects.filter(pk__in=found)
        .order_by("name", "pk")
        .prefetch_related(_current_residences(day))
    )


def _is_visible_house_code(user: User, query: str) -> bool:
    """Whether an entry is the code of a house the user may see (the search box finds houses
    too: looking a house up by its code is no guess at a person's number)."""
    code = identify.compact(query)
    return code.isdigit() and houses_visible_to(user).filter(house_code=code).exists()


_FIRST_DAY = F("valid_from").asc(nulls_first=True)


def person_get_for_user(user: User, person_id: int, *, purpose: str = "") -> Person:
    """One person with every current fact, ready for the person page; the read is audited.

    Raises ``Person.DoesNotExist`` for an unknown person and for a person the user may not
    see: the two look the same to the user, and the second is audited as denied.
    """
    try:
        person = (
            people_visible_to(user)
            .prefetch_related(
                # Since a day nobody knows first, on every database (ADR 0028).
                Prefetch("hukous", queryset=Hukou.objects.order_by(_FIRST_DAY, "pk")),
                Prefetch(
                    "residences",
                    queryset=Residence.objects.select_related("house").order_by(_FIRST_DAY, "pk"),
                ),
                Prefetch(
                    "attributes",
                    queryset=PersonAttribute.objects.order_by("kind", "valid_from", "pk"),
                ),
                Prefetch("tags", queryset=PersonTag.objects.order_by("tag", "valid_from", "pk")),
            )
            .get(pk=person_id)
        )
    except Person.DoesNotExist:
        person_not_found(user, access_for(user), person_id)
        raise
    audit_record(Action.READ, user=user, record_type="person", record_id=person.pk, purpose=purpose)
    return person


def residence_list_for_house_for_user(user: User, house: House) -> QuerySet[Residence]:
    """Everyone who lives or lived in a house, latest arrivals first."""
    access = access_for(user)
    if not access.reads_people:
        return Residence.objects.none()
    return (
        Residence.objects.filter(house=house, person__in=people_visible_to(user))
        .select_related("person")
        .order_by("-valid_from", "person__name", "pk")
    )


class RevealRefused(Exception):
    """The user may not see this identifier in full, or gave no purpose."""


REVEALABLE_FIELDS = ("id_number", "phone")


def is_real_purpose(purpose: str) -> bool:
    """Whether an unmask purpose says something: ``RENFANG_PURPOSE_MIN_LENGTH`` characters
    at least once trimmed, and not one character over and over ("....", "aaaa")."""
    text = "".join(purpose.split())
    return len(purpose.strip()) >= settings.RENFANG_PURPOSE_MIN_LENGTH and len(set(text)) > 1


def person_identifier_reveal_for_user(
    user: User, person_id: int, field: str, *, purpose: str
) -> list[str]:
    """Show one identifier of a person in full (unmask): the ID number, or the phone numbers.

    An explicit action: it needs a purpose and a role that may unmask, and it is audited with
    the purpose. Raises ``Person.DoesNotExist`` as ``person_get_for_user`` does, and
    ``RevealRefused`` when the role may not unmask or the purpose is missing.
    """
    access = access_for(user)
    purpose = purpose.strip()
    if field not in REVEALABLE_FIELDS:
        raise RevealRefused(f"{field!r} is not an identifier that can be shown in full")
    person = people_visible_to(user).filter(pk=person_id).first()
    if person is None:
        person_not_found(user, access, person_id)
        raise Person.DoesNotExist
    if not (access.may_unmask or access.full_identifiers) or not access.sees_field(field):
        audit_record(
            Action.DENIED,
            user=user,
            record_type="person",
            record_id=person_id,
            detail={"reason": "role may not unmask", "field": field},
            purpose=purpose,
        )
        raise RevealRefused("your role may not show this number in full")
    if not is_real_purpose(purpose):
        raise RevealRefused("say why you need the number in full")
    if field == "id_number":
        values = [person.id_number]
    else:
        values = list(
            PersonAttribute.objects.filter(person=person, kind=AttributeKind.PHONE)
            .order_by("-valid_from", "pk")
            .values_list("value", flat=True)
        )
    audit_record(
        Action.UNMASK,
        user=user,
        record_type="person",
        record_id=person_id,
        detail={"field": field},
        purpose=purpose,
    )
    return values
