"""People through the API: search and lists, one person, residences and unmasking, for each
role; the same records, masking and audit as the pages."""

from __future__ import annotations

import json

import pytest

from renfang.accounts.access import mask_id_number, mask_phone
from renfang.api.tests.conftest import error_of
from renfang.audit.models import Action, AuditEvent

pytestmark = pytest.mark.django_db

ROLES = (
    "district_admin",
    "street_officer",
    "committee_clerk",
    "collector",
    "police",
    "department_reader",
    "id_reader",
    "clerk_a2",
    "officer_b",
    "auditor",
    "no_role",
)
MISSING_PERSON = 987654321


def _ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


# --- search and lists ---------------------------------------------------------------------------


def lookup(client, q: str):
    """POST /api/people/lookup: numbers travel in the body."""
    return client.post("/api/people/lookup", json.dumps({"q": q}), content_type="application/json")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("by", ["name", "id_number", "phone"])
def test_search_finds_exactly_the_people_the_role_may_see(world, as_role, role, by) -> None:
    client = as_role(role)
    for key, planted in world.planted.items():
        term = {"name": planted.person.name, "id_number": planted.id_number, "phone": planted.phone}
        response = (
            lookup(client, term[by]) if by != "name" else client.get("/api/people", {"q": term[by]})
        )
        # A department reader searches only by the fields it was granted (name, not numbers).
        granted = not (role == "department_reader" and by != "name")
        expected = {planted.person.pk} if key in world.sees[role] and granted else set()
        assert _ids(response) == expected, (role, key)
        assert response.json()["count"] == len(expected)


def test_a_search_is_audited_with_its_terms(world, as_role) -> None:
    as_role("committee_clerk").get("/api/people", {"q": "甲二住户"})
    event = AuditEvent.objects.filter(action=Action.SEARCH).latest("id")
    assert event.record_type == "person"
    assert event.detail == {"terms": "甲二住户"}
    assert event.channel == "api"
    assert event.user_id == world.users["committee_clerk"].pk


def test_the_area_filter_lists_who_lives_there_on_a_day(world, as_role) -> None:
    client = as_role("street_officer")
    a1 = world.areas["A1"].code
    # HUKOU_A1 holds hukou in A1 but lives elsewhere: not "living there".
    assert _ids(client.get("/api/people", {"area": a1})) == {world.planted["A1"].person.pk}
    street = world.areas["A"].code
    assert _ids(client.get("/api/people", {"area": street})) == {
        world.planted["A1"].person.pk,
        world.planted["A2"].person.pk,
    }
    # Before anyone moved in (the residences start on 2019-01-01).
    assert _ids(client.get("/api/people", {"area": street, "as_of": "2018-12-31"})) == set()


def test_the_area_filter_narrows_a_search(world, as_role) -> None:
    client = as_role("street_officer")
    found = client.get("/api/people", {"q": "住户", "area": world.areas["A2"].code})
    assert _ids(found) == {world.planted["A2"].person.pk}


def test_an_area_list_without_terms_is_audited_as_a_search_with_its_filters(world, as_role) -> None:
    as_role("committee_clerk").get(
        "/api/people", {"area": world.areas["A1"].code, "as_of": "2024-05-01"}
    )
    event = AuditEvent.objects.filter(action=Action.SEARCH).latest("id")
    assert event.record_type == "person"
    assert event.detail == {"area": world.areas["A1"].code, "as_of": "2024-05-01"}


@pytest.mark.parametrize(
    ("role", "area"),
    [
        ("committee_clerk", "A2"),  # sibling committee
        ("committee_clerk", "B1"),  # another street
        ("committee_clerk", "A"),  # the street above the clerk's committee
        ("police", "A2"),
        ("collector", "A1"),  # bound to a grid of A1, not the committee
        ("auditor", "district"),
        ("no_role", "A1"),
    ],
)
def test_an_area_outside_the_users_is_not_found_like_an_unknown_one(
    world, as_role, role, area
) -> None:
    client = as_role(role)
    code = world.areas[area].code
    denied = client.get("/api/people", {"area": code})
    unknown = client.get("/api/people", {"area": "310104003999"})
    assert denied.status_code == unknown.status_code == 404
    assert error_of(denied) == error_of(unknown)
    assert error_of(denied)["fields"][0]["field"] == "area"
    event = AuditEvent.objects.filter(action=Action.DENIED).latest("id")
    assert (event.record_type, event.record_id) == ("area", code)
    assert not AuditEvent.objects.filter(action=Action.SEARCH).exists()


def test_a_list_needs_terms_or_an_area(world, as_role) -> None:
    for params in ({}, {"q": "   "}, {"as_of": "2024-01-01"}):
        response = as_role("committee_clerk").get("/api/people", params)
        assert response.status_code == 422
        error = error_of(response)
        assert error["code"] == "validation_error"
        assert [f["field"] for f in error["fields"]] == ["q"]


