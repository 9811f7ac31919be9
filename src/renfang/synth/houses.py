"""The district's houses (实有房屋), fitted to the stays of the people who lived in them.

Households are made in no order of time, so their stays are first only recorded (the
register gets a placeholder ``#<stay>`` for the house). When everyone is made, the stays are
packed into houses in order of time, each stay into the house that has stood empty longest
(``pack``): a let flat finds its next tenant, and the district has about as many houses as
it ever needed at once. Exclusive houses hold one household at a time; shared houses (group
rentals, dormitories, site shelters) have beds, each bed one tenant at a time.
"""

from __future__ import annotations

import heapq
import random
from array import array
from collections.abc import Callable, Iterator

from renfang.synth.addresses import KIND_USE, Address, AddressMaker, HouseClass
from renfang.synth.places import Geography

OPEN = 10**7  # "still there on the as-of date", beyond any real day number
PLACEHOLDER = "#"  # house code of a stay not yet packed into a house
# A hukou held in the committee (or street, with a trailing "s") of a stay's house.
HUKOU_PLACEHOLDER = "@"
_MOVE_IN_GAP = 7  # days between one household leaving and the next moving in
# Stays that may follow each other in one house: flats pass between owners, tenants and
# short lets; rooms stay rooms, shops shops; shared houses keep their kind.
_GROUPS: dict[HouseClass, tuple[HouseClass, ...]] = {
    HouseClass.OWN: (HouseClass.OWN, HouseClass.RENT_WHOLE, HouseClass.SHORT),
    HouseClass.ROOM: (HouseClass.ROOM,),
    HouseClass.SHOP: (HouseClass.SHOP,),
    HouseClass.GROUP: (HouseClass.GROUP,),
    HouseClass.DORM: (HouseClass.DORM,),
    HouseClass.SHELTER: (HouseClass.SHELTER,),
}
SHARED = frozenset({HouseClass.GROUP, HouseClass.DORM, HouseClass.SHELTER})
_BEDS = {HouseClass.GROUP: (4, 12), HouseClass.DORM: (8, 40), HouseClass.SHELTER: (6, 20)}
HEADER = [
    "house_code", "area_code", "road", "number", "building", "unit", "room", "kind", "use",
    "use_from", "floor_area", "rooms", "latitude", "longitude",
]  # fmt: skip


