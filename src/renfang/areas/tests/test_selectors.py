"""Reads of the hierarchy that pages use for breadcrumbs and sub-area lists."""

from __future__ import annotations

import pytest

from renfang.areas.models import Area
from renfang.areas.selectors import area_ancestors, area_children, area_get
from renfang.areas.services import areas_load_builtin

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def shanghai():
    areas_load_builtin()


def test_area_get_finds_an_area_or_says_it_does_not_exist():
    assert area_get("310104").name == "徐汇区"
    with pytest.raises(Area.DoesNotExist):
        area_get("310199")


def test_area_children_are_the_areas_directly_inside_in_code_order():
    children = list(area_children("310104"))

    assert len(children) == 14
    assert [a.code for a in children] == sorted(a.code for a in children)
    assert all(a.level == "street" for a in children)
    assert list(area_children("999")) == []


def test_area_ancestors_go_from_the_city_down_without_the_area(django_assert_num_queries):
    committee = Area.objects.filter(level="committee").first()
    assert committee is not None

    with django_assert_num_queries(1):
        chain = area_ancestors(committee.code)

    assert [a.level for a in chain] == ["city", "district", "street"]
    assert [a.code for a in chain] == ["31", "310104", committee.code[:9]]
    assert area_ancestors("31") == []
    assert area_ancestors("999999") == []
