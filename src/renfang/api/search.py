"""GET /api/search: one box for people and houses, as on the search page."""

from __future__ import annotations

import datetime

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from renfang.core.api.errors import error_responses
from renfang.core.api.pagination import PageQuery
from renfang.core.api.schemas import MAX_QUERY_LENGTH, TEXT_PATTERN
from renfang.houses.api import HousePageOut, HousesQuery, houses_page
from renfang.people.api import PeopleQuery, PersonPageOut, people_page, refuse_number_in_url

router = Router(tags=["search"])


class SearchQuery(PageQuery):
    q: str = Field(
        min_length=1,
        max_length=MAX_QUERY_LENGTH,
        pattern=TEXT_PATTERN,
        description="A name, ID number or phone number (people); a house code or an address "
        "(houses).",
    )
    as_of: datetime.date | None = Field(
        default=None, description="The day for where people live and what houses are used for."
    )


class SearchOut(Schema):
    people: PersonPageOut
    houses: HousePageOut


@router.get(
    "",
    operation_id="search",
    summary="Search people and houses",
    response={200: SearchOut, **error_responses(401, 422)},
)
def search(request: HttpRequest, filters: Query[SearchQuery]) -> SearchOut:
    """People and houses you may see that match `q`; `page` and `page_size` apply to both
    lists. Both searches are audited with their terms. An ID or phone number in `q` is
    refused (422): search numbers with POST /api/search, so that they stay out of URLs."""
    refuse_number_in_url(filters.q.strip(), lookup="POST /api/search")
    return _search(request, filters)


@router.post(
    "",
    operation_id="search_lookup",
    summary="Search people and houses by a number",
    response={200: SearchOut, **error_responses(401, 422, 429)},
)
def search_lookup(request: HttpRequest, payload: SearchQuery) -> SearchOut:
    """As GET /api/search, with `q` (and the rest) in the body: for ID and phone numbers,
    which are audited as identification attempts and bounded as POST /api/people/lookup
    is."""
    return _search(request, payload, in_body=True)


def _search(request: HttpRequest, filters: SearchQuery, *, in_body: bool = False) -> SearchOut:
    page, page_size = filters.page, filters.page_size
    return SearchOut(
        people=people_page(
            request,
            PeopleQuery(q=filters.q, as_of=filters.as_of, page=page, page_size=page_size),
            in_body=in_body,
        ),
        houses=houses_page(
            request,
            HousesQuery(q=filters.q, as_of=filters.as_of, page=page, page_size=page_size),
        ),
    )
