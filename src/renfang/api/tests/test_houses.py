"""Houses through the API: search and lists, one house, who lives there; for each role."""

from __future__ import annotations

import pytest

from renfang.api.tests.conftest import error_of
from renfang.api.tests.test_people import ROLES
from renfang.audit.models import Action, AuditEvent
from renfang.houses.models import House

pytestmark = pytest.mark.django_db

MISSING_HOUSE = "310104003001999999"


def _houses(world) -> dict[str, House]:
    return {key: p.house for key, p in world.planted.items() if p.house is not None}


def _codes(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["house_code"] for row in response.json()["results"]}


@pytest.mark.parametrize("role", ROLES)
def test_search_finds_exactly_the_houses_the_role_may_see(world, as_role, role) -> None:
    client = as_role(role)
    for key, house in _houses(world).items():
        expected = {house.house_code} if key in world.sees[role] else set()
        assert _codes(client.get("/api/houses", {"q": house.house_code})) == expected, (role, key)
        assert _codes(client.get("/api/houses", {"q": house.address})) == expected, (role, key)
    everything = client.get("/api/houses", {"q": "路"})
    visible = {h.house_code for k, h in _houses(world).items() if k in world.sees[role]}
    assert _codes(everything) == visible
    assert everything.json()["count"] == len(visible)


def test_a_house_search_is_audited_with_its_terms(world, as_role) -> None:
    as_role("committee_clerk").get("/api/houses", {"q": "甲二路"})
    event = AuditEvent.objects.filter(action=Action.SEARCH).latest("id")
    assert (event.record_type, event.detail, event.channel) == ("house", {"terms": "甲二路"}, "api")


def test_the_area_filter_lists_the_houses_there(world, as_role) -> None:
    client = as_role("street_officer")
    houses = _houses(world)
    assert _codes(client.get("/api/houses", {"area": world.areas["A2"].code})) == {
        houses["A2"].house_code
    }
    street = client.get("/api/houses", {"area": world.areas["A"].code})
    assert _codes(street) == {houses["A1"].house_code, houses["A2"].house_code}
    event = AuditEvent.objects.filter(action=Action.SEARCH).latest("id")
    assert event.record_type == "house"
    assert event.detail["area"] == world.areas["A"].code


def test_houses_show_their_use_on_a_day(world, as_role) -> None:
    client = as_role("committee_clerk")
    code = world.planted["A1"].house.house_code
    [now] = client.get("/api/houses", {"q": code}).json()["results"]
    assert [u["use"] for u in now["uses"]] == ["rented_whole"]
    [before] = client.get("/api/houses", {"q": code, "as_of": "2017-01-01"}).json()["results"]
    assert before["uses"] == []


def test_a_house_area_outside_the_users_is_not_found(world, as_role) -> None:
    client = as_role("committee_clerk")
    denied = client.get("/api/houses", {"area": world.areas["A2"].code})
    unknown = client.get("/api/houses", {"area": "310104003999"})
    assert denied.status_code == unknown.status_code == 404
    assert error_of(denied) == error_of(unknown)
    assert AuditEvent.objects.filter(action=Action.DENIED, record_type="area").count() == 1


def test_a_house_list_needs_terms_or_an_area(world, as_role) -> None:
    response = as_role("committee_clerk").get("/api/houses")
    assert response.status_code == 422
    assert error_of(response)["fields"][0]["field"] == "q"


def test_house_pages(world, as_role) -> None:
    client = as_role("district_admin")
    first = client.get("/api/houses", {"q": "路", "page_size": 2}).json()
    second = client.get("/api/houses", {"q": "路", "page_size": 2, "page": 2}).json()
    assert (first["count"], first["pages"]) == (3, 2)
    codes = {r["house_code"] for r in first["results"] + second["results"]}
    assert codes == {h.house_code for h in _houses(world).values()}


@pytest.mark.parametrize("role", ROLES)
def test_a_house_outside_the_area_is_not_found_like_a_missing_one(world, as_role, role) -> None:
    client = as_role(role)
    missing = client.get(f"/api/houses/{MISSING_HOUSE}")
    assert missing.status_code == 404
    for key, house in _houses(world).items():
        response = client.get(f"/api/houses/{house.house_code}")
        if key in world.sees[role]:
            assert response.status_code == 200, (role, key)
            body = response.json()
            assert body["house_code"] == house.house_code
            assert body["address"] == house.address
            assert body["area"]["code"] == house.area_id
            assert [u["use"] for u in body["uses"]] == ["rented_whole"]
        else:
            assert response.status_code == 404, (role, key)
            assert response.content == missing.content


def test_reading_a_house_is_audited_and_a_denied_one_too(world, as_role) -> None:
    client = as_role("committee_clerk")
    own = world.planted["A1"].house.house_code
    other = world.planted["B1"].house.house_code
    client.get(f"/api/houses/{own}")
    client.get(f"/api/houses/{other}")
    client.get(f"/api/houses/{MISSING_HOUSE}")
    read = AuditEvent.objects.get(action=Action.READ)
    denied = AuditEvent.objects.get(action=Action.DENIED)
    assert (read.record_type, read.record_id) == ("house", own)
    assert (denied.record_type, denied.record_id) == ("house", other)


@pytest.mark.parametrize("role", ROLES)
def test_residents_of_houses_in_the_area_only(world, as_role, role) -> None:
    client = as_role(role)
    for key, house in _houses(world).items():
        response = client.get(f"/api/houses/{house.house_code}/residences")
        if key not in world.sees[role]:
            assert response.status_code == 404, (role, key)
            assert error_of(response)["code"] == "not_found"
        elif role == "id_reader":  # a department not granted residences
            assert response.status_code == 403
            assert error_of(response)["code"] == "permission_denied"
        else:
            assert response.status_code == 200, (role, key)
            body = response.json()
            assert body["count"] == 1
            [row] = body["results"]
            assert row["person_id"] == world.planted[key].person.pk
            assert row["name"] == world.planted[key].person.name
            assert row["current"] is True
            assert row["relation"] == "tenant"
