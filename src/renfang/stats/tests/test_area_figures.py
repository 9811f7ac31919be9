"""area_figures: the categories and hukou statuses of DOMAIN.md, at every area level, over time."""

from __future__ import annotations

from typing import Any

import pytest

from renfang.areas.models import Area
from renfang.people.facts import hukou_record, residence_record
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
from renfang.testing.people import D, chinese, foreigner, resident

pytestmark = pytest.mark.django_db

AS_OF = D(2024, 6, 30)
NOBODY = {"total": 0, "registered": 0, "domestic_migrant": 0, "overseas": 0}
NO_STATUS = {
    "consistent": 0,
    "living_here_registered_elsewhere": 0,
    "registered_here_living_elsewhere": 0,
    "registered_here_whereabouts_unknown": 0,
    "registered_total": 0,
}


@pytest.fixture(autouse=True)
def areas() -> dict[str, Area]:
    return make_areas()


def population(code: str, day=AS_OF) -> Any:
    return area_figures(area_code=code, as_of=day)["actual_population"]


def status(code: str, day=AS_OF) -> Any:
    return area_figures(area_code=code, as_of=day)["hukou_status"]


def counts(**values: int) -> dict[str, int]:
    return {**NOBODY, **values}


def statuses(**values: int) -> dict[str, int]:
    return {**NO_STATUS, **values}


class TestKeys:
    def test_the_json_has_exactly_the_issue_keys_and_name_and_level(self):
        resident(hukou=TIANPING_1, lives=TIANPING_1)

        figures = area_figures(area_code=XUHUI, as_of=AS_OF)

        assert list(figures) == [
            "area",
            "name",
            "level",
            "as_of",
            "actual_population",
            "hukou_status",
            "by_subarea",
        ]
        assert figures["area"] == XUHUI
        assert figures["name"] == "徐汇区"
        assert figures["level"] == "district"
        assert figures["as_of"] == "2024-06-30"
        assert list(figures["actual_population"]) == [
            "total",
            "registered",
            "domestic_migrant",
            "overseas",
        ]
        assert list(figures["hukou_status"]) == list(NO_STATUS)
        assert [list(child) for child in figures["by_subarea"]] == [
            ["area", "name", "actual_population"]
        ] * 2

    def test_compare_to_adds_previous_and_growth(self):
        resident(hukou=TIANPING_1, lives=TIANPING_1)

        figures = area_figures(area_code=XUHUI, as_of=AS_OF, compare_to=D(2023, 6, 30))

        assert list(figures)[-3:] == ["compare_to", "previous", "growth_pct"]
        assert figures["compare_to"] == "2023-06-30"
        assert figures["previous"] == counts(total=1, registered=1)
        assert figures["growth_pct"] == {
            "total": 0.0,
            "registered": 0.0,
            "domestic_migrant": None,
            "overseas": None,
        }

    def test_children_in_code_order_including_empty_ones(self):
        resident(hukou=NANJING, lives=TIANPING_2)

        by_subarea = area_figures(area_code=TIANPING, as_of=AS_OF)["by_subarea"]

        assert by_subarea == [
            {"area": TIANPING_1, "name": "天平居委会", "actual_population": NOBODY},
            {
                "area": TIANPING_2,
                "name": "建国居委会",
                "actual_population": counts(total=1, domestic_migrant=1),
            },
        ]

    def test_a_committee_has_no_subareas(self):
        # The Jianguo committee (the Tianping one has a grid).
        resident(hukou=TIANPING_2, lives=TIANPING_2)

        figures = area_figures(area_code=TIANPING_2, as_of=AS_OF)

        assert figures["by_subarea"] == []
        assert figures["actual_population"] == counts(total=1, registered=1)

    def test_unknown_area(self):
        with pytest.raises(Area.DoesNotExist):
            area_figures(area_code="310199", as_of=AS_OF)

    @pytest.mark.parametrize("code", ["", "31%", "31_", "3101 04", "abc", "31' OR '1'='1"])
    def test_a_code_that_is_not_digits_is_an_unknown_area(self, code):
        resident(hukou=TIANPING_1, lives=TIANPING_1)

        with pytest.raises(Area.DoesNotExist):
            area_figures(area_code=code, as_of=AS_OF)


