"""The API of sources (数据来源): the source systems, each with its mapping versions and import
history, and the codes they sent that no code table knows (unmapped codes).

For roles that manage sources (``manages_sources``); others are refused (403). Import reports
quote values sources sent: ID and phone numbers in them are masked as on the pages.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Body, Field, Query, Router, Schema
from ninja.params import P, PathEx

from renfang.accounts.access import (
    Access,
    shown_problem_reason,
    shown_problem_value,
    shown_text,
)
from renfang.accounts.powers import access_with_power
from renfang.audit.models import Action
from renfang.audit.services import PERSON_IDS, audit_record
from renfang.core.api.auth import acting_user
from renfang.core.api.errors import ApiError, ErrorCode, error_responses, not_found
from renfang.core.api.pagination import PageOut, PageQuery, paginate, paginate_list
from renfang.people.identify import IdentifyRefused, publishing_paused_message
from renfang.sources.models import HeldRecord, Source, SourceImport, UnmappedCode
from renfang.sources.selectors import imports_list, sources_list, unmapped_codes_list
from renfang.sources.services.publish import (
    HeldRecordMissing,
    NotPublisher,
    PublishRefused,
    held_record_decide,
    held_records_for,
    record_publish,
)

router = Router(tags=["sources"])
unmapped_router = Router(tags=["sources"])

POWER = "manages_sources"
SourceCode = PathEx[
    str, P(pattern=r"^[-a-zA-Z0-9_]{1,40}$", description="The source's code, e.g. police.")
]


# --- schemas -----------------------------------------------------------------------------


class ImportOut(Schema):
    id: int
    file_name: str
    file_sha256: str
    status: str = Field(description="running, done or refused.")
    started_at: datetime.datetime
    finished_at: datetime.datetime | None
    actor: str
    mapping_version: int | None
    records: int = Field(description="Records read from the file.")
    new: int
    changed: int
    unchanged: int
    flagged: int = Field(description="Records kept with a field that could not be read.")


class ProblemOut(Schema):
    record_id: str = Field(description="The record's id in the source (identifiers masked).")
    line: str
    field: str
    value: str = Field(description="The value that could not be read (identifiers masked).")
    reason: str


class ReportedCodeOut(Schema):
    field: str
    value: str
    records: int


class RefusalOut(Schema):
    line: str
    column: str
    reason: str


class ImportDetailOut(ImportOut):
    message: str = Field(description="Why the file was refused; empty otherwise.")
    errors: list[RefusalOut] = Field(description="A refused file's errors, line by line.")
    problems: list[ProblemOut] = Field(description="The first problems, by record and field.")
    unmapped: list[ReportedCodeOut]


class SourceOut(Schema):
    code: str
    name: str
    mapping_version: int | None = Field(description="The current mapping's version.")
    records: int
    unmapped_codes: int
    last_import: ImportOut | None


class SourcePageOut(PageOut):
    results: list[SourceOut]


class MappingOut(Schema):
    version: int
    created_at: datetime.datetime
    created_by: str
    text: str = Field(description="The mapping file (YAML) as written.")


class SourceDetailOut(SourceOut):
    mappings: list[MappingOut] = Field(description="Every version, newest first.")
    imports: list[ImportDetailOut] = Field(description="Every import, newest first.")


class UnmappedCodeOut(Schema):
    source: str
    source_name: str
    field: str
    value: str
    records: int = Field(description="Records that carry the value now.")
    first_seen: datetime.datetime
    last_seen: datetime.datetime


class UnmappedCodePageOut(PageOut):
    results: list[UnmappedCodeOut]


class UnmappedCodeSentOut(Schema):
    field: str
    value: str


class PublishedOut(Schema):
    record_id: str
    status: str = Field(
        description="new, changed, or unchanged (the record as it was: nothing was written). "
        "The status of the source's record: no person is named (a record that would change a "
        "person outside your areas is held for review and answered the same way)."
    )
    unmapped: list[UnmappedCodeSentOut] = Field(
        description="Codes in the record that no code table knows: kept, and reported."
    )


class HeldRecordOut(Schema):
    id: int
    record_id: str = Field(description="The record's id in the source (identifiers masked).")
    person: int = Field(description="The person it would change (one you read).")
    publisher: str = Field(description="Who sent it.")
    received_at: datetime.datetime
    fields: list[str] = Field(description="The fields it sets (values not shown here).")


class HeldRecordPageOut(PageOut):
    results: list[HeldRecordOut]


class UnmappedQuery(PageQuery):
    source: str | None = Field(
        default=None, pattern=r"^[-a-zA-Z0-9_]{1,40}$", description="Only this source's codes."
    )


# --- building the answers --------------------------------------------------------------------


def _import_out(source_import: SourceImport) -> ImportOut:
    return ImportOut(
        id=source_import.pk,
        file_name=source_import.file_name,
        file_sha256=source_import.file_sha256,
        status=source_import.status,
        started_at=source_import.started_at,
        finished_at=source_import.finished_at,
        actor=source_import.actor,
        mapping_version=source_import.mapping.version if source_import.mapping else None,
        records=source_import.records,
        new=source_import.new,
        changed=source_import.changed,
        unchanged=source_import.unchanged,
        flagged=source_import.flagged,
    )


def _count(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _source_out(source: Source, last: SourceImport | None) -> dict[str, Any]:
    version = getattr(source, "mapping_version", None)
    return {
        "code": source.code,
        "name": source.name,
        "mapping_version": int(version) if version is not None else None,
        "records": _count(getattr(source, "record_count", 0)),
        "unmapped_codes": _count(getattr(source, "unmapped_count", 0)),
        "last_import": _import_out(last) if last is not None else None,
    }


def _last_imports(sources: list[Source]) -> dict[int, SourceImport]:
    """Each source's last import (``sources_list`` annotates its id), by source pk."""
    ids = {s.pk: getattr(s, "last_import_id", None) for s in sources}
    found = SourceImport.objects.select_related("mapping").in_bulk([i for i in ids.values() if i])
    return {pk: found[i] for pk, i in ids.items() if i in found}


