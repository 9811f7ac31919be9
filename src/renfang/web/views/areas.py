"""The area page: the figures of ``renfang.stats.selectors.area_figures`` as tables and charts.

Figures are aggregates of personal data: only areas inside the user's own are shown (others
are "not found", audited as denied), and each view or export is audited."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from renfang.accounts.access import Access, access_for
from renfang.accounts.scope import area_get_for_user
from renfang.areas.models import Area
from renfang.areas.selectors import area_children
from renfang.audit.models import Action
from renfang.audit.services import audit_record
from renfang.people.categories import Category, HukouStatus
from renfang.stats.selectors import area_figures, figures_for
from renfang.web.exports import xlsx_response
from renfang.web.forms import AreaFiguresForm
from renfang.web.labels import CATEGORY_LABELS, HUKOU_STATUS_LABELS
from renfang.web.scope import breadcrumb

CATEGORIES = [Category.REGISTERED, Category.DOMESTIC_MIGRANT, Category.OVERSEAS]
HUKOU_STATUSES = [
    HukouStatus.CONSISTENT,
    HukouStatus.LIVING_HERE_REGISTERED_ELSEWHERE,
    HukouStatus.REGISTERED_HERE_LIVING_ELSEWHERE,
    HukouStatus.REGISTERED_HERE_WHEREABOUTS_UNKNOWN,
]
TOTAL_LABEL = gettext_lazy("actual population")  # 实有人口


@dataclass(frozen=True)
class FigureRow:
    key: str
    label: str | Promise
    value: int | None
    share: float | None = None  # percent of the actual population
    previous: int | None = None
    growth_pct: float | None = None


@dataclass(frozen=True)
class SubareaRow:
    code: str
    name: str
    total: int | None
    by_category: dict[str, int | None]


def _population(figures: dict[str, Any]) -> list[FigureRow]:
    population = figures["actual_population"]
    previous = figures.get("previous") or {}
    growth = figures.get("growth_pct") or {}
    total = population["total"]
    rows = [
        FigureRow(
            key=key,
            label=CATEGORY_LABELS[key],
            value=population[key],
            share=round(100 * population[key] / total, 2)
            if total and population[key] is not None
            else None,
            previous=previous.get(key),
            growth_pct=growth.get(key),
        )
        for key in CATEGORIES
    ]
    rows.append(
        FigureRow(
            key="total",
            label=TOTAL_LABEL,
            value=total,
            share=100.0 if total else None,
            previous=previous.get("total"),
            growth_pct=growth.get("total"),
        )
    )
    return rows


def _subareas(figures: dict[str, Any], access: Access) -> list[SubareaRow]:
    rows = []
    for entry in figures.get("by_subarea", []):
        if not access.covers(entry["area"]):
            continue  # (an area inside the user's lies wholly inside: a safeguard)
        population = entry["actual_population"]
        # The population of a subarea is the four-key object, or only its total.
        if isinstance(population, dict):
            total = population["total"]
            by_category: dict[str, int | None] = {key: population.get(key) for key in CATEGORIES}
        else:
            total = int(population)
            by_category = dict.fromkeys(CATEGORIES)
        rows.append(
            SubareaRow(code=entry["area"], name=entry["name"], total=total, by_category=by_category)
        )
    return rows


def _chart_data(population: list[FigureRow], subareas: list[SubareaRow]) -> dict[str, Any]:
    has_categories = any(row.by_category[Category.REGISTERED] is not None for row in subareas)
    series_keys: list[str] = list(CATEGORIES) if has_categories else ["total"]
    return {
        "categories": [
            {"name": force_str(row.label), "value": row.value}
            for row in population
            if row.key != "total"
        ],
        "subareas": {
            "names": [row.name for row in subareas],
            "series": [
                {
                    "name": force_str(CATEGORY_LABELS.get(key, TOTAL_LABEL)),
                    "data": [
                        row.total if key == "total" else row.by_category[key] for row in subareas
                    ],
                }
                for key in series_keys
            ],
        },
        "labels": {"categoryMix": _("Category mix"), "bySubarea": _("By subarea")},
    }


def _dates(request: HttpRequest) -> tuple[AreaFiguresForm, datetime.date, datetime.date | None]:
    today = timezone.localdate()
    data = request.GET.copy()
    if not data.get("as_of"):
        data["as_of"] = today.isoformat()  # shown in the date picker
    form = AreaFiguresForm(data)
    if not form.is_valid():
        return form, today, None
    return form, form.cleaned_data["as_of"] or today, form.cleaned_data["compare_to"]


def _date_query(as_of: datetime.date, compare_to: datetime.date | None) -> str:
    """The dates carried over to the pages of subareas and to the export."""
    params = {"as_of": as_of.isoformat()}
    if compare_to:
        params["compare_to"] = compare_to.isoformat()
    return "?" + urlencode(params)


def _area(request: HttpRequest, code: str) -> Area:
    try:
        return area_get_for_user(request.user, code)
    except Area.DoesNotExist as exc:
        raise Http404 from exc


def _date_terms(as_of: datetime.date, compare_to: datetime.date | None) -> dict[str, str | None]:
    return {
        "as_of": as_of.isoformat(),
        "compare_to": compare_to.isoformat() if compare_to else None,
    }


@login_required
def area_detail(request: HttpRequest, code: str) -> HttpResponse:
    area = _area(request, code)
    access = access_for(request.user)
    form, as_of, compare_to = _dates(request)
    context: dict[str, Any] = {
        "area": area,
        "breadcrumb": breadcrumb(area, access),
        "children": [child for child in area_children(area.code) if access.covers(child.code)],
        "form": form,
        "as_of": as_of,
        "compare_to": compare_to,
        "date_query": _date_query(as_of, compare_to),
    }
    if form.errors:
        return render(request, "web/area_detail.html", context, status=400)
    figures = figures_for(
        access, area_figures(area_code=area.code, as_of=as_of, compare_to=compare_to)
    )
    audit_record(
        Action.READ,
        user=request.user,
        record_type="area",
        record_id=area.code,
        detail=_date_terms(as_of, compare_to),
    )
    population = _population(figures)
    subareas = _subareas(figures, access)
    hukou = figures["hukou_status"]
    context.update(
        population=population,
        total=figures["actual_population"]["total"],
        hukou_rows=[
            FigureRow(key=key, label=HUKOU_STATUS_LABELS[key], value=hukou[key])
            for key in HUKOU_STATUSES
        ],
        registered_total=hukou["registered_total"],
        subareas=subareas,
        subareas_have_categories=not (figures.get("withheld") or {}).get("categories"),
        withheld=figures.get("withheld"),
        chart_data=_chart_data(population, subareas),
        category_labels=[CATEGORY_LABELS[key] for key in CATEGORIES],
    )
    return render(request, "web/area_detail.html", context)


@login_required
def area_subareas_export(request: HttpRequest, code: str) -> HttpResponse:
    area = _area(request, code)
    form, as_of, compare_to = _dates(request)
    if form.errors:
        return HttpResponse(form.errors.as_text(), status=400, content_type="text/plain")
    access = access_for(request.user)
    figures = figures_for(
        access, area_figures(area_code=area.code, as_of=as_of, compare_to=compare_to)
    )
    subareas = _subareas(figures, access)
    audit_record(
        Action.EXPORT,
        user=request.user,
        record_type="area",
        record_id=area.code,
        detail={"list": "subareas", "rows": len(subareas), "terms": _date_terms(as_of, compare_to)},
    )
    # A department reader not granted the category sees totals only (ADR 0022).
    categories = [] if (figures.get("withheld") or {}).get("categories") else CATEGORIES
    return xlsx_response(
        filename=f"renfang-{area.code}-{as_of.isoformat()}.xlsx",
        title=f"{area.code} {as_of.isoformat()}",
        header=[
            _("Area code"),
            _("Area"),
            TOTAL_LABEL,
            *(CATEGORY_LABELS[key] for key in categories),
        ],
        rows=(
            [row.code, row.name, row.total, *(row.by_category[key] for key in categories)]
            for row in subareas
        ),
    )
