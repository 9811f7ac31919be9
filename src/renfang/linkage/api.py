"""The API of identity resolution (身份识别): the review queue (pairs of records that might be
one person), a reviewer's decision, and merging and splitting persons.

For roles that resolve identities (``resolves_identities``; others: 403), and only for pairs and
persons of the caller's area (others: 404, as a missing one). Mapped values are masked and
granted as on the person page. The linkage services write and audit.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.params import P, PathEx

from renfang.accounts.access import Access, shown_text
from renfang.accounts.powers import access_with_power
from renfang.audit.models import Action
from renfang.audit.services import PERSON_IDS, audit_record
from renfang.core.api.auth import acting_user
from renfang.core.api.errors import (
    ApiError,
    ErrorCode,
    error_responses,
    not_found,
    validation_error,
)
from renfang.core.api.pagination import PageOut, PageQuery, paginate
from renfang.core.api.schemas import TEXT_PATTERN
from renfang.linkage.models import MergeKind, PersonMerge, ReviewPair, ReviewStatus
from renfang.linkage.selectors import (
    pair_weight,
    review_pair_get_for_user,
    review_pairs_for_user,
)
from renfang.linkage.services import LinkageError, person_merge, person_split, review_decide
from renfang.people.models import Person
from renfang.people.selectors import people_visible_to, person_get_for_user
from renfang.sources.models import SourceRecord
from renfang.web.sourcefields import ValueShower, field_label, field_order

router = Router(tags=["review"])
people_router = Router(tags=["people"])

POWER = "resolves_identities"
PairId = PathEx[int, P(ge=1, le=2**63 - 1, description="The review pair's id.")]
PersonId = PathEx[int, P(ge=1, le=2**63 - 1, description="The person's id.")]


# --- schemas -----------------------------------------------------------------------------


class RecordOut(Schema):
    id: int = Field(description="The source record's id in renfang.")
    source: str = Field(description="The source's code.")
    source_name: str
    record_id: str = Field(description="The record's id in the source (identifiers masked).")
    name: str | None = Field(description="The name the record holds; null when not granted.")
    person_id: int | None = Field(
        description="The person the record belongs to now; null when none, or outside your area."
    )


class PairSummaryOut(Schema):
    id: int
    status: str = Field(description="open, same (linked) or different (kept apart).")
    probability: float
    match_weight: float
    left: RecordOut
    right: RecordOut


class PairPageOut(PageOut):
    results: list[PairSummaryOut]


class PairFieldOut(Schema):
    field: str
    label: str
    left: str | None = Field(description="The value (masked); null when not granted or none.")
    right: str | None
    weight: float | None = Field(description="The match weight of this comparison.")
    level: str = Field(description="The comparison level the values reached.")


class PairOut(PairSummaryOut):
    fields: list[PairFieldOut] = Field(
        description="The two records field by field, with match weights (granted fields only)."
    )
    decided_by: str | None
    decided_at: datetime.datetime | None
    note: str


class PairsQuery(PageQuery):
    status: str = Field(
        default=ReviewStatus.OPEN,
        pattern=r"^(open|same|different)$",
        description="open (default), same or different.",
    )


class DecisionIn(Schema):
    same: bool = Field(description="true: one person (link); false: two people (keep apart).")
    note: str = Field(default="", max_length=300, pattern=TEXT_PATTERN)


class MergeIn(Schema):
    other: int = Field(ge=1, le=2**63 - 1, description="The person merged into this one.")
    reason: str = Field(min_length=2, max_length=300, pattern=TEXT_PATTERN)


class SplitIn(Schema):
    records: list[int] = Field(
        min_length=1, description="Source record ids (see …/provenance) to move to a new person."
    )
    reason: str = Field(min_length=2, max_length=300, pattern=TEXT_PATTERN)


class MergeOut(Schema):
    kind: str = Field(description="merge or split.")
    survivor: int = Field(description="The person that stays (merge) or was split (split).")
    merged: int = Field(description="The person merged away (merge) or made new (split).")
    records: list[int] = Field(description="The source records that moved.")
    at: datetime.datetime
    reason: str


# --- building the answers --------------------------------------------------------------------


def _visible_people(user: AbstractBaseUser, pairs: list[ReviewPair]) -> set[int]:
    ids = {r.person_id for p in pairs for r in (p.left, p.right) if r.person_id is not None}
    if not ids:
        return set()
    return set(people_visible_to(user).filter(pk__in=ids).values_list("pk", flat=True))


def _record_out(record: SourceRecord, shower: ValueShower, visible: set[int]) -> RecordOut:
    return RecordOut(
        id=record.pk,
        source=record.source.code,
        source_name=record.source.name,
        record_id=shown_text(shower.access, record.record_id),
        name=shower.raw("name", record.mapped.get("name", "")) or None,
        person_id=record.person_id if record.person_id in visible else None,
    )


def _summary(pair: ReviewPair, shower: ValueShower, visible: set[int]) -> dict[str, Any]:
    return {
        "id": pair.pk,
        "status": pair.status,
        "probability": pair.probability,
        "match_weight": pair.match_weight,
        "left": _record_out(pair.left, shower, visible),
        "right": _record_out(pair.right, shower, visible),
    }


def _pair_out(user: AbstractBaseUser, pair: ReviewPair, access: Access) -> PairOut:
    left, right = pair.left.mapped, pair.right.mapped
    shower = ValueShower(access, [left, right])
    weights: dict[str, Any] = pair.weights if isinstance(pair.weights, dict) else {}
    fields = []
    for field in field_order({*left, *right, *weights}):
        if field in {*left, *right} and not shower.sees(field):
            continue
        weight, level = pair_weight(weights, field)
        fields.append(
            PairFieldOut(
                field=field,
                label=field_label(field),
                left=shower.raw(field, left.get(field, "")) or None,
                right=shower.raw(field, right.get(field, "")) or None,
                weight=weight,
                level=level,
            )
        )
    decided_by = pair.decided_by.get_username() if pair.decided_by is not None else None
    return PairOut(
        **_summary(pair, shower, _visible_people(user, [pair])),
        fields=fields,
        decided_by=decided_by,
        decided_at=pair.decided_at,
        note=pair.note,
    )


def _pair_or_404(user: AbstractBaseUser, pair_id: int) -> ReviewPair:
    try:
        return review_pair_get_for_user(user, pair_id)
    except ReviewPair.DoesNotExist as exc:
        raise not_found() from exc


def _conflict(exc: LinkageError) -> ApiError:
    return ApiError(400, ErrorCode.BAD_REQUEST, str(exc))


def _merge_out(merge: PersonMerge) -> MergeOut:
    return MergeOut(
        kind=merge.kind,
        survivor=merge.survivor_id,
        merged=merge.merged_id,
        records=[int(r) for r in merge.records or []],
        at=merge.at,
        reason=merge.reason,
    )


# --- operations ----------------------------------------------------------------------------


@router.get(
    "",
    operation_id="review_pairs_list",
    summary="The review queue",
    response={200: PairPageOut, **error_responses(401, 403, 422)},
)
def review_pairs_list(request: HttpRequest, query: Query[PairsQuery]) -> PairPageOut:
    """Pairs of records that might be one person, in your area (both records' persons in
    it: a pair straddling two areas is for a level that sees both), most probable first;
    `status` picks open (to review), same or different pairs."""
    user = acting_user(request)
    access = access_with_power(user, POWER, operation="review_pairs_list")
    pairs = review_pairs_for_user(user, status=query.status).select_related(
        "left__source", "right__source"
    )
    paged = paginate(pairs, query)
    rows: list[ReviewPair] = list(paged.rows)
    shower = ValueShower(access)
    visible = _visible_people(user, rows)
    audit_record(
        Action.SEARCH,
        user=user,
        record_type="review_pair",
        detail={
            "list": "review pairs",
            "status": query.status,
            # The people shown (issue 11): "who has read this person" finds this event.
            PERSON_IDS: list(
                dict.fromkeys(
                    p
                    for pair in rows
                    for p in (pair.left.person_id, pair.right.person_id)
                    if p is not None
                )
            ),
        },
    )
    return PairPageOut(
        **paged.meta(), results=[PairSummaryOut(**_summary(p, shower, visible)) for p in rows]
    )


@router.get(
    "/{pair_id}",
    operation_id="review_pair_get",
    summary="One review pair",
    response={200: PairOut, **error_responses(401, 403, 404, 422)},
)
def review_pair_get(request: HttpRequest, pair_id: PairId) -> PairOut:
    """The two records side by side, field by field, with each comparison's match weight and
    level, and the decision if one was taken. Audited as a read."""
    user = acting_user(request)
    access = access_with_power(user, POWER, operation="review_pair_get")
    return _pair_out(user, _pair_or_404(user, pair_id), access)


@router.post(
    "/{pair_id}/decision",
    operation_id="review_pair_decide",
    summary="Decide a review pair",
    response={200: PairOut, **error_responses(400, 401, 403, 404, 422)},
)
def review_pair_decide(request: HttpRequest, pair_id: PairId, payload: DecisionIn) -> PairOut:
    """`same: true` links the two records' persons into one; `false` keeps them apart. The
    decision is kept: `renfang resolve` follows it from then on. Audited."""
    user = acting_user(request)
    access = access_with_power(user, POWER, operation="review_pair_decide")
    pair = _pair_or_404(user, pair_id)
    try:
        review_decide(pair, same=payload.same, user=user, note=payload.note)
    except LinkageError as exc:
        raise _conflict(exc) from exc
    pair.refresh_from_db()
    return _pair_out(user, pair, access)


def _person_or_404(user: AbstractBaseUser, person_id: int, *, purpose: str = "") -> Person:
    try:
        return person_get_for_user(user, person_id, purpose=purpose)
    except Person.DoesNotExist as exc:
        raise not_found() from exc


@people_router.post(
    "/{person_id}/merge",
    operation_id="person_merge",
    url_name="person_merge",
    summary="Merge another person into this one",
    response={200: MergeOut, **error_responses(400, 401, 403, 404, 422)},
)
def person_merge_op(request: HttpRequest, person_id: PersonId, payload: MergeIn) -> MergeOut:
    """`other`'s source records and facts go to this person; `other`'s id answers with this
    person from then on. Both must be in your area (404 otherwise, for either). Audited."""
    user = acting_user(request)
    access_with_power(user, POWER, operation="person_merge")
    person = _person_or_404(user, person_id)
    if payload.other == person.pk:
        raise validation_error("other", _("A person cannot be merged into themselves."))
    try:
        other = person_get_for_user(user, payload.other, purpose="merge")
    except Person.DoesNotExist as exc:
        raise not_found("other") from exc
    try:
        merge = person_merge(person, other, user=user, reason=payload.reason)
    except LinkageError as exc:
        raise _conflict(exc) from exc
    return _merge_out(merge)


@people_router.post(
    "/{person_id}/split",
    operation_id="person_split",
    url_name="person_split",
    summary="Split records off to a new person",
    response={200: MergeOut, **error_responses(400, 401, 403, 404, 422)},
)
def person_split_op(request: HttpRequest, person_id: PersonId, payload: SplitIn) -> MergeOut:
    """The listed source records of this person go to a new person (the answer's `merged`).
    Every record must be this person's (422 otherwise). Audited."""
    user = acting_user(request)
    access_with_power(user, POWER, operation="person_split")
    person = _person_or_404(user, person_id)
    own = set(SourceRecord.objects.filter(person=person).values_list("pk", flat=True))
    if not set(payload.records) <= own:
        raise validation_error("records", _("These records are not this person's."))
    try:
        new_person = person_split(
            person, sorted(set(payload.records)), user=user, reason=payload.reason
        )
    except LinkageError as exc:
        raise _conflict(exc) from exc
    merge = (
        PersonMerge.objects.filter(kind=MergeKind.SPLIT, survivor=person, merged=new_person)
        .order_by("-at", "-pk")
        .first()
    )
    if merge is None:  # the service keeps the history; answer from what we know if it did not
        return MergeOut(
            kind=MergeKind.SPLIT,
            survivor=person.pk,
            merged=new_person.pk,
            records=sorted(set(payload.records)),
            at=datetime.datetime.now(tz=datetime.UTC),
            reason=payload.reason,
        )
    return _merge_out(merge)
