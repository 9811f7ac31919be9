"""Reads of houses. Every read takes the acting user first: access by area (next issue) is
added here, in ``_houses_visible_to``, and nowhere else."""

from __future__ import annotations

import datetime

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from renfang.core.models import valid_on_q
from renfang.houses.models import House, HouseUse

User = AbstractBaseUser | AnonymousUser


def _houses_visible_to(user: User) -> QuerySet[House]:
    if not user.is_authenticated:
        return House.objects.none()
    # Access control (next issue): filter by the areas of the user's roles here.
    return House.objects.all()


def house_search_for_user(
    user: User, query: str, *, as_of: datetime.date | None = None
) -> QuerySet[House]:
    """Houses whose code is the entry or starts with it (an entry of digits only), or whose
    standard address contains it.

    Each house carries ``current_uses`` (its uses on ``as_of``, today by default).
    """
    text = query.strip().replace(" ", "")
    houses = _houses_visible_to(user)
    if not text:
        return houses.none()
    if text.isdigit():
        houses = houses.filter(house_code__startswith=text)
    else:
        houses = houses.filter(address__icontains=text)
    day = as_of or timezone.localdate()
    return (
        houses.select_related("area")
        .order_by("house_code")
        .prefetch_related(
            Prefetch(
                "uses",
                queryset=HouseUse.objects.filter(valid_on_q(day)).order_by("valid_from"),
                to_attr="current_uses",
            )
        )
    )


def house_get_for_user(user: User, house_code: str) -> House:
    """One house with its area and its use history, ready for the house page.

    Raises ``House.DoesNotExist`` for an unknown house — and, once access control is in
    place, for a house the user may not see.
    """
    return (
        _houses_visible_to(user)
        .select_related("area")
        .prefetch_related(
            Prefetch("uses", queryset=HouseUse.objects.order_by("valid_from", "pk")),
        )
        .get(house_code=house_code)
    )
