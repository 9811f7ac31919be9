"""The API of people: search and lists, one person, their residences, and unmasking.

Everything goes through the scoped selectors of ``renfang.people.selectors``: the same people
as the pages, the same audit. What a role sees of a person follows ``Access``: identifiers
masked unless the role needs them whole, sensitive tags only for roles entitled to them, and a
department reader only the fields of its grant (the others are null).
"""

from __future__ import annotations

import datetime
from typing import Literal

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.params import P, PathEx

from renfang.accounts.access import (
    Access,
    access_for,
    shown_id_number,
    shown_phone,
    shown_text,
)
from renfang.accounts.models import PersonField
from renfang.audit.models import Action
from renfang.audit.services import audit_people_shown, audit_record
from renfang.codes.selectors import code_label, division_name
from renfang.core.api.auth import acting_user
from renfang.core.api.errors import (
    ApiError,
    ErrorCode,
    error_responses,
    field_not_granted,
    not_found,
    validation_error,
)
from renfang.core.api.pagination import PageOut, PageQuery, paginate
from renfang.core.api.schemas import AREA_PATTERN, MAX_QUERY_LENGTH, TEXT_PATTERN, FactOut
from renfang.core.api.scope import area_in_reach
from renfang.core.models import valid_on_q
from renfang.linkage.selectors import person_resolve_merged
from renfang.people.golden import FieldProvenance, names_sources, person_provenance
from renfang.people.identify import IdentifyRefused, is_identifier_query, refused_message
from renfang.people.models import AttributeKind, Hukou, Person, PersonAttribute, Residence
from renfang.people.presenters import attribute_label, house_shown, person_category, visible_tags
from renfang.people.selectors import (
    RevealRefused,
    people_visible_to,
    person_get_for_user,
    person_identifier_reveal_for_user,
    person_search_for_user,
    residences_in_areas_q,
)
from renfang.web.sourcefields import ValueShower, field_label

router = Router(tags=["people"])

# Person ids are positive 64-bit integers.
PersonId = PathEx[int, P(ge=1, le=2**63 - 1, description="The person's id.")]


NOT_GRANTED = "null when your role is not granted this field."


# --- schemas -----------------------------------------------------------------------------


class PlaceOut(Schema):
    """Where someone lives: a house, or only a division, or nowhere known."""

    division: str | None = Field(description="Division code; null: whereabouts unknown.")
    division_name: str
    house_code: str | None
    address: str


class PersonSummaryOut(Schema):
    id: int
    name: str | None = Field(description=f"The name; {NOT_GRANTED}")
    sex: str | None = Field(description=f"GB/T 2261.1 code; {NOT_GRANTED}")
    sex_label: str | None
    birth_date: datetime.date | None
    id_type: str | None = Field(description=f"Kind of ID document; {NOT_GRANTED}")
    shown_id_number: str | None = Field(
        description="The ID number, masked (3101**********1234) unless your role sees it in "
        f"full; {NOT_GRANTED}"
    )
    lives_at: PlaceOut | None = Field(
        description=f"Where the person lives on as_of; null when nowhere known or {NOT_GRANTED}"
    )


class PersonPageOut(PageOut):
    results: list[PersonSummaryOut]


class HukouOut(FactOut):
    division: str
    division_name: str
    address: str
    household_type: str


class ResidenceOut(FactOut):
    division: str | None = Field(description="Division code; null: whereabouts unknown.")
    division_name: str
    house_code: str | None
    address: str
    relation: str
    relation_label: str


class AttributeOut(FactOut):
    kind: str = Field(description="phone, education, marital_status or employment.")
    value: str = Field(
        description="A code of the code set of the same name, or a phone number "
        "(masked unless your role sees it in full)."
    )
    label: str


class TagOut(FactOut):
    tag: str = Field(description="A code of the person_tag code set.")
    label: str
    sensitive: bool
    note: str


class PersonOut(Schema):
    id: int
    id_type: str | None = Field(description=f"Kind of ID document; {NOT_GRANTED}")
    id_type_label: str | None
    shown_id_number: str | None = Field(
        description="The ID number, masked unless your role sees it in full (POST …/unmask "
        f"shows it with a purpose); {NOT_GRANTED}"
    )
    shown_phone: str | None = Field(
        description=f"The current phone number, masked like the ID number; null when none or "
        f"{NOT_GRANTED}"
    )
    identifiers_masked: bool = Field(description="Whether ID and phone numbers are masked.")
    name: str | None
    sex: str | None
    sex_label: str | None
    birth_date: datetime.date | None
    ethnicity: str | None
    ethnicity_label: str | None
    nationality: str | None
    nationality_label: str | None
    category: str | None = Field(
        description=f"registered, domestic_migrant or overseas, derived for today; {NOT_GRANTED}"
    )
    hukous: list[HukouOut] | None = Field(description=f"Hukou history, newest first; {NOT_GRANTED}")
    residences: list[ResidenceOut] | None = Field(
        description=f"Residence history, newest first; {NOT_GRANTED}"
    )
    attributes: list[AttributeOut] = Field(description="Only the kinds your role is granted.")
    tags: list[TagOut] = Field(description="Only the tags your role may see.")
    merged_from: int | None = Field(
        default=None,
        description="The id you asked for, when that person was merged into this one (the "
        "answer is the survivor's); null otherwise.",
    )


