"""The audit log for auditors (审计员): search the events by user, record, date and action; see
who has read one record; export a search to Excel.

Only a role that reads the audit log sees these pages; to anyone else they are "not found"
(and the attempt is audited). Reading the log is itself an audit event. What an auditor sees of
an event is decided in one place, ``renfang.audit.presenter`` (ADR 0018): who did what, when,
to which record, which fields changed — never the register's values; identifiers and search
terms only as their kind and a keyed fingerprint.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from itertools import islice
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Max, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from renfang.accounts.access import Access, access_for
from renfang.audit.models import Action, AuditEvent, AuditPersonRef
from renfang.audit.presenter import RECORD_TYPE, RECORD_TYPE_LABELS, AuditorRow, present
from renfang.audit.services import audit_record
from renfang.web.exports import EXPORT_LIMIT, xlsx_response
from renfang.web.forms import DateInput

PAGE_SIZE = 50
ALERT_DAYS = 7  # the banner on the log counts the alerts of this many days


class AuditSearchForm(forms.Form):
    user = forms.CharField(label=gettext_lazy("User"), required=False, max_length=150)
    record_type = forms.CharField(label=gettext_lazy("Record type"), required=False, max_length=20)
    record_id = forms.CharField(label=gettext_lazy("Record"), required=False, max_length=64)
    date_from = forms.DateField(label=gettext_lazy("Since"), required=False, widget=DateInput())
    date_to = forms.DateField(label=gettext_lazy("Until"), required=False, widget=DateInput())
    action = forms.ChoiceField(
        label=gettext_lazy("Action"),
        required=False,
        choices=[("", gettext_lazy("any")), *Action.choices],
    )

    def clean_record_type(self) -> str:
        value = str(self.cleaned_data.get("record_type") or "").strip().lower()
        if value and not RECORD_TYPE.match(value):
            raise forms.ValidationError(_("A record type is a word such as “person”."))
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("record_id") and not cleaned.get("record_type"):
            self.add_error("record_type", _("Say which kind of record, e.g. “person”."))
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to and date_to < date_from:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned

    def terms(self) -> dict[str, str]:
        """The search as plain strings (for the audit of the search and the links)."""
        return {
            key: value.isoformat() if isinstance(value, datetime.date) else str(value).strip()
            for key, value in self.cleaned_data.items()
            if value not in (None, "")
        }


def _user_q(username: str) -> Q:
    user_model = get_user_model()
    lookup = f"{user_model.USERNAME_FIELD}__iexact"
    ids = list(
        user_model._default_manager.filter(**{lookup: username}).values_list("pk", flat=True)
    )
    if not ids:
        # A deleted user, or a name typed at a failed login.
        return Q(username=username)
    # Failed logins carry no user id: they name the account typed (indexed by record).
    return Q(user_id__in=ids) | Q(
        action=Action.LOGIN_FAILED, record_type="user", record_id=username
    )


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def events_matching(terms: dict[str, str]) -> QuerySet[AuditEvent]:
    """The events a search asks for (any combination of its terms), newest first."""
    events = AuditEvent.objects.all()
    if terms.get("user"):
        events = events.filter(_user_q(terms["user"]))
    if terms.get("record_type"):
        events = events.filter(record_type=terms["record_type"])
    if terms.get("record_id"):
        events = events.filter(record_id=terms["record_id"])
    if terms.get("action"):
        events = events.filter(action=terms["action"])
    if terms.get("date_from"):
        events = events.filter(at__gte=_day_start(datetime.date.fromisoformat(terms["date_from"])))
    if terms.get("date_to"):
        day_after = datetime.date.fromisoformat(terms["date_to"]) + datetime.timedelta(days=1)
        events = events.filter(at__lt=_day_start(day_after))
    return events.order_by("-id")


@dataclass(frozen=True)
class EventPage:
    """One page of events, newest first, by id (no count of a table of millions)."""

    events: list[AuditEvent]
    older_than: int | None  # the "older" link's `before`
    newer_than: int | None  # the "newer" link's `after`


def _int_param(request: HttpRequest, key: str) -> int | None:
    value = request.GET.get(key, "")
    return int(value) if value.isdigit() and len(value) < 19 else None  # noqa: PLR2004


Source = tuple[QuerySet[Any], str]  # rows by an index, and the column holding an event id


def _source_ids(source: Source, lookup: str, bound: int | None, newest: bool) -> list[int]:
    rows, column = source
    if bound is not None:
        rows = rows.filter(**{f"{column}__{lookup}": bound})
    order = f"-{column}" if newest else column
    return list(rows.order_by(order).values_list(column, flat=True)[: PAGE_SIZE + 1])


def _source_has(source: Source, lookup: str, bound: int) -> bool:
    rows, column = source
    return bool(rows.filter(**{f"{column}__{lookup}": bound}).exists())


def _event_page(request: HttpRequest, *sources: Source) -> EventPage:
    """A page of the events any of ``sources`` name (each by an index of its own): the page's
    ids are merged from each source's own page, so no source is read beyond a page."""
    after = _int_param(request, "after")
    before = _int_param(request, "before")
    if after is not None:
        ids = sorted({i for s in sources for i in _source_ids(s, "gt", after, newest=False)})
        has_newer = len(ids) > PAGE_SIZE
        page_ids = ids[:PAGE_SIZE][::-1]
        has_older = bool(page_ids) and any(_source_has(s, "lt", page_ids[-1]) for s in sources)
    else:
        ids = sorted(
            {i for s in sources for i in _source_ids(s, "lt", before, newest=True)}, reverse=True
        )
        has_older = len(ids) > PAGE_SIZE
        page_ids = ids[:PAGE_SIZE]
        has_newer = bool(page_ids) and any(_source_has(s, "gt", page_ids[0]) for s in sources)
    page = list(AuditEvent.objects.filter(pk__in=page_ids).order_by("-id"))
    return EventPage(
        events=page,
        older_than=page_ids[-1] if has_older else None,
        newer_than=page_ids[0] if has_newer else None,
    )


