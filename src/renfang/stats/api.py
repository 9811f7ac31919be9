"""The API of statistics: the figures of ``renfang stats`` for an area in the user's area."""

from __future__ import annotations

import datetime

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from renfang.accounts.access import access_for
from renfang.audit.models import Action
from renfang.audit.services import audit_record
from renfang.core.api.auth import acting_user
from renfang.core.api.errors import error_responses, validation_error
from renfang.core.api.schemas import AREA_PATTERN
from renfang.core.api.scope import area_in_reach
from renfang.stats.selectors import area_figures, figures_for

router = Router(tags=["stats"])


class ActualPopulationOut(Schema):
    """The actual population (实有人口) by category."""

    total: int | None
    registered: int | None
    domestic_migrant: int | None
    overseas: int | None


class HukouStatusOut(Schema):
    """Registered residents by hukou status against the area."""

    consistent: int | None
    living_here_registered_elsewhere: int | None
    registered_here_living_elsewhere: int | None
    registered_here_whereabouts_unknown: int | None
    registered_total: int | None


class GrowthOut(Schema):
    """Growth since compare_to in percent; null where there was no one before."""

    total: float | None
    registered: float | None
    domestic_migrant: float | None
    overseas: float | None


class WithheldOut(Schema):
    """What a department reader is not shown (ADR 0022); absent for every other role."""

    min_cell: int = Field(description="Counts from 1 to min_cell - 1 are null.")
    categories: bool = Field(
        description="True: no breakdown by category or hukou status (the grant lacks "
        "nationality or hukou)."
    )


class SubareaFiguresOut(Schema):
    area: str
    name: str
    actual_population: ActualPopulationOut


class AreaFiguresOut(Schema):
    area: str
    name: str
    level: str
    as_of: datetime.date
    actual_population: ActualPopulationOut
    hukou_status: HukouStatusOut
    by_subarea: list[SubareaFiguresOut]
    compare_to: datetime.date | None = Field(
        default=None, description="Set when compare_to was given."
    )
    previous: ActualPopulationOut | None = Field(
        default=None, description="The actual population on compare_to."
    )
    growth_pct: GrowthOut | None = None
    withheld: WithheldOut | None = Field(
        default=None, description="Set for a department reader: what its figures hide."
    )


class StatsQuery(Schema):
    area: str = Field(
        pattern=AREA_PATTERN,
        description="Division code of an area in yours (otherwise 404 not_found, the same as an "
        "unknown code).",
    )
    as_of: datetime.date | None = Field(default=None, description="YYYY-MM-DD; today if absent.")
    compare_to: datetime.date | None = Field(
        default=None, description="An earlier day: adds previous and growth_pct."
    )


@router.get(
    "",
    operation_id="stats_get",
    summary="Figures of an area",
    response={200: AreaFiguresOut, **error_responses(401, 404, 422)},
)
def stats_get(request: HttpRequest, filters: Query[StatsQuery]) -> AreaFiguresOut:
    """The figures of `renfang stats`: the actual population by category, hukou status, and
    the population of each subarea, on `as_of` (and growth since `compare_to`). For a
    department reader: no breakdown by category or hukou status unless its grant holds
    nationality and hukou, counts below RENFANG_STATS_MIN_CELL null, and no growth from a
    null count (`withheld` says so). Audited as a read of the area."""
    user = acting_user(request)
    as_of = filters.as_of or timezone.localdate()
    if filters.compare_to is not None and filters.compare_to >= as_of:
        raise validation_error("compare_to", _("compare_to must be before as_of."))
    area = area_in_reach(user, filters.area, parameter="area")
    figures = figures_for(
        access_for(user),
        area_figures(area_code=area.code, as_of=as_of, compare_to=filters.compare_to),
    )
    audit_record(
        Action.READ,
        user=user,
        record_type="area",
        record_id=area.code,
        detail={
            "as_of": as_of.isoformat(),
            "compare_to": filters.compare_to.isoformat() if filters.compare_to else None,
        },
    )
    return AreaFiguresOut.model_validate(figures)
