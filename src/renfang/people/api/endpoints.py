"""The people API operations (``router``): lists, lookup, one person, residences, unmasking, the
provenance of fields."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router

from renfang.accounts.access import (
    access_for,
    shown_text,
)
from renfang.accounts.models import PersonField
from renfang.core.api.auth import acting_user
from renfang.core.api.errors import (
    ApiError,
    ErrorCode,
    error_responses,
    field_not_granted,
    not_found,
)
from renfang.people.api.queries import (
    _as_datetime,
    _text,
    people_page,
    person_detail,
    person_or_survivor_for_user,
    residence_rows,
)
from renfang.people.api.schemas import (
    LookupIn,
    OtherValueOut,
    PeopleQuery,
    PersonId,
    PersonOut,
    PersonPageOut,
    ProvenanceOut,
    ResidenceOut,
    UnmaskIn,
    UnmaskOut,
)
from renfang.people.golden import FieldProvenance, names_sources, person_provenance
from renfang.people.models import Person
from renfang.people.selectors import (
    RevealRefused,
    person_identifier_reveal_for_user,
)
from renfang.web.sourcefields import ValueShower, field_label

router = Router(tags=["people"])


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
