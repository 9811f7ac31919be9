"""Figures of the register (实有人口统计) for an area on a date.

One aggregate query over ``PopulationSpell`` per date: the spells valid on the date that live in
the area or hold a hukou there, grouped into classes that the rules of
``renfang.people.categories`` cannot tell apart (residence cut to the children's code length,
hukou in the area or not, in the city or not, overseas or not). Each class is then judged in
Python by those same rules, fed a representative of the class, so the definitions live in one
place. See docs/adr/0008-stats-from-population-spells.md.
"""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db.models import BooleanField, Case, Count, Q, Value, When
from django.db.models.functions import Substr

from renfang.accounts.access import Access
from renfang.accounts.models import PersonField, Role
from renfang.areas.models import Area
from renfang.core.models import valid_on_q
from renfang.people.categories import Category, HukouStatus, category, hukou_status, lies_in
from renfang.stats.models import PopulationSpell

# The keys of an actual_population object, in order (issue 2, item 5).
ACTUAL_POPULATION_KEYS = ("total", "registered", "domestic_migrant", "overseas")

# Identities that ``categories.is_overseas`` judges overseas / not overseas: a spell carries the
# person's overseas flag, already derived from the identity by the same function.
_OVERSEAS_IDENTITY = {"id_type": "passport", "nationality": "USA"}
_CHINESE_IDENTITY = {"id_type": "resident_id", "nationality": "CHN"}


@dataclass(frozen=True)
class _SpellClass:
    """Spells on one date that the category rules cannot tell apart, and how many there are."""

    residence: str | None  # the residence division cut to the grouping length; None: unknown
    hukou_here: bool
    hukou_in_city: bool
    overseas: bool
    count: int


def area_figures(
    *, area_code: str, as_of: datetime.date, compare_to: datetime.date | None = None
) -> dict[str, Any]:
    """The figures of ``area_code`` on ``as_of`` (the ``renfang stats`` JSON object).

    Raises ``Area.DoesNotExist`` for an unknown area (or a code that is not a division code).
    """
    if not area_code.isdigit():
        raise Area.DoesNotExist(f"{area_code!r} is not a division code")
    area = Area.objects.get(code=area_code)
    children = list(Area.objects.filter(parent=area).order_by("code"))
    key_length = max([len(area.code), *(len(child.code) for child in children)])

    actual: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    by_child: dict[str, Counter[str]] = {child.code: Counter() for child in children}
    for spell_class in _spell_classes(area_code=area.code, day=as_of, key_length=key_length):
        hukou = _hukou_representative(area.code, spell_class)
        if lies_in(spell_class.residence, area.code):
            kind = _category(spell_class, hukou)
            actual[kind] += spell_class.count
            for child in children:
                if lies_in(spell_class.residence, child.code):
                    by_child[child.code][kind] += spell_class.count
                    break
        status = hukou_status(
            area_code=area.code,
            overseas=spell_class.overseas,
            hukou_division=hukou,
            residence_division=spell_class.residence,
        )
        if status is not None:
            statuses[status] += spell_class.count

    figures: dict[str, Any] = {
        "area": area.code,
        "name": area.name,
        "level": area.level,
        "as_of": as_of.isoformat(),
        "actual_population": _population_object(actual),
        "hukou_status": _hukou_status_object(statuses),
        "by_subarea": [
            {
                "area": child.code,
                "name": child.name,
                "actual_population": _population_object(by_child[child.code]),
            }
            for child in children
        ],
    }
    if compare_to is not None:
        previous = _population_object(_actual_population_on(area_code=area.code, day=compare_to))
        figures["compare_to"] = compare_to.isoformat()
        figures["previous"] = previous
        figures["growth_pct"] = {
            key: growth_pct(figures["actual_population"][key], previous[key])
            for key in ACTUAL_POPULATION_KEYS
        }
    return figures


def _actual_population_on(*, area_code: str, day: datetime.date) -> Counter[str]:
    """Everyone who lives in the area on ``day``, counted by category (a lighter query: the
    hukou status needs no one who lives elsewhere)."""
    actual: Counter[str] = Counter()
    for spell_class in _spell_classes(
        area_code=area_code, day=day, key_length=len(area_code), residents_only=True
    ):
        if lies_in(spell_class.residence, area_code):
            actual[_category(spell_class, _hukou_representative(area_code, spell_class))] += (
                spell_class.count
            )
    return actual


