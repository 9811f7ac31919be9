"""The conflicts pages (数据冲突): the list of the user's area with its filters and export,
settling (a note required) and sending for a visit; only for roles that settle conflicts."""

from __future__ import annotations

import io

import pytest
from django.utils import translation
from openpyxl import load_workbook

from renfang.audit.models import Action, AuditEvent
from renfang.codes.selectors import code_label
from renfang.people.models import Conflict, ConflictStatus
from renfang.testing.matrix import World, build_world
from renfang.testing.sources import PlantedSources, plant_sources
from renfang.testing.users import client_for
from renfang.web.tests.test_sources_pages import english


@pytest.fixture
def world(db: None) -> World:
    return build_world()


@pytest.fixture
def planted(world: World) -> dict[str, PlantedSources]:
    return plant_sources(world)


def _clerk(world: World):
    return english(client_for(world.users["committee_clerk"]))


def test_a_clerk_sees_the_conflicts_of_the_committee_only(world, planted):
    page = _clerk(world).get("/conflicts/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "甲一住户" in html and "甲一户籍" in html  # A1's people
    assert "甲二住户" not in html and "乙一住户" not in html
    # The authoritative value (civil affairs) and the other (police), in words.
    assert "Marital status" in html and "民政" in html and "公安户籍" in html
    assert AuditEvent.objects.filter(
        user_id=world.users["committee_clerk"].pk, action=Action.SEARCH, record_type="conflict"
    ).exists()


def test_filters_by_field_status_and_committee(world, planted):
    officer = english(client_for(world.users["street_officer"]))

    by_committee = officer.get("/conflicts/?committee=310104003002").content.decode()
    by_field = officer.get("/conflicts/?field=name").content.decode()
    settled = officer.get("/conflicts/?status=settled").content.decode()

    assert "甲二住户" in by_committee and "甲一住户" not in by_committee
    assert "No conflict here." in by_field
    assert "No conflict here." in settled
    # A committee of another street is not the officer's: "not found", audited.
    assert officer.get("/conflicts/?committee=310104004001").status_code == 404
    assert AuditEvent.objects.filter(
        user_id=world.users["street_officer"].pk, action=Action.DENIED, record_id="310104004001"
    ).exists()


def test_settling_needs_a_note_and_is_kept_with_who_and_audited(world, planted):
    clerk = _clerk(world)
    conflict = planted["A1"].conflict

    refused = clerk.post(
        f"/conflicts/{conflict.pk}/settle/", {"status": "settled", "note": " "}, follow=True
    )
    assert "Say how it was settled." in refused.content.decode()
    conflict.refresh_from_db()
    assert conflict.status == ConflictStatus.OPEN

    settled = clerk.post(
        f"/conflicts/{conflict.pk}/settle/",
        {"status": "settled", "note": "民政登记为准", "next": "/conflicts/?status=all"},
    )
    assert settled.status_code == 302
    assert settled["Location"] == "/conflicts/?status=all"
    conflict.refresh_from_db()
    assert conflict.status == ConflictStatus.SETTLED
    assert conflict.note == "民政登记为准"
    assert conflict.settled_by == world.users["committee_clerk"]
    assert AuditEvent.objects.filter(
        user_id=world.users["committee_clerk"].pk,
        action=Action.WRITE,
        record_id=str(conflict.person_id),
    ).exists()


def test_sending_for_a_visit_needs_no_note(world, planted):
    conflict = planted["HUKOU_A1"].conflict

    response = _clerk(world).post(f"/conflicts/{conflict.pk}/settle/", {"status": "visit"})

    assert response.status_code == 302
    conflict.refresh_from_db()
    assert conflict.status == ConflictStatus.VISIT


def test_a_conflict_outside_the_area_is_not_found_and_unchanged(world, planted):
    conflict = planted["B1"].conflict

    response = _clerk(world).post(
        f"/conflicts/{conflict.pk}/settle/", {"status": "settled", "note": "x"}
    )

    assert response.status_code == 404
    assert Conflict.objects.get(pk=conflict.pk).status == ConflictStatus.OPEN


def test_a_redirect_after_settling_stays_on_the_site(world, planted):
    conflict = planted["A1"].conflict

    response = _clerk(world).post(
        f"/conflicts/{conflict.pk}/settle/",
        {"status": "visit", "next": "https://evil.example/conflicts/"},
    )

    assert response["Location"] == "/conflicts/"


@pytest.mark.parametrize("role", ["collector", "police", "department_reader", "auditor"])
def test_roles_that_do_not_settle_conflicts_do_not_find_the_pages(world, planted, role):
    client = client_for(world.users[role])
    conflict = planted["A1"].conflict

    assert client.get("/conflicts/").status_code == 404
    assert client.get("/conflicts/conflicts.xlsx").status_code == 404
    assert client.post(f"/conflicts/{conflict.pk}/settle/", {"status": "visit"}).status_code == 404
    assert Conflict.objects.get(pk=conflict.pk).status == ConflictStatus.OPEN


def test_the_export_holds_the_filtered_list_in_words(world, planted):
    export = _clerk(world).get("/conflicts/conflicts.xlsx?field=marital_status")

    book = load_workbook(io.BytesIO(export.content), read_only=True)
    rows = [list(row) for row in book.active.iter_rows(values_only=True)]
    assert rows[0][:7] == [
        "Person no.",
        "Person",
        "Field",
        "Authoritative value",
        "Authoritative source",
        "Other value",
        "Other source",
    ]
    people = sorted(row[1] for row in rows[1:])
    assert people == ["甲一住户", "甲一户籍"]
    with translation.override("en"):
        unmarried, married = code_label("marital_status", "10"), code_label("marital_status", "20")
    assert rows[1][2:7] == [
        "Marital status",
        f"{unmarried} (10)",
        "民政",
        f"{married} (20)",
        "公安户籍",
    ]
    assert AuditEvent.objects.filter(action=Action.EXPORT, record_type="conflict").count() == 1