def _link(request: HttpRequest, **params: int) -> str:
    query = {k: v for k, v in request.GET.items() if k not in {"before", "after"}}
    query.update({k: str(v) for k, v in params.items()})
    return "?" + urlencode(query)


def _auditor(request: HttpRequest) -> Access:
    """The user's access, if they read the audit log; "not found" (audited) otherwise."""
    access = access_for(request.user)
    if not access.reads_audit:
        audit_record(
            Action.DENIED,
            user=request.user,
            record_type="audit",
            detail={"reason": "not an auditor", "path": request.path[:200]},
        )
        raise Http404
    return access


def _page_context(request: HttpRequest, page: EventPage) -> dict[str, Any]:
    return {
        "rows": present(page.events),
        "older_url": _link(request, before=page.older_than) if page.older_than else "",
        "newer_url": _link(request, after=page.newer_than) if page.newer_than else "",
        "first_url": _link(request) if page.newer_than else "",
    }


@login_required
def audit_events(request: HttpRequest) -> HttpResponse:
    _auditor(request)
    form = AuditSearchForm(request.GET)
    context: dict[str, Any] = {
        "form": form,
        "record_types": RECORD_TYPE_LABELS,
        "export_limit": EXPORT_LIMIT,
    }
    if not form.is_valid():
        return render(request, "audit/events.html", context, status=400)
    terms = form.terms()
    page = _event_page(request, (events_matching(terms), "id"))
    context.update(_page_context(request, page))
    context["export_url"] = reverse("audit:events_export") + "?" + urlencode(terms)
    since = timezone.now() - datetime.timedelta(days=ALERT_DAYS)
    context["alerts"] = AuditEvent.objects.filter(action=Action.ALERT, at__gte=since).count()
    context["alert_days"] = ALERT_DAYS
    context["alerts_url"] = reverse("audit:events") + "?" + urlencode({"action": Action.ALERT})
    # Recorded after the page is read, so the auditor's own look is not the first row.
    audit_record(Action.READ, user=request.user, record_type="audit", detail={"terms": terms})
    return render(request, "audit/events.html", context)


