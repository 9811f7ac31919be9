"""Home and search: one box for people (name, ID number, phone) and houses (code, address);
the Excel exports of the results (scoped, masked and audited like the pages)."""

from __future__ import annotations

import secrets
import time
from itertools import islice
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from renfang.accounts.access import access_for
from renfang.audit.models import Action
from renfang.audit.services import PERSON_IDS, audit_people_shown, audit_record
from renfang.codes.selectors import code_label
from renfang.houses.models import House, HouseUse
from renfang.houses.selectors import house_search_for_user
from renfang.people.identify import (
    IdentifyRefused,
    is_identifier_query,
    masked_terms,
    refused_message,
)
from renfang.people.selectors import parse_person_query, person_search_for_user
from renfang.web.cards import list_columns, people_export_columns, person_list_row
from renfang.web.exports import EXPORT_LIMIT, xlsx_response
from renfang.web.scope import areas_of

PAGE_SIZE = 20
MAX_QUERY_LENGTH = 100


@login_required
def home(request: HttpRequest) -> HttpResponse:
    # The user's own areas are the entry points: a street officer starts at their street.
    access = access_for(request.user)
    return render(request, "web/home.html", {"access": access, "areas": areas_of(access)})


# Searches by an ID or phone number (ADR 0021): the number travels in a POST body, never in a
# URL (access logs, browser history, Referer); the results page is addressed by a short-lived
# token kept in the user's session (so it works for that user only), and its title shows the
# number masked.
_TOKENS = "renfang_search_tokens"
_MAX_TOKENS = 20


def _store_query(request: HttpRequest, query: str) -> str:
    tokens: dict[str, list[Any]] = dict(request.session.get(_TOKENS, {}))
    now = time.time()
    lifetime = settings.RENFANG_SEARCH_TOKEN_MINUTES * 60
    kept = sorted(
        ((t, v) for t, v in tokens.items() if now - float(v[1]) < lifetime),
        key=lambda item: float(item[1][1]),
    )[-(_MAX_TOKENS - 1) :]
    token = secrets.token_urlsafe(12)
    request.session[_TOKENS] = {**dict(kept), token: [query, now, request.user.pk]}
    return token


def _stored_query(request: HttpRequest, token: str) -> str | None:
    entry = request.session.get(_TOKENS, {}).get(token)
    if not isinstance(entry, list) or len(entry) != 3:  # noqa: PLR2004
        return None
    query, at, user_id = entry
    lifetime = settings.RENFANG_SEARCH_TOKEN_MINUTES * 60
    if user_id != request.user.pk or time.time() - float(at) >= lifetime:
        return None
    return str(query)


class _Expired(Exception):
    """A search token that is unknown, another user's or too old."""


def _query(request: HttpRequest) -> str:
    """The search entry: behind the token ``t`` (a number), or ``q`` (anything else)."""
    token = request.GET.get("t", "")
    if token:
        query = _stored_query(request, token)
        if query is None:
            raise _Expired
        return query
    return request.GET.get("q", "").strip()[:MAX_QUERY_LENGTH]


def _to_token(request: HttpRequest, view: str, query: str) -> HttpResponse:
    """A redirect to ``view`` addressed by a token for ``query`` (a number)."""
    url = reverse(view) + "?" + urlencode({"t": _store_query(request, query)})
    return _see_other(url)


def _expired_page(request: HttpRequest) -> HttpResponse:
    context = {"query": "", "notice": _("This search has expired. Search again.")}
    return render(request, "web/search.html", context, status=410)


def _refused_page(request: HttpRequest, query: str) -> HttpResponse:
    context = {
        "query": _shown_query(request, query),
        "query_is_number": is_identifier_query(query),
        "refused": refused_message(),
    }
    return render(request, "web/search.html", context, status=429)


def _see_other(url: str) -> HttpResponse:
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


def _shown_query(request: HttpRequest, query: str) -> str:
    """The entry as the page may echo it (title, heading): a number masked."""
    return masked_terms(query) if is_identifier_query(query) else query


def _page(request: HttpRequest, rows: QuerySet[Any], parameter: str) -> Page[Any]:
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get(parameter))


