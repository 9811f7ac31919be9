"""Reads of the division hierarchy (for pages: breadcrumbs, lists of sub-areas)."""

from __future__ import annotations

from django.db.models import QuerySet

from renfang.areas.models import Area


def area_get(code: str) -> Area:
    """The area with this code; raises Area.DoesNotExist."""
    return Area.objects.get(code=code)


def area_children(code: str) -> QuerySet[Area]:
    """The areas directly inside this one, by code."""
    return Area.objects.filter(parent_id=code).order_by("code")


def area_ancestors(code: str) -> list[Area]:
    """The areas this one lies in, from the city down, without the area itself
    (310104003 → [上海市 31, 徐汇区 310104]). Empty for a city or an unknown code."""
    # Every ancestor's code is a prefix of the code: one query fetches them all.
    candidates = Area.objects.in_bulk([code[:length] for length in range(1, len(code) + 1)])
    chain: list[Area] = []
    area = candidates.get(code)
    while area is not None and area.parent_id is not None:
        area = candidates.get(area.parent_id)
        if area is not None:
            chain.append(area)
    return list(reversed(chain))
