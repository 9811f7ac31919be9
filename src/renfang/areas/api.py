"""The API of areas: the divisions inside the user's area (their own areas included)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.params import P, PathEx

from renfang.accounts.access import access_for, in_areas_q
from renfang.areas.models import Area
from renfang.areas.selectors import area_ancestors, area_children
from renfang.core.api.auth import acting_user
from renfang.core.api.errors import error_responses
from renfang.core.api.pagination import PageOut, PageQuery, paginate
from renfang.core.api.schemas import AREA_PATTERN, AreaRefOut
from renfang.core.api.scope import area_in_reach

router = Router(tags=["areas"])


class AreaSummaryOut(Schema):
    code: str = Field(description="Division code.")
    name: str
    level: str = Field(description="city, district, street, committee or grid.")
    parent: str | None = Field(description="The parent's code.")


class AreaPageOut(PageOut):
    results: list[AreaSummaryOut]


class AreaOut(AreaSummaryOut):
    ancestors: list[AreaRefOut] = Field(description="The areas above, the city first.")
    children: list[AreaSummaryOut] = Field(description="The areas directly inside.")


class AreasQuery(PageQuery):
    parent: str | None = Field(
        default=None,
        pattern=AREA_PATTERN,
        description="Only the areas directly inside this one. It must lie in your area "
        "(otherwise 404 not_found, the same as an unknown code).",
    )


def _summary(area: Area) -> AreaSummaryOut:
    return AreaSummaryOut(code=area.code, name=area.name, level=area.level, parent=area.parent_id)


@router.get(
    "",
    operation_id="areas_list",
    summary="Areas inside yours",
    response={200: AreaPageOut, **error_responses(401, 404, 422)},
)
def areas_list(request: HttpRequest, filters: Query[AreasQuery]) -> AreaPageOut:
    """Your own areas and every area inside them, by code; with `parent`, the areas directly
    inside that one."""
    user = acting_user(request)
    if filters.parent:
        areas = area_children(area_in_reach(user, filters.parent, parameter="parent").code)
    else:
        inside = in_areas_q(access_for(user).prefixes, "code")
        areas = Area.objects.filter(inside).order_by("code")
    paged = paginate(areas, filters)
    return AreaPageOut(**paged.meta(), results=[_summary(area) for area in paged.rows])


@router.get(
    "/{code}",
    operation_id="area_get",
    summary="One area",
    response={200: AreaOut, **error_responses(401, 404, 422)},
)
def area_get(
    request: HttpRequest, code: PathEx[str, P(pattern=AREA_PATTERN, description="Division code.")]
) -> AreaOut:
    """An area inside yours, with the areas above it and directly inside it. An area outside
    yours is 404, the same as an unknown code."""
    area = area_in_reach(acting_user(request), code)
    return AreaOut(
        code=area.code,
        name=area.name,
        level=area.level,
        parent=area.parent_id,
        ancestors=[AreaRefOut(code=a.code, name=a.name) for a in area_ancestors(area.code)],
        children=[_summary(child) for child in area_children(area.code)],
    )
