"""Home and search: one box for people (name, ID number, phone) and houses (code, address)."""

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

from renfang.areas.models import Area, AreaLevel
from renfang.codes.selectors import code_label, division_name
from renfang.houses.models import House, HouseUse
from renfang.houses.selectors import house_search_for_user
from renfang.people.models import Person, Residence
from renfang.people.selectors import parse_person_query, person_search_for_user
from renfang.web.exports import EXPORT_LIMIT, xlsx_response

PAGE_SIZE = 20
MAX_QUERY_LENGTH = 100


@login_required
def home(request: HttpRequest) -> HttpResponse:
    # The register keeps the districts whose committees are loaded (Shanghai's other districts
    # come with their streets only); with none of those, every district.
    districts = Area.objects.filter(level=AreaLevel.DISTRICT)
    kept = districts.filter(children__children__isnull=False).distinct()
    if kept.exists():
        districts = kept
    city = Area.objects.filter(level=AreaLevel.CITY).first()
    return render(request, "web/home.html", {"districts": districts, "city": city})


def _query(request: HttpRequest) -> str:
    return request.GET.get("q", "").strip()[:MAX_QUERY_LENGTH]


def _page(request: HttpRequest, rows: QuerySet[Any], parameter: str) -> Page[Any]:
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get(parameter))


@login_required
def search(request: HttpRequest) -> HttpResponse:
    query = _query(request)
    context: dict[str, Any] = {"query": query, "export_limit": EXPORT_LIMIT}
    if query:
        parsed = parse_person_query(query)
        context["people_by_name"] = bool(parsed.name)
        people = _page(request, person_search_for_user(request.user, query), "people_page")
        houses = _page(request, house_search_for_user(request.user, query), "houses_page")
        context["people"] = people
        context["people_rows"] = [
            {
                "person": person,
                "sex": code_label("sex", person.sex),
                "lives_at": person_residence_label(person),
            }
            for person in people
        ]
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


def person_residence_label(person: Person) -> str:
    """Where a person lives today, in words, from the prefetched ``current_residences``."""
    residences: list[Residence] = getattr(person, "current_residences", [])
    if not residences:
        return ""
    residence = residences[0]
    if residence.house is not None:
        return residence.house.address
    if residence.division:
        return division_name(residence.division)
    return _("whereabouts unknown")


def house_use_label(house: House) -> str:
    uses: list[HouseUse] = getattr(house, "current_uses", [])
    return ", ".join(code_label("house_use", use.use) for use in uses)


def _capped(rows: QuerySet[Any]) -> tuple[list[Any], bool]:
    # In chunks, so that each chunk's prefetch stays a modest IN list (SQLite limits them).
    fetched = list(islice(rows.iterator(chunk_size=2000), EXPORT_LIMIT + 1))
    return fetched[:EXPORT_LIMIT], len(fetched) > EXPORT_LIMIT


@login_required
def search_people_export(request: HttpRequest) -> HttpResponse:
    query = _query(request)
    people, truncated = _capped(person_search_for_user(request.user, query))
    return xlsx_response(
        filename=f"renfang-people-{timezone.localdate().isoformat()}.xlsx",
        title=_("People"),
        header=[
            _("Name"),
            _("Sex"),
            _("Birth date"),
            _("ID type"),
            _("ID number"),
            _("Nationality"),
            _("Lives at (today)"),
        ],
        rows=(
            [
                person.name,
                code_label("sex", person.sex),
                person.birth_date,
                person.get_id_type_display(),
                person.id_number,
                code_label("nationality", person.nationality),
                person_residence_label(person),
            ]
            for person in people
        ),
        truncated=truncated,
    )


@login_required
def search_houses_export(request: HttpRequest) -> HttpResponse:
    query = _query(request)
    houses, truncated = _capped(house_search_for_user(request.user, query))
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
        rows=(
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
        ),
        truncated=truncated,
    )
