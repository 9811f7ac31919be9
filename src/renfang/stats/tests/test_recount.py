"""The aggregate query agrees with people/categories.py applied person by person."""

from __future__ import annotations

import datetime
import random
from collections import Counter

import pytest

from renfang.areas.models import Area
from renfang.people.categories import category, hukou_status, is_overseas, lies_in
from renfang.people.facts import hukou_record, residence_record
from renfang.people.models import Hukou, Person, Residence
from renfang.stats.selectors import area_figures
from renfang.testing.areas import (
    CHANGNING,
    CITY,
    HUNAN,
    HUNAN_1,
    NANJING,
    TIANPING,
    TIANPING_1,
    TIANPING_2,
    XUHUI,
    make_areas,
)
from renfang.testing.people import D, chinese, foreigner

pytestmark = pytest.mark.django_db

HUKOU_PLACES = [TIANPING_1, TIANPING_2, HUNAN_1, TIANPING, XUHUI, f"{CHANGNING}001", NANJING]
RESIDENCE_PLACES = [
    TIANPING_1,
    TIANPING_2,
    HUNAN_1,
    TIANPING,
    f"{CHANGNING}001001",
    f"{NANJING}001001",
    None,
]
DAYS = [D(2017, 12, 31), D(2019, 1, 1), D(2020, 6, 30), D(2021, 7, 1), D(2023, 12, 31)]


def random_register(rng: random.Random, people: int) -> None:
    """People with 0–2 hukous and 0–3 residence spells, back to back or with gaps."""
    for _ in range(people):
        roll = rng.random()
        if roll < 0.7:
            person = chinese()
        elif roll < 0.8:
            person = foreigner(nationality=rng.choice(["USA", "HKG", "TWN"]))
        else:
            person = foreigner(id_type=rng.choice(["hk_mo_permit", "tw_permit"]), nationality="CHN")
        start = D(2017, 1, 1) + datetime.timedelta(days=rng.randrange(0, 900))
        if rng.random() < 0.8:
            moved = rng.random() < 0.3
            end = start + datetime.timedelta(days=rng.randrange(100, 900)) if moved else None
            hukou_record(
                person=person, division=rng.choice(HUKOU_PLACES), valid_from=None, valid_to=end
            )
            if end is not None:
                hukou_record(
                    person=person,
                    division=rng.choice(HUKOU_PLACES),
                    valid_from=end + datetime.timedelta(days=1),
                )
        day = start
        for spell in range(rng.randrange(0, 4)):
            length = rng.randrange(30, 800)
            last = spell == 2 or rng.random() < 0.3
            until = None if last else day + datetime.timedelta(days=length)
            residence_record(
                person=person, valid_from=day, valid_to=until, division=rng.choice(RESIDENCE_PLACES)
            )
            if until is None:
                break
            day = until + datetime.timedelta(days=1 + rng.choice([0, 0, 60]))


def on(facts: list[Residence] | list[Hukou], day: datetime.date) -> tuple[bool, str | None]:
    """Whether a fact is valid on ``day``, and its division."""
    for fact in facts:
        if fact.is_valid_on(day):
            return True, fact.division or None
    return False, None


def recount(area: Area, day: datetime.date) -> dict[str, object]:
    """DOMAIN.md's rules applied to each person's own facts, one by one."""
    actual: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    children = {child.code: Counter[str]() for child in area.children.order_by("code")}
    for person in Person.objects.prefetch_related("residences", "hukous"):
        has_residence, residence = on(list(person.residences.all()), day)
        has_hukou, hukou = on(list(person.hukous.all()), day)
        if not has_residence and not has_hukou:
            continue  # not in the register on that day
        if lies_in(residence, area.code):
            kind = category(
                id_type=person.id_type, nationality=person.nationality, hukou_division=hukou
            )
            actual[kind] += 1
            for code, counter in children.items():
                if lies_in(residence, code):
                    counter[kind] += 1
        status = hukou_status(
            area_code=area.code,
            overseas=is_overseas(person.id_type, person.nationality),
            hukou_division=hukou,
            residence_division=residence,
        )
        if status is not None:
            statuses[status] += 1

    def population(counter: Counter[str]) -> dict[str, int]:
        kinds = ["registered", "domestic_migrant", "overseas"]
        return {"total": sum(counter[k] for k in kinds), **{k: counter[k] for k in kinds}}

    return {
        "actual_population": population(actual),
        "hukou_status": {
            **{
                key: statuses[key]
                for key in (
                    "consistent",
                    "living_here_registered_elsewhere",
                    "registered_here_living_elsewhere",
                    "registered_here_whereabouts_unknown",
                )
            },
            "registered_total": statuses["consistent"]
            + statuses["registered_here_living_elsewhere"]
            + statuses["registered_here_whereabouts_unknown"],
        },
        "by_subarea": [population(counter) for counter in children.values()],
    }


@pytest.mark.parametrize("seed", [2010, 2024])
def test_sql_figures_equal_a_person_by_person_recount(seed):
    make_areas()
    random_register(random.Random(seed), people=45)

    for code in (CITY, XUHUI, TIANPING, HUNAN, TIANPING_1, CHANGNING):
        area = Area.objects.get(code=code)
        for day in DAYS:
            figures = area_figures(area_code=code, as_of=day)
            expected = recount(area, day)
            assert figures["actual_population"] == expected["actual_population"], (code, day)
            assert figures["hukou_status"] == expected["hukou_status"], (code, day)
            assert [child["actual_population"] for child in figures["by_subarea"]] == expected[
                "by_subarea"
            ], (code, day)
    # The random register is not empty where it matters.
    assert area_figures(area_code=XUHUI, as_of=D(2020, 6, 30))["actual_population"]["total"] > 5
