"""The audit log for auditors (审计员): search the events by user, record, date and action; see
who has read one record; export a search to Excel.

Only a role that reads the audit log sees these pages; to anyone else they are "not found"
(and the attempt is audited). Reading the log is itself an audit event. Identifiers typed into
searches are masked here as on every other page: an auditor needs to know that someone looked
up an ID number, not the number.
"""

from __future__ import annotations

import datetime
import re
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
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from renfang.accounts.access import Access, access_for, mask_id_number, mask_phone
from renfang.audit.models import Action, AuditEvent
from renfang.audit.services import audit_record
from renfang.people.idnumbers import IdNumberError, normalize, parse_resident_id
from renfang.web.exports import EXPORT_LIMIT, xlsx_response
from renfang.web.forms import DateInput

PAGE_SIZE = 50

# The kinds of record events name, for the search form's suggestions and the rows' labels.
RECORD_TYPE_LABELS: dict[str, Promise] = {
    "person": gettext_lazy("person"),
    "house": gettext_lazy("house"),
    "area": gettext_lazy("area"),
    "user": gettext_lazy("user"),
    "audit": gettext_lazy("audit log"),
}

_RECORD_TYPE = re.compile(r"^[a-z_]{1,20}$")
_IDENTIFIER_FIELDS = frozenset({"id_number", "phone"})
# How people type phones ("+86 138-0013-8000") and passport or permit numbers ("E12345678").
_PHONE_SEPARATORS = re.compile(r"[\s\-()（）]")
_COUNTRY_PREFIX = re.compile(r"^(\+86|0086)")
_PHONE = re.compile(r"1\d{10}")
_DOCUMENT_NUMBER = re.compile(r"[A-Z]{1,2}\d{6,10}")


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
        if value and not _RECORD_TYPE.match(value):
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


def _masked_term(term: str) -> str:
    """A search entry masked when it is an ID number, a phone or a passport-like number;
    names, addresses and house codes stay as typed."""
    text = normalize(term)
    phone = _COUNTRY_PREFIX.sub("", _PHONE_SEPARATORS.sub("", text))
    if _PHONE.fullmatch(phone):
        return mask_phone(phone)
    try:
        parse_resident_id(text)  # 15 or 18 characters, a valid check digit and birth date
    except IdNumberError:
        pass
    else:
        return mask_id_number(text)
    if _DOCUMENT_NUMBER.fullmatch(text):
        return mask_id_number(text)
    return term


def _masked(value: Any, key: str = "") -> Any:
    """The detail with identifiers masked: search terms, and the old and new values of an
    ID number or phone change."""
    if isinstance(value, dict):
        field = value.get("field")
        return {
            k: _masked_change(str(field), v)
            if field in _IDENTIFIER_FIELDS and k in {"old", "new"}
            else _masked(v, k)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_masked(item, key) for item in value]
    if key == "terms" and isinstance(value, str):
        return _masked_term(value)
    return value


def _masked_change(field: str, value: Any) -> Any:
    if not isinstance(value, str) or not value:
        return value
    return mask_phone(value) if field == "phone" else mask_id_number(value)


def _plain(value: Any) -> str:
    """A detail value in words: a change as "field: old → new", lists and objects inline."""
    if value is None:
        return "—"
    if isinstance(value, dict):
        if {"field", "old", "new"} <= value.keys():
            return f"{value['field']}: {_plain(value['old'])} → {_plain(value['new'])}"
        return ", ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(_plain(item) for item in value) or "—"
    return str(value)


def detail_text(detail: Any, access: Access) -> str:
    """An event's detail as one line ("terms: 3101**********1234; rows: 12"), identifiers
    masked for roles that see them masked on every other page."""
    if not isinstance(detail, dict) or not detail:
        return ""
    shown = detail if access.full_identifiers else _masked(detail)
    return "; ".join(
        f"{key}: {_plain(value)}"
        for key, value in shown.items()
        # The purge's link to the chain is for `audit verify`, not for reading.
        if key != "anchor_hash"
    )


@dataclass(frozen=True)
class EventRow:
    event: AuditEvent
    record_label: str
    record_url: str
    detail: str


def _rows(events: list[AuditEvent], access: Access) -> list[EventRow]:
    return [
        EventRow(
            event=event,
            record_label=str(RECORD_TYPE_LABELS.get(event.record_type, event.record_type)),
            record_url=reverse("audit:record", args=[event.record_type, event.record_id])
            if event.record_type and event.record_id and _RECORD_TYPE.match(event.record_type)
            else "",
            detail=detail_text(event.detail, access),
        )
        for event in events
    ]