class PeopleQuery(PageQuery):
    q: str = Field(
        default="",
        max_length=MAX_QUERY_LENGTH,
        pattern=TEXT_PATTERN,
        description="A name (or part of one), an ID number or a phone number, as on the "
        "search page.",
    )
    area: str | None = Field(
        default=None,
        pattern=AREA_PATTERN,
        description="Division code: only people living there on as_of. It must lie in your "
        "area (otherwise 404 not_found, the same as an unknown code).",
    )
    as_of: datetime.date | None = Field(
        default=None,
        description="The day for lives_at and the area filter (YYYY-MM-DD); today if absent.",
    )


class LookupIn(PageQuery):
    """An ID or phone number to look up: in the body, never in the URL (ADR 0021)."""

    q: str = Field(
        min_length=1,
        max_length=MAX_QUERY_LENGTH,
        pattern=TEXT_PATTERN,
        description="An ID, passport, permit or phone number (matched exactly); a name works too.",
    )
    as_of: datetime.date | None = Field(
        default=None, description="The day for lives_at (YYYY-MM-DD); today if absent."
    )


class UnmaskIn(Schema):
    field: Literal["id_number", "phone"] = Field(description="Which number to show in full.")
    purpose: str = Field(
        default="",
        max_length=300,
        pattern=TEXT_PATTERN,
        description="Why you need the number in full (a few words).",
    )


class UnmaskOut(Schema):
    field: str
    values: list[str] = Field(description="The full value(s): one ID number, or every phone.")


# --- building the answers --------------------------------------------------------------------


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


# --- operations ----------------------------------------------------------------------------


@router.get(
    "",
    operation_id="people_list",
    summary="Search or list people",
    response={200: PersonPageOut, **error_responses(401, 404, 422)},
)
def people_list(request: HttpRequest, filters: Query[PeopleQuery]) -> PersonPageOut:
    """People you may see whose name contains `q`; with `area`, only those living there on
    `as_of`. Give `q`, `area` or both. The search is audited (its terms, or the area and
    date). An ID or phone number in `q` is refused (422): look numbers up with
    POST /api/people/lookup, so that they stay out of URLs and access logs."""
    return people_page(request, filters)


@router.post(
    "/lookup",
    operation_id="people_lookup",
    summary="Look people up by ID or phone number",
    response={200: PersonPageOut, **error_responses(401, 422, 429)},
)
def people_lookup(request: HttpRequest, payload: LookupIn) -> PersonPageOut:
    """People you may see whose ID or phone number is `q` (or whose name contains it). The
    number travels in the body, never in the URL. Each lookup by number is audited as an
    identification attempt (hit or miss, a keyed fingerprint of the number); a role that sees
    numbers masked may miss `RENFANG_IDENTIFY_MISSES` times per window, then its lookups by
    number answer 429 until the window ends."""
    filters = PeopleQuery(
        q=payload.q, as_of=payload.as_of, page=payload.page, page_size=payload.page_size
    )
    return people_page(request, filters, in_body=True)


@router.get(
    "/{person_id}",
    operation_id="person_get",
    summary="One person",
    response={200: PersonOut, **error_responses(401, 404, 422)},
)
def person_get(request: HttpRequest, person_id: PersonId) -> PersonOut:
    """Identity, hukou and residence history, attributes and tags, masked for your role. The
    read is audited; a person outside your area is 404, the same as a missing one. A person
    merged into another answers with the survivor, and `merged_from` says so."""
    user = acting_user(request)
    person = person_or_survivor_for_user(user, person_id)
    detail = person_detail(access_for(user), person)
    if person.pk != person_id:
        detail.merged_from = person_id
    return detail


