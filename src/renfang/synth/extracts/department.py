"""What every department system has in common: who it knows, its columns, its errors.

A department (``Department`` subclass, one module each) decides which people of a household
it knows (``covers``) and writes a record of each in its own columns, codes and formats
(``record``), spoiled at its own rates (``Quality``). Some people it records twice
(``later``: written at the end of its file, with a record id of their own).
"""

from __future__ import annotations

import csv
import datetime
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import ClassVar

from renfang.synth.extracts.noise import Noise, Quality
from renfang.synth.extracts.population import Household, Resident

Value = str | datetime.date


@dataclass(slots=True)
class Record:
    """One record of a department's file: its values by column and who it truly is."""

    record_id: str
    person: str  # person_key
    values: dict[str, Value]
    kinds: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Output:
    """How a department's file is written."""

    file_name: str
    kind: str = "csv"  # csv, xlsx, jsonl
    encoding: str = "utf-8"  # csv only: utf-8, utf-8-sig (a BOM), gbk, gb18030
    sheet: str = ""  # xlsx only


def _read_data(package: str, name: str) -> list[dict[str, str]]:
    text = (files(package) / "data" / name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


ETHNICITY_NAMES = {row["code"]: row["name"] for row in _read_data("renfang.codes", "ethnicity.csv")}


class Places:
    """Addresses and the names of areas: houses of the district, Shanghai's streets and the
    counties of China."""

    def __init__(self, district_dir: Path, district: str) -> None:
        self.houses: dict[str, tuple[str, str, str, str, str, str]] = {}
        with (district_dir / "houses.csv").open(encoding="utf-8", newline="") as file:
            rows = csv.reader(file)
            next(rows)
            for house in rows:
                self.houses[house[0]] = (house[2], house[3], house[4], house[5], house[6], house[1])
        self.names: dict[str, str] = {}
        for area in _read_data("renfang.areas", "shanghai.csv"):
            self.names[area["code"]] = area["name"]
        with (district_dir / "areas.csv").open(encoding="utf-8", newline="") as file:
            for area in csv.DictReader(file):
                self.names[area["code"]] = area["name"]
        self.counties: dict[str, tuple[str, str, str]] = {}
        for county in _read_data("renfang.areas", "china_divisions.csv"):
            prefecture = "" if county["prefecture"] in ("市辖区", "县") else county["prefecture"]
            self.counties[county["code"]] = (county["province"], prefecture, county["name"])
        self.district = district
        self.city_name = self.names.get(district[:2], "上海市")

    def house_address(self, house_code: str, *, style: str = "standard") -> str:
        """A house's address: ``standard`` (road, lane, building, room), ``short`` (号 for
        号楼, no 室) or ``full`` (with city, district and street)."""
        road, number, building, unit, room, area = self.houses[house_code]
        if style == "short":
            building = building.replace("号楼", "号")
            text = f"{road}{number}{building}{unit and unit + '单元'}{room}"
        else:
            text = f"{road}{number}{building}{unit and unit + '单元'}{room and room + '室'}"
        if style == "full":
            district, street = self.names.get(area[:6], ""), self.names.get(area[:9], "")
            return f"{self.city_name}{district}{street}{text}"
        return text

    def division_address(self, division: str, rng: random.Random) -> str:
        """An address known only by its division (elsewhere in Shanghai, or a county of
        China), made up street by street."""
        if division.startswith("31"):
            names = "".join(
                self.names.get(division[:size], "")
                for size in (2, 6, 9, 12)
                if len(division) >= size
            )
            return f"{names}{rng.choice(_ROADS)}{rng.randint(1, 999)}号"
        province, prefecture, county = self.counties.get(division[:6], ("", "", ""))
        if rng.random() < 0.5:
            town, village = rng.sample(_VILLAGES, 2)
            return f"{province}{prefecture}{county}{town}镇{village}村{rng.randint(1, 30)}组"
        return f"{province}{prefecture}{county}{rng.choice(_ROADS)}{rng.randint(1, 300)}号"

    def committee_name(self, division: str) -> str:
        return self.names.get(division[:12], "")


_ROADS = ("人民路", "解放路", "建设路", "中山路", "和平路", "新华路", "胜利路", "文化路", "东风路",
          "青年路", "光明路", "朝阳路", "长江路", "黄河路", "健康路", "振兴路")  # fmt: skip
_VILLAGES = ("李家", "王庄", "张湾", "刘集", "陈店", "杨桥", "赵岗", "黄坡", "周营", "吴堡",
             "高庙", "马岭", "孙圩", "朱楼", "胡寨", "林场")  # fmt: skip


@dataclass
class Context:
    """What all departments of one run share."""

    rng: random.Random
    as_of: datetime.date
    places: Places


# Date layouts (written by hand: a spoiled date such as 30 February has no ``date``).
def ymd(year: int, month: int, day: int) -> str:
    return f"{year:04d}{month:02d}{day:02d}"


def iso(year: int, month: int, day: int) -> str:
    return f"{year:04d}-{month:02d}-{day:02d}"


def slashed(year: int, month: int, day: int) -> str:
    return f"{year}/{month}/{day}"


def chinese_date(year: int, month: int, day: int) -> str:
    return f"{year}年{month}月{day}日"


DateLayout = Callable[[int, int, int], str]

# Compound surnames (复姓), split as one surname.
COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 令狐 夏侯 轩辕 端木 万俟 "
    "澹台 南宫 西门 呼延 申屠 独孤 闻人".split()
)