def test_pages_count_only_the_people_the_user_may_see(world, as_role) -> None:
    client = as_role("district_admin")
    district = world.areas["district"].code
    first = client.get("/api/people", {"area": district, "page_size": 2}).json()
    assert (first["count"], first["pages"], first["page"], first["page_size"]) == (3, 2, 1, 2)
    second = client.get("/api/people", {"area": district, "page_size": 2, "page": 2}).json()
    assert len(first["results"]) == 2
    assert len(second["results"]) == 1
    everyone = {r["id"] for r in first["results"] + second["results"]}
    assert everyone == {world.planted[k].person.pk for k in ("A1", "A2", "B1")}
    past_the_end = client.get("/api/people", {"area": district, "page": 9}).json()
    assert (past_the_end["count"], past_the_end["results"]) == (3, [])
    # The clerk's count covers the clerk's area only.
    clerk = as_role("committee_clerk").get("/api/people", {"q": "住户"}).json()
    assert clerk["count"] == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": "x", "page_size": 201}, "page_size"),
        ({"q": "x", "page_size": 0}, "page_size"),
        ({"q": "x", "page": 0}, "page"),
        ({"q": "x", "page": "two"}, "page"),
        ({"q": "x", "as_of": "2024-02-30"}, "as_of"),
        ({"area": "31x"}, "area"),
        ({"q": "x" * 101}, "q"),
    ],
)
def test_bad_parameters_are_named(world, as_role, params, field) -> None:
    response = as_role("committee_clerk").get("/api/people", params)
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert field in [f["field"] for f in error["fields"]]


def test_list_rows_are_masked_for_masked_roles(world, as_role) -> None:
    planted = world.planted["A1"]
    row = lookup(as_role("committee_clerk"), planted.id_number).json()
    [person] = row["results"]
    assert person["shown_id_number"] == mask_id_number(planted.id_number)
    assert person["lives_at"]["house_code"] == planted.house.house_code
    assert planted.id_number not in json.dumps(row)


def test_list_rows_show_a_department_reader_its_fields_only(world, as_role) -> None:
    planted = world.planted["A1"]
    row = as_role("department_reader").get("/api/people", {"q": planted.person.name}).json()
    [person] = row["results"]  # granted name, sex, residences
    assert person["name"] == planted.person.name
    assert person["sex"] == planted.person.sex
    assert person["shown_id_number"] is None
    assert person["id_type"] is None
    assert person["birth_date"] is None
    assert person["lives_at"] is not None


# --- one person ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_a_person_outside_the_area_is_not_found_like_a_missing_one(world, as_role, role) -> None:
    client = as_role(role)
    missing = client.get(f"/api/people/{MISSING_PERSON}")
    assert missing.status_code == 404
    for key, planted in world.planted.items():
        response = client.get(f"/api/people/{planted.person.pk}")
        if key in world.sees[role]:
            assert response.status_code == 200, (role, key)
            assert response.json()["id"] == planted.person.pk
        else:
            assert response.status_code == 404, (role, key)
            assert response.content == missing.content


def test_reading_a_person_is_audited(world, as_role) -> None:
    person = world.planted["A1"].person
    as_role("committee_clerk").get(f"/api/people/{person.pk}")
    event = AuditEvent.objects.filter(action=Action.READ).latest("id")
    assert (event.record_type, event.record_id, event.channel) == ("person", str(person.pk), "api")


def test_a_denied_read_and_a_missing_one_are_audited_alike(world, as_role) -> None:
    """Issue 11, finding 9: the two do the same work (one denied event each); only the
    auditor reads which was which."""
    client = as_role("committee_clerk")
    outsider = world.planted["B1"].person
    client.get(f"/api/people/{outsider.pk}")
    denied = AuditEvent.objects.get(action=Action.DENIED)
    assert (denied.record_type, denied.record_id) == ("person", str(outsider.pk))
    assert denied.user_id == world.users["committee_clerk"].pk
    assert denied.detail == {"reason": "outside the user's area"}
    client.get(f"/api/people/{MISSING_PERSON}")
    missing = AuditEvent.objects.filter(action=Action.DENIED).latest("id")
    assert (missing.record_type, missing.record_id) == ("person", str(MISSING_PERSON))
    assert missing.detail == {"reason": "not found"}
    assert not AuditEvent.objects.filter(action=Action.READ).exists()


def _masked(number: str) -> str:
    return mask_id_number(number)


