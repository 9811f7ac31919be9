"""The operations of the sources API: on ``router`` (``/sources``) the sources, their unmapped
codes, publishing a record and the held records; on ``unmapped_router`` every source's unmapped
codes."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Body, Query, Router
from ninja.params import P, PathEx

from renfang.accounts.powers import access_with_power
from renfang.audit.models import Action
from renfang.audit.services import PERSON_IDS, audit_record
from renfang.core.api.auth import acting_user
from renfang.core.api.errors import ApiError, ErrorCode, error_responses, not_found
from renfang.core.api.pagination import PageQuery, paginate, paginate_list
from renfang.people.identify import IdentifyRefused, publishing_paused_message
from renfang.sources.api.queries import (
    _held_out,
    _import_detail,
    _last_imports,
    _source_or_404,
    _source_out,
    _unmapped_page,
)
from renfang.sources.api.schemas import (
    HeldDecisionIn,
    HeldDecisionOut,
    HeldRecordPageOut,
    MappingOut,
    PublishedOut,
    SourceDetailOut,
    SourceOut,
    SourcePageOut,
    UnmappedCodePageOut,
    UnmappedCodeSentOut,
    UnmappedQuery,
)
from renfang.sources.models import Source
from renfang.sources.selectors import imports_list, sources_list, unmapped_codes_list
from renfang.sources.services.publish.held import (
    HeldRecordMissing,
    held_record_decide,
    held_records_for,
)
from renfang.sources.services.publish.outcomes import NotPublisher, PublishRefused
from renfang.sources.services.publish.record import record_publish

router = Router(tags=["sources"])
unmapped_router = Router(tags=["sources"])


POWER = "manages_sources"


SourceCode = PathEx[
    str, P(pattern=r"^[-a-zA-Z0-9_]{1,40}$", description="The source's code, e.g. police.")
]


@router.get(
    "",
    operation_id="sources_list",
    url_name="sources_list",
    summary="Source systems",
    response={200: SourcePageOut, **error_responses(401, 403, 422)},
)
def sources_list_op(request: HttpRequest, query: Query[PageQuery]) -> SourcePageOut:
    """Every source with its current mapping version, record count, unmapped codes count and
    last import."""
    user = acting_user(request)
    access_with_power(user, POWER, operation="sources_list")
    paged = paginate_list(list(sources_list()), query)
    last = _last_imports(list(paged.rows))
    audit_record(Action.READ, user=user, record_type="source", detail={"list": "sources"})
    return SourcePageOut(
        **paged.meta(),
        results=[SourceOut(**_source_out(s, last.get(s.pk))) for s in paged.rows],
    )


@router.get(
    "/{code}",
    operation_id="source_get",
    summary="One source",
    response={200: SourceDetailOut, **error_responses(401, 403, 404, 422)},
)
def source_get(request: HttpRequest, code: SourceCode) -> SourceDetailOut:
    """A source with every mapping version (the YAML text) and every import with its report."""
    user = acting_user(request)
    access = access_with_power(user, POWER, operation="source_get")
    source = _source_or_404(code)
    imports = list(imports_list(source))
    audit_record(Action.READ, user=user, record_type="source", record_id=source.code)
    return SourceDetailOut(
        **_source_out(source, imports[0] if imports else None),
        mappings=[
            MappingOut(
                version=m.version, created_at=m.created_at, created_by=m.created_by, text=m.text
            )
            for m in source.mappings.order_by("-version")
        ],
        imports=[_import_detail(i, access) for i in imports],
    )


@router.get(
    "/{code}/unmapped-codes",
    operation_id="source_unmapped_codes_list",
    summary="A source's unmapped codes",
    response={200: UnmappedCodePageOut, **error_responses(401, 403, 404, 422)},
)
def source_unmapped_codes_list(
    request: HttpRequest, code: SourceCode, query: Query[PageQuery]
) -> UnmappedCodePageOut:
    """The values this source sent that no code table knows, most records first."""
    user = acting_user(request)
    access = access_with_power(user, POWER, operation="source_unmapped_codes_list")
    source = _source_or_404(code)
    audit_record(
        Action.READ,
        user=user,
        record_type="source",
        record_id=source.code,
        detail={"list": "unmapped codes"},
    )
    return _unmapped_page(request, unmapped_codes_list(source), query, access)


@unmapped_router.get(
    "",
    operation_id="unmapped_codes_list",
    url_name="unmapped_codes_list",
    summary="Unmapped codes of every source",
    response={200: UnmappedCodePageOut, **error_responses(401, 403, 404, 422)},
)
def unmapped_codes_list_op(
    request: HttpRequest, query: Query[UnmappedQuery]
) -> UnmappedCodePageOut:
    """Values that sources sent and no code table knows (source, field, value, records);
    `source` keeps one source's."""
    user = acting_user(request)
    access = access_with_power(user, POWER, operation="unmapped_codes_list")
    source = None
    if query.source:
        source = Source.objects.filter(code=query.source).first()
        if source is None:
            raise not_found("source")
    audit_record(
        Action.READ,
        user=user,
        record_type="source",
        detail={"list": "unmapped codes", "source": source.code if source else ""},
    )
    return _unmapped_page(request, unmapped_codes_list(source), query, access)


