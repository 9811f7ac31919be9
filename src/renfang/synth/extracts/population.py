"""The true people behind the extracts: the register read back, household by household, with
what departments know and the register does not (marital status, schooling, work, ethnicity,
relief), drawn once per person so that every department starts from the same truth.

The register holds a person's rows one after the other and a household's people one after
the other; the households file written beside it says, line by line, which household each
person belongs to and their role in it. Both are streamed: one household in memory at a time.
"""

from __future__ import annotations

import csv
import datetime
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from renfang.synth.sampling import Weighted

CITY = "31"

# Ethnic groups (GB 3304) of Han-style names: most are Han, some Hui, Manchu, Zhuang, Korean…
_MINORITIES = Weighted.of(
    {"03": 30, "11": 25, "08": 10, "10": 10, "15": 8, "06": 6, "02": 6, "14": 5}
)
# Education (GB/T 4658 codes of code set ``education``) of adults, by group and generation.
_EDUCATION = {
    ("registered", "young"): Weighted.of(
        {"14": 12, "21": 40, "31": 20, "61": 12, "44": 6, "71": 8, "11": 2}
    ),
    ("registered", "middle"): Weighted.of({"21": 20, "31": 20, "61": 25, "71": 25, "81": 10}),
    ("registered", "old"): Weighted.of({"21": 8, "31": 10, "61": 22, "71": 35, "81": 20, "90": 5}),
    ("migrant", "young"): Weighted.of({"21": 12, "31": 18, "61": 15, "44": 10, "71": 35, "81": 10}),
    ("migrant", "middle"): Weighted.of({"31": 6, "61": 16, "71": 45, "81": 28, "90": 5}),
    ("migrant", "old"): Weighted.of({"61": 10, "71": 40, "81": 40, "90": 10}),
    ("overseas", "young"): Weighted.of({"14": 30, "21": 50, "31": 10, "61": 10}),
    ("overseas", "middle"): Weighted.of({"14": 25, "21": 50, "31": 15, "61": 10}),
    ("overseas", "old"): Weighted.of({"14": 15, "21": 45, "31": 20, "61": 20}),
}
_WORK = {
    "registered": Weighted.of(
        {"employed": 70, "self_employed": 5, "flexible": 8, "unemployed": 4, "no_work": 13}
    ),
    "migrant": Weighted.of(
        {"employed": 70, "self_employed": 14, "flexible": 10, "unemployed": 2, "no_work": 4}
    ),
    "overseas": Weighted.of({"employed": 80, "self_employed": 5, "no_work": 15}),
}
# Marital status of adults living without a spouse, by age: (up to age, ((cumulative share,
# code), …)).
_WIDOWED = ((0.8, "30"), (1.0, "40"))
_SINGLE_ADULTS = (
    (30, ((0.85, "10"), (1.0, "40"))),
    (45, ((0.6, "10"), (0.9, "40"), (1.0, "20"))),
    (66, ((0.4, "40"), (0.7, "30"), (0.9, "10"), (1.0, "20"))),
    (200, ((0.65, "30"), (0.8, "40"), (0.9, "20"), (1.0, "10"))),
)
WORKING = frozenset({"employed", "self_employed", "flexible", "unemployed"})


@dataclass(slots=True)
class Resident:
    """A true person: the register's rows of one person and what the extracts add."""

    key: str  # truth.csv's person_key
    index: int  # 1-based position in the register
    id_type: str
    id_number: str
    name: str
    sex: str
    birth: str  # ISO
    nationality: str
    phone: str
    # (first day, division, household type), in order; the first day "" for "always".
    hukou: list[tuple[str, str, str]]
    # (first day, last day or "", residence division, house code or "")
    spells: list[tuple[str, str, str, str]]
    household: int
    role: str
    status: str
    age: int = 0  # on the as-of date, or on the last day here for people who left
    ethnicity: str = ""
    marital: str = ""
    education: str = ""
    employment: str = ""
    tags: list[str] = field(default_factory=list)
    card: str = ""  # social security card number (社会保障卡号)

    @property
    def lives_here(self) -> bool:
        """Lives in a house of the district on the as-of date."""
        last = self.spells[-1]
        return not last[1] and bool(last[3])

    @property
    def was_here(self) -> bool:
        return any(spell[3] for spell in self.spells)

    @property
    def left(self) -> bool:
        return self.status.startswith("left")

    @property
    def overseas(self) -> bool:
        return self.nationality != "CHN"

    @property
    def hukou_division(self) -> str:
        return self.hukou[-1][1]

    @property
    def hukou_type(self) -> str:
        return self.hukou[-1][2]

    def hukou_in(self, prefix: str) -> bool:
        """Held a hukou in ``prefix`` (a division code) at any time."""
        return any(division.startswith(prefix) for _day, division, _type in self.hukou)

    @property
    def migrant(self) -> bool:
        """A citizen whose hukou is outside the city."""
        return not self.overseas and not self.hukou_division.startswith(CITY)

    def house_spells(self) -> list[tuple[str, str, str, str]]:
        """Spells in houses of the district, oldest first."""
        return [spell for spell in self.spells if spell[3]]


Household = list[Resident]