@dataclass(frozen=True)
class EventPage:
    """One page of events, newest first, by id (no count of a table of millions)."""

    events: list[AuditEvent]
    older_than: int | None  # the "older" link's `before`
    newer_than: int | None  # the "newer" link's `after`


def _int_param(request: HttpRequest, key: str) -> int | None:
    value = request.GET.get(key, "")
    return int(value) if value.isdigit() and len(value) < 19 else None  # noqa: PLR2004


def _event_page(request: HttpRequest, events: QuerySet[AuditEvent]) -> EventPage:
    after = _int_param(request, "after")
    before = _int_param(request, "before")
    if after is not None:
        rows = list(events.filter(id__gt=after).order_by("id")[: PAGE_SIZE + 1])
        has_newer = len(rows) > PAGE_SIZE
        page = list(reversed(rows[:PAGE_SIZE]))
        has_older = bool(page) and events.filter(id__lt=page[-1].pk).exists()
    else:
        shown = events.filter(id__lt=before) if before is not None else events
        rows = list(shown[: PAGE_SIZE + 1])
        has_older = len(rows) > PAGE_SIZE
        page = rows[:PAGE_SIZE]
        has_newer = bool(page) and events.filter(id__gt=page[0].pk).exists()
    return EventPage(
        events=page,
        older_than=page[-1].pk if has_older else None,
        newer_than=page[0].pk if has_newer else None,
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


def _page_context(request: HttpRequest, page: EventPage, access: Access) -> dict[str, Any]:
    return {
        "rows": _rows(page.events, access),
        "older_url": _link(request, before=page.older_than) if page.older_than else "",
        "newer_url": _link(request, after=page.newer_than) if page.newer_than else "",
        "first_url": _link(request) if page.newer_than else "",
    }


@login_required
def audit_events(request: HttpRequest) -> HttpResponse:
    access = _auditor(request)
    form = AuditSearchForm(request.GET)
    context: dict[str, Any] = {
        "form": form,
        "record_types": RECORD_TYPE_LABELS,
        "export_limit": EXPORT_LIMIT,
    }
    if not form.is_valid():
        return render(request, "audit/events.html", context, status=400)
    terms = form.terms()
    page = _event_page(request, events_matching(terms))
    context.update(_page_context(request, page, access))
    context["export_url"] = reverse("audit:events_export") + "?" + urlencode(terms)
    # Recorded after the page is read, so the auditor's own look is not the first row.
    audit_record(Action.READ, user=request.user, record_type="audit", detail={"terms": terms})
    return render(request, "audit/events.html", context)


@login_required
def audit_events_export(request: HttpRequest) -> HttpResponse:
    access = _auditor(request)
    form = AuditSearchForm(request.GET)
    if not form.is_valid():
        return HttpResponse(form.errors.as_text(), status=400, content_type="text/plain")
    terms = form.terms()
    fetched = list(islice(events_matching(terms).iterator(chunk_size=2000), EXPORT_LIMIT + 1))
    truncated = len(fetched) > EXPORT_LIMIT
    rows = [
        [
            timezone.localtime(event.at).replace(tzinfo=None),
            event.username,
            event.ip,
            event.get_channel_display(),
            event.get_action_display(),
            event.record_type,
            event.record_id,
            detail_text(event.detail, access),
            event.purpose,
        ]
        for event in fetched[:EXPORT_LIMIT]
    ]
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


# The actions that count as someone looking at a record, for the per-record summary.
_LOOKS = (Action.READ, Action.UNMASK, Action.EXPORT, Action.WRITE, Action.DENIED)


@login_required
def audit_record_events(request: HttpRequest, record_type: str, record_id: str) -> HttpResponse:
    """Who has read this record (a person, a house…), what they did and why."""
    access = _auditor(request)
    if not _RECORD_TYPE.match(record_type) or len(record_id) > 64:  # noqa: PLR2004
        raise Http404
    events = AuditEvent.objects.filter(record_type=record_type, record_id=record_id).order_by("-id")
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
    page = _event_page(request, events)
    context: dict[str, Any] = {
        "record_type": record_type,
        "record_label": RECORD_TYPE_LABELS.get(record_type, record_type),
        "record_id": record_id,
        "readers": readers,
        "search_url": reverse("audit:events")
        + "?"
        + urlencode({"record_type": record_type, "record_id": record_id}),
    }
    context.update(_page_context(request, page, access))
    audit_record(
        Action.READ,
        user=request.user,
        record_type="audit",
        detail={"record_type": record_type, "record_id": record_id},
    )
    return render(request, "audit/record.html", context)
