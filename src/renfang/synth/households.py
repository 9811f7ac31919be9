"""Who lives together: families and single people, with names, documents and phones.

A household is drawn as a shape (an elderly couple, parents and a child, three generations …)
with ages on a reference day (the as-of date for people still here, the day they left for
people who left), then given identities in the style of where its people come from.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from renfang.synth.ids import IdentityMaker
from renfang.synth.names import NameMaker
from renfang.synth.sampling import Weighted, between, years

# A hukou over time: (first day, division, household type); the first day 0 means "always".
Hukou = list[tuple[int, str, str]]
Member = tuple[str, str, int]  # (role, sex, birth day)

REGISTERED_SHAPES = Weighted.of({
    "elder_single": 12, "elder_couple": 20, "couple_child": 28, "couple_children": 6,
    "three_gen": 12, "couple": 10, "single": 9, "parent_adult_child": 3,
})  # fmt: skip
MIGRANT_SHAPES = Weighted.of(
    {"single": 55, "couple": 15, "couple_child": 19, "couple_children": 7, "three_gen": 4}
)
LEFT_MIGRANT_SHAPES = Weighted.of(
    {"single": 68, "couple": 14, "couple_child": 13, "couple_children": 5}
)
OVERSEAS_SHAPES = Weighted.of(
    {"single": 55, "couple": 15, "couple_child": 22, "couple_children": 8}
)
AWAY_SHAPES = Weighted.of({"single": 45, "couple": 25, "couple_child": 20, "elder_single": 10})

# Two-child families whose children are twins (twin births are 1–2 % of all births, and a
# good share of two-child families began as twins). Twins share a birth date, a surname, a
# house, a phone and often half a given name: DOMAIN.md's hardest case for matching people.
TWINS = 0.15

# Adult ages (low, high) by group: Shanghai natives are older, migrants young.
_ADULT_AGES = {"registered": (24, 64), "migrant": (20, 48), "overseas": (25, 62)}
_SINGLE_AGES = {"registered": (19, 66), "migrant": (17, 52), "overseas": (22, 66)}

OVERSEAS_NATIONALITIES = Weighted.of({
    "HKG": 16, "MAC": 2, "TWN": 18, "JPN": 13, "KOR": 9, "USA": 11, "FRA": 4, "DEU": 5,
    "GBR": 3, "CAN": 3, "AUS": 2, "SGP": 5, "MYS": 2, "ITA": 2, "ESP": 1.5, "NLD": 1,
})  # fmt: skip


@dataclass(slots=True)
class Person:
    id_type: str
    id_number: str
    name: str
    sex: str
    birth: int
    nationality: str
    phone: str
    hukou: Hukou = field(default_factory=list)
    role: str = ""  # head, spouse, elder or child: who the person is in the household


def _age_birth(rng: random.Random, ref: int, low: float, high: float) -> int:
    return ref - years(rng.uniform(low, high)) - rng.randrange(365)


def shape_members(rng: random.Random, shape: str, ref: int, group: str) -> list[Member]:
    """The members of a household of ``shape``: head first, then spouse, elders, children."""
    if shape == "single":
        low, high = _SINGLE_AGES[group]
        return [("head", "1" if rng.random() < 0.55 else "2", _age_birth(rng, ref, low, high))]
    if shape == "elder_single":
        return [("head", "2" if rng.random() < 0.62 else "1", _age_birth(rng, ref, 66, 97))]
    if shape == "parent_adult_child":
        parent = _age_birth(rng, ref, 60, 90)
        child = between(rng, parent + years(22), min(parent + years(38), ref - years(20)))
        sex = "1" if rng.random() < 0.5 else "2"
        return [("head", sex, child), ("elder", "2" if rng.random() < 0.6 else "1", parent)]
    low, high = _ADULT_AGES[group]
    if shape == "elder_couple":
        low, high = 62, 90
    elif shape == "three_gen":
        low, high = low + 4, min(high, 48)
    elif shape in ("couple_child", "couple_children"):
        high = min(high, 56)
    head = _age_birth(rng, ref, low, high)
    spouse = min(ref - years(18), head + years(rng.gauss(2, 3)))
    members: list[Member] = [("head", "1", head), ("spouse", "2", spouse)]
    if shape == "three_gen":
        grandfather = head - years(rng.uniform(24, 34))
        grandmother = grandfather + years(rng.uniform(0, 4))
        if group == "migrant":  # one grandparent comes to mind the child
            members.append(("elder", "2", grandmother))
        else:
            members += [("elder", "1", grandfather), ("elder", "2", grandmother)]
    children = {"couple_child": 1, "couple_children": 2, "three_gen": 1}.get(shape, 0)
    # Shanghai mothers have their first child late, migrants earlier; a child not yet born
    # on the reference day is not (yet) in the household.
    low, high = (24, 35) if group == "registered" else (20, 30)
    born = spouse + years(rng.uniform(low, high))
    for child in range(children):
        if born <= ref:
            members.append(("child", "1" if rng.random() < 0.52 else "2", born))
        if child == 0 and children > 1 and rng.random() < TWINS:
            continue  # twins: the second child born the same day
        born += years(rng.uniform(1.5, 8))
    return members


class PeopleMaker:
    """Turns members into people: names in their style, documents, phones."""

    def __init__(self, rng: random.Random, names: NameMaker, ids: IdentityMaker) -> None:
        self.rng = rng
        self.names = names
        self.ids = ids

    def _phones(self, members: list[Member], ref: int) -> list[str]:
        rng = self.rng
        phones: list[str] = []
        for role, _sex, birth in members:
            age = (ref - birth) / 365.25
            if role == "child" and age < 16 and phones:
                # A school records the guardian's phone; little children have none.
                phones.append(phones[0] if rng.random() < 0.45 else "")
            elif role == "spouse" and rng.random() < 0.05:
                phones.append(phones[0])  # one phone for the couple
            elif rng.random() < (0.35 if age >= 80 else 0.07):
                phones.append("")
            else:
                phones.append(self.ids.mobile())
        return phones

    def chinese(
        self,
        members: list[Member],
        ref: int,
        regions: list[str],
        *,
        shanghai: bool,
        style: str = "han",
    ) -> list[Person]:
        """Citizens with resident IDs; ``regions`` is each member's ID region (hukou county)."""
        rng = self.rng
        names = self.names
        family = names.family_name(shanghai=shanghai)
        spouse_family = names.family_name(shanghai=shanghai)
        child_family = family if rng.random() < 0.9 else spouse_family
        father_given: str | None = None
        sibling: tuple[int, str] | None = None  # (birth, given name) of the last child
        people: list[Person] = []
        for (role, sex, birth), region, phone in zip(
            members, regions, self._phones(members, ref), strict=True
        ):
            if style == "uyghur":
                name, own = names.uyghur(sex, father_given if role == "child" else None)
                if role == "head" and sex == "1":
                    father_given = own
            elif style == "tibetan":
                name = names.tibetan(sex)
            else:
                surname = {
                    "head": family,
                    "spouse": spouse_family,
                    "child": child_family,
                }.get(role) or (family if sex == "1" else names.family_name(shanghai=shanghai))
                name = names.han(sex, birth, surname)
                if role == "child":
                    given = name[len(surname) :]
                    if (
                        sibling is not None
                        and sibling[0] == birth
                        and len(given) == len(sibling[1]) == 2
                        and given[1] != sibling[1][1]
                        and rng.random() < 0.5
                    ):
                        # Twins' names often share a character: 浩宇 and 浩轩.
                        name = surname + sibling[1][0] + given[1]
                    sibling = (birth, name[len(surname) :])
            number = self.ids.resident_id(region, birth, sex)
            people.append(Person("resident_id", number, name, sex, birth, "CHN", phone, role=role))
        return people

    def overseas(self, members: list[Member], ref: int) -> list[Person]:
        rng = self.rng
        nationality = OVERSEAS_NATIONALITIES.draw(rng)
        names = self.names
        foreign = nationality not in ("HKG", "MAC", "TWN")
        family = names.foreign_family(nationality) if foreign else names.traditional_surname_of()
        card = foreign and rng.random() < 0.1  # a foreigner's permanent residence card
        people: list[Person] = []
        for (role, sex, birth), phone in zip(members, self._phones(members, ref), strict=True):
            own_family = family if role in ("head", "child") or rng.random() < 0.4 else None
            if foreign:
                name = names.foreign(nationality, sex, own_family)
                if card:
                    id_type, number = "foreign_pr", self.ids.foreign_pr(nationality, birth)
                else:
                    id_type, number = "passport", self.ids.passport(nationality)
            else:
                name = names.traditional(sex, own_family)
                if nationality == "TWN":
                    id_type, number = "tw_permit", self.ids.tw_permit()
                else:
                    id_type, number = "hk_mo_permit", self.ids.hk_mo_permit(nationality)
            people.append(Person(id_type, number, name, sex, birth, nationality, phone, role=role))
        return people
