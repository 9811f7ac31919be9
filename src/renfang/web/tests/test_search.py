"""Search: one box finds people by name, ID number or phone and houses by code or address."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

SEARCH = reverse("web:search")


def people_in(response) -> list[str]:
    return [row.title for row in response.context["people_rows"]]


def houses_in(response) -> list[str]:
    return [row["house"].house_code for row in response.context["house_rows"]]


def test_pages_need_login(client, district):
    for url in (
        reverse("web:home"),
        SEARCH + "?q=张",
        reverse("web:search_people_export") + "?q=张",
        reverse("web:person_detail", args=[district.zhang.pk]),
        reverse("web:house_detail", args=[district.house_tianping.house_code]),
        reverse("web:area_detail", args=["310104"]),
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login") + "?next="), url


def test_search_by_part_of_a_name(officer_client, district):
    response = officer_client.get(SEARCH, {"q": "伟"}, follow=True)
    assert people_in(response) == ["张伟"]
    assert response.context["people_by_name"] is True


def test_search_by_name_is_case_insensitive_for_latin_names(officer_client, district):
    assert people_in(officer_client.get(SEARCH, {"q": "smith"}, follow=True)) == ["John Smith"]


def test_search_by_id_number_exactly(officer_client, district):
    response = officer_client.get(SEARCH, {"q": district.li.id_number}, follow=True)
    assert people_in(response) == ["李娜"]
    assert response.context["people_by_name"] is False
    # A part of an ID number is not an ID number: no contains-search on identifiers.
    assert (
        people_in(officer_client.get(SEARCH, {"q": district.li.id_number[:10]}, follow=True)) == []
    )


def test_search_by_old_15_digit_id_finds_the_18_digit_record(officer_client, district):
    assert people_in(officer_client.get(SEARCH, {"q": district.wang_old_id}, follow=True)) == [
        "王芳"
    ]


def test_search_by_id_with_lowercase_x_and_spaces(officer_client, district):
    typed = district.wang.id_number.lower()
    assert typed.endswith("x")
    spaced = f" {typed[:6]} {typed[6:14]} {typed[14:]} "
    assert people_in(officer_client.get(SEARCH, {"q": spaced}, follow=True)) == ["王芳"]


def test_search_by_full_width_digits(officer_client, district):
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in district.li.id_number)
    assert people_in(officer_client.get(SEARCH, {"q": full_width}, follow=True)) == ["李娜"]


def test_search_by_passport_number(officer_client, district):
    assert people_in(officer_client.get(SEARCH, {"q": "e12345678"}, follow=True)) == ["John Smith"]


@pytest.mark.parametrize(
    "typed", ["13800138000", "+86 138 0013 8000", "+8613800138000", "0086-138-0013-8000"]
)
def test_search_by_phone(officer_client, district, typed):
    assert people_in(officer_client.get(SEARCH, {"q": typed}, follow=True)) == ["张伟"]


def test_a_wrong_digit_finds_nobody(officer_client, district):
    response = officer_client.get(SEARCH, {"q": "13800138001"}, follow=True)
    assert people_in(response) == []
    assert "people-results" in response.content.decode()


def test_search_houses_by_code_exact_and_prefix(officer_client, district):
    exact = officer_client.get(SEARCH, {"q": "310104003001000001"}, follow=True)
    assert houses_in(exact) == ["310104003001000001"]
    prefix = officer_client.get(SEARCH, {"q": "310104"}, follow=True)
    assert houses_in(prefix) == ["310104003001000001", "310104004001000002"]


def test_search_houses_by_part_of_the_address(officer_client, district):
    response = officer_client.get(SEARCH, {"q": "湖南路8号"}, follow=True)
    assert houses_in(response) == ["310104004001000002"]
    assert people_in(response) == []


def test_result_rows_say_where_people_live_today(officer_client, district):
    response = officer_client.get(SEARCH, {"q": "李"}, follow=True)
    assert response.context["people_rows"][0].lives_at == "湖南路8号502室"


def test_empty_and_nonsense_queries(officer_client, district):
    empty = officer_client.get(SEARCH, {"q": "   "}, follow=True)
    assert empty.status_code == 200
    assert "people" not in empty.context
    nothing = officer_client.get(SEARCH, {"q": "%_'\";--"}, follow=True)
    assert nothing.status_code == 200
    assert people_in(nothing) == [] and houses_in(nothing) == []


def test_results_are_paginated_and_a_bad_page_number_is_harmless(officer_client, district):
    from renfang.people.facts import person_create, residence_record
    from renfang.web.views.search import PAGE_SIZE

    for index in range(PAGE_SIZE + 5):
        person = person_create(
            id_type="passport",
            id_number=f"P{index:05d}",
            name=f"Test {index:02d}",
            sex="9",
            birth_date=None,
            nationality="GBR",
        )
        residence_record(person=person, valid_from=datetime.date(2020, 1, 1), division="310104003")
    first = officer_client.get(SEARCH, {"q": "Test"}, follow=True)
    assert len(people_in(first)) == PAGE_SIZE
    assert "people_page=2" in first.content.decode()
    second = officer_client.get(SEARCH, {"q": "Test", "people_page": "2"}, follow=True)
    assert len(people_in(second)) == 5
    assert (
        officer_client.get(SEARCH, {"q": "Test", "people_page": "x"}, follow=True).status_code
        == 200
    )
    assert (
        len(people_in(officer_client.get(SEARCH, {"q": "Test", "people_page": "99"}, follow=True)))
        == 5
    )


def test_search_runs_a_fixed_number_of_queries(officer_client, district):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from renfang.houses.models import House, HouseUse

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert officer_client.get(SEARCH, {"q": "路"}, follow=True).status_code == 200
        return len(captured)

    officer_client.get(SEARCH, {"q": "路"}, follow=True)  # fills the code-label caches
    before = queries()
    for index in range(5):
        house = House.objects.create(
            house_code=f"31010400300100010{index}",
            area=district.house_tianping.area,
            road="天平路",
            number=str(20 + index),
            address=f"天平路{20 + index}号",
            kind="flat",
        )
        HouseUse.objects.create(
            house=house, use="rented_whole", valid_from=datetime.date(2020, 1, 1)
        )
    # Session, user, roles, the pages of people and of houses with their facts, and the two
    # searches' audit events: the same however many rows come back.
    assert queries() == before <= 30
