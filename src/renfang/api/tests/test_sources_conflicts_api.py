"""The API of sources, unmapped codes, conflicts and provenance: who may call what, what the
answers hold (masked like the pages), and that reads and settlements are audited."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from renfang.accounts.access import mask_id_number, mask_phone
from renfang.api.tests.conftest import error_of
from renfang.audit.models import Action, AuditEvent
from renfang.people.facts import person_placeholder, persons_merge
from renfang.people.facts.planting import by_hand
from renfang.people.models import Conflict, ConflictStatus
from renfang.testing.sources import PlantedSources, plant_sources


@pytest.fixture
def planted(world) -> dict[str, PlantedSources]:
    return plant_sources(world)


def _post(client: Client, url: str, body: dict[str, object]) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json")


def test_a_district_administrator_lists_the_sources_with_their_figures(world, planted, bearer):
    response = bearer("district_admin").get("/api/sources")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    civil, police = body["results"]
    assert (civil["code"], civil["name"], civil["mapping_version"]) == ("civil_affairs", "民政", 1)
    assert (civil["records"], civil["unmapped_codes"]) == (4, 1)
    assert civil["last_import"]["file_name"] == "minzheng-2025.csv"
    assert civil["last_import"]["flagged"] == 1
    assert police["last_import"] is None


def test_one_source_holds_its_mappings_and_imports_with_masked_reports(world, planted, bearer):
    a1, b1 = world.planted["A1"], world.planted["B1"]

    body = bearer("district_admin").get("/api/sources/civil_affairs").json()

    assert body["mappings"][0]["version"] == 1
    assert "{身份证号}" in body["mappings"][0]["text"]
    problem = body["imports"][0]["problems"][0]
    assert problem["record_id"] == mask_id_number(a1.id_number)
    # The value was sent as a phone: masked as one, in the value and in the reason quoting it.
    assert problem["value"] == mask_phone(b1.phone + "x")
    assert mask_phone(b1.phone + "x") in problem["reason"] and b1.phone not in problem["reason"]
    assert body["imports"][0]["unmapped"] == [
        {"field": "marital_status", "value": "丧偶", "records": 1}
    ]


def test_an_id_number_sent_as_an_unmapped_code_is_masked(world, planted, bearer):
    from renfang.sources.models import Source, UnmappedCode  # noqa: PLC0415

    a1 = world.planted["A1"]
    civil = Source.objects.get(code="civil_affairs")
    UnmappedCode.objects.create(
        source=civil, field="marital_status", value=a1.id_number[:17], records=1
    )

    body = bearer("district_admin").get("/api/sources/civil_affairs/unmapped-codes").json()

    values = [code["value"] for code in body["results"]]
    assert mask_id_number(a1.id_number[:17]) in values
    assert a1.id_number[:17] not in str(body)


def test_unmapped_codes_of_one_source_and_of_all(world, planted, bearer):
    client = bearer("district_admin")

    one = client.get("/api/sources/civil_affairs/unmapped-codes").json()
    everyone = client.get("/api/unmapped-codes").json()
    police = client.get("/api/unmapped-codes?source=police").json()
    unknown = client.get("/api/unmapped-codes?source=nosuch")

    assert [(c["source"], c["field"], c["value"], c["records"]) for c in one["results"]] == [
        ("civil_affairs", "marital_status", "丧偶", 1)
    ]
    assert everyone["count"] == 1 and police["count"] == 0
    assert unknown.status_code == 404
    assert error_of(unknown)["fields"][0]["field"] == "source"
    assert client.get("/api/sources/nosuch").status_code == 404


@pytest.mark.parametrize("role", ["street_officer", "committee_clerk", "police", "auditor"])
def test_roles_that_do_not_manage_sources_are_refused(world, planted, bearer, role):
    client = bearer(role)

    for path in ("/api/sources", "/api/sources/police", "/api/unmapped-codes"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert error_of(response)["code"] == "permission_denied"
    assert AuditEvent.objects.filter(
        user_id=world.users[role].pk, action=Action.DENIED, record_id="sources_list"
    ).exists()


def test_conflicts_of_the_callers_area_with_masked_values(world, planted, bearer):
    response = bearer("committee_clerk").get("/api/conflicts?status=all")

    body = response.json()
    assert response.status_code == 200
    assert {c["person"] for c in body["results"]} == {"甲一住户", "甲一户籍"}
    conflict = next(c for c in body["results"] if c["person"] == "甲一住户")
    assert conflict["field"] == "marital_status"
    assert (conflict["golden_value"], conflict["golden_source_name"]) == ("10", "民政")
    assert (conflict["other_value"], conflict["other_source_name"]) == ("20", "公安户籍")
    assert conflict["other_record_id"] == "HJ-A1"
    assert conflict["status"] == "open"


def test_conflicts_filtered_by_area_and_field(world, planted, bearer):
    officer = bearer("street_officer")

    a2 = officer.get("/api/conflicts?area=310104003002").json()
    names = officer.get("/api/conflicts?field=name").json()
    elsewhere = officer.get("/api/conflicts?area=310104004001")

    assert [c["person"] for c in a2["results"]] == ["甲二住户"]
    assert names["count"] == 0
    assert elsewhere.status_code == 404
    assert error_of(elsewhere)["fields"][0]["field"] == "area"


def test_settling_a_conflict_needs_a_note_and_is_audited(world, planted, bearer):
    clerk = bearer("committee_clerk")
    conflict = planted["A1"].conflict
    url = f"/api/conflicts/{conflict.pk}/settle"

    refused = _post(clerk, url, {"status": "settled", "note": ""})
    settled = _post(clerk, url, {"status": "settled", "note": "以民政为准"})

    assert refused.status_code == 422
    assert error_of(refused)["fields"][0]["field"] == "note"
    assert settled.status_code == 200
    assert settled.json()["status"] == "settled"
    assert settled.json()["settled_by"] == "m_clerk"
    assert Conflict.objects.get(pk=conflict.pk).status == ConflictStatus.SETTLED
    assert AuditEvent.objects.filter(
        user_id=world.users["committee_clerk"].pk,
        action=Action.WRITE,
        record_id=str(conflict.person_id),
    ).exists()


def test_a_conflict_outside_the_area_is_not_found_like_a_missing_one(world, planted, bearer):
    clerk = bearer("committee_clerk")

    outside = _post(
        clerk, f"/api/conflicts/{planted['B1'].conflict.pk}/settle", {"status": "visit"}
    )
    missing = _post(clerk, "/api/conflicts/987654321/settle", {"status": "visit"})

    assert outside.status_code == missing.status_code == 404
    assert outside.json() == missing.json()
    assert Conflict.objects.get(pk=planted["B1"].conflict.pk).status == ConflictStatus.OPEN


@pytest.mark.parametrize("role", ["collector", "police", "department_reader"])
def test_roles_that_do_not_settle_conflicts_are_refused(world, planted, bearer, role):
    client = bearer(role)

    listed = client.get("/api/conflicts")
    settle = _post(
        client, f"/api/conflicts/{planted['A1'].conflict.pk}/settle", {"status": "visit"}
    )

    assert listed.status_code == settle.status_code == 403
    assert Conflict.objects.get(pk=planted["A1"].conflict.pk).status == ConflictStatus.OPEN


def test_provenance_is_masked_and_granted_like_the_person(world, planted, bearer):
    a1 = world.planted["A1"]
    url = f"/api/people/{a1.person.pk}/provenance"

    clerk = {p["field"]: p for p in bearer("committee_clerk").get(url).json()}
    police = {p["field"]: p for p in bearer("police").get(url).json()}
    reader = {p["field"]: p for p in bearer("department_reader").get(url).json()}

    assert clerk["id_number"]["value"] == mask_id_number(a1.id_number)
    assert clerk["name"]["source"] == "police" and clerk["name"]["record_id"] == "HJ-A1"
    marital = clerk["marital_status"]
    assert (marital["value"], marital["source"]) == ("10", "civil_affairs")
    assert [(o["source"], o["value"]) for o in marital["others"]] == [("police", "20")]
    assert police["id_number"]["value"] == a1.id_number
    assert set(reader) == {"name"}  # granted name, sex and residences only


def test_a_merged_away_person_answers_with_the_survivor(world, planted, bearer):
    survivor = world.planted["A1"].person
    gone = person_placeholder(id_type="resident_id", name="旧号", sex="1")
    persons_merge([(gone.pk, survivor.pk)], timezone.now())
    clerk = bearer("committee_clerk")

    person = clerk.get(f"/api/people/{gone.pk}").json()
    provenance = clerk.get(f"/api/people/{gone.pk}/provenance")
    survivor_itself = clerk.get(f"/api/people/{survivor.pk}").json()

    assert person["id"] == survivor.pk and person["merged_from"] == gone.pk
    assert provenance.status_code == 200
    assert survivor_itself["merged_from"] is None
    # Merged into someone outside the area: not found, like a missing person.
    gone.merged_into = world.planted["B1"].person
    with by_hand():  # moved by hand to a survivor outside the area
        gone.save()
    assert clerk.get(f"/api/people/{gone.pk}").status_code == 404