def growth_pct(now: int, previous: int) -> float | None:
    """(now − previous) / previous in percent, rounded half up to 2 decimals; None when there
    was no one before."""
    if previous == 0:
        return None
    percent = Decimal(now - previous) * 100 / Decimal(previous)
    return float(percent.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _spell_classes(
    *, area_code: str, day: datetime.date, key_length: int, residents_only: bool = False
) -> list[_SpellClass]:
    city = settings.RENFANG_CITY_CODE
    # LIKE 'code%' (startswith) so PostgreSQL's varchar_pattern_ops indexes serve small areas.
    involved = Q(residence_division__startswith=area_code)
    if not residents_only:
        involved |= Q(hukou_division__startswith=area_code)
    rows = (
        PopulationSpell.objects.filter(valid_on_q(day))
        .filter(involved)
        .order_by()
        .values(
            "overseas",
            residence=Substr("residence_division", 1, key_length),
            hukou_here=_starts_with("hukou_division", area_code),
            hukou_in_city=_starts_with("hukou_division", city),
        )
        .annotate(count=Count("id"))
    )
    return [
        _SpellClass(
            residence=row["residence"] or None,
            hukou_here=bool(row["hukou_here"]),
            hukou_in_city=bool(row["hukou_in_city"]),
            overseas=bool(row["overseas"]),
            count=row["count"],
        )
        for row in rows
    ]


def _starts_with(field: str, prefix: str) -> Case:
    return Case(
        When(**{f"{field}__startswith": prefix}, then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )


def _hukou_representative(area_code: str, spell_class: _SpellClass) -> str | None:
    """A division code that lies in the area and in the city exactly when the class's hukous
    do. Both flags true: the longer of the two codes (each is a prefix of the hukou, so the
    longer starts with the shorter). One flag: that code alone (it cannot start with the other,
    or the other flag would hold too). Neither: no hukou here or in the city, like None."""
    city = settings.RENFANG_CITY_CODE
    if spell_class.hukou_here and spell_class.hukou_in_city:
        return max(area_code, city, key=len)
    if spell_class.hukou_here:
        return area_code
    if spell_class.hukou_in_city:
        return city
    return None


def _category(spell_class: _SpellClass, hukou: str | None) -> Category:
    identity = _OVERSEAS_IDENTITY if spell_class.overseas else _CHINESE_IDENTITY
    return category(hukou_division=hukou, **identity)


def _population_object(actual: Counter[str]) -> dict[str, int]:
    registered = actual[Category.REGISTERED]
    migrant = actual[Category.DOMESTIC_MIGRANT]
    overseas = actual[Category.OVERSEAS]
    return {
        "total": registered + migrant + overseas,
        "registered": registered,
        "domestic_migrant": migrant,
        "overseas": overseas,
    }


def _hukou_status_object(statuses: Counter[str]) -> dict[str, int]:
    consistent = statuses[HukouStatus.CONSISTENT]
    living_elsewhere = statuses[HukouStatus.REGISTERED_HERE_LIVING_ELSEWHERE]
    unknown = statuses[HukouStatus.REGISTERED_HERE_WHEREABOUTS_UNKNOWN]
    return {
        "consistent": consistent,
        "living_here_registered_elsewhere": statuses[HukouStatus.LIVING_HERE_REGISTERED_ELSEWHERE],
        "registered_here_living_elsewhere": living_elsewhere,
        "registered_here_whereabouts_unknown": unknown,
        "registered_total": consistent + living_elsewhere + unknown,
    }


# --- what a department reader may infer (ADR 0022) --------------------------------------------

# The fields that decide a person's category and hukou status (people.categories).
CATEGORY_FIELDS = (PersonField.NATIONALITY, PersonField.HUKOU)
_CATEGORY_KEYS = ("registered", "domestic_migrant", "overseas")


def _cell(value: Any, min_cell: int) -> Any:
    """A count as a department reader sees it: None from 1 to ``min_cell`` - 1."""
    if isinstance(value, int) and 0 < value < min_cell:
        return None
    return value


def _population_for(population: dict[str, Any], categories: bool, min_cell: int) -> dict[str, Any]:
    return {
        key: None
        if key in _CATEGORY_KEYS and not categories
        else _cell(population.get(key), min_cell)
        for key in ACTUAL_POPULATION_KEYS
    }


def figures_for(
    access: Access, figures: dict[str, Any], *, min_cell: int | None = None
) -> dict[str, Any]:
    """``area_figures`` as the user may see them. Every role but the department reader sees
    them whole. A department reader sees the breakdown by category and by hukou status only
    when granted the fields that decide them (nationality and hukou); every count from 1 to
    ``min_cell`` - 1 (``RENFANG_STATS_MIN_CELL``) is hidden (None), and a growth computed from
    a hidden count is hidden too, so that figures at two dates (``compare_to``, or two reads
    a day apart) cannot be differenced into one person's category. ``withheld`` says what was
    hidden and why."""
    if Role.DEPARTMENT_READER not in access.roles:
        return figures
    k = settings.RENFANG_STATS_MIN_CELL if min_cell is None else min_cell
    categories = all(access.sees_field(field) for field in CATEGORY_FIELDS)
    shown = dict(figures)
    shown["actual_population"] = _population_for(figures["actual_population"], categories, k)
    shown["hukou_status"] = {
        key: _cell(value, k) if categories else None
        for key, value in figures["hukou_status"].items()
    }
    shown["by_subarea"] = [
        {**entry, "actual_population": _population_for(entry["actual_population"], categories, k)}
        for entry in figures["by_subarea"]
    ]
    if figures.get("previous") is not None:
        previous = _population_for(figures["previous"], categories, k)
        shown["previous"] = previous
        shown["growth_pct"] = {
            key: growth_pct(now, before)
            if isinstance(now := shown["actual_population"][key], int)
            and isinstance(before := previous[key], int)
            else None
            for key in ACTUAL_POPULATION_KEYS
        }
    shown["withheld"] = {"min_cell": k, "categories": not categories}
    return shown
