"""Standard addresses, sizes and positions of new houses, the way Shanghai numbers them.

Flats lie in lanes (弄) of numbered buildings (号楼) with rooms numbered floor by floor
(1201: twelfth floor, first door); shops, dormitories and site shelters have a street number
(号). A flat let room by room becomes two or three houses of kind ``room``.
"""

from __future__ import annotations

import random
from enum import IntEnum

from renfang.synth.places import Geography

# (area_code, road, number, building, unit, room, kind, floor_area, rooms, latitude, longitude)
Address = tuple[str, str, str, str, str, str, str, str, str, str, str]


class HouseClass(IntEnum):
    OWN = 0  # 自住
    RENT_WHOLE = 1  # 整租
    ROOM = 2  # 分租 (a room of a flat)
    GROUP = 3  # 群租
    DORM = 4  # 集体宿舍
    SHOP = 5  # 沿街商铺, lived in
    SHORT = 6  # 短租/日租
    SHELTER = 7  # 工地工棚


KIND_USE: dict[HouseClass, tuple[str, str]] = {
    HouseClass.OWN: ("flat", "owner_occupied"),
    HouseClass.RENT_WHOLE: ("flat", "rented_whole"),
    HouseClass.ROOM: ("room", "rented_by_room"),
    HouseClass.GROUP: ("flat", "group_rental"),
    HouseClass.DORM: ("dormitory", "dormitory"),
    HouseClass.SHOP: ("shop", "shop_workplace"),
    HouseClass.SHORT: ("flat", "short_term_rental"),
    HouseClass.SHELTER: ("shelter", "dormitory"),
}
_IN_FLATS = frozenset(
    {HouseClass.OWN, HouseClass.RENT_WHOLE, HouseClass.SHORT, HouseClass.GROUP, HouseClass.ROOM}
)


class _Lane:
    """A lane (弄) of residential buildings; its flats are handed out in no order."""

    __slots__ = (
        "buildings", "doors", "floors", "lat", "lon", "number", "road", "rng", "taken", "units",
    )  # fmt: skip

    def __init__(self, rng: random.Random, road: str, centre: tuple[float, float]) -> None:
        self.road = road
        self.number = f"{rng.randint(1, 300) * 5 + rng.choice((0, 1, 3))}弄"
        old = rng.random() < 0.5  # a 1980s 新村 of six-storey blocks, or a tower estate
        self.buildings = rng.randint(6, 40) if old else rng.randint(3, 16)
        self.floors = rng.randint(5, 6) if old else rng.randint(11, 32)
        self.doors = rng.randint(2, 4) if old else rng.randint(2, 8)
        self.units = 0 if old or rng.random() < 0.7 else rng.randint(2, 3)  # 单元 of towers
        self.lat = centre[0] + rng.uniform(-0.006, 0.006)
        self.lon = centre[1] + rng.uniform(-0.007, 0.007)
        self.rng = rng
        self.taken: set[int] = set()

    def flat(self) -> tuple[str, str, str] | None:
        """(building, unit, room) of a flat not yet handed out; None when the lane is
        mostly taken."""
        size = self.buildings * self.floors * self.doors
        if len(self.taken) * 4 > size * 3:
            return None
        while True:
            flat = self.rng.randrange(size)
            if flat not in self.taken:
                self.taken.add(flat)
                break
        building, rest = divmod(flat, self.floors * self.doors)
        floor, door = divmod(rest, self.doors)
        unit = str(door % self.units + 1) if self.units else ""
        return f"{building + 1}号楼", unit, f"{floor + 1}{door + 1:02d}"