@login_required
def audit_events_export(request: HttpRequest) -> HttpResponse:
    _auditor(request)
    form = AuditSearchForm(request.GET)
    if not form.is_valid():
        return HttpResponse(form.errors.as_text(), status=400, content_type="text/plain")
    terms = form.terms()
    fetched = list(islice(events_matching(terms).iterator(chunk_size=2000), EXPORT_LIMIT + 1))
    truncated = len(fetched) > EXPORT_LIMIT
    rows = [_export_row(row) for row in present(fetched[:EXPORT_LIMIT])]
    audit_record(
        Action.EXPORT,
        user=request.user,
        record_type="audit",
        detail={"list": "audit", "rows": len(rows), "terms": terms, "truncated": truncated},
    )
    return xlsx_response(
        filename=f"renfang-audit-{timezone.localdate().isoformat()}.xlsx",
        title=_("Audit log"),
        header=[
            _("Time"),
            _("User"),
            _("From"),
            _("Channel"),
            _("Action"),
            _("Record type"),
            _("Record"),
            _("Detail"),
            _("Purpose"),
        ],
        rows=rows,
        truncated=truncated,
    )


def _export_row(row: AuditorRow) -> list[Any]:
    """One event in the export: exactly what the pages show (the one presenter)."""
    event = row.event
    return [
        timezone.localtime(event.at).replace(tzinfo=None),
        row.user,
        event.ip,
        event.get_channel_display(),
        row.action_label,
        event.record_type,
        row.record_shown,
        row.detail,
        row.purpose,
    ]


# The actions that count as someone looking at a record, for the per-record summary.
_LOOKS = (Action.READ, Action.UNMASK, Action.EXPORT, Action.WRITE, Action.DENIED)


@login_required
def audit_record_events(request: HttpRequest, record_type: str, record_id: str) -> HttpResponse:
    """Who has read this record (a person, a house…), what they did and why."""
    _auditor(request)
    if not RECORD_TYPE.match(record_type) or len(record_id) > 64:  # noqa: PLR2004
        raise Http404
    events = AuditEvent.objects.filter(record_type=record_type, record_id=record_id).order_by("-id")
    sources: list[Source] = [(events, "id")]
    listed: dict[str, tuple[int, datetime.datetime]] = {}
    if record_type == "person" and record_id.isdigit() and len(record_id) < 19:  # noqa: PLR2004
        # Lists, searches and exports that showed this person (ADR 0018): by the person index.
        refs = AuditPersonRef.objects.filter(person_id=int(record_id))
        sources.append((refs, "event_id"))
        in_lists = (
            AuditEvent.objects.filter(id__in=refs.values("event_id"))
            .order_by()
            .values("username")
            .annotate(shown=Count("id"), last=Max("at"))
        )
        listed = {row["username"]: (row["shown"], row["last"]) for row in in_lists}
    readers = list(
        events.filter(action__in=_LOOKS)
        .order_by()
        .values("username")
        .annotate(
            reads=Count("id", filter=Q(action=Action.READ)),
            unmasks=Count("id", filter=Q(action=Action.UNMASK)),
            writes=Count("id", filter=Q(action=Action.WRITE)),
            denied=Count("id", filter=Q(action=Action.DENIED)),
            last=Max("at"),
        )
        .order_by("-last")
    )
    for reader in readers:
        shown, last = listed.pop(reader["username"], (0, None))
        reader["listed"] = shown
        reader["last"] = max(reader["last"], last) if last is not None else reader["last"]
    for username, (shown, last) in listed.items():
        readers.append(
            {
                "username": username,
                "reads": 0,
                "unmasks": 0,
                "writes": 0,
                "denied": 0,
                "listed": shown,
                "last": last,
            }
        )
    readers.sort(key=lambda reader: reader["last"], reverse=True)
    page = _event_page(request, *sources)
    context: dict[str, Any] = {
        "record_type": record_type,
        "record_label": RECORD_TYPE_LABELS.get(record_type, record_type),
        "record_id": record_id,
        "readers": readers,
        "search_url": reverse("audit:events")
        + "?"
        + urlencode({"record_type": record_type, "record_id": record_id}),
    }
    context.update(_page_context(request, page))
    audit_record(
        Action.READ,
        user=request.user,
        record_type="audit",
        detail={"record_type": record_type, "record_id": record_id},
    )
    return render(request, "audit/record.html", context)
