"""Source systems (数据来源) for those who manage them: the list with each source's mapping,
records and last import; a source's mapping versions, import history with reports and unmapped
codes; a new mapping version; and the unmapped codes of every source, with Excel exports.

Only a role that manages sources sees these pages (``manages_sources``); to anyone else they are
"not found", audited as denied. Import reports quote values the source sent: ID and phone
numbers in them are masked as everywhere else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from renfang.accounts.access import (
    Access,
    shown_problem_reason,
    shown_problem_value,
    shown_text,
)
from renfang.accounts.powers import access_with_power
from renfang.audit.models import Action
from renfang.audit.services import audit_record
from renfang.sources.mapping import MappingError
from renfang.sources.models import Source, SourceImport, UnmappedCode
from renfang.sources.selectors import imports_list, sources_list, unmapped_codes_list
from renfang.sources.services import mapping_update
from renfang.web.exports import EXPORT_LIMIT, xlsx_response
from renfang.web.forms import MappingForm
from renfang.web.sourcefields import field_label

POWER = "manages_sources"
# The problems of one import the page lists (the report keeps the first 1,000).
PROBLEMS_SHOWN = 200


def _access(request: HttpRequest) -> Access:
    return access_with_power(request.user, POWER, path=request.path)


@dataclass(frozen=True)
class SourceRow:
    source: Source
    mapping_version: int | None
    records: int
    unmapped: int
    last_import: SourceImport | None


def _source_rows() -> list[SourceRow]:
    sources = list(sources_list())
    last_imports = SourceImport.objects.in_bulk(
        [s.last_import_id for s in sources if getattr(s, "last_import_id", None)]
    )
    return [
        SourceRow(
            source=source,
            mapping_version=_int_or_none(getattr(source, "mapping_version", None)),
            records=int(getattr(source, "record_count", 0) or 0),
            unmapped=int(getattr(source, "unmapped_count", 0) or 0),
            last_import=last_imports.get(getattr(source, "last_import_id", None) or 0),
        )
        for source in sources
    ]


def _int_or_none(value: object) -> int | None:
    return int(str(value)) if value is not None else None


@login_required
def sources_list_page(request: HttpRequest) -> HttpResponse:
    _access(request)
    rows = _source_rows()
    audit_record(Action.READ, user=request.user, record_type="source", detail={"list": "sources"})
    return render(request, "web/sources.html", {"rows": rows})


def _import_cells(source_import: SourceImport | None) -> list[Any]:
    if source_import is None:
        return ["", "", "", "", "", "", "", ""]
    return [
        timezone.localtime(source_import.started_at).replace(tzinfo=None),
        source_import.file_name,
        source_import.get_status_display(),
        source_import.records,
        source_import.new,
        source_import.changed,
        source_import.unchanged,
        source_import.flagged,
    ]


@login_required
def sources_export(request: HttpRequest) -> HttpResponse:
    _access(request)
    rows = [
        [
            row.source.code,
            row.source.name,
            row.mapping_version,
            row.records,
            row.unmapped,
            *_import_cells(row.last_import),
        ]
        for row in _source_rows()
    ]
    audit_record(
        Action.EXPORT,
        user=request.user,
        record_type="source",
        detail={"list": "sources", "rows": len(rows)},
    )
    return xlsx_response(
        filename=f"renfang-sources-{timezone.localdate().isoformat()}.xlsx",
        title=_("Sources"),
        header=[
            _("Code"),
            _("Name"),
            _("Mapping version"),
            _("Records"),
            _("Unmapped codes"),
            _("Last import"),
            _("File"),
            _("Status"),
            _("Records read"),
            _("New"),
            _("Changed"),
            _("Unchanged"),
            _("Flagged"),
        ],
        rows=rows,
    )


@dataclass(frozen=True)
class ProblemRow:
    record_id: str
    line: str
    field: str
    value: str
    reason: str


@dataclass(frozen=True)
class ImportRow:
    source_import: SourceImport
    message: str
    problems: list[ProblemRow]
    problems_total: int
    unmapped: list[dict[str, Any]]
    # Why a refused file was refused, line by line.
    errors: list[dict[str, str]]


def _import_row(source_import: SourceImport, access: Access) -> ImportRow:
    """An import with its report, identifiers in it masked for the user."""
    report = source_import.report if isinstance(source_import.report, dict) else {}
    problems = [p for p in report.get("problems") or [] if isinstance(p, dict)]
    unmapped = [u for u in report.get("unmapped") or [] if isinstance(u, dict)]
    errors = [e for e in report.get("errors") or [] if isinstance(e, dict)]
    return ImportRow(
        source_import=source_import,
        message=shown_text(access, str(report.get("message") or "")),
        problems=[
            ProblemRow(
                record_id=shown_text(access, str(p.get("record_id") or "")),
                line=str(p.get("line") or ""),
                field=field_label(str(p.get("field") or "")),
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
            for p in problems[:PROBLEMS_SHOWN]
        ],
        problems_total=len(problems),
        unmapped=[
            {
                "field": field_label(str(u.get("field") or "")),
                "value": shown_problem_value(
                    access, str(u.get("field") or ""), str(u.get("value") or "")
                ),
                "records": u.get("records") or 0,
            }
            for u in unmapped
        ],
        errors=[
            {
                "line": str(e.get("line") or ""),
                "column": str(e.get("column") or ""),
                "reason": shown_text(access, str(e.get("reason") or "")),
            }
            for e in errors[:PROBLEMS_SHOWN]
        ],
    )


def _source(code: str) -> Source:
    source = Source.objects.filter(code=code).first()
    if source is None:
        raise Http404
    return source


def _source_page(
    request: HttpRequest,
    source: Source,
    access: Access,
    *,
    form: MappingForm | None = None,
    mapping_errors: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    mappings = list(source.mappings.order_by("-version"))
    current = mappings[0] if mappings else None
    context = {
        "source": source,
        "mappings": mappings,
        "current_mapping": current,
        "imports": [_import_row(i, access) for i in imports_list(source)],
        "unmapped": _shown_codes(unmapped_codes_list(source), access),
        "form": form or MappingForm(initial={"text": current.text if current else ""}),
        "mapping_errors": mapping_errors or [],
        "problems_shown": PROBLEMS_SHOWN,
    }
    return render(request, "web/source_detail.html", context, status=status)


@login_required
def source_detail(request: HttpRequest, code: str) -> HttpResponse:
    access = _access(request)
    source = _source(code)
    audit_record(Action.READ, user=request.user, record_type="source", record_id=source.code)
    return _source_page(request, source, access)


def mapping_error_messages(error: MappingError) -> list[str]:
    """Each problem of an invalid mapping file, one line each (line, key, reason)."""
    problems = getattr(error, "problems", None)
    if problems:
        return [str(problem) for problem in problems]
    return [line for line in str(error).splitlines() if line.strip()] or [str(error)]


@login_required
@require_POST
def source_mapping_update(request: HttpRequest, code: str) -> HttpResponse:
    """A new version of the source's mapping, typed or uploaded; an invalid one is shown with
    every problem and nothing is saved. The service audits the change."""
    access = _access(request)
    source = _source(code)
    form = MappingForm(request.POST, request.FILES)
    if not form.is_valid():
        return _source_page(request, source, access, form=form, status=400)
    current = source.current_mapping()
    try:
        mapping = mapping_update(source, form.mapping_text(), actor=request.user)
    except MappingError as exc:
        return _source_page(
            request,
            source,
            access,
            form=form,
            mapping_errors=mapping_error_messages(exc),
            status=400,
        )
    if current is not None and mapping.pk == current.pk:
        messages.info(request, _("The mapping is unchanged; no new version was made."))
    else:
        messages.success(
            request,
            _("Mapping version %(version)s saved. It applies to the next import.")
            % {"version": mapping.version},
        )
    return redirect("web:source_detail", code=source.code)


# ---------------------------------------------------------------------------------------------
# Unmapped codes of every source


def _shown_codes(codes: Iterable[UnmappedCode], access: Access) -> list[UnmappedCode]:
    """The codes, each with ``shown_value``: its value as the user may see it (an unmapped
    value may be an identifier typed into the wrong column)."""
    shown = list(codes)
    for code in shown:
        code.shown_value = shown_problem_value(access, code.field, code.value)  # type: ignore[attr-defined]
    return shown


def _unmapped(request: HttpRequest, access: Access) -> tuple[list[UnmappedCode], Source | None]:
    code = request.GET.get("source", "").strip()
    source = Source.objects.filter(code=code).first() if code else None
    return _shown_codes(unmapped_codes_list(source), access), source


@login_required
def unmapped_codes(request: HttpRequest) -> HttpResponse:
    codes, source = _unmapped(request, _access(request))
    audit_record(
        Action.READ,
        user=request.user,
        record_type="source",
        detail={"list": "unmapped codes", "source": source.code if source else ""},
    )
    return render(
        request,
        "web/unmapped_codes.html",
        {
            "codes": codes,
            "source": source,
            "sources": list(Source.objects.order_by("code")),
            "field_labels": {c.field: field_label(c.field) for c in codes},
        },
    )


@login_required
def unmapped_codes_export(request: HttpRequest) -> HttpResponse:
    codes, source = _unmapped(request, _access(request))
    truncated = len(codes) > EXPORT_LIMIT
    rows = [
        [
            code.source.code,
            code.source.name,
            code.field,
            field_label(code.field),
            code.shown_value,  # type: ignore[attr-defined]
            code.records,
            timezone.localtime(code.first_seen).replace(tzinfo=None),
            timezone.localtime(code.last_seen).replace(tzinfo=None),
        ]
        for code in codes[:EXPORT_LIMIT]
    ]
    audit_record(
        Action.EXPORT,
        user=request.user,
        record_type="source",
        detail={
            "list": "unmapped codes",
            "rows": len(rows),
            "source": source.code if source else "",
            "truncated": truncated,
        },
    )
    return xlsx_response(
        filename=f"renfang-unmapped-codes-{timezone.localdate().isoformat()}.xlsx",
        title=_("Unmapped codes"),
        header=[
            _("Source"),
            _("Source name"),
            _("Field"),
            _("Field name"),
            _("Value"),
            _("Records"),
            _("First seen"),
            _("Last seen"),
        ],
        rows=rows,
        truncated=truncated,
    )