def _age(birth: str, on: datetime.date) -> int:
    year, month, day = int(birth[:4]), int(birth[5:7]), int(birth[8:10])
    return on.year - year - ((on.month, on.day) < (month, day))


def read_households(
    register: Path, households: Path, *, as_of: datetime.date
) -> Iterator[Household]:
    """The register's people, household by household, in register order."""
    with (
        register.open(encoding="utf-8", newline="", buffering=1 << 20) as rows_file,
        households.open(encoding="utf-8", buffering=1 << 20) as side,
    ):
        rows = csv.reader(rows_file)
        next(rows)
        household: Household = []
        index = 0
        person_rows: list[list[str]] = []

        def resident(rows_of: list[list[str]]) -> Resident:
            nonlocal index
            index += 1
            number, role, status = next(side).rstrip("\n").split("\t")
            first = rows_of[0]
            hukou: list[tuple[str, str, str]] = []
            for row in rows_of:
                if not hukou or hukou[-1][1:] != (row[6], row[7]):
                    hukou.append(("" if not hukou else row[10], row[6], row[7]))
            spells = [(row[10], row[11], row[8], row[9]) for row in rows_of]
            last_day = spells[-1][1]
            ref = datetime.date.fromisoformat(last_day) if last_day else as_of
            return Resident(
                key=f"P{index:08d}",
                index=index,
                id_type=first[0],
                id_number=first[1],
                name=first[2],
                sex=first[3],
                birth=first[4],
                nationality=first[5],
                phone=first[12],
                hukou=hukou,
                spells=spells,
                household=int(number),
                role=role,
                status=status,
                age=_age(first[4], ref),
            )

        for row in rows:
            if person_rows and (row[0] != person_rows[0][0] or row[1] != person_rows[0][1]):
                person = resident(person_rows)
                if household and household[0].household != person.household:
                    yield household
                    household = []
                household.append(person)
                person_rows = []
            person_rows.append(row)
        if person_rows:
            person = resident(person_rows)
            if household and household[0].household != person.household:
                yield household
                household = []
            household.append(person)
        if household:
            yield household


class Profiler:
    """Draws what departments know of a household's people, the same for every department."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def profile(self, household: Household) -> None:
        rng = self.rng
        ethnicity = self._ethnicity(household)
        spouses = {person.role for person in household} >= {"head", "spouse"}
        elders = sum(person.role == "elder" for person in household)
        relief = ""
        if not household[0].overseas and rng.random() < 0.035:
            relief = rng.choice(
                ("subsistence_allowance", "low_income", "low_income", "extreme_hardship")
            )
        for person in household:
            person.ethnicity = ethnicity if not person.overseas else ""
            person.marital = self._marital(person, spouses=spouses, elders=elders)
            person.education = self._education(person)
            person.employment = self._employment(person)
            tags: list[str] = []
            if relief and (relief != "extreme_hardship" or len(household) == 1):
                tags.append(relief)
            if rng.random() < 0.02:
                tags.append("disabled")
            if person.sex == "1" and person.age >= 40 and rng.random() < 0.03:
                tags.append("veteran")
            person.tags = tags
            person.card = f"{(person.index * 73_939_133 + 4_111_111) % 10**10:010d}"

    def _ethnicity(self, household: Household) -> str:
        if any("·" in person.name for person in household):
            return "05"  # 维吾尔族: the generator gives Xinjiang households such names
        head = household[0]
        if head.id_number.startswith("54") and len(head.name) == 4:
            return "04"  # 藏族: two two-character names, no surname
        if self.rng.random() < 0.06:
            return _MINORITIES.draw(self.rng)
        return "01"

    def _marital(self, person: Resident, *, spouses: bool, elders: int) -> str:
        """Marital status (GB/T 2261.2) from the household's shape and the person's age."""
        roll = self.rng.random()
        if person.role in ("head", "spouse") and spouses:
            return "22" if roll < 0.06 else "20"
        if person.role == "elder":
            table: tuple[tuple[float, str], ...] = ((1.0, "20"),) if elders == 2 else _WIDOWED
        elif person.age < 22:
            return "10"
        elif person.role == "child":
            table = ((0.8, "10"), (1.0, "20"))
        else:
            table = next(rows for age, rows in _SINGLE_ADULTS if person.age < age)
        return next(code for share, code in table if roll < share)

    @staticmethod
    def _group(person: Resident) -> str:
        if person.overseas:
            return "overseas"
        return "migrant" if person.migrant else "registered"

    def _education(self, person: Resident) -> str:
        age = person.age
        if age < 6:
            return ""
        if age < 12:
            return "80"
        if age < 15:
            return "70"
        if age < 18:
            return "60"
        generation = "young" if age < 45 else ("middle" if age < 65 else "old")
        return _EDUCATION[(self._group(person), generation)].draw(self.rng)

    def _employment(self, person: Resident) -> str:
        age = person.age
        if age < 6:
            return "preschool"
        if age < 16 or (person.role == "child" and age < 22 and self.rng.random() < 0.7):
            return "student"
        if age >= (60 if person.sex == "1" else 55):
            return "retired" if self.rng.random() < 0.9 else "no_work"
        return _WORK[self._group(person)].draw(self.rng)
