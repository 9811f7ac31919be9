"""Derived categories (DOMAIN.md "Categories, always derived, never typed in").

For an area A and a date T, from a person's identity, hukou on T and residence on T:
overseas first (foreign nationality, HKG/MAC/TWN, or an HK/Macau or Taiwan permit), then
registered resident (hukou in the city), otherwise domestic migrant.
"""

from __future__ import annotations

from enum import StrEnum

from renfang.areas.models import in_city

OVERSEAS_NATIONALITIES_OF_CHINA = frozenset({"HKG", "MAC", "TWN"})
OVERSEAS_ID_TYPES = frozenset({"hk_mo_permit", "tw_permit"})


class Category(StrEnum):
    REGISTERED = "registered"  # 户籍人口
    DOMESTIC_MIGRANT = "domestic_migrant"  # 来沪人员 / 流动人口
    OVERSEAS = "overseas"  # 境外人员


class HukouStatus(StrEnum):
    CONSISTENT = "consistent"  # 人户一致
    LIVING_HERE_REGISTERED_ELSEWHERE = "living_here_registered_elsewhere"  # 人在户不在
    REGISTERED_HERE_LIVING_ELSEWHERE = "registered_here_living_elsewhere"  # 户在人不在
    REGISTERED_HERE_WHEREABOUTS_UNKNOWN = "registered_here_whereabouts_unknown"  # 空挂户


def is_overseas(id_type: str, nationality: str) -> bool:
    return nationality != "CHN" or id_type in OVERSEAS_ID_TYPES


def category(*, id_type: str, nationality: str, hukou_division: str | None) -> Category:
    if is_overseas(id_type, nationality):
        return Category.OVERSEAS
    if in_city(hukou_division):
        return Category.REGISTERED
    return Category.DOMESTIC_MIGRANT


def lies_in(division: str | None, area_code: str) -> bool:
    return bool(division) and str(division).startswith(area_code)


def hukou_status(
    *,
    area_code: str,
    overseas: bool,
    hukou_division: str | None,
    residence_division: str | None,
) -> HukouStatus | None:
    """Hukou status of a registered resident against area A, or None when it does not apply
    (overseas, hukou outside the city, or neither registered nor living in A)."""
    if overseas or not in_city(hukou_division):
        return None
    registered_here = lies_in(hukou_division, area_code)
    lives_here = lies_in(residence_division, area_code)
    if registered_here and lives_here:
        return HukouStatus.CONSISTENT
    if lives_here:
        return HukouStatus.LIVING_HERE_REGISTERED_ELSEWHERE
    if registered_here and residence_division:
        return HukouStatus.REGISTERED_HERE_LIVING_ELSEWHERE
    if registered_here:
        return HukouStatus.REGISTERED_HERE_WHEREABOUTS_UNKNOWN
    return None
