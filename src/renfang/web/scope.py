"""Areas as one user may see them: the figures of an area are aggregates of personal data,
so an area outside the user's own is "not found", like a missing one (and audited)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser

from renfang.accounts.access import Access
from renfang.areas.models import Area
from renfang.areas.selectors import area_ancestors

User = AbstractBaseUser | AnonymousUser


def areas_of(access: Access) -> list[Area]:
    """The user's own areas (the top of what they may see), for the home page."""
    return list(Area.objects.filter(code__in=access.prefixes).order_by("code"))


@dataclass(frozen=True)
class Crumb:
    code: str
    name: str
    linked: bool  # the user may open this area's page


def breadcrumb(area: Area, access: Access) -> list[Crumb]:
    """The areas above this one, the city first, and the area itself; only those inside the
    user's area are links."""
    return [
        Crumb(code=a.code, name=a.name, linked=access.covers(a.code))
        for a in [*area_ancestors(area.code), area]
    ]
