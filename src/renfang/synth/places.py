"""The district's areas and the places people come from and go to.

Streets (街道/镇) and committees (居委/村委) come from the package data (``areas/data``). A
district whose committees the data lacks gets plausible ones numbered under its real streets:
居委 001–199, 村委 from 201 in towns, the way the statistical codes number them.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from importlib.resources import files

from renfang.synth.roads import (
    DISTRICT_BOXES,
    DISTRICT_ROADS,
    GENERIC_ROADS,
    MIGRANT_PROVINCE_WEIGHTS,
    NEIGHBOUR_WEIGHTS,
    XUHUI_ROADS,
)
from renfang.synth.sampling import Weighted

CITY_CODE = "31"
XUHUI = "310104"
# Development zones and virtual communities (code suffix 4xx/5xx) house almost nobody.
_ZONE_PREFIXES = ("4", "5")
_COMMITTEE_STEMS = ["康乐", "幸福", "和平", "建设", "光明", "长青", "华欣", "景苑", "金桥", "锦绣",
                    "阳光", "东方", "新华", "春晖", "绿洲", "银杏", "玉兰", "梅园", "兰亭", "翠竹",
                    "振兴", "平安", "华东", "云台", "南苑", "北苑", "明珠", "新港"]  # fmt: skip
_COMMITTEE_KINDS = ["新村", "花园", "苑", "小区", "公寓", "坊", ""]


@dataclass(frozen=True)
class AreaRow:
    code: str
    name: str
    parent_code: str
    level: str


def _read(name: str) -> list[dict[str, str]]:
    text = (files("renfang.areas") / "data" / name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def shanghai_areas() -> list[AreaRow]:
    return [
        AreaRow(row["code"], row["name"], row["parent_code"], row["level"])
        for row in _read("shanghai.csv")
    ]


def district_codes() -> list[str]:
    return [row.code for row in shanghai_areas() if row.level == "district"]


def _generated_committees(street: AreaRow) -> list[AreaRow]:
    rng = random.Random(f"committees of {street.code}")  # the same codes whatever the seed
    town = street.name.endswith("镇")
    count = rng.randint(8, 20)
    names: set[str] = set()
    rows: list[AreaRow] = []
    for index in range(count):
        village = town and index >= count // 2
        while True:
            stem = rng.choice(_COMMITTEE_STEMS)
            name = f"{stem}村村委会" if village else f"{stem}{rng.choice(_COMMITTEE_KINDS)}居委会"
            if name not in names:
                names.add(name)
                break
        number = 201 + index - count // 2 if village else index + 1
        rows.append(AreaRow(f"{street.code}{number:03d}", name, street.code, "committee"))
    return rows


class Geography:
    """The district's areas, where its houses lie, and the places outside it."""

    def __init__(self, district_code: str, rng: random.Random, *, grids: int = 0) -> None:
        rows = shanghai_areas()
        by_code = {row.code: row for row in rows}
        if district_code not in by_code or by_code[district_code].level != "district":
            raise ValueError(f"{district_code} is not a district of Shanghai")
        self.city = by_code[CITY_CODE]
        self.district = by_code[district_code]
        self.streets = [r for r in rows if r.level == "street" and r.parent_code == district_code]
        street_codes = {street.code for street in self.streets}
        self.committees = [
            r for r in rows if r.level == "committee" and r.parent_code in street_codes
        ]
        covered = {committee.parent_code for committee in self.committees}
        for street in self.streets:
            if street.code not in covered and not street.code[6:].startswith(_ZONE_PREFIXES):
                self.committees.extend(_generated_committees(street))
        self.committees.sort(key=lambda row: row.code)
        self.grids: dict[str, list[AreaRow]] = {
            committee.code: [
                AreaRow(f"{committee.code}{number:03d}", f"第{number}网格", committee.code, "grid")
                for number in range(1, grids + 1)
            ]
            for committee in self.committees
        }
        self.box = DISTRICT_BOXES[district_code]
        self._place_committees(rng)
        self._outside(rng, rows)

    def _place_committees(self, rng: random.Random) -> None:
        south, north, west, east = self.box
        street_centre: dict[str, tuple[float, float]] = {}
        for street in self.streets:
            street_centre[street.code] = (
                rng.uniform(south + 0.01, north - 0.01),
                rng.uniform(west + 0.01, east - 0.01),
            )
        self.committee_centre: list[tuple[float, float]] = []
        self.committee_roads: list[list[str]] = []
        weights: list[float] = []
        for committee in self.committees:
            lat, lon = street_centre[committee.parent_code]
            self.committee_centre.append(
                (
                    min(max(lat + rng.uniform(-0.012, 0.012), south), north),
                    min(max(lon + rng.uniform(-0.012, 0.012), west), east),
                )
            )
            roads = self._roads_of(committee.parent_code)
            self.committee_roads.append(rng.sample(roads, min(len(roads), rng.randint(2, 4))))
            zone = committee.parent_code[6:].startswith(_ZONE_PREFIXES)
            weights.append(0.03 if zone else rng.uniform(0.4, 1.6))
        self.committee_pick = Weighted(list(range(len(self.committees))), weights)

    def _roads_of(self, street_code: str) -> list[str]:
        if self.district.code == XUHUI:
            return XUHUI_ROADS.get(street_code[6:], XUHUI_ROADS["014"])
        return DISTRICT_ROADS.get(self.district.code, GENERIC_ROADS)

    def _outside(self, rng: random.Random, rows: list[AreaRow]) -> None:
        """Streets of the other districts (to live or hold a hukou elsewhere in Shanghai) and
        the counties migrants come from."""
        other_streets: dict[str, list[str]] = {}
        for row in rows:
            district = row.parent_code
            if (
                row.level == "street"
                and district != self.district.code
                and not row.code[6:].startswith(_ZONE_PREFIXES)
            ):
                other_streets.setdefault(district, []).append(row.code)
        districts = [code for code in NEIGHBOUR_WEIGHTS if code in other_streets]
        self._other_district = Weighted(districts, [NEIGHBOUR_WEIGHTS[c] for c in districts])
        self._other_streets = other_streets
        counties: dict[str, list[str]] = {}
        for county in _read("china_divisions.csv"):
            province = county["code"][:2]
            if province != CITY_CODE and province in MIGRANT_PROVINCE_WEIGHTS:
                counties.setdefault(province, []).append(county["code"])
        provinces = [code for code in MIGRANT_PROVINCE_WEIGHTS if code in counties]
        self._province = Weighted(provinces, [MIGRANT_PROVINCE_WEIGHTS[c] for c in provinces])
        self._counties = counties

    # -- drawing places ----------------------------------------------------------------------
    def committee_index(self, rng: random.Random) -> int:
        return self.committee_pick.draw(rng)

    def committee_code(self, rng: random.Random) -> str:
        return self.committees[self.committee_pick.draw(rng)].code

    def street_elsewhere(self, rng: random.Random) -> str:
        """A street of another district of the city."""
        return rng.choice(self._other_streets[self._other_district.draw(rng)])

    def migrant_county(self, rng: random.Random, province: str | None = None) -> str:
        return rng.choice(self._counties[province or self._province.draw(rng)])

    def area_rows(self) -> list[AreaRow]:
        rows = [self.city, self.district, *self.streets]
        for committee in self.committees:
            rows.append(committee)
            rows.extend(self.grids[committee.code])
        return rows