class HouseStock:
    def __init__(self, rng: random.Random, geography: Geography) -> None:
        self.rng = rng
        self.geography = geography
        self.addresses = AddressMaker(rng, geography)
        # Stays, in parallel arrays; after packing, the house of each.
        self._stay_class = array("b")
        self._stay_start = array("i")
        self._stay_last = array("i")
        self._stay_house = array("i")
        # Houses, in parallel lists.
        self.code: list[str] = []
        self.division: list[str] = []  # its committee: a resident's residence_division
        self._address: list[Address] = []
        self._class: list[HouseClass] = []
        self._use: list[HouseClass | None] = []  # on the as-of date; None: vacant
        self._use_from: list[int] = []  # -1: unknown
        self._numbers = [0] * len(geography.committees)

    def __len__(self) -> int:
        return len(self.code)

    # -- recording ----------------------------------------------------------------------------
    def stay(self, cls: HouseClass, start: int, end: int | None) -> str:
        """Record a household's stay in a house of ``cls``; the placeholder for its code."""
        self._stay_class.append(cls)
        self._stay_start.append(start)
        self._stay_last.append(OPEN if end is None else end)
        return f"{PLACEHOLDER}{len(self._stay_start) - 1}"

    # -- packing ----------------------------------------------------------------------------
    def pack(self) -> None:
        """Give every stay a house (see the module's docstring)."""
        self._stay_house = array("i", [-1]) * len(self._stay_start)
        by_group: dict[HouseClass, list[int]] = {group: [] for group in _GROUPS}
        group_of = {cls: group for group, members in _GROUPS.items() for cls in members}
        for stay, cls in enumerate(self._stay_class):
            by_group[group_of[HouseClass(cls)]].append(stay)
        for group, stays in by_group.items():
            stays.sort(key=lambda stay: (self._stay_start[stay], self._stay_last[stay], stay))
            self._pack_group(group, stays)

    def _pack_group(self, group: HouseClass, stays: list[int]) -> None:
        """Interval partitioning: each stay goes to the place (house, or bed of a shared
        house) that has been free longest; a new place only when none is free."""
        start, last, house_of = self._stay_start, self._stay_last, self._stay_house
        free: list[tuple[int, int]] = []  # (free from, place)
        place_house: list[int] = []
        place_last: list[int] = []  # last occupied day of each place
        beds = _BEDS.get(group)
        spare_places: list[int] = []  # places of a house made but not yet used
        for stay in stays:
            if free and free[0][0] < start[stay]:
                _free_from, place = heapq.heappop(free)
            elif spare_places:
                place = spare_places.pop()
            else:
                first = len(place_house)
                houses = self._new(group, self.geography.committee_index(self.rng))
                count = self.rng.randint(*beds) if beds else 1
                for house in houses:
                    place_house.extend([house] * count)
                    place_last.extend([-1] * count)
                spare_places.extend(range(len(place_house) - 1, first, -1))
                place = first
            house = place_house[place]
            house_of[stay] = house
            place_last[place] = last[stay]
            self._note_use(house, HouseClass(self._stay_class[stay]), start[stay], last[stay])
            if last[stay] != OPEN:
                heapq.heappush(free, (last[stay] + _MOVE_IN_GAP, place))
        # A house is vacant on the as-of date when none of its places is taken then.
        occupied: set[int] = set()
        emptied: dict[int, int] = {}
        for place, house in enumerate(place_house):
            if place_last[place] == OPEN:
                occupied.add(house)
            elif place_last[place] >= 0:
                emptied[house] = max(emptied.get(house, -1), place_last[place])
        for house, last_day in emptied.items():
            if house not in occupied:
                self._use[house], self._use_from[house] = None, last_day + 1

    def _note_use(self, house: int, cls: HouseClass, start: int, last: int) -> None:
        """Stays come in order of their start: the latest one sets the use; a run of stays
        of the same use keeps the day it began."""
        if self._use[house] != cls or self._use_from[house] < 0:
            self._use[house], self._use_from[house] = cls, start

    def _new(self, cls: HouseClass, committee: int) -> list[int]:
        area = self.geography.committees[committee].code
        houses: list[int] = []
        for address in self.addresses.make(cls, committee):
            houses.append(len(self.code))
            self._numbers[committee] += 1
            self.code.append(f"{area}{self._numbers[committee]:06d}")
            self.division.append(area)
            self._address.append(address)
            self._class.append(cls)
            self._use.append(None)
            self._use_from.append(-1)
        return houses

    def add_unused(self, count: int, cls: HouseClass) -> None:
        """Houses nobody in the register lives in: empty flats, shops that are only shops."""
        for _ in range(count):
            for house in self._new(cls, self.geography.committee_index(self.rng)):
                self._use[house] = HouseClass.SHOP if cls is HouseClass.SHOP else None

    # -- reading ----------------------------------------------------------------------------
    def placement(self, placeholder: str) -> tuple[str, str]:
        """(house code, residence division) of a packed stay."""
        house = self._stay_house[int(placeholder[len(PLACEHOLDER) :])]
        return self.code[house], self.division[house]

    def hukou_placement(self, placeholder: str) -> str:
        """The committee (or, for ``…s``, the street) of a packed stay's house."""
        street = placeholder.endswith("s")
        house = self._stay_house[int(placeholder[len(HUKOU_PLACEHOLDER) : -1 if street else None])]
        return self.division[house][:9] if street else self.division[house]

    def rows(self, date_text: Callable[[int], str]) -> Iterator[tuple[str, ...]]:
        """houses.csv rows; the use is the one on the as-of date: a house everyone has left is
        vacant from the day after the last one went."""
        for house, code in enumerate(self.code):
            address = self._address[house]
            use_class = self._use[house]
            use = "vacant" if use_class is None else KIND_USE[use_class][1]
            use_from = self._use_from[house]
            yield (
                code,
                *address[:7],
                use,
                date_text(use_from) if use_from >= 0 else "",
                *address[7:],
            )