@pytest.mark.parametrize(
    "role", ["district_admin", "street_officer", "committee_clerk", "collector"]
)
def test_masked_roles_never_see_a_number_in_full(world, as_role, role) -> None:
    planted = world.planted["A1"]
    response = as_role(role).get(f"/api/people/{planted.person.pk}")
    text = response.content.decode()
    person = response.json()
    assert planted.id_number not in text
    assert planted.phone not in text
    assert person["shown_id_number"] == _masked(planted.id_number)
    assert person["shown_phone"] == mask_phone(planted.phone)
    assert person["identifiers_masked"] is True
    [phone] = [a for a in person["attributes"] if a["kind"] == "phone"]
    assert phone["value"] == person["shown_phone"]


@pytest.mark.parametrize("role", ["police", "id_reader"])
def test_roles_that_need_numbers_see_them_in_full(world, as_role, role) -> None:
    planted = world.planted["A1"]
    person = as_role(role).get(f"/api/people/{planted.person.pk}").json()
    assert person["shown_id_number"] == planted.id_number
    assert person["shown_phone"] == planted.phone
    assert person["identifiers_masked"] is False


def test_a_department_reader_gets_only_its_fields(world, as_role) -> None:
    planted = world.planted["A1"]
    person = as_role("department_reader").get(f"/api/people/{planted.person.pk}").json()
    # granted: name, sex, residences
    assert person["name"] == planted.person.name
    assert person["sex"] == planted.person.sex
    assert person["residences"][0]["house_code"] == planted.house.house_code
    for withheld in (
        "shown_id_number",
        "id_type",
        "shown_phone",
        "birth_date",
        "ethnicity",
        "nationality",
        "category",
        "hukous",
    ):
        assert person[withheld] is None, withheld
    assert person["attributes"] == []
    assert person["tags"] == []
    text = json.dumps(person, ensure_ascii=False)
    assert "*" not in text  # not even a masked number


def test_a_department_reader_granted_hukou_and_identifiers(world, as_role) -> None:
    planted = world.planted["HUKOU_A1"]
    person = as_role("id_reader").get(f"/api/people/{planted.person.pk}").json()
    assert person["residences"] is None  # not granted
    assert [h["division"] for h in person["hukous"]] == [world.areas["A1"].code]
    assert person["sex"] is None


@pytest.mark.parametrize(
    ("role", "tags"),
    [
        ("police", {"drug_user"}),
        ("committee_clerk", {"subsistence_allowance"}),
        ("street_officer", {"subsistence_allowance"}),
        ("collector", set()),
        ("district_admin", set()),
        ("department_reader", set()),  # not granted tags
        ("id_reader", {"drug_user"}),  # granted tags and tag:drug_user
    ],
)
def test_sensitive_tags_only_for_roles_entitled_to_them(world, as_role, role, tags) -> None:
    planted = world.planted["A1"]
    person = as_role(role).get(f"/api/people/{planted.person.pk}").json()
    assert {t["tag"] for t in person["tags"]} == tags
    assert all(t["sensitive"] for t in person["tags"])


def test_labels_follow_accept_language(world, as_role) -> None:
    planted = world.planted["A1"]
    client = as_role("committee_clerk")
    chinese = client.get(f"/api/people/{planted.person.pk}").json()
    english = client.get(f"/api/people/{planted.person.pk}", HTTP_ACCEPT_LANGUAGE="en").json()
    assert chinese["sex_label"] == "男性"
    assert english["sex_label"] == "male"


# --- residences ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_residences_of_people_in_the_area_only(world, as_role, role) -> None:
    client = as_role(role)
    for key, planted in world.planted.items():
        response = client.get(f"/api/people/{planted.person.pk}/residences")
        if key not in world.sees[role]:
            assert response.status_code == 404, (role, key)
            assert error_of(response)["code"] == "not_found"
        elif role == "id_reader":  # a department not granted residences
            assert response.status_code == 403
            assert error_of(response)["code"] == "permission_denied"
        else:
            assert response.status_code == 200, (role, key)
            houses = [r["house_code"] for r in response.json()]
            assert houses == ([planted.house.house_code] if planted.house else [])


def test_reading_residences_is_audited_as_a_read_of_the_person(world, as_role) -> None:
    person = world.planted["A1"].person
    as_role("committee_clerk").get(f"/api/people/{person.pk}/residences")
    event = AuditEvent.objects.filter(action=Action.READ).latest("id")
    assert (event.record_type, event.record_id) == ("person", str(person.pk))


# --- unmasking ----------------------------------------------------------------------------------


def _unmask(client, person_id: int, **body: object):
    return client.post(
        f"/api/people/{person_id}/unmask", json.dumps(body), content_type="application/json"
    )


