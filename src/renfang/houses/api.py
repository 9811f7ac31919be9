"""The API of houses: search and lists, one house, and who lives or lived there.

Through the scoped selectors of ``renfang.houses.selectors`` and ``renfang.people.selectors``:
the houses of the user's area only, reads and searches audited as on the pages.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db.models import Prefetch
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.params import P, PathEx

from renfang.accounts.access import access_for
from renfang.accounts.models import PersonField
from renfang.audit.models import Action
from renfang.audit.services import audit_people_shown, audit_record
from renfang.codes.selectors import code_label
from renfang.core.api.auth import acting_user
from renfang.core.api.errors import error_responses, field_not_granted, not_found, validation_error
from renfang.core.api.pagination import PageOut, PageQuery, paginate
from renfang.core.api.schemas import (
    AREA_PATTERN,
    CODE_PATTERN,
    MAX_QUERY_LENGTH,
    TEXT_PATTERN,
    AreaRefOut,
    FactOut,
)
from renfang.core.api.scope import area_in_reach
from renfang.core.models import valid_on_q
from renfang.houses.models import House, HouseUse
from renfang.houses.selectors import house_get_for_user, house_search_for_user, houses_visible_to
from renfang.people.selectors import residence_list_for_house_for_user

router = Router(tags=["houses"])

HouseCode = PathEx[str, P(pattern=CODE_PATTERN, description="The house code (房屋编码).")]


class UseOut(Schema):
    use: str = Field(description="A code of the house_use code set.")
    label: str


class HouseSummaryOut(Schema):
    house_code: str
    address: str = Field(description="The standard address.")
    area: AreaRefOut
    kind: str = Field(description="A code of the house_kind code set.")
    kind_label: str
    uses: list[UseOut] = Field(description="What the house is used for on as_of.")
    floor_area: float | None = Field(description="Square metres.")
    rooms: int | None


class HousePageOut(PageOut):
    results: list[HouseSummaryOut]


class HouseUseOut(FactOut):
    use: str
    label: str


class HouseOut(Schema):
    house_code: str
    address: str
    road: str
    number: str
    building: str
    unit: str
    room: str
    area: AreaRefOut
    kind: str
    kind_label: str
    floor_area: float | None
    rooms: int | None
    latitude: float | None
    longitude: float | None
    uses: list[HouseUseOut] = Field(description="Use history, newest first.")


class HouseResidenceOut(FactOut):
    person_id: int
    name: str | None = Field(description="null when your role is not granted names.")
    relation: str
    relation_label: str


class HouseResidencePageOut(PageOut):
    results: list[HouseResidenceOut]


class HousesQuery(PageQuery):
    q: str = Field(
        default="",
        max_length=MAX_QUERY_LENGTH,
        pattern=TEXT_PATTERN,
        description="A house code (or its beginning) or part of the standard address.",
    )
    area: str | None = Field(
        default=None,
        pattern=AREA_PATTERN,
        description="Division code: only houses there. It must lie in your area (otherwise "
        "404 not_found, the same as an unknown code).",
    )
    as_of: datetime.date | None = Field(
        default=None, description="The day for uses (YYYY-MM-DD); today if absent."
    )


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def house_summary(house: House) -> HouseSummaryOut:
    """A house as lists show it; needs ``area`` and ``current_uses`` loaded."""
    uses: list[HouseUse] = getattr(house, "current_uses", [])
    return HouseSummaryOut(
        house_code=house.house_code,
        address=house.address,
        area=AreaRefOut(code=house.area.code, name=house.area.name),
        kind=house.kind,
        kind_label=code_label("house_kind", house.kind),
        uses=[UseOut(use=u.use, label=code_label("house_use", u.use)) for u in uses],
        floor_area=_number(house.floor_area),
        rooms=house.rooms,
    )


def houses_page(request: HttpRequest, filters: HousesQuery) -> HousePageOut:
    """The houses list behind GET /houses (and the houses half of GET /search)."""
    user = acting_user(request)
    day = filters.as_of or timezone.localdate()
    query = filters.q.strip()
    area = area_in_reach(user, filters.area, parameter="area") if filters.area else None
    if query:
        houses = house_search_for_user(user, query, as_of=day)  # audits the terms
    elif area is not None:
        houses = (
            houses_visible_to(user)
            .select_related("area")
            .order_by("house_code")
            .prefetch_related(
                Prefetch(
                    "uses",
                    queryset=HouseUse.objects.filter(valid_on_q(day)).order_by("valid_from"),
                    to_attr="current_uses",
                )
            )
        )
        audit_record(
            Action.SEARCH,
            user=user,
            record_type="house",
            detail={"area": area.code, "as_of": day.isoformat()},
        )
    else:
        raise validation_error("q", _("Give q (a house code or an address) or area."))
    if area is not None:
        houses = houses.filter(area__code__startswith=area.code)
    paged = paginate(houses, filters)
    return HousePageOut(**paged.meta(), results=[house_summary(h) for h in paged.rows])


@router.get(
    "",
    operation_id="houses_list",
    summary="Search or list houses",
    response={200: HousePageOut, **error_responses(401, 404, 422)},
)
def houses_list(request: HttpRequest, filters: Query[HousesQuery]) -> HousePageOut:
    """Houses you may see whose code starts with `q` (digits) or whose address contains `q`;
    with `area`, only those there. Give `q`, `area` or both. Audited as a search."""
    return houses_page(request, filters)


def _house_or_404(request: HttpRequest, house_code: str) -> House:
    try:
        return house_get_for_user(acting_user(request), house_code)
    except House.DoesNotExist as exc:
        raise not_found() from exc


@router.get(
    "/{house_code}",
    operation_id="house_get",
    summary="One house",
    response={200: HouseOut, **error_responses(401, 404, 422)},
)
def house_get(request: HttpRequest, house_code: HouseCode) -> HouseOut:
    """Address, area, kind, size and use history. The read is audited; a house outside your
    area is 404, the same as a missing one."""
    house = _house_or_404(request, house_code)
    today = timezone.localdate()
    return HouseOut(
        house_code=house.house_code,
        address=house.address,
        road=house.road,
        number=house.number,
        building=house.building,
        unit=house.unit,
        room=house.room,
        area=AreaRefOut(code=house.area.code, name=house.area.name),
        kind=house.kind,
        kind_label=code_label("house_kind", house.kind),
        floor_area=_number(house.floor_area),
        rooms=house.rooms,
        latitude=_number(house.latitude),
        longitude=_number(house.longitude),
        uses=[
            HouseUseOut(
                valid_from=u.valid_from,
                valid_to=u.valid_to,
                current=u.is_valid_on(today),
                use=u.use,
                label=code_label("house_use", u.use),
            )
            for u in reversed(list(house.uses.all()))
        ],
    )


@router.get(
    "/{house_code}/residences",
    operation_id="house_residences_list",
    summary="Who lives or lived in a house",
    response={200: HouseResidencePageOut, **error_responses(401, 403, 404, 422)},
)
def house_residences_list(
    request: HttpRequest, house_code: HouseCode, pages: Query[PageQuery]
) -> HouseResidencePageOut:
    """Everyone who lives or lived in the house, latest arrivals first. Audited as a read of
    the house."""
    house = _house_or_404(request, house_code)
    user = acting_user(request)
    access = access_for(user)
    if not access.sees_field(PersonField.RESIDENCES):
        raise field_not_granted()
    today = timezone.localdate()
    paged = paginate(residence_list_for_house_for_user(user, house), pages)
    # The residents on this page are reads of them (issue 11): one event names them all.
    audit_people_shown(
        user,
        [r.person_id for r in paged.rows],
        listed="house",
        record_type="house",
        record_id=house.house_code,
    )
    return HouseResidencePageOut(
        **paged.meta(),
        results=[
            HouseResidenceOut(
                valid_from=r.valid_from,
                valid_to=r.valid_to,
                current=r.is_valid_on(today),
                person_id=r.person_id,
                name=r.person.name if access.sees_field(PersonField.NAME) else None,
                relation=r.relation,
                relation_label=str(r.get_relation_display()),
            )
            for r in paged.rows
        ],
    )
