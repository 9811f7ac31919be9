"""Home and search: one box for people (name, ID number, phone) and houses (code, address);
the Excel exports of the results (scoped, masked and audited like the pages)."""

from __future__ import annotations

from itertools import islice
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from renfang.accounts.access import access_for
from renfang.audit.models import Action
from renfang.audit.services import PERSON_IDS, audit_people_shown, audit_record
from renfang.codes.selectors import code_label
from renfang.houses.models import House, HouseUse
from renfang.houses.selectors import house_search_for_user
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


def _query(request: HttpRequest) -> str:
    return request.GET.get("q", "").strip()[:MAX_QUERY_LENGTH]


def _page(request: HttpRequest, rows: QuerySet[Any], parameter: str) -> Page[Any]:
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get(parameter))


@login_required
def search(request: HttpRequest) -> HttpResponse:
    query = _query(request)
    access = access_for(request.user)
    context: dict[str, Any] = {"query": query, "export_limit": EXPORT_LIMIT}
    if query:
        parsed = parse_person_query(query)
        context["people_by_name"] = bool(parsed.name)
        people = _page(request, person_search_for_user(request.user, query), "people_page")
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
        "terms": query[:200],
        "truncated": truncated,
    }
    if people is not None:  # the people exported, for "who has read this person" (issue 11)
        detail[PERSON_IDS] = people
    audit_record(Action.EXPORT, user=request.user, record_type=record_type, detail=detail)


@login_required
def search_people_export(request: HttpRequest) -> HttpResponse:
    query = _query(request)
    access = access_for(request.user)
    people, truncated = _capped(person_search_for_user(request.user, query))
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
    query = _query(request)
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
