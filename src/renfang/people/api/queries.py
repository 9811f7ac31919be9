"""What the people API operations look up and build: lists and pages of people, one person
as a role may see them, their residences and the provenance of their fields."""

from __future__ import annotations

import datetime

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from renfang.accounts.access import (
    Access,
    access_for,
    shown_id_number,
    shown_phone,
)
from renfang.accounts.models import PersonField
from renfang.audit.models import Action
from renfang.audit.services import audit_people_shown, audit_record
from renfang.codes.selectors import code_label, division_name
from renfang.core.api.auth import acting_user
from renfang.core.api.errors import (
    ApiError,
    ErrorCode,
    not_found,
    validation_error,
)
from renfang.core.api.pagination import paginate
from renfang.core.api.scope import area_in_reach
from renfang.core.models import valid_on_q
from renfang.linkage.selectors import person_resolve_merged
from renfang.people.api.schemas import (
    AttributeOut,
    HukouOut,
    PeopleQuery,
    PersonOut,
    PersonPageOut,
    PersonSummaryOut,
    PlaceOut,
    ResidenceOut,
    TagOut,
)
from renfang.people.identify import IdentifyRefused, is_identifier_query, refused_message
from renfang.people.models import AttributeKind, Hukou, Person, PersonAttribute, Residence
from renfang.people.presenters import attribute_label, house_shown, person_category, visible_tags
from renfang.people.selectors import (
    people_visible_to,
    person_get_for_user,
    person_search_for_user,
    residences_in_areas_q,
)


def _shown(access: Access, field: str, value: str) -> str | None:
    return value if access.sees_field(field) else None


def _place(residence: Residence, access: Access) -> PlaceOut:
    # A house outside the user's area is not theirs to see: only its division is named.
    house = house_shown(residence, access)
    if house is not None:
        return PlaceOut(
            division=residence.division,
            division_name=division_name(residence.division) if residence.division else "",
            house_code=house.house_code,
            address=house.address,
        )
    return PlaceOut(
        division=residence.division,
        division_name=division_name(residence.division) if residence.division else "",
        house_code=None,
        address="",
    )


def person_summary(access: Access, person: Person) -> PersonSummaryOut:
    """A person as lists show them; needs ``current_residences`` prefetched."""
    residences: list[Residence] = getattr(person, "current_residences", [])
    sees_id = access.sees_field(PersonField.ID_NUMBER)
    sees_sex = access.sees_field(PersonField.SEX)
    return PersonSummaryOut(
        id=person.pk,
        name=_shown(access, PersonField.NAME, person.name),
        sex=person.sex if sees_sex else None,
        sex_label=code_label("sex", person.sex) if sees_sex else None,
        birth_date=person.birth_date if access.sees_field(PersonField.BIRTH_DATE) else None,
        id_type=person.id_type if sees_id else None,
        shown_id_number=shown_id_number(access, person.id_number, person.id_type)
        if sees_id
        else None,
        lives_at=(
            _place(residences[0], access)
            if residences and access.sees_field(PersonField.RESIDENCES)
            else None
        ),
    )


def current_residences(day: datetime.date) -> Prefetch[str, QuerySet[Residence], str]:
    return Prefetch(
        "residences",
        queryset=Residence.objects.filter(valid_on_q(day)).select_related("house"),
        to_attr="current_residences",
    )


def living_in_q(area_code: str, day: datetime.date) -> Q:
    """People with a residence in the area on ``day``."""
    residences = Residence.objects.filter(
        residences_in_areas_q((area_code,)), valid_on_q(day), person_id=OuterRef("pk")
    )
    return Q(Exists(residences))


def _attributes(
    access: Access, attributes: list[PersonAttribute], today: datetime.date
) -> list[AttributeOut]:
    rows = []
    for attribute in attributes:
        if not access.sees_field(attribute.kind):
            continue
        if attribute.kind == AttributeKind.PHONE:
            value = label = shown_phone(access, attribute.value)
        else:
            value = attribute.value
            label = attribute_label(attribute.kind, value)
        rows.append(
            AttributeOut(
                valid_from=attribute.valid_from,
                valid_to=attribute.valid_to,
                current=attribute.is_valid_on(today),
                kind=attribute.kind,
                value=value,
                label=label,
            )
        )
    return rows


def _current_phone(attributes: list[PersonAttribute], today: datetime.date) -> str | None:
    phones = [a for a in attributes if a.kind == AttributeKind.PHONE and a.is_valid_on(today)]
    phones.sort(key=lambda a: (a.valid_from or datetime.date.min, a.pk), reverse=True)
    return phones[0].value if phones else None


def _hukou_rows(hukous: list[Hukou], today: datetime.date) -> list[HukouOut]:
    return [
        HukouOut(
            valid_from=h.valid_from,
            valid_to=h.valid_to,
            current=h.is_valid_on(today),
            division=h.division,
            division_name=division_name(h.division),
            address=h.address,
            household_type=h.household_type,
        )
        for h in reversed(hukous)
    ]


def residence_rows(
    residences: list[Residence], today: datetime.date, access: Access
) -> list[ResidenceOut]:
    """A person's residence spells, newest first."""
    rows = []
    for residence in reversed(residences):
        place = _place(residence, access)
        rows.append(
            ResidenceOut(
                valid_from=residence.valid_from,
                valid_to=residence.valid_to,
                current=residence.is_valid_on(today),
                division=place.division,
                division_name=place.division_name,
                house_code=place.house_code,
                address=place.address,
                relation=residence.relation,
                relation_label=str(residence.get_relation_display()),
            )
        )
    return rows


