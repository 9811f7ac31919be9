"""Households of each status on the as-of date, with their history.

Every maker returns a household (people and the stays they share) whose situation on the
as-of date is its status: a consistent family has lived in its flat for years or moved in
with its hukou; a migrant arrived, moved between rented rooms and is still here (or left);
a family registered here lives in another district, or nobody knows where.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from enum import StrEnum

from renfang.synth.addresses import HouseClass
from renfang.synth.households import (
    AWAY_SHAPES,
    LEFT_MIGRANT_SHAPES,
    MIGRANT_SHAPES,
    OVERSEAS_SHAPES,
    REGISTERED_SHAPES,
    Member,
    PeopleMaker,
    Person,
    shape_members,
)
from renfang.synth.houses import HUKOU_PLACEHOLDER, PLACEHOLDER
from renfang.synth.places import Geography
from renfang.synth.sampling import Weighted, between, ordinal, recent_day, years
from renfang.synth.timeline import Stay, Timelines

Household = list[tuple[Person, list[Stay]]]


class Status(StrEnum):
    """A person's place in the district's figures on the as-of date."""

    CONSISTENT = "consistent"  # 人户一致
    LIVING_HERE_REGISTERED_ELSEWHERE = "living_here_registered_elsewhere"  # 人在户不在
    DOMESTIC_MIGRANT = "domestic_migrant"  # 来沪人员
    OVERSEAS = "overseas"  # 境外人员
    REGISTERED_HERE_LIVING_ELSEWHERE = "registered_here_living_elsewhere"  # 户在人不在
    REGISTERED_HERE_WHEREABOUTS_UNKNOWN = "registered_here_whereabouts_unknown"  # 空挂户
    LEFT_MIGRANT = "left_migrant"  # gone before the as-of date
    LEFT_OVERSEAS = "left_overseas"
    LEFT_REGISTERED = "left_registered"  # died, or moved out with their hukou


_SINGLE_MIGRANT_HOUSES = Weighted.of({
    HouseClass.ROOM: 45, HouseClass.GROUP: 22, HouseClass.DORM: 16, HouseClass.SHOP: 5,
    HouseClass.SHORT: 5, HouseClass.SHELTER: 7,
})  # fmt: skip
_COUPLE_MIGRANT_HOUSES = Weighted.of({
    HouseClass.ROOM: 50, HouseClass.RENT_WHOLE: 30, HouseClass.SHOP: 15, HouseClass.SHORT: 5
})  # fmt: skip
_FAMILY_MIGRANT_HOUSES = Weighted.of(
    {HouseClass.RENT_WHOLE: 72, HouseClass.ROOM: 16, HouseClass.SHOP: 12}
)
_OVERSEAS_HOUSES = Weighted.of(
    {HouseClass.RENT_WHOLE: 70, HouseClass.OWN: 12, HouseClass.SHORT: 18}
)
_EARLIEST = ordinal(1985)  # nobody's current stay is recorded as starting before this


class HouseholdMaker:
    def __init__(
        self,
        rng: random.Random,
        geography: Geography,
        timelines: Timelines,
        makers: PeopleMaker,
        *,
        as_of: int,
        window_start: int,
    ) -> None:
        self.rng = rng
        self.geography = geography
        self.timelines = timelines
        self.makers = makers
        self.as_of = as_of
        self.window_start = window_start
        self._by_status: dict[Status, Callable[[int], Household]] = {
            Status.CONSISTENT: self._consistent,
            Status.LIVING_HERE_REGISTERED_ELSEWHERE: self._registered_elsewhere,
            Status.DOMESTIC_MIGRANT: lambda cap: self._migrant(cap, left=False),
            Status.OVERSEAS: lambda cap: self._overseas(cap, left=False),
            Status.REGISTERED_HERE_LIVING_ELSEWHERE: self._living_elsewhere,
            Status.REGISTERED_HERE_WHEREABOUTS_UNKNOWN: self._unknown,
            Status.LEFT_MIGRANT: lambda cap: self._migrant(cap, left=True),
            Status.LEFT_OVERSEAS: lambda cap: self._overseas(cap, left=True),
            Status.LEFT_REGISTERED: self._left_registered,
        }

    def make(self, status: Status, cap: int) -> Household:
        """A household of ``status`` with at most ``cap`` people (at least one)."""
        return self._by_status[status](cap)

    # -- helpers ---------------------------------------------------------------------------
    def _members(self, shapes: Weighted[str], cap: int, ref: int, group: str) -> list[Member]:
        return shape_members(self.rng, shapes.draw(self.rng), ref, group)[:cap]

    def _settled_since(
        self, members: list[Member], ref: int | None = None, *, native: bool = False
    ) -> int:
        """The earliest day the household can have lived here: its eldest adult's birth for
        natives of the district (they grew up here), that adult at 22 for newcomers; at the
        latest a month before ``ref`` (the as-of date by default)."""
        adults = [birth for role, _sex, birth in members if role != "child"]
        latest = (self.as_of if ref is None else ref) - 30
        return min(max(_EARLIEST, min(adults) + (0 if native else years(22))), latest)

    def _start(self, earliest: int, long_ago: float) -> int:
        """A first day: before the window with probability ``long_ago`` (when possible)."""
        if earliest < self.window_start and self.rng.random() < long_ago:
            return between(self.rng, earliest, self.window_start - 1)
        return between(self.rng, max(earliest, self.window_start), self.as_of - 30)

    def _district_hukou(self, stays: list[Stay] | None = None) -> str:
        """A hukou in this district: held in the committee of the first house (known once
        houses are packed, hence a placeholder), sometimes only in its street, sometimes in
        another committee (separated at street level but not at district level)."""
        rng = self.rng
        roll = rng.random()
        street = roll > 0.86
        if stays is None or roll < 0.18 or not stays[0][3].startswith(PLACEHOLDER):
            committee = self.geography.committee_code(rng)
            return committee[:9] if street else committee
        stay = stays[0][3][len(PLACEHOLDER) :]
        return f"{HUKOU_PLACEHOLDER}{stay}{'s' if street else ''}"

    def _hukou_type(self, members: list[Member], collective: float) -> str:
        return "collective" if len(members) == 1 and self.rng.random() < collective else "family"

    def _chinese(
        self, members: list[Member], ref: int, division: str, *, shanghai: bool
    ) -> list[Person]:
        """People holding one hukou in ``division``; their ID numbers carry its county."""
        county = (
            self.geography.district.code if division.startswith(HUKOU_PLACEHOLDER) else division[:6]
        )
        people = self.makers.chinese(members, ref, [county] * len(members), shanghai=shanghai)
        hukou = [(0, division, self._hukou_type(members, 0.08))]
        for person in people:
            person.hukou = hukou
        return people

    def _time_here(self, left: bool, *, long: float, mean: float) -> int:
        """Days since arrival (for people still here) or days stayed (for people who left):
        a share stays for years, the rest come and go within a year or two."""
        rng = self.rng
        if rng.random() < long:
            return years(rng.uniform(3, 12) if left else rng.uniform(6, 20))
        return 30 * left + int(rng.expovariate(1 / years(mean if left else mean + 1)))

    def _owner_or_tenant(self, own: float) -> Callable[[], HouseClass]:
        house_class = HouseClass.OWN if self.rng.random() < own else HouseClass.RENT_WHOLE
        return lambda: house_class

    # -- statuses --------------------------------------------------------------------------
    def _consistent(self, cap: int) -> Household:
        rng = self.rng
        members = self._members(REGISTERED_SHAPES, cap, self.as_of, "registered")
        roll = rng.random()
        earliest = self._settled_since(members, native=roll < 0.91)
        if roll < 0.91:  # living here for long, or moved in with their hukou
            start = self._start(earliest, long_ago=0.95)
            stays = self.timelines.in_district(
                start, None, 35 if start < self.window_start else 15, self._owner_or_tenant(0.8)
            )
            people = self._chinese(members, self.as_of, self._district_hukou(stays), shanghai=True)
            return [(person, stays) for person in people]
        start = self._start(earliest, long_ago=0.3 if roll < 0.97 else 0.6)
        stays = self.timelines.in_district(start, None, 12, self._owner_or_tenant(0.6))
        # The hukou follows some months after the move, and never after the as-of date.
        moved_in = between(
            rng, min(max(start + 60, self.window_start), self.as_of - 1), self.as_of - 1
        )
        target = self._district_hukou(stays)
        if roll < 0.97:  # hukou moved in from another district of the city (迁入)
            before = self.geography.street_elsewhere(rng)
        else:  # a migrant family that settled here (落户)
            before = self.geography.migrant_county(rng)
        # Children born after the move are registered here from birth, and numbered so.
        regions = [
            before[:6] if birth < moved_in else self.geography.district.code
            for _role, _sex, birth in members
        ]
        people = self.makers.chinese(members, self.as_of, regions, shanghai=roll < 0.97)
        hukou = [(0, before, "family"), (moved_in, target, "family")]
        for person in people:
            person.hukou = hukou
        return [(person, stays) for person in people]

    def _registered_elsewhere(self, cap: int) -> Household:
        members = self._members(REGISTERED_SHAPES, cap, self.as_of, "registered")
        start = self._start(self._settled_since(members), long_ago=0.8)
        stays = self.timelines.in_district(start, None, 8, self._owner_or_tenant(0.45))
        street = self.geography.street_elsewhere(self.rng)
        people = self._chinese(members, self.as_of, street, shanghai=True)
        if len(people) == 1 and self.rng.random() < 0.1:
            people[0].hukou = [(0, street, "collective")]
        return [(person, stays) for person in people]

    def _migrant(self, cap: int, *, left: bool) -> Household:
        rng = self.rng
        ref = recent_day(rng, self.window_start, self.as_of - 1, bias=0.7) if left else self.as_of
        members = self._members(
            LEFT_MIGRANT_SHAPES if left else MIGRANT_SHAPES, cap, ref, "migrant"
        )
        earliest = max(
            _EARLIEST, min(birth for role, _s, birth in members if role != "child") + years(16)
        )
        long = 0.3 if left else 0.45
        start = min(ref, max(earliest, ref - self._time_here(left, long=long, mean=1.6)))
        if len(members) == 1:
            mean, houses = 0.6, _SINGLE_MIGRANT_HOUSES
        elif len(members) == 2 and members[1][0] == "spouse":
            mean, houses = 1.2, _COUPLE_MIGRANT_HOUSES
        else:
            mean, houses = 2.0, _FAMILY_MIGRANT_HOUSES
        stays = self.timelines.in_district(
            start, ref if left else None, mean, lambda: houses.draw(rng)
        )
        county = self.geography.migrant_county(rng)
        province = county[:2]
        spouse_county = county
        if rng.random() < 0.3:
            spouse_county = self.geography.migrant_county(
                rng, province if rng.random() < 0.8 else None
            )
        child_county = county if rng.random() < 0.8 else spouse_county
        regions = [
            {"spouse": spouse_county, "child": child_county}.get(role, county)
            for role, _sex, _birth in members
        ]
        style = "han"
        if (province == "65" and rng.random() < 0.7) or (province == "54" and rng.random() < 0.8):
            style = "uyghur" if province == "65" else "tibetan"
        people = self.makers.chinese(members, ref, regions, shanghai=False, style=style)
        hukou_type = self._hukou_type(members, 0.04)
        for person, region in zip(people, regions, strict=True):
            person.hukou = [(0, region, hukou_type)]
        return [(person, stays) for person in people]

    def _overseas(self, cap: int, *, left: bool) -> Household:
        rng = self.rng
        ref = recent_day(rng, self.window_start, self.as_of - 1) if left else self.as_of
        members = self._members(OVERSEAS_SHAPES, cap, ref, "overseas")
        earliest = max(
            _EARLIEST, min(birth for role, _s, birth in members if role != "child") + years(18)
        )
        start = min(ref, max(earliest, ref - self._time_here(left, long=0.3, mean=2.2)))
        stays = self.timelines.in_district(
            start, ref if left else None, 2.5, lambda: _OVERSEAS_HOUSES.draw(rng)
        )
        return [(person, stays) for person in self.makers.overseas(members, ref)]

    def _living_elsewhere(self, cap: int) -> Household:
        """Registered here, living in another district (户在人不在)."""
        rng = self.rng
        members = self._members(AWAY_SHAPES, cap, self.as_of, "registered")
        earliest = self._settled_since(members, native=True)
        moved_out = between(rng, self.window_start, self.as_of - 30)
        if rng.random() < 0.15 and earliest < moved_out - 60:
            start = between(rng, earliest, moved_out - 60)
            stays = self.timelines.in_district(start, moved_out - 1, 35, lambda: HouseClass.OWN)
            stays.append(self.timelines.elsewhere(moved_out, None))
            hukou = self._district_hukou(stays)
        else:
            stays = [self.timelines.elsewhere(self._start(earliest, long_ago=0.97), None)]
            hukou = self._district_hukou()
        people = self._chinese(members, self.as_of, hukou, shanghai=True)
        return [(person, stays) for person in people]

    def _unknown(self, cap: int) -> Household:
        """Registered here, whereabouts unknown (空挂户)."""
        rng = self.rng
        members = self._members(AWAY_SHAPES, cap, self.as_of, "registered")
        earliest = self._settled_since(members, native=True)
        lost = between(rng, self.window_start, self.as_of - 30)
        roll = rng.random()
        hukou = self._district_hukou()
        if roll < 0.5 and earliest < lost - 60:
            start = between(rng, earliest, lost - 60)
            if roll < 0.25:
                stays = self.timelines.in_district(start, lost - 1, 30, lambda: HouseClass.OWN)
                hukou = self._district_hukou(stays)
            else:
                stays = [self.timelines.elsewhere(start, lost - 1)]
            stays.append(self.timelines.unknown(lost, None))
        else:
            stays = [self.timelines.unknown(self._start(earliest, long_ago=0.95), None)]
        people = self._chinese(members, self.as_of, hukou, shanghai=True)
        return [(person, stays) for person in people]

    def _left_registered(self, cap: int) -> Household:
        """Registered people who lived here and are gone: died, or moved away for good."""
        rng = self.rng
        gone = between(rng, self.window_start, self.as_of - 1)
        roll = rng.random()
        shapes = Weighted(["elder_single"], [1.0]) if roll < 0.4 else REGISTERED_SHAPES
        members = self._members(shapes, cap, gone, "registered")
        earliest = self._settled_since(members, gone, native=roll < 0.7)
        start = min(self._start(earliest, long_ago=0.7), gone - 30)
        stays = self.timelines.in_district(
            max(start, _EARLIEST), gone, 20, self._owner_or_tenant(0.7)
        )
        if roll < 0.7:  # died, or left the city with their hukou
            division = self._district_hukou(stays)
        else:  # lived here registered elsewhere in the city, and moved on
            division = self.geography.street_elsewhere(rng)
        people = self._chinese(members, gone, division, shanghai=True)
        return [(person, stays) for person in people]