def split_name(name: str) -> tuple[str, str]:
    """(family name, given name) of a Chinese name; minority and foreign names have no
    family name here (a form's 姓 is left empty, 名 holds the whole name)."""
    if not name or not "\u4e00" <= name[0] <= "\u9fff" or any(c in name for c in "·.•・． "):
        return "", name
    if name[:2] in COMPOUND_SURNAMES and len(name) > 2:
        return name[:2], name[2:]
    return name[0], name[1:]


# Whose ID numbers a clerk may mix up with a person's, by the person's role.
_FAMILY = {"child": ("head", "spouse"), "head": ("spouse", "child"), "spouse": ("head", "child")}


class Department:
    code: ClassVar[str]
    name: ClassVar[str]
    output: ClassVar[Output]
    columns: ClassVar[tuple[str, ...]]
    quality: ClassVar[Quality]

    def __init__(self, context: Context) -> None:
        self.context = context
        self.rng = context.rng
        self.places = context.places
        self.noise = Noise(context.rng, self.quality)
        self.serial = 0
        self.later: list[Record] = []

    # -- to write in each department ---------------------------------------------------------
    def covers(self, person: Resident, household: Household) -> bool:
        raise NotImplementedError

    def record(self, person: Resident, household: Household) -> Record:
        raise NotImplementedError

    # -- the run -----------------------------------------------------------------------------
    def records(self, household: Household) -> list[Record]:
        """Records of the household's people this department knows (duplicates kept for
        the end of the file)."""
        made: list[Record] = []
        for person in household:
            if self.covers(person, household):
                made.append(self.record(person, household))
                if self.noise.chance(self.quality.duplicate):
                    again = self.record(person, household)
                    again.kinds.append("duplicate")
                    self.later.append(again)
        return made

    def next_serial(self) -> int:
        self.serial += 1
        return self.serial

    # -- helpers -----------------------------------------------------------------------------
    def family_ids(self, person: Resident, household: Household) -> list[str]:
        """Numbers a clerk may take for this person's: a parent's for a child, a spouse's…"""
        wanted = _FAMILY.get(person.role, ("head", "spouse", "elder"))
        return [
            other.id_number
            for other in household
            if other is not person and other.role in wanted and other.id_type == "resident_id"
        ]

    def id_number(self, person: Resident, household: Household, kinds: list[str]) -> str:
        if person.id_type != "resident_id":
            return self.noise.other_id(person.id_number, kinds)
        return self.noise.resident_id(
            person.id_number,
            int(person.birth[:4]),
            kinds,
            self.family_ids(person, household),
        )

    def birth(self, person: Resident, kinds: list[str], layout: DateLayout) -> str:
        return layout(*self.noise.birth(person.birth, kinds))

    def house_spell(
        self, person: Resident, kinds: list[str], *, stale: float | None = None
    ) -> tuple[str, str, str, str] | None:
        """The spell in a house of the district this department knows: the latest, or
        (stale) an earlier one; None for people who never lived in the district."""
        spells = person.house_spells()
        if not spells:
            return None
        rate = self.quality.stale_address if stale is None else stale
        if len(spells) > 1 and self.rng.random() < rate:
            kinds.append("stale_address")
            return self.rng.choice(spells[:-1])
        return spells[-1]

    def division(self, division: str, kinds: list[str]) -> str:
        """A committee code as a department keeps it: now and then only its street, or an
        old committee number that was since renumbered."""
        if len(division) == 12 and self.rng.random() < self.quality.old_division:
            kinds.append("old_division")
            if self.rng.random() < 0.5:
                return division[:9]
            return division[:9] + f"{(int(division[9:]) + 500) % 1000:03d}"
        return division

    def phone(self, person: Resident, kinds: list[str]) -> str:
        return self.noise.phone(person.phone, kinds)

    def unmapped(self, value: str, strays: tuple[str, ...], kinds: list[str]) -> str:
        """Now and then a value this department's mapping does not know."""
        if self.rng.random() < self.quality.unmapped:
            kinds.append("unmapped_code")
            return self.rng.choice(strays)
        return value

    def hukou_address(self, person: Resident) -> str:
        """The address of the hukou: the house it is held in when the person lived in its
        street, otherwise made up — the same for the whole household in every department."""
        division = person.hukou_division
        if division.startswith(self.places.district):
            for spell in person.house_spells():
                if spell[2][:9] == division[:9]:
                    return self.places.house_address(spell[3], style="full")
        made_up = random.Random(person.household * 1_000_003 + int(division[:6] or 0))
        return self.places.division_address(division, made_up)