@router.get(
    "/{person_id}/residences",
    operation_id="person_residences_list",
    summary="A person's residences",
    response={200: list[ResidenceOut], **error_responses(401, 403, 404, 422)},
)
def person_residences_list(request: HttpRequest, person_id: PersonId) -> list[ResidenceOut]:
    """Where the person has lived, newest first (a merged-away person's: the survivor's).
    Audited as a read of the person."""
    user = acting_user(request)
    person = person_or_survivor_for_user(user, person_id)
    access = access_for(user)
    if not access.sees_field(PersonField.RESIDENCES):
        raise field_not_granted()
    return residence_rows(list(person.residences.all()), timezone.localdate(), access)


@router.post(
    "/{person_id}/unmask",
    operation_id="person_identifier_unmask",
    summary="Show an ID or phone number in full",
    response={200: UnmaskOut, **error_responses(400, 401, 403, 404, 422)},
)
def person_identifier_unmask(
    request: HttpRequest, person_id: PersonId, payload: UnmaskIn
) -> UnmaskOut:
    """The person's full ID number, or every phone number, for a stated purpose. Needs a role
    that may unmask (403 permission_denied otherwise) and a purpose of a few words (422
    purpose_required). Audited with the purpose."""
    user = acting_user(request)
    field = payload.field
    try:
        values = person_identifier_reveal_for_user(user, person_id, field, purpose=payload.purpose)
    except Person.DoesNotExist as exc:
        raise not_found() from exc
    except RevealRefused as exc:
        access = access_for(user)
        if (access.may_unmask or access.full_identifiers) and access.sees_field(field):
            message = _("Say why you need the number in full (%(n)d characters at least).") % {
                "n": settings.RENFANG_PURPOSE_MIN_LENGTH
            }
            raise ApiError(
                422, ErrorCode.PURPOSE_REQUIRED, message, [("purpose", message)]
            ) from exc
        raise ApiError(
            403,
            ErrorCode.PERMISSION_DENIED,
            _("Your role may not show this number in full."),
        ) from exc
    return UnmaskOut(field=field, values=values)


class OtherValueOut(Schema):
    source: str = Field(description="The source's code.")
    source_name: str
    value: str | None = Field(description="What this source holds (masked like the rest).")
    record_id: str = Field(description="The record's id in the source (identifiers masked).")
    received_at: datetime.datetime | None


class ProvenanceOut(Schema):
    field: str = Field(description="A mapped field (id_number, name, marital_status, …).")
    label: str
    value: str | None = Field(description="The golden value (masked like the rest).")
    source: str = Field(description="The source it came from (the authoritative one).")
    source_name: str
    record_id: str = Field(description="The record's id in the source (identifiers masked).")
    as_of: datetime.datetime | None = Field(description="When that record was received.")
    others: list[OtherValueOut] = Field(description="What the other sources hold.")


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


@router.get(
    "/{person_id}/provenance",
    operation_id="person_provenance_get",
    summary="Where a person's values come from",
    response={200: list[ProvenanceOut], **error_responses(401, 404, 422)},
)
def person_provenance_get(request: HttpRequest, person_id: PersonId) -> list[ProvenanceOut]:
    """Each field's golden value, the source, record and date it came from, and the values the
    other sources hold; only the fields your role is granted, identifiers masked. Sources are
    named only to a reader granted nationality and hukou (which source holds a person tells
    its category): otherwise source, record_id and as_of are empty and others is [].
    Audited as a read of the person."""
    user = acting_user(request)
    person = person_or_survivor_for_user(user, person_id)
    access = access_for(user)
    provenance = list(person_provenance(person))
    if not names_sources(access):
        # Which sources hold the person would tell its category (ADR 0022): the granted
        # fields' golden values only.
        provenance = [
            FieldProvenance(
                field=item.field,
                label=item.label,
                value=item.value,
                source_code="",
                source_name="",
                record_id="",
                as_of=None,  # type: ignore[arg-type]
            )
            for item in provenance
        ]
    shower = ValueShower(
        access,
        [{p.field: _text(p.value)} for p in provenance]
        + [{p.field: _text(o.value)} for p in provenance for o in p.others],
    )
    return [
        ProvenanceOut(
            field=item.field,
            label=str(getattr(item, "label", "") or field_label(item.field)),
            value=shower.raw(item.field, _text(item.value)),
            source=_text(item.source_code),
            source_name=_text(item.source_name),
            record_id=shown_text(access, _text(item.record_id)),
            as_of=_as_datetime(item.as_of),
            others=[
                OtherValueOut(
                    source=_text(other.source_code),
                    source_name=_text(other.source_name),
                    value=shower.raw(item.field, _text(other.value)),
                    record_id=shown_text(access, _text(other.record_id)),
                    received_at=_as_datetime(other.received_at),
                )
                for other in item.others
            ],
        )
        for item in provenance
        if shower.sees(item.field)
    ]
