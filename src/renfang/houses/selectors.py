"""Reads of houses. Every read takes the acting user first: ``houses_visible_to`` keeps the
houses in the user's area; reading one house is audited, and one outside the area is "not
found" (the attempt audited)."""

from __future__ import annotations

import datetime

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from renfang.accounts.access import access_for, in_areas_q
from renfang.audit.models import Action
from renfang.audit.services import audit_record
from renfang.core.models import valid_on_q
from renfang.houses.models import House, HouseUse
from renfang.people.identify import masked_terms

User = AbstractBaseUser | AnonymousUser


def houses_in_area_q(prefixes: tuple[str, ...]) -> Q:
    return in_areas_q(prefixes, "area__code")


def houses_visible_to(user: User) -> QuerySet[House]:
    """Every house the user may see: the houses in the areas of their roles."""
    access = access_for(user)
    if not access.reads_people:
        return House.objects.none()
    return House.objects.filter(houses_in_area_q(access.prefixes))


def house_search_for_user(
    user: User, query: str, *, as_of: datetime.date | None = None
) -> QuerySet[House]:
    """Houses whose code is the entry or starts with it (an entry of digits only), or whose
    standard address contains it.

    Each house carries ``current_uses`` (its uses on ``as_of``, today by default).
    """
    text = query.strip().replace(" ", "")
    houses = houses_visible_to(user)
    if not text:
        return houses.none()
    # A number typed into the one search box is kept masked (ADR 0021).
    terms = masked_terms(query)
    audit_record(Action.SEARCH, user=user, record_type="house", detail={"terms": terms})
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
    """One house with its area and its use history, ready for the house page; audited.

    Raises ``House.DoesNotExist`` for an unknown house and for a house the user may not see
    (that attempt is audited as denied).
    """
    try:
        house = (
            houses_visible_to(user)
            .select_related("area")
            .prefetch_related(
                Prefetch("uses", queryset=HouseUse.objects.order_by("valid_from", "pk")),
            )
            .get(house_code=house_code)
        )
    except House.DoesNotExist:
        if House.objects.filter(house_code=house_code).exists():
            audit_record(
                Action.DENIED,
                user=user,
                record_type="house",
                record_id=house_code,
                detail={"reason": "outside the user's area"},
            )
        raise
    audit_record(Action.READ, user=user, record_type="house", record_id=house_code)
    return house