class AddressMaker:
    def __init__(self, rng: random.Random, geography: Geography) -> None:
        self.rng = rng
        self.geography = geography
        self._lanes: dict[int, list[_Lane]] = {}
        self._street_numbers = [0] * len(geography.committees)

    def make(self, cls: HouseClass, committee: int) -> list[Address]:
        """The addresses of a new house of ``cls`` (several for a flat let room by room)."""
        rng = self.rng
        geography = self.geography
        area = geography.committees[committee].code
        grids = geography.grids[area]
        area_code = rng.choice(grids).code if grids else area
        kind = KIND_USE[cls][0]
        unit = ""
        if cls in _IN_FLATS:
            road, number, building, unit, room, lat, lon = self._flat(committee)
            rooms = rng.choices((1, 2, 3, 4), (15, 45, 30, 10))[0]
            floor_area = rooms * rng.uniform(18, 34) + rng.uniform(8, 30)
            if cls is HouseClass.GROUP:
                rooms = rng.randint(1, 2)  # a small flat with beds in every room
                floor_area = rooms * rng.uniform(15, 25) + rng.uniform(8, 20)
                if rng.random() < 0.12:  # an idle factory building (闲置厂房)
                    kind, building, unit, room = "factory", str(rng.randint(1, 6)), "", ""
                    rooms, floor_area = 1, rng.uniform(150, 800)
            if cls is HouseClass.ROOM:
                return [
                    self._pack(
                        area_code,
                        road,
                        number,
                        building=building,
                        unit=unit,
                        room=f"{room}-{index}",
                        kind=kind,
                        floor_area=rng.uniform(8, 22),
                        rooms=1,
                        lat=lat,
                        lon=lon,
                    )
                    for index in range(1, rng.randint(2, 3) + 1)
                ]
        else:
            road, number, lat, lon = self._street_address(committee)
            building, room, rooms = "", "", 1
            if cls is HouseClass.DORM:
                building = f"{rng.randint(1, 5)}号楼"
                room = f"{rng.randint(1, 6)}{rng.randint(1, 20):02d}"
                floor_area = rng.uniform(20, 60)
            elif cls is HouseClass.SHELTER:
                room, floor_area = f"工棚{rng.randint(1, 30)}", rng.uniform(12, 40)
            else:
                floor_area = rng.uniform(15, 120)
        return [
            self._pack(
                area_code,
                road,
                number,
                building=building,
                unit=unit,
                room=room,
                kind=kind,
                floor_area=floor_area,
                rooms=rooms,
                lat=lat,
                lon=lon,
            )
        ]

    def _pack(
        self,
        area_code: str,
        road: str,
        number: str,
        *,
        building: str,
        unit: str,
        room: str,
        kind: str,
        floor_area: float,
        rooms: int,
        lat: float,
        lon: float,
    ) -> Address:
        south, north, west, east = self.geography.box
        jitter = self.rng.uniform
        latitude = min(max(lat + jitter(-0.0002, 0.0002), south), north)
        longitude = min(max(lon + jitter(-0.0002, 0.0002), west), east)
        return (
            area_code,
            road,
            number,
            building,
            unit,
            room,
            kind,
            f"{floor_area:.2f}",
            str(rooms),
            f"{latitude:.6f}",
            f"{longitude:.6f}",
        )

    def _flat(self, committee: int) -> tuple[str, str, str, str, str, float, float]:
        lanes = self._lanes.setdefault(committee, [])
        rng = self.rng
        centre = self.geography.committee_centre[committee]
        while True:
            if not lanes or rng.random() < 0.02:
                lanes.append(
                    _Lane(rng, rng.choice(self.geography.committee_roads[committee]), centre)
                )
            lane = lanes[-1] if rng.random() < 0.7 else rng.choice(lanes)
            flat = lane.flat()
            if flat is not None:
                return lane.road, lane.number, *flat, lane.lat, lane.lon
            lanes.remove(lane)
            lanes.insert(0, _Lane(rng, lane.road, centre))

    def _street_address(self, committee: int) -> tuple[str, str, float, float]:
        """A numbered address on a road (shops, dormitories, sites): 号, not 弄."""
        rng = self.rng
        self._street_numbers[committee] += 1
        road = rng.choice(self.geography.committee_roads[committee])
        # Numbers run up the road; committees of one road start at different numbers.
        number = self._street_numbers[committee] * 2 - 1 + committee % 7 * 100
        lat, lon = self.geography.committee_centre[committee]
        return (
            road,
            f"{number}号",
            lat + rng.uniform(-0.006, 0.006),
            lon + rng.uniform(-0.007, 0.007),
        )