class TestCategoriesAtEachLevel:
    def test_registered_in_one_street_living_in_another_of_the_same_district(self):
        """DOMAIN.md: consistent for the district, separated for both streets."""
        resident(hukou=TIANPING_1, lives=HUNAN_1)

        assert status(CITY) == statuses(consistent=1, registered_total=1)
        assert status(XUHUI) == statuses(consistent=1, registered_total=1)
        assert status(TIANPING) == statuses(registered_here_living_elsewhere=1, registered_total=1)
        assert status(HUNAN) == statuses(living_here_registered_elsewhere=1)
        assert status(TIANPING_1) == statuses(
            registered_here_living_elsewhere=1, registered_total=1
        )
        assert status(HUNAN_1) == statuses(living_here_registered_elsewhere=1)
        # A registered resident wherever he lives.
        for code in (CITY, XUHUI, HUNAN, HUNAN_1):
            assert population(code) == counts(total=1, registered=1)
        for code in (TIANPING, TIANPING_1, TIANPING_2, CHANGNING):
            assert population(code) == NOBODY

    def test_registered_in_one_committee_living_in_the_other_of_the_same_street(self):
        resident(hukou=TIANPING_1, lives=TIANPING_2)

        assert status(TIANPING) == statuses(consistent=1, registered_total=1)
        assert status(TIANPING_1) == statuses(
            registered_here_living_elsewhere=1, registered_total=1
        )
        assert status(TIANPING_2) == statuses(living_here_registered_elsewhere=1)

    def test_hukou_in_another_district_of_the_city(self):
        resident(hukou=f"{CHANGNING}001", lives=TIANPING_1)

        assert population(XUHUI) == counts(total=1, registered=1)
        assert status(XUHUI) == statuses(living_here_registered_elsewhere=1)
        assert status(TIANPING) == statuses(living_here_registered_elsewhere=1)
        assert status(CHANGNING) == statuses(registered_here_living_elsewhere=1, registered_total=1)
        assert status(CITY) == statuses(consistent=1, registered_total=1)

    def test_hukou_held_at_district_level_only(self):
        """A hukou known only to the district is in the district but in none of its streets."""
        resident(hukou=XUHUI, lives=TIANPING_1)

        assert status(XUHUI) == statuses(consistent=1, registered_total=1)
        assert status(TIANPING) == statuses(living_here_registered_elsewhere=1)

    def test_registered_here_living_outside_the_city(self):
        resident(hukou=TIANPING_1, lives=f"{NANJING}001001")

        assert population(CITY) == NOBODY
        for code in (CITY, XUHUI, TIANPING, TIANPING_1):
            assert status(code) == statuses(registered_here_living_elsewhere=1, registered_total=1)

    def test_domestic_migrant_has_no_hukou_status(self):
        resident(hukou=NANJING, lives=TIANPING_1)

        for code in (CITY, XUHUI, TIANPING, TIANPING_1):
            assert population(code) == counts(total=1, domestic_migrant=1)
            assert status(code) == NO_STATUS
        assert population(HUNAN) == NOBODY

    def test_person_without_hukou_is_a_domestic_migrant(self):
        resident(hukou=None, lives=HUNAN_1)

        assert population(XUHUI) == counts(total=1, domestic_migrant=1)
        assert status(XUHUI) == NO_STATUS

    def test_residence_known_only_to_the_street(self):
        """Counted in the street and above, in none of the street's committees."""
        resident(hukou=NANJING, lives=TIANPING)

        assert population(TIANPING) == counts(total=1, domestic_migrant=1)
        figures = area_figures(area_code=TIANPING, as_of=AS_OF)
        assert [child["actual_population"] for child in figures["by_subarea"]] == [NOBODY] * 2
        assert population(XUHUI) == counts(total=1, domestic_migrant=1)