def person_detail(access: Access, person: Person) -> PersonOut:
    """One person as the person page shows them (facts prefetched by person_get_for_user)."""
    today = timezone.localdate()
    hukous: list[Hukou] = list(person.hukous.all())
    residences: list[Residence] = list(person.residences.all())
    attributes: list[PersonAttribute] = list(person.attributes.all())
    tags = list(person.tags.all())
    sees = access.sees_field
    sees_id = sees(PersonField.ID_NUMBER)
    phone = _current_phone(attributes, today)
    return PersonOut(
        id=person.pk,
        id_type=person.id_type if sees_id else None,
        id_type_label=str(person.get_id_type_display()) if sees_id else None,
        shown_id_number=shown_id_number(access, person.id_number, person.id_type)
        if sees_id
        else None,
        shown_phone=shown_phone(access, phone) if phone and sees(PersonField.PHONE) else None,
        identifiers_masked=not access.full_identifiers,
        name=_shown(access, PersonField.NAME, person.name),
        sex=_shown(access, PersonField.SEX, person.sex),
        sex_label=code_label("sex", person.sex) if sees(PersonField.SEX) else None,
        birth_date=person.birth_date if sees(PersonField.BIRTH_DATE) else None,
        ethnicity=_shown(access, PersonField.ETHNICITY, person.ethnicity),
        ethnicity_label=(
            code_label("ethnicity", person.ethnicity)
            if person.ethnicity and sees(PersonField.ETHNICITY)
            else None
        ),
        nationality=_shown(access, PersonField.NATIONALITY, person.nationality),
        nationality_label=(
            code_label("nationality", person.nationality) if sees(PersonField.NATIONALITY) else None
        ),
        category=(
            str(person_category(person, hukous, today))
            if sees(PersonField.HUKOU) and sees(PersonField.NATIONALITY)
            else None
        ),
        hukous=_hukou_rows(hukous, today) if sees(PersonField.HUKOU) else None,
        residences=residence_rows(residences, today, access)
        if sees(PersonField.RESIDENCES)
        else None,
        attributes=_attributes(access, attributes, today),
        tags=[
            TagOut(
                valid_from=t.valid_from,
                valid_to=t.valid_to,
                current=t.is_valid_on(today),
                tag=t.tag,
                label=code_label("person_tag", t.tag),
                sensitive=sensitive,
                note=t.note,
            )
            for t, sensitive in visible_tags(tags, access)
        ],
    )


def refuse_number_in_url(query: str, *, lookup: str) -> None:
    """A GET whose query is an ID or phone number: refused (422 on ``q``), so that numbers
    stay out of URLs and access logs; ``lookup`` names the POST operation to use."""
    if is_identifier_query(query):
        message = _("Send ID and phone numbers in the body of %(lookup)s, not in the URL.") % {
            "lookup": lookup
        }
        raise validation_error("q", message)


def searched_people(user: AbstractBaseUser, query: str, day: datetime.date) -> QuerySet[Person]:
    """``person_search_for_user``, with a refused identification attempt as 429."""
    try:
        return person_search_for_user(user, query, as_of=day)  # audits the terms
    except IdentifyRefused as exc:
        raise ApiError(429, ErrorCode.TOO_MANY_REQUESTS, refused_message()) from exc


def people_page(
    request: HttpRequest, filters: PeopleQuery, *, in_body: bool = False
) -> PersonPageOut:
    """The people list behind GET /people and POST /people/lookup (and the people half of
    /search); ``in_body``: the query came in a POST body (a number may)."""
    user = acting_user(request)
    day = filters.as_of or timezone.localdate()
    query = filters.q.strip()
    if not in_body:
        refuse_number_in_url(query, lookup="POST /api/people/lookup")
    area = area_in_reach(user, filters.area, parameter="area") if filters.area else None
    if query:
        people = searched_people(user, query, day)
    elif area is not None:
        people = (
            people_visible_to(user).order_by("name", "pk").prefetch_related(current_residences(day))
        )
        audit_record(
            Action.SEARCH,
            user=user,
            record_type="person",
            detail={"area": area.code, "as_of": day.isoformat()},
        )
    else:
        raise validation_error("q", _("Give q (a name, ID number or phone number) or area."))
    if area is not None:
        people = people.filter(living_in_q(area.code, day))
    paged = paginate(people, filters)
    access = access_for(user)
    # The people on this page are reads of them (issue 11): one event names them all.
    audit_people_shown(user, [person.pk for person in paged.rows], listed="people")
    return PersonPageOut(
        **paged.meta(), results=[person_summary(access, person) for person in paged.rows]
    )


def person_or_survivor_for_user(user: AbstractBaseUser, person_id: int) -> Person:
    """The person (read audited), or the person they were merged into; 404 ``not_found`` when
    missing or outside the user's area."""
    try:
        return person_get_for_user(user, person_resolve_merged(person_id))
    except Person.DoesNotExist as exc:
        raise not_found() from exc


def _as_datetime(value: object) -> datetime.datetime | None:
    if isinstance(value, datetime.datetime):
        return value
    if isinstance(value, datetime.date):
        return datetime.datetime.combine(value, datetime.time(), tzinfo=datetime.UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)
    return None


def _text(value: object) -> str:
    return "" if value is None else str(value)
