"""The admin finds houses by code and address and shows their use over time."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from renfang.areas.models import Area, AreaLevel
from renfang.houses.models import House, HouseUse

pytestmark = pytest.mark.django_db


@pytest.fixture
def house():
    area = Area.objects.create(code="31", name="上海市", level=AreaLevel.CITY)
    created = House.objects.create(
        house_code="310104003001000001",
        area=area,
        road="漕溪北路",
        address="漕溪北路18号",
        kind="flat",
    )
    HouseUse.objects.create(house=created, use="group_rental", valid_from=datetime.date(2024, 3, 1))
    return created


@pytest.mark.parametrize("query", ["3101040030010", "漕溪北路18"])
def test_houses_are_found_by_code_or_address(admin_client, house, query):
    response = admin_client.get(reverse("admin:houses_house_changelist"), {"q": query})

    assert response.status_code == 200
    assert "漕溪北路18号" in response.text


def test_a_house_page_shows_its_uses(admin_client, house):
    response = admin_client.get(reverse("admin:houses_house_change", args=[house.pk]))

    assert response.status_code == 200
    assert "group_rental" in response.text