class TestOverseas:
    def test_foreign_nationality(self):
        resident(hukou=None, lives=TIANPING_1, person=foreigner(nationality="USA"))

        assert population(XUHUI) == counts(total=1, overseas=1)

    def test_hong_kong_resident_by_nationality_with_a_passport(self):
        resident(hukou=None, lives=TIANPING_1, person=foreigner(nationality="HKG"))

        assert population(TIANPING_1) == counts(total=1, overseas=1)

    def test_chinese_nationality_with_a_hong_kong_macau_permit(self):
        person = foreigner(id_type="hk_mo_permit", nationality="CHN")
        resident(hukou=None, lives=TIANPING_1, person=person)

        assert population(TIANPING_1) == counts(total=1, overseas=1)

    def test_chinese_nationality_with_a_taiwan_permit(self):
        person = foreigner(id_type="tw_permit", nationality="CHN")
        resident(hukou=None, lives=HUNAN_1, person=person)

        assert population(HUNAN) == counts(total=1, overseas=1)

    def test_chinese_passport_without_hukou_is_a_domestic_migrant(self):
        person = foreigner(id_type="passport", nationality="CHN")
        resident(hukou=None, lives=HUNAN_1, person=person)

        assert population(HUNAN) == counts(total=1, domestic_migrant=1)

    def test_overseas_comes_first_even_with_a_hukou_in_the_city(self):
        person = foreigner(id_type="hk_mo_permit", nationality="CHN")
        resident(hukou=TIANPING_1, lives=TIANPING_1, person=person)

        assert population(XUHUI) == counts(total=1, overseas=1)
        assert status(XUHUI) == NO_STATUS


class TestWhereaboutsUnknown:
    def test_a_spell_of_unknown_whereabouts(self):
        resident(hukou=TIANPING_1, lives=None)

        for code in (CITY, XUHUI, TIANPING, TIANPING_1):
            assert population(code) == NOBODY
            assert status(code) == statuses(
                registered_here_whereabouts_unknown=1, registered_total=1
            )
        assert status(HUNAN) == NO_STATUS

    def test_a_hukou_and_no_residence_at_all(self):
        hukou_record(person=chinese(), division=HUNAN_1, valid_from=D(2010, 1, 1))

        assert status(HUNAN) == statuses(registered_here_whereabouts_unknown=1, registered_total=1)
        assert population(HUNAN) == NOBODY

    def test_a_migrant_of_unknown_whereabouts_counts_nowhere(self):
        resident(hukou=NANJING, lives=None)

        assert population(CITY) == NOBODY
        assert status(CITY) == NO_STATUS