@pytest.mark.parametrize("role", ["committee_clerk", "street_officer", "collector", "police"])
def test_unmask_shows_the_id_number_for_a_purpose_and_audits_it(world, as_role, role) -> None:
    planted = world.planted["A1"]
    response = _unmask(
        as_role(role), planted.person.pk, field="id_number", purpose="checking a declaration"
    )
    assert response.status_code == 200
    assert response.json() == {"field": "id_number", "values": [planted.id_number]}
    event = AuditEvent.objects.get(action=Action.UNMASK)
    assert (event.record_type, event.record_id) == ("person", str(planted.person.pk))
    assert event.purpose == "checking a declaration"
    assert event.detail == {"field": "id_number"}
    assert event.user_id == world.users[role].pk


def test_unmask_shows_the_phone_numbers(world, as_role) -> None:
    planted = world.planted["A1"]
    response = _unmask(
        as_role("committee_clerk"), planted.person.pk, field="phone", purpose="a home visit"
    )
    assert response.json() == {"field": "phone", "values": [planted.phone]}


# A purpose says something (issue 11, finding 13): RENFANG_PURPOSE_MIN_LENGTH (4) characters,
# not one character over and over.
@pytest.mark.parametrize("purpose", ["", " ", "x", "核实", "ok!", "....", "a a a a", " 核实 "])
def test_unmask_needs_a_purpose(world, as_role, purpose) -> None:
    planted = world.planted["A1"]
    response = _unmask(
        as_role("committee_clerk"), planted.person.pk, field="id_number", purpose=purpose
    )
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "purpose_required"
    assert [f["field"] for f in error["fields"]] == ["purpose"]
    assert not AuditEvent.objects.filter(action=Action.UNMASK).exists()


def test_unmask_without_a_purpose_key_is_purpose_required_too(world, as_role) -> None:
    planted = world.planted["A1"]
    response = _unmask(as_role("committee_clerk"), planted.person.pk, field="phone")
    assert error_of(response)["code"] == "purpose_required"


def test_a_role_that_may_not_unmask_is_refused_and_audited(world, as_role) -> None:
    planted = world.planted["A1"]
    response = _unmask(
        as_role("department_reader"), planted.person.pk, field="id_number", purpose="matching"
    )
    assert response.status_code == 403
    assert error_of(response)["code"] == "permission_denied"
    assert planted.id_number not in response.content.decode()
    event = AuditEvent.objects.get(action=Action.DENIED)
    assert event.detail == {"reason": "role may not unmask", "field": "id_number"}
    assert event.purpose == "matching"


@pytest.mark.parametrize(
    ("role", "key"), [("committee_clerk", "A2"), ("committee_clerk", "B1"), ("auditor", "A1")]
)
def test_unmask_outside_the_area_is_not_found(world, as_role, role, key) -> None:
    planted = world.planted[key]
    client = as_role(role)
    response = _unmask(client, planted.person.pk, field="id_number", purpose="curiosity")
    missing = _unmask(client, MISSING_PERSON, field="id_number", purpose="curiosity")
    assert response.status_code == missing.status_code == 404
    assert response.content == missing.content
    assert planted.id_number not in response.content.decode()
    assert AuditEvent.objects.filter(action=Action.DENIED, record_id=planted.person.pk).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"field": "name", "purpose": "because"}, "field"),
        ({"purpose": "because"}, "field"),
        ({"field": "phone", "purpose": "p" * 301}, "purpose"),
    ],
)
def test_unmask_names_bad_fields(world, as_role, body, field) -> None:
    planted = world.planted["A1"]
    response = _unmask(as_role("committee_clerk"), planted.person.pk, **body)
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert field in [f["field"] for f in error["fields"]]


def test_a_grid_lists_who_lives_in_its_houses(world, as_role) -> None:
    client = as_role("collector")  # bound to the grid that holds A1's house
    response = client.get("/api/people", {"area": world.areas["grid"].code})
    assert _ids(response) == {world.planted["A1"].person.pk}


def test_whereabouts_unknown_since_an_unknown_day_is_the_oldest_residence(world, as_role) -> None:
    """ADR 0028: a residence with no first day comes first in time on every database
    (PostgreSQL sorts an empty date last, SQLite first)."""
    import datetime  # noqa: PLC0415

    from renfang.people.facts import residence_record  # noqa: PLC0415
    from renfang.people.models import Residence  # noqa: PLC0415

    planted = world.planted["A1"]
    known = Residence.objects.filter(person=planted.person).order_by("valid_from").first()
    assert known is not None and known.valid_from is not None
    residence_record(
        person=planted.person,
        valid_from=None,
        valid_to=known.valid_from - datetime.timedelta(days=1),
        division=None,
    )

    person = as_role("police").get(f"/api/people/{planted.person.pk}").json()

    # Newest first: the spell since an unknown day is the last.
    assert person["residences"][-1]["valid_from"] is None
    assert person["residences"][-1]["division"] is None
    assert all(row["valid_from"] for row in person["residences"][:-1])