@router.post(
    "/{code}/records",
    operation_id="source_record_publish",
    summary="Publish one record of a source",
    response={200: PublishedOut, **error_responses(401, 403, 404, 422, 429)},
)
def source_record_publish(
    request: HttpRequest, code: SourceCode, values: Body[dict[str, Any]]
) -> PublishedOut:
    """One record of the source, as one line of a JSON Lines import of it (its columns and
    their values; the source's mapping reads them). It is stored (a new record or a new
    version of it), linked to a person (the one holding its valid resident ID, else a new
    person until the next identity resolution), and the person's golden record is refreshed:
    what changed goes out as events to the subscribers. Sending the same record again changes
    nothing. A value that cannot be read is refused (422, naming the field and the reason)
    and nothing is saved. Only the source's publishers may send (403 for anyone else), and
    only within their grant: a record stating a division outside the publisher's areas, or
    setting a field or tag it is not granted, is refused (403, naming each field; audited as
    denied). A record that would change a person outside the publisher's areas is held for
    review, unapplied, and answered as a new record is. The answer names no person."""
    user = acting_user(request)
    source = Source.objects.filter(code=code).first()
    if source is None:
        raise not_found()
    try:
        published = record_publish(source, values, actor=user)
    except NotPublisher as refused:
        raise ApiError(
            403, ErrorCode.PERMISSION_DENIED, refused.problems[0][1], refused.problems
        ) from refused
    except IdentifyRefused as paused:
        raise ApiError(429, ErrorCode.TOO_MANY_REQUESTS, publishing_paused_message()) from paused
    except PublishRefused as refused:
        raise ApiError(
            422,
            ErrorCode.VALIDATION_ERROR,
            _("The record is not valid; see fields. Nothing was saved."),
            refused.problems,
        ) from refused
    return PublishedOut(
        record_id=published.record_id,
        status=published.status,
        unmapped=[UnmappedCodeSentOut(field=f, value=v) for f, v in published.unmapped],
    )


# --- held records (ADR 0022) ------------------------------------------------------------------


@router.get(
    "/{code}/held-records",
    operation_id="source_held_records_list",
    summary="A source's held records",
    response={200: HeldRecordPageOut, **error_responses(401, 403, 404, 422)},
)
def source_held_records_list(
    request: HttpRequest, code: SourceCode, query: Query[PageQuery]
) -> HeldRecordPageOut:
    """Published records held unapplied because they would change a person outside their
    publisher's areas: those of persons you read, oldest first, for review."""
    user = acting_user(request)
    access = access_with_power(user, POWER, operation="source_held_records_list")
    source = _source_or_404(code)
    paged = paginate(held_records_for(user, source).select_related("publisher"), query)
    rows = list(paged.rows)
    audit_record(
        Action.READ,
        user=user,
        record_type="source",
        record_id=source.code,
        # The people shown, by the key "who has read this person" indexes (ADR 0018).
        detail={"list": "held records", PERSON_IDS: sorted({h.person_id for h in rows})},
    )
    return HeldRecordPageOut(**paged.meta(), results=[_held_out(h, access) for h in rows])


@router.post(
    "/{code}/held-records/{held_id}/decision",
    operation_id="source_held_record_decide",
    summary="Apply or reject a held record",
    response={200: HeldDecisionOut, **error_responses(401, 403, 404, 422)},
)
def source_held_record_decide(
    request: HttpRequest, code: SourceCode, held_id: int, decision: HeldDecisionIn
) -> HeldDecisionOut:
    """Apply a held record (as its publisher's, read by the current mapping; you must be
    granted what it sets) or reject it. Only records of persons you read (404 otherwise).
    Audited."""
    user = acting_user(request)
    access_with_power(user, POWER, operation="source_held_record_decide")
    source = _source_or_404(code)
    try:
        published = held_record_decide(source, held_id, apply=decision.apply, actor=user)
    except HeldRecordMissing as missing:
        raise not_found() from missing
    except PublishRefused as refused:
        raise ApiError(
            422, ErrorCode.VALIDATION_ERROR, _("The record cannot be applied."), refused.problems
        ) from refused
    return HeldDecisionOut(
        id=held_id,
        applied=published is not None,
        status=published.status if published is not None else "",
    )