class TestTime:
    @pytest.fixture
    def migrant(self):
        return resident(hukou=NANJING, lives=TIANPING_1, since=D(2020, 1, 1), until=D(2020, 12, 31))

    @pytest.mark.parametrize(
        ("day", "total"),
        [
            (D(2019, 12, 31), 0),  # before
            (D(2020, 1, 1), 1),  # first day
            (D(2020, 7, 15), 1),  # inside
            (D(2020, 12, 31), 1),  # last day: valid_to is inclusive
            (D(2021, 1, 1), 0),  # after
        ],
    )
    def test_a_spell_counts_from_its_first_to_its_last_day(self, migrant, day, total):
        assert population(XUHUI, day)["total"] == total
        assert population(TIANPING_1, day)["domestic_migrant"] == total

    def test_a_move_between_streets(self):
        person = resident(hukou=TIANPING_1, lives=TIANPING_1, until=D(2020, 6, 30))
        residence_record(person=person, valid_from=D(2020, 7, 1), division=HUNAN_1)

        assert status(TIANPING, D(2020, 6, 30)) == statuses(consistent=1, registered_total=1)
        assert status(TIANPING, D(2020, 7, 1)) == statuses(
            registered_here_living_elsewhere=1, registered_total=1
        )
        assert population(HUNAN, D(2020, 6, 30)) == NOBODY
        assert population(HUNAN, D(2020, 7, 1)) == counts(total=1, registered=1)
        for day in (D(2020, 6, 30), D(2020, 7, 1)):
            assert status(XUHUI, day) == statuses(consistent=1, registered_total=1)

    def test_a_gap_between_spells_is_unknown_whereabouts_for_the_hukou_area(self):
        person = resident(hukou=TIANPING_1, lives=TIANPING_1, until=D(2020, 6, 30))
        residence_record(person=person, valid_from=D(2021, 1, 1), division=TIANPING_1)

        assert status(TIANPING, D(2020, 9, 1)) == statuses(
            registered_here_whereabouts_unknown=1, registered_total=1
        )
        assert status(TIANPING, D(2021, 1, 1)) == statuses(consistent=1, registered_total=1)

    def test_a_hukou_moved_into_the_city_turns_a_migrant_into_a_registered_resident(self):
        person = chinese()
        hukou_record(person=person, division=NANJING, valid_from=None, valid_to=D(2022, 3, 31))
        hukou_record(person=person, division=TIANPING_2, valid_from=D(2022, 4, 1))
        residence_record(person=person, valid_from=D(2018, 1, 1), division=TIANPING_2)

        assert population(XUHUI, D(2022, 3, 31)) == counts(total=1, domestic_migrant=1)
        assert population(XUHUI, D(2022, 4, 1)) == counts(total=1, registered=1)
        assert status(TIANPING_2, D(2022, 3, 31)) == NO_STATUS
        assert status(TIANPING_2, D(2022, 4, 1)) == statuses(consistent=1, registered_total=1)

    def test_growth_between_two_dates(self):
        resident(hukou=TIANPING_1, lives=TIANPING_1, since=D(2010, 1, 1))
        resident(hukou=NANJING, lives=TIANPING_1, since=D(2010, 1, 1), until=D(2023, 12, 31))
        resident(hukou=NANJING, lives=HUNAN_1, since=D(2024, 1, 1))
        resident(hukou=NANJING, lives=HUNAN_1, since=D(2024, 1, 1))
        resident(
            hukou=None, lives=HUNAN_1, since=D(2024, 1, 1), person=foreigner(nationality="USA")
        )

        figures = area_figures(area_code=XUHUI, as_of=D(2024, 6, 30), compare_to=D(2023, 6, 30))

        assert figures["previous"] == counts(total=2, registered=1, domestic_migrant=1)
        assert figures["actual_population"] == counts(
            total=4, registered=1, domestic_migrant=2, overseas=1
        )
        assert figures["growth_pct"] == {
            "total": 100.0,
            "registered": 0.0,
            "domestic_migrant": 100.0,
            "overseas": None,  # nobody before: no percentage
        }


def test_subareas_add_up_to_the_area(areas):
    resident(hukou=TIANPING_1, lives=TIANPING_1)
    resident(hukou=TIANPING_1, lives=TIANPING_2)
    resident(hukou=NANJING, lives=HUNAN_1)
    resident(hukou=None, lives=HUNAN_1, person=foreigner(nationality="MAC"))
    resident(hukou=f"{CHANGNING}001", lives=HUNAN_1)

    for code in (CITY, XUHUI, TIANPING, HUNAN):
        figures = area_figures(area_code=code, as_of=AS_OF)
        for key in NOBODY:
            assert (
                sum(child["actual_population"][key] for child in figures["by_subarea"])
                == figures["actual_population"][key]
            )
    assert area_figures(area_code=XUHUI, as_of=AS_OF)["actual_population"] == counts(
        total=5, registered=3, domestic_migrant=1, overseas=1
    )


def test_registered_total_adds_up(areas):
    resident(hukou=TIANPING_1, lives=TIANPING_1)
    resident(hukou=TIANPING_2, lives=HUNAN_1)
    resident(hukou=TIANPING_2, lives=None)
    resident(hukou=HUNAN_1, lives=TIANPING_1)

    assert status(TIANPING) == {
        "consistent": 1,
        "living_here_registered_elsewhere": 1,
        "registered_here_living_elsewhere": 1,
        "registered_here_whereabouts_unknown": 1,
        "registered_total": 3,
    }


def test_the_city_is_a_setting(settings):
    """A Shenzhen deployment counts a Shanghai hukou as a domestic migrant's."""
    resident(hukou=TIANPING_1, lives=TIANPING_1)
    settings.RENFANG_CITY_CODE = "4403"

    assert population(XUHUI) == counts(total=1, domestic_migrant=1)
    assert status(XUHUI) == NO_STATUS
