"""What the sources API's operations look up and build: a source or 404, the answers of
sources, imports (their reports masked as on the pages), unmapped codes and held records."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest

from renfang.accounts.access import (
    Access,
    shown_problem_reason,
    shown_problem_value,
    shown_text,
)
from renfang.core.api.errors import not_found
from renfang.core.api.pagination import PageQuery, paginate, paginate_list
from renfang.sources.api.schemas import (
    HeldRecordOut,
    ImportDetailOut,
    ImportOut,
    ProblemOut,
    RefusalOut,
    ReportedCodeOut,
    UnmappedCodeOut,
    UnmappedCodePageOut,
)
from renfang.sources.models import HeldRecord, Source, SourceImport, UnmappedCode
from renfang.sources.selectors import sources_list


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
