"""Areas (only those inside the user's area) and code sets (reference data, for anyone)."""

from __future__ import annotations

import pytest

from renfang.api.tests.conftest import error_of
from renfang.api.tests.test_people import ROLES

pytestmark = pytest.mark.django_db

# The world's areas (keys of world.areas) each role has inside its own.
AREAS_INSIDE = {
    "district_admin": {"district", "A", "B", "A1", "A2", "B1", "grid"},
    "street_officer": {"A", "A1", "A2", "grid"},
    "committee_clerk": {"A1", "grid"},
    "collector": {"grid"},
    "police": {"A1", "grid"},
    "department_reader": {"A1", "grid"},
    "id_reader": {"district", "A", "B", "A1", "A2", "B1", "grid"},
    "clerk_a2": {"A2"},
    "officer_b": {"B", "B1"},
    "auditor": set(),
    "no_role": set(),
}


@pytest.mark.parametrize("role", ROLES)
def test_areas_lists_the_areas_inside_the_users_own(world, as_role, role) -> None:
    response = as_role(role).get("/api/areas")
    assert response.status_code == 200
    codes = {row["code"] for row in response.json()["results"]}
    assert codes == {world.areas[key].code for key in AREAS_INSIDE[role]}
    assert response.json()["count"] == len(codes)


@pytest.mark.parametrize("role", ROLES)
def test_one_area_inside_or_not_found(world, as_role, role) -> None:
    client = as_role(role)
    unknown = client.get("/api/areas/310104003999")
    assert unknown.status_code == 404
    for key, area in world.areas.items():
        response = client.get(f"/api/areas/{area.code}")
        if key in AREAS_INSIDE[role]:
            assert response.status_code == 200, (role, key)
        else:
            assert response.status_code == 404, (role, key)
            assert response.content == unknown.content
    # The city is nobody's: it lies above every user's area.
    assert client.get("/api/areas/31").status_code == 404


def test_an_area_has_its_ancestors_and_children(world, as_role) -> None:
    body = as_role("street_officer").get(f"/api/areas/{world.areas['A'].code}").json()
    assert body["level"] == "street"
    assert body["parent"] == world.areas["district"].code
    assert [a["code"] for a in body["ancestors"]] == ["31", world.areas["district"].code]
    assert [c["code"] for c in body["children"]] == [world.areas["A1"].code, world.areas["A2"].code]


def test_areas_inside_a_parent(world, as_role) -> None:
    client = as_role("street_officer")
    inside = client.get("/api/areas", {"parent": world.areas["A"].code}).json()
    assert [r["code"] for r in inside["results"]] == [
        world.areas["A1"].code,
        world.areas["A2"].code,
    ]
    outside = client.get("/api/areas", {"parent": world.areas["B"].code})
    assert outside.status_code == 404
    assert error_of(outside)["fields"][0]["field"] == "parent"


def test_area_pages(world, as_role) -> None:
    body = as_role("district_admin").get("/api/areas", {"page_size": 3, "page": 3}).json()
    assert (body["count"], body["pages"], len(body["results"])) == (7, 3, 1)


@pytest.mark.parametrize("role", ROLES)
def test_code_sets_are_for_every_user(world, as_role, role) -> None:
    client = as_role(role)
    sets = client.get("/api/codes")
    assert sets.status_code == 200
    assert "person_tag" in {s["key"] for s in sets.json()}
    tags = client.get("/api/codes/person_tag")
    assert tags.status_code == 200
    codes = {c["code"]: c for c in tags.json()["codes"]}
    assert codes["drug_user"]["sensitive"] is True
    assert codes["elderly_alone"]["sensitive"] is False


def test_an_unknown_code_set_is_not_found(world, as_role) -> None:
    response = as_role("auditor").get("/api/codes/no_such_set")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