@login_required
def search(request: HttpRequest) -> HttpResponse:
    """GET ``?q=`` a name, address or house code; POST ``q`` anything (a number is then
    addressed by a token: ``?t=``); a number given as ``?q=`` is moved behind a token too."""
    if request.method == "POST":
        query = request.POST.get("q", "").strip()[:MAX_QUERY_LENGTH]
        if is_identifier_query(query):
            return _to_token(request, "web:search", query)
        return _see_other(reverse("web:search") + ("?" + urlencode({"q": query}) if query else ""))
    try:
        query = _query(request)
    except _Expired:
        return _expired_page(request)
    token = request.GET.get("t", "")
    if not token and is_identifier_query(query):
        return _to_token(request, "web:search", query)
    access = access_for(request.user)
    context: dict[str, Any] = {
        "query": _shown_query(request, query),
        # The box starts empty after a number: its masked form searched again finds nothing.
        "query_is_number": is_identifier_query(query),
        "export_query": urlencode({"t": token} if token else {"q": query}),
        "export_limit": EXPORT_LIMIT,
    }
    if query:
        parsed = parse_person_query(query)
        context["people_by_name"] = bool(parsed.name)
        try:
            found = person_search_for_user(request.user, query)
        except IdentifyRefused:
            return _refused_page(request, query)
        people = _page(request, found, "people_page")
        houses = _page(request, house_search_for_user(request.user, query), "houses_page")
        context["people"] = people
        context["columns"] = list_columns(access)
        context["people_rows"] = [person_list_row(person, access) for person in people]
        # The people on this page are reads of them (issue 11): one event names them all.
        audit_people_shown(request.user, [person.pk for person in people], listed="search")
        context["houses"] = houses
        context["house_rows"] = [
            {
                "house": house,
                "kind": code_label("house_kind", house.kind),
                "use": house_use_label(house),
            }
            for house in houses
        ]
    return render(request, "web/search.html", context)


def house_use_label(house: House) -> str:
    uses: list[HouseUse] = getattr(house, "current_uses", [])
    return ", ".join(code_label("house_use", use.use) for use in uses)


def _capped(rows: QuerySet[Any]) -> tuple[list[Any], bool]:
    # In chunks, so that each chunk's prefetch stays a modest IN list (SQLite limits them).
    fetched = list(islice(rows.iterator(chunk_size=2000), EXPORT_LIMIT + 1))
    return fetched[:EXPORT_LIMIT], len(fetched) > EXPORT_LIMIT


def _audit_export(
    request: HttpRequest,
    *,
    record_type: str,
    listed: str,
    rows: int,
    query: str,
    truncated: bool,
    people: list[int] | None = None,
) -> None:
    detail: dict[str, Any] = {
        "list": listed,
        "rows": rows,
        "terms": masked_terms(query),
        "truncated": truncated,
    }
    if people is not None:  # the people exported, for "who has read this person" (issue 11)
        detail[PERSON_IDS] = people
    audit_record(Action.EXPORT, user=request.user, record_type=record_type, detail=detail)


def _export_query(request: HttpRequest, view: str) -> str | HttpResponse:
    """The entry of an export (as the search page's), or the answer to give instead."""
    try:
        query = _query(request)
    except _Expired:
        return _expired_page(request)
    if not request.GET.get("t") and is_identifier_query(query):
        return _to_token(request, view, query)
    return query


@login_required
def search_people_export(request: HttpRequest) -> HttpResponse:
    query = _export_query(request, "web:search_people_export")
    if isinstance(query, HttpResponse):
        return query
    access = access_for(request.user)
    try:
        people, truncated = _capped(person_search_for_user(request.user, query))
    except IdentifyRefused:
        return _refused_page(request, query)
    columns = people_export_columns(access)
    rows = [[column.value(person, access) for column in columns] for person in people]
    _audit_export(
        request,
        record_type="person",
        listed="people",
        rows=len(rows),
        query=query,
        truncated=truncated,
        people=[person.pk for person in people],
    )
    return xlsx_response(
        filename=f"renfang-people-{timezone.localdate().isoformat()}.xlsx",
        title=_("People"),
        header=[column.header for column in columns],
        rows=rows,
        truncated=truncated,
    )


@login_required
def search_houses_export(request: HttpRequest) -> HttpResponse:
    query = _export_query(request, "web:search_houses_export")
    if isinstance(query, HttpResponse):
        return query
    houses, truncated = _capped(house_search_for_user(request.user, query))
    rows = [
        [
            house.house_code,
            house.address,
            house.area_id,
            house.area.name,
            code_label("house_kind", house.kind),
            house_use_label(house),
            house.floor_area,
            house.rooms,
        ]
        for house in houses
    ]
    _audit_export(
        request,
        record_type="house",
        listed="houses",
        rows=len(rows),
        query=query,
        truncated=truncated,
    )
    return xlsx_response(
        filename=f"renfang-houses-{timezone.localdate().isoformat()}.xlsx",
        title=_("Houses"),
        header=[
            _("House code"),
            _("Address"),
            _("Area code"),
            _("Area"),
            _("Kind"),
            _("Use (today)"),
            _("Floor area (m²)"),
            _("Rooms"),
        ],
        rows=rows,
        truncated=truncated,
    )