def _import_detail(source_import: SourceImport, access: Access) -> ImportDetailOut:
    report = source_import.report if isinstance(source_import.report, dict) else {}
    problems = [p for p in report.get("problems") or [] if isinstance(p, dict)]
    unmapped = [u for u in report.get("unmapped") or [] if isinstance(u, dict)]
    errors = [e for e in report.get("errors") or [] if isinstance(e, dict)]
    return ImportDetailOut(
        **_import_out(source_import).dict(),
        message=shown_text(access, str(report.get("message") or "")),
        errors=[
            RefusalOut(
                line=str(e.get("line") or ""),
                column=str(e.get("column") or ""),
                reason=shown_text(access, str(e.get("reason") or "")),
            )
            for e in errors
        ],
        problems=[
            ProblemOut(
                record_id=shown_text(access, str(p.get("record_id") or "")),
                line=str(p.get("line") or ""),
                field=str(p.get("field") or ""),
                value=shown_problem_value(
                    access, str(p.get("field") or ""), str(p.get("value") or "")
                ),
                reason=shown_problem_reason(
                    access,
                    str(p.get("field") or ""),
                    str(p.get("value") or ""),
                    str(p.get("reason") or ""),
                ),
            )
            for p in problems
        ],
        unmapped=[
            ReportedCodeOut(
                field=str(u.get("field") or ""),
                value=shown_problem_value(
                    access, str(u.get("field") or ""), str(u.get("value") or "")
                ),
                records=_count(u.get("records")),
            )
            for u in unmapped
        ],
    )


def _unmapped_out(code: UnmappedCode, access: Access) -> UnmappedCodeOut:
    return UnmappedCodeOut(
        source=code.source.code,
        source_name=code.source.name,
        field=code.field,
        value=shown_problem_value(access, code.field, code.value),
        records=code.records,
        first_seen=code.first_seen,
        last_seen=code.last_seen,
    )


def _source_or_404(code: str) -> Source:
    source = sources_list().filter(code=code).first()
    if source is None:
        raise not_found()
    return source


def _unmapped_page(
    request: HttpRequest,
    codes: QuerySet[UnmappedCode] | list[UnmappedCode],
    query: PageQuery,
    access: Access,
) -> UnmappedCodePageOut:
    paged = (
        paginate(codes.select_related("source"), query)
        if isinstance(codes, QuerySet)
        else paginate_list(codes, query)
    )
    return UnmappedCodePageOut(
        **paged.meta(), results=[_unmapped_out(c, access) for c in paged.rows]
    )


# --- operations ----------------------------------------------------------------------------


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


def _held_out(held: HeldRecord, access: Access) -> HeldRecordOut:
    mapped = held.mapped if isinstance(held.mapped, dict) else {}
    publisher = held.publisher
    return HeldRecordOut(
        id=held.pk,
        record_id=shown_text(access, held.record_id),
        person=held.person_id,
        publisher=publisher.get_username() if publisher is not None else "",
        received_at=held.received_at,
        fields=sorted(name for name, value in mapped.items() if value not in (None, "")),
    )


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


class HeldDecisionIn(Schema):
    apply: bool = Field(description="true: apply the record now; false: reject it.")


class HeldDecisionOut(Schema):
    id: int
    applied: bool
    status: str = Field(description="The record's status when applied; empty when rejected.")


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
