"""DOMAIN.md's worked example (seed 000: Xuhui district, 31 Dec 2010), checked two ways: its
growth figures through our rounding, and a register scaled down 100 times whose figures come
out in the example's proportions."""

from __future__ import annotations

import pytest

from renfang.people.facts.planting import by_hand
from renfang.people.models import Person
from renfang.stats.models import PopulationSpell
from renfang.stats.selectors import area_figures, growth_pct
from renfang.testing.areas import CHANGNING, HUNAN_1, NANJING, TIANPING_1, XUHUI, make_areas
from renfang.testing.people import D


@pytest.mark.parametrize(
    ("previous", "now", "expected"),
    [
        (951_186, 1_033_249, 8.63),  # actual population 2009 → 2010
        (15_844, 23_806, 50.25),  # overseas
        (1, 2, 100.0),
        (3, 2, -33.33),
        (3, 4, 33.33),
        (6, 5, -16.67),
        (8, 9, 12.5),
        (20000, 20001, 0.01),  # 0.005: half a hundredth rounds away from zero, not to even
        (20000, 19999, -0.01),
        (40000, 40001, 0.0),  # 0.0025
        (7, 7, 0.0),
        (5, 0, -100.0),
    ],
)
def test_growth_pct_rounds_half_up_to_two_decimals(previous, now, expected):
    assert growth_pct(now, previous) == expected


def test_growth_pct_from_nobody_is_none():
    assert growth_pct(5, 0) is None
    assert growth_pct(0, 0) is None


# The example's figures divided by 100 and rounded.
CONSISTENT = 5135  # 513,503 人户一致
LIVING_HERE_REGISTERED_ELSEWHERE = 2223  # 222,281 人在户不在
DOMESTIC_MIGRANTS = 2737  # 273,659 来沪人员
OVERSEAS = 238  # 23,806 境外人员
REGISTERED_HERE_LIVING_ELSEWHERE = 3586  # 358,633 户在人不在
WHEREABOUTS_UNKNOWN = 396  # 39,648 空挂户
# A year earlier (951,186 in all): overseas 15,844; the others from the growth rates.
PREVIOUS_OVERSEAS = 158
PREVIOUS_MIGRANTS = 1986  # +37.77 %
LEFT_IN_2010 = 10  # registered residents who moved away during 2010 (registered −0.13 %)

END_2009 = D(2009, 12, 31)
END_2010 = D(2010, 12, 31)


def build_scaled_xuhui() -> None:
    """Spells written directly (as the spell builder would), half in each street."""
    groups: list[tuple[int, dict[str, object]]] = []

    def add(count: int, **spell: object) -> None:
        groups.append((count, {"valid_from": D(2005, 1, 1), "valid_to": None, **spell}))

    def streets(count: int, **spell: object) -> None:
        """Live in the two streets in turn (the hukou, when it is here, where they live)."""
        add((count + 1) // 2, residence_division=TIANPING_1, **spell)
        add(count // 2, residence_division=HUNAN_1, **spell)

    here = {"hukou_division": TIANPING_1}
    streets(CONSISTENT, **here)
    streets(LIVING_HERE_REGISTERED_ELSEWHERE, hukou_division=f"{CHANGNING}001")
    streets(PREVIOUS_MIGRANTS, hukou_division=NANJING)
    streets(DOMESTIC_MIGRANTS - PREVIOUS_MIGRANTS, hukou_division=NANJING, valid_from=D(2010, 3, 1))
    streets(PREVIOUS_OVERSEAS, hukou_division=None, overseas=True)
    streets(
        OVERSEAS - PREVIOUS_OVERSEAS, hukou_division=None, overseas=True, valid_from=D(2010, 5, 1)
    )
    streets(LEFT_IN_2010, **here, valid_to=D(2010, 6, 30))
    add(REGISTERED_HERE_LIVING_ELSEWHERE, residence_division=f"{CHANGNING}001001", **here)
    add(WHEREABOUTS_UNKNOWN, residence_division=None, **here)

    people = sum(count for count, _ in groups)
    with by_hand():  # the figures' spells straight, without the facts behind them
        _plant(groups, people)


def _plant(groups: list[tuple[int, dict[str, object]]], people: int) -> None:
    Person.objects.bulk_create(
        Person(id_type="passport", id_number=f"E{n:06d}", name=f"p{n}", sex="0")
        for n in range(people)
    )
    person_ids = iter(Person.objects.order_by("id").values_list("id", flat=True))
    PopulationSpell.objects.bulk_create(
        (
            PopulationSpell(person_id=next(person_ids), **spell)
            for count, spell in groups
            for _ in range(count)
        ),
        batch_size=2000,
    )


@pytest.mark.django_db
def test_a_scaled_down_xuhui_has_the_example_proportions():
    make_areas()
    build_scaled_xuhui()

    figures = area_figures(area_code=XUHUI, as_of=END_2010, compare_to=END_2009)

    actual = figures["actual_population"]
    status = figures["hukou_status"]
    # actual population = registered residents + domestic migrants + overseas
    assert actual == {
        "total": 10333,  # 1,033,249
        "registered": 7358,  # 735,784 = 513,503 + 222,281
        "domestic_migrant": 2737,
        "overseas": 238,
    }
    assert actual["registered"] == status["consistent"] + status["living_here_registered_elsewhere"]
    assert status == {
        "consistent": 5135,
        "living_here_registered_elsewhere": 2223,
        "registered_here_living_elsewhere": 3586,
        "registered_here_whereabouts_unknown": 396,
        "registered_total": 9117,  # 911,784
    }
    # migrants and overseas are 28.79 % of the actual population
    assert round((actual["domestic_migrant"] + actual["overseas"]) / actual["total"] * 100, 2) == (
        28.79
    )
    # outflow to inflow 398,281 : 222,281 ≈ 1.8 : 1
    outflow = (
        status["registered_here_living_elsewhere"] + status["registered_here_whereabouts_unknown"]
    )
    assert round(outflow / status["living_here_registered_elsewhere"], 1) == 1.8
    # a year earlier 951,186: grown by 8.63 %
    assert figures["previous"]["total"] == 9512
    assert figures["growth_pct"]["total"] == 8.63
    growth = figures["growth_pct"]
    assert growth["domestic_migrant"] == pytest.approx(37.77, abs=0.1)
    assert growth["registered"] == pytest.approx(-0.13, abs=0.05)
    assert growth["overseas"] == pytest.approx(50.25, abs=0.5)  # 158 → 238 at this scale
    # The streets share the district's residents between them.
    assert sum(child["actual_population"]["total"] for child in figures["by_subarea"]) == 10333
