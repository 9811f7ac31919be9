"""Figures of an area (the same as ``renfang stats``) and the one-box search."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from renfang.api.tests.conftest import error_of
from renfang.api.tests.test_areas_codes import AREAS_INSIDE
from renfang.api.tests.test_people import ROLES
from renfang.audit.models import Action, AuditEvent

pytestmark = pytest.mark.django_db


def _command_figures(*args: str) -> dict[str, object]:
    out = io.StringIO()
    call_command("stats", *args, stdout=out)
    figures: dict[str, object] = json.loads(out.getvalue())
    return figures


@pytest.mark.parametrize("area", ["district", "A", "A1"])
def test_the_figures_are_those_of_the_stats_command(world, as_role, area) -> None:
    code = world.areas[area].code
    api = as_role("district_admin").get(
        "/api/stats", {"area": code, "as_of": "2024-06-30", "compare_to": "2018-06-30"}
    )
    assert api.status_code == 200
    command = _command_figures(
        "--area", code, "--as-of", "2024-06-30", "--compare-to", "2018-06-30"
    )
    # withheld: what a department reader's figures hide (ADR 0022); nothing for other roles.
    assert api.json() == {**command, "withheld": None}


def test_without_compare_to_the_comparison_is_null(world, as_role) -> None:
    code = world.areas["A"].code
    api = as_role("street_officer").get("/api/stats", {"area": code, "as_of": "2024-06-30"}).json()
    command = _command_figures("--area", code, "--as-of", "2024-06-30")
    assert api == {
        **command,
        "compare_to": None,
        "previous": None,
        "growth_pct": None,
        "withheld": None,
    }
    assert api["actual_population"]["total"] == 2


def test_reading_figures_is_audited_as_a_read_of_the_area(world, as_role) -> None:
    code = world.areas["A1"].code
    as_role("committee_clerk").get("/api/stats", {"area": code, "as_of": "2024-06-30"})
    event = AuditEvent.objects.get(action=Action.READ)
    assert (event.record_type, event.record_id) == ("area", code)
    assert event.detail == {"as_of": "2024-06-30", "compare_to": None}


@pytest.mark.parametrize("role", ROLES)
def test_figures_of_areas_inside_the_users_only(world, as_role, role) -> None:
    client = as_role(role)
    unknown = client.get("/api/stats", {"area": "310104003999"})
    assert unknown.status_code == 404
    for key, area in world.areas.items():
        response = client.get("/api/stats", {"area": area.code})
        if key in AREAS_INSIDE[role]:
            assert response.status_code == 200, (role, key)
        else:
            assert response.status_code == 404, (role, key)
            assert response.content == unknown.content


def test_a_denied_area_is_audited(world, as_role) -> None:
    code = world.areas["B"].code
    response = as_role("committee_clerk").get("/api/stats", {"area": code})
    assert error_of(response)["fields"] == [{"field": "area", "message": "未找到。"}]
    event = AuditEvent.objects.get(action=Action.DENIED)
    assert (event.record_type, event.record_id) == ("area", code)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "area"),
        ({"area": "310104", "as_of": "2024-01-01", "compare_to": "2024-01-01"}, "compare_to"),
        ({"area": "310104", "as_of": "2024-01-01", "compare_to": "2025-01-01"}, "compare_to"),
        ({"area": "310104", "as_of": "yesterday"}, "as_of"),
    ],
)
def test_bad_figures_parameters_are_named(world, as_role, params, field) -> None:
    response = as_role("district_admin").get("/api/stats", params)
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert [f["field"] for f in error["fields"]] == [field]


@pytest.mark.parametrize("role", ROLES)
def test_search_finds_people_and_houses_of_the_area_only(world, as_role, role) -> None:
    client = as_role(role)
    response = client.get("/api/search", {"q": "甲一"})  # names 甲一住户, 甲一户籍; road 甲一路
    assert response.status_code == 200
    body = response.json()
    people = {row["id"] for row in body["people"]["results"]}
    houses = {row["house_code"] for row in body["houses"]["results"]}
    visible = world.sees[role]
    assert people == {world.planted[k].person.pk for k in ("A1", "HUKOU_A1") if k in visible}
    assert houses == ({world.planted["A1"].house.house_code} if "A1" in visible else set())
    assert body["people"]["count"] == len(people)
    assert body["houses"]["count"] == len(houses)


def test_search_audits_both_searches(world, as_role) -> None:
    as_role("committee_clerk").get("/api/search", {"q": "甲一"})
    events = AuditEvent.objects.filter(action=Action.SEARCH).order_by("id")
    assert [(e.record_type, e.detail) for e in events] == [
        ("person", {"terms": "甲一"}),
        ("house", {"terms": "甲一"}),
    ]


def test_search_pages_both_lists(world, as_role) -> None:
    body = as_role("district_admin").get("/api/search", {"q": "住户", "page_size": 2}).json()
    assert (body["people"]["count"], body["people"]["pages"]) == (3, 2)
    assert len(body["people"]["results"]) == 2


@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "   "}])
def test_search_needs_terms(world, as_role, params) -> None:
    response = as_role("committee_clerk").get("/api/search", params)
    assert response.status_code == 422
    assert error_of(response)["fields"][0]["field"] == "q"
