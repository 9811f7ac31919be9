"""Conflicts (数据冲突): a source that disagrees with the authoritative value of a field, for
the street office to settle (saying how) or to send out for a visit; the list by field, status
and committee, with an Excel export.

Only roles that settle conflicts (``settles_conflicts``) see these pages, and only the
conflicts of people of their area. The values are masked and granted like the person page.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from renfang.accounts.access import Access, in_areas_q
from renfang.accounts.powers import access_with_power
from renfang.accounts.scope import area_get_for_user
from renfang.areas.models import Area, AreaLevel
from renfang.audit.models import Action
from renfang.audit.services import PERSON_IDS, audit_record
from renfang.people.conflicts import conflict_get_for_user, conflict_settle, conflicts_for_user
from renfang.people.models import Conflict, ConflictStatus, Person
from renfang.people.presenters import person_title
from renfang.people.selectors import people_in_area_q
from renfang.sources.models import Source
from renfang.web.exports import EXPORT_LIMIT, xlsx_response
from renfang.web.forms import ConflictSettleForm
from renfang.web.sourcefields import SOURCE_FIELDS, ValueShower, field_label

POWER = "settles_conflicts"
PAGE_SIZE = 50
STATUSES = {s.value: s.label for s in ConflictStatus}


def _access(request: HttpRequest) -> Access:
    return access_with_power(request.user, POWER, path=request.path)


@dataclass(frozen=True)
class Filters:
    status: str
    field: str
    committee: Area | None

    def query(self) -> dict[str, str]:
        params = {"status": self.status, "field": self.field}
        if self.committee is not None:
            params["committee"] = self.committee.code
        return {k: v for k, v in params.items() if v}


def _filters(request: HttpRequest) -> Filters:
    status = request.GET.get("status", ConflictStatus.OPEN)
    field = request.GET.get("field", "")
    committee_code = request.GET.get("committee", "").strip()
    committee = None
    if committee_code:
        try:
            committee = area_get_for_user(request.user, committee_code)
        except Area.DoesNotExist as exc:
            raise Http404 from exc
    return Filters(
        status=status if status in STATUSES or status == "all" else ConflictStatus.OPEN,
        field=field if field in SOURCE_FIELDS else "",
        committee=committee,
    )


def _conflicts(request: HttpRequest, filters: Filters) -> QuerySet[Conflict]:
    conflicts = conflicts_for_user(
        request.user,
        status=None if filters.status == "all" else filters.status,
        field=filters.field or None,
    )
    if filters.committee is not None:
        conflicts = conflicts.filter(
            person__in=Person.objects.filter(people_in_area_q((filters.committee.code,)))
        )
    return conflicts.select_related("person", "other_record")


@dataclass(frozen=True)
class ConflictRow:
    conflict: Conflict
    person_title: str
    field: str
    golden_value: str | None
    golden_source: str
    other_value: str | None
    other_source: str


def _source_names() -> dict[str, str]:
    return dict(Source.objects.values_list("code", "name"))


def _rows(conflicts: list[Conflict], access: Access) -> list[ConflictRow]:
    names = _source_names()
    shower = ValueShower(
        access,
        [{c.field: c.golden_value} for c in conflicts]
        + [{c.field: c.other_value} for c in conflicts],
    )
    return [
        ConflictRow(
            conflict=c,
            person_title=person_title(c.person, access),
            field=field_label(c.field),
            golden_value=shower.text(c.field, c.golden_value),
            golden_source=names.get(c.golden_source, c.golden_source),
            other_value=shower.text(c.field, c.other_value),
            other_source=names.get(c.other_source, c.other_source),
        )
        for c in conflicts
    ]


def _committees(access: Access) -> list[Area]:
    """The committees of the user's area, for the filter."""
    committees = list(
        Area.objects.filter(in_areas_q(access.prefixes, "code"), level=AreaLevel.COMMITTEE)
    )
    if not committees:
        # A user bound to a committee or a grid: their own committee.
        committees = list(
            Area.objects.filter(
                level=AreaLevel.COMMITTEE, code__in=[p[:12] for p in access.prefixes]
            )
        )
    return sorted({a.code: a for a in committees}.values(), key=lambda a: a.code)


