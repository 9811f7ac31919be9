"""The API of conflicts (数据冲突): a source that disagrees with the authoritative value of a
field, for the street office to settle or send out for a visit.

For roles that settle conflicts (``settles_conflicts``; others: 403), and only conflicts of
people of the caller's area (others: 404). Values are masked and granted as on the person page.
"""

from __future__ import annotations

import datetime
from typing import Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.params import P, PathEx

from renfang.accounts.access import Access, shown_text
from renfang.accounts.powers import access_with_power
from renfang.audit.models import Action
from renfang.audit.services import PERSON_IDS, audit_record
from renfang.core.api.auth import acting_user
from renfang.core.api.errors import error_responses, not_found, validation_error
from renfang.core.api.pagination import PageOut, PageQuery, paginate
from renfang.core.api.schemas import AREA_PATTERN, TEXT_PATTERN
from renfang.core.api.scope import area_in_reach
from renfang.people.conflicts import conflict_get_for_user, conflict_settle, conflicts_for_user
from renfang.people.models import Conflict, Person
from renfang.people.presenters import person_title
from renfang.people.selectors import people_in_area_q
from renfang.sources.models import Source
from renfang.web.sourcefields import SOURCE_FIELDS, ValueShower

router = Router(tags=["conflicts"])

POWER = "settles_conflicts"
ConflictId = PathEx[int, P(ge=1, le=2**63 - 1, description="The conflict's id.")]
_FIELD_PATTERN = "^(" + "|".join(SOURCE_FIELDS) + ")$"


class ConflictOut(Schema):
    id: int
    person_id: int
    person: str = Field(description="The person's name (or a neutral title if not granted).")
    field: str
    golden_value: str | None = Field(
        description="The authoritative value (masked; null when your role is not granted it)."
    )
    golden_source: str
    golden_source_name: str
    other_value: str | None
    other_source: str
    other_source_name: str
    other_record_id: str = Field(description="The other record's id in its source (masked).")
    status: str = Field(description="open, visit (sent for a visit) or settled.")
    note: str
    settled_by: str | None
    settled_at: datetime.datetime | None
    found_at: datetime.datetime


class ConflictPageOut(PageOut):
    results: list[ConflictOut]


class ConflictsQuery(PageQuery):
    status: str | None = Field(
        default="open",
        pattern="^(open|visit|settled|all)$",
        description="open (default), visit, settled or all.",
    )
    field: str | None = Field(default=None, pattern=_FIELD_PATTERN, description="One field.")
    area: str | None = Field(
        default=None,
        pattern=AREA_PATTERN,
        description="Only people of this area (a committee, a street…); it must lie in yours.",
    )


class SettleIn(Schema):
    status: Literal["settled", "visit"] = Field(
        description="settled (a note says how) or visit (send someone to look)."
    )
    note: str = Field(default="", max_length=300, pattern=TEXT_PATTERN)


def _conflict_out(conflict: Conflict, access: Access, names: dict[str, str]) -> ConflictOut:
    shower = ValueShower(
        access, [{conflict.field: conflict.golden_value}, {conflict.field: conflict.other_value}]
    )
    settled_by = conflict.settled_by.get_username() if conflict.settled_by is not None else None
    return ConflictOut(
        id=conflict.pk,
        person_id=conflict.person_id,
        person=person_title(conflict.person, access),
        field=conflict.field,
        golden_value=shower.raw(conflict.field, conflict.golden_value),
        golden_source=conflict.golden_source,
        golden_source_name=names.get(conflict.golden_source, conflict.golden_source),
        other_value=shower.raw(conflict.field, conflict.other_value),
        other_source=conflict.other_source,
        other_source_name=names.get(conflict.other_source, conflict.other_source),
        other_record_id=shown_text(access, conflict.other_record.record_id),
        status=conflict.status,
        note=conflict.note,
        settled_by=settled_by,
        settled_at=conflict.settled_at,
        found_at=conflict.created_at,
    )


def _source_names() -> dict[str, str]:
    return dict(Source.objects.values_list("code", "name"))


@router.get(
    "",
    operation_id="conflicts_list",
    summary="Conflicts between sources",
    response={200: ConflictPageOut, **error_responses(401, 403, 404, 422)},
)
def conflicts_list(request: HttpRequest, query: Query[ConflictsQuery]) -> ConflictPageOut:
    """Conflicts of people of your area: the authoritative value and source, the other value
    and source. Filter by `status`, `field` and `area`. Audited as a search."""
    user = acting_user(request)
    access = access_with_power(user, POWER, operation="conflicts_list")
    area = area_in_reach(user, query.area, parameter="area") if query.area else None
    status = None if query.status in {None, "all"} else query.status
    conflicts = conflicts_for_user(user, status=status, field=query.field or None)
    if area is not None:
        conflicts = conflicts.filter(
            person__in=Person.objects.filter(people_in_area_q((area.code,)))
        )
    paged = paginate(conflicts.select_related("person", "other_record", "settled_by"), query)
    audit_record(
        Action.SEARCH,
        user=user,
        record_type="conflict",
        detail={
            "list": "conflicts",
            "status": query.status or "",
            "field": query.field or "",
            "area": area.code if area else "",
            # The people shown (issue 11): "who has read this person" finds this event.
            PERSON_IDS: list(dict.fromkeys(c.person_id for c in paged.rows)),
        },
    )
    names = _source_names()
    return ConflictPageOut(
        **paged.meta(), results=[_conflict_out(c, access, names) for c in paged.rows]
    )


@router.post(
    "/{conflict_id}/settle",
    operation_id="conflict_settle",
    url_name="conflict_settle",
    summary="Settle a conflict or send it for a visit",
    response={200: ConflictOut, **error_responses(401, 403, 404, 422)},
)
def conflict_settle_op(
    request: HttpRequest, conflict_id: ConflictId, payload: SettleIn
) -> ConflictOut:
    """`settled` needs a `note` saying how (422 otherwise); `visit` sends someone to look.
    Audited."""
    user = acting_user(request)
    access = access_with_power(user, POWER, operation="conflict_settle")
    try:
        conflict = conflict_get_for_user(user, conflict_id)
    except Conflict.DoesNotExist as exc:
        raise not_found() from exc
    if payload.status == "settled" and not payload.note.strip():
        raise validation_error("note", _("Say how it was settled."))
    try:
        conflict_settle(conflict, user=user, status=payload.status, note=payload.note)
    except ValueError as exc:
        raise validation_error("status", str(exc)) from exc
    conflict.refresh_from_db()
    return _conflict_out(conflict, access, _source_names())