@login_required
def conflicts_list(request: HttpRequest) -> HttpResponse:
    access = _access(request)
    filters = _filters(request)
    page = Paginator(_conflicts(request, filters), PAGE_SIZE).get_page(request.GET.get("page"))
    audit_record(
        Action.SEARCH,
        user=request.user,
        record_type="conflict",
        detail={
            "list": "conflicts",
            **filters.query(),
            # The people shown (issue 11): "who has read this person" finds this event.
            PERSON_IDS: list(dict.fromkeys(c.person_id for c in page.object_list)),
        },
    )
    return render(
        request,
        "web/conflicts.html",
        {
            "page": page,
            "rows": _rows(list(page.object_list), access),
            "filters": filters,
            "statuses": STATUSES,
            "fields": {f: field_label(f) for f in SOURCE_FIELDS if ValueShower(access).sees(f)},
            "committees": _committees(access),
            "export_query": urlencode(filters.query()),
            "here": request.get_full_path(),
            "export_limit": EXPORT_LIMIT,
        },
    )


@login_required
def conflicts_export(request: HttpRequest) -> HttpResponse:
    access = _access(request)
    filters = _filters(request)
    fetched = list(islice(_conflicts(request, filters).iterator(chunk_size=2000), EXPORT_LIMIT + 1))
    truncated = len(fetched) > EXPORT_LIMIT
    rows = [
        [
            row.conflict.person_id,
            row.person_title,
            row.field,
            row.golden_value,
            row.golden_source,
            row.other_value,
            row.other_source,
            row.conflict.get_status_display(),
            row.conflict.note,
            timezone.localtime(row.conflict.created_at).replace(tzinfo=None),
        ]
        for row in _rows(fetched[:EXPORT_LIMIT], access)
    ]
    audit_record(
        Action.EXPORT,
        user=request.user,
        record_type="conflict",
        detail={
            "list": "conflicts",
            "rows": len(rows),
            "truncated": truncated,
            **filters.query(),
            PERSON_IDS: list(dict.fromkeys(c.person_id for c in fetched[:EXPORT_LIMIT])),
        },
    )
    return xlsx_response(
        filename=f"renfang-conflicts-{timezone.localdate().isoformat()}.xlsx",
        title=_("Conflicts"),
        header=[
            _("Person no."),
            _("Person"),
            _("Field"),
            _("Authoritative value"),
            _("Authoritative source"),
            _("Other value"),
            _("Other source"),
            _("Status"),
            _("Note"),
            _("Found at"),
        ],
        rows=rows,
        truncated=truncated,
    )


def _back(request: HttpRequest) -> str:
    """Where to return after settling: the list the user came from (a local path only)."""
    target = request.POST.get("next", "")
    if target.startswith(reverse("web:conflicts_list")) and "//" not in target:
        return target
    return reverse("web:conflicts_list")


@login_required
@require_POST
def conflict_settle_view(request: HttpRequest, conflict_id: int) -> HttpResponse:
    _access(request)
    try:
        conflict = conflict_get_for_user(request.user, conflict_id)
    except Conflict.DoesNotExist as exc:
        raise Http404 from exc
    form = ConflictSettleForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect(_back(request) + f"#conflict-{conflict.pk}")
    status = form.cleaned_data["status"]
    try:
        conflict_settle(conflict, user=request.user, status=status, note=form.cleaned_data["note"])
    except ValueError as exc:
        messages.error(request, str(exc))
        return redirect(_back(request) + f"#conflict-{conflict.pk}")
    messages.success(
        request,
        _("Conflict settled.") if status == ConflictStatus.SETTLED else _("Sent for a visit."),
    )
    return redirect(_back(request))
