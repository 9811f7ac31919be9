"""Publishing holds the publisher to its grant (issue 11, finding 3; ADR 0022).

The attacks of the issue, in the access matrix's world (renfang.testing.matrix): a street-level
department without an ID number grant sends civil affairs a record carrying the ID number of
a person of another street (the answer named the person, their marital status changed and a
sensitive tag was added); a department sends a record of a person living in a committee
outside its grant (a person of an arbitrary name was created there). Now: a record may state
only divisions inside the publisher's areas and set only fields (and tags) it is granted,
else it is refused (403) and audited as denied, before any person is looked up; a record that
would change a person the publisher cannot read is held unapplied, answered exactly as a
record of a new person would be, and audited as denied.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from renfang.accounts.models import PersonField, Role, RoleGrant
from renfang.audit.models import Action, AuditEvent
from renfang.people.models import AttributeKind, Person, PersonAttribute, PersonTag
from renfang.sources.models import HeldRecord, Source, SourceRecord
from renfang.sources.services import source_add
from renfang.sources.services.publish.publishers import source_publishers_set
from renfang.testing.matrix import World, build_world
from renfang.testing.users import client_for

pytestmark = pytest.mark.django_db

CIVIL_MAPPING = """\
record_id: "{编号}"
fields:
  id_type: resident_id
  id_number: "{身份证号}"
  name: "{姓名}"
  marital_status:
    value: "{婚姻}"
    codes: {未婚: "10", 已婚: "20", 离婚: "40"}
  residence_division: "{居住地}"
  tags:
    value: "{人员标签}"
    codes: {残疾: disabled, 独居: elderly_alone}
"""
RELIEF_FIELDS = [
    PersonField.NAME,
    PersonField.SEX,
    PersonField.BIRTH_DATE,
    PersonField.RESIDENCES,
    PersonField.MARITAL_STATUS,
]
URL = "/api/sources/civil_affairs/records"


@pytest.fixture
def world(db: None) -> World:
    return build_world()


def _publisher(world: World, username: str, area: str, fields: Sequence[str]) -> User:
    user = User.objects.create_user(username, password="x-unused-x")
    RoleGrant.objects.create(
        user=user, role=Role.DEPARTMENT_READER, area=world.areas[area], fields=fields
    )
    return user


@pytest.fixture
def civil(world: World) -> Source:
    return source_add("civil_affairs", "民政", CIVIL_MAPPING, actor=None)


def _allow(source: Source, user: User) -> Client:
    source_publishers_set(source, add=[user.get_username()], actor=None)
    return client_for(user)


def send(client: Client, record: dict[str, Any]) -> Any:
    return client.post(URL, json.dumps(record), content_type="application/json")


def _divorced(person: Person) -> bool:
    return PersonAttribute.objects.filter(
        person=person, kind=AttributeKind.MARITAL_STATUS, value="40"
    ).exists()


def _denied(user: User) -> int:
    return AuditEvent.objects.filter(user_id=user.pk, action=Action.DENIED).count()


def test_a_street_department_cannot_change_a_person_of_another_street(
    world: World, civil: Source
) -> None:
    """The issue's first attack: relief_office (street A, no id_number grant) sends the ID
    number of B1's person with a marital status and the sensitive tag ``disabled``."""
    relief = _publisher(world, "relief_office", "A", RELIEF_FIELDS)
    client = _allow(civil, relief)
    target = world.planted["B1"].person
    before = _denied(relief)

    response = send(
        client, {"编号": "R1", "身份证号": target.id_number, "婚姻": "离婚", "人员标签": "残疾"}
    )

    assert response.status_code == 403, response.content
    assert str(target.pk) not in response.content.decode()
    fields = {f["field"] for f in response.json()["error"]["fields"]}
    assert {"id_number", "tags"} <= fields
    assert not _divorced(target)
    assert not PersonTag.objects.filter(person=target, tag="disabled").exists()
    assert not SourceRecord.objects.filter(source=civil).exists()
    assert _denied(relief) == before + 1


def test_a_department_cannot_create_a_person_in_a_committee_outside_its_grant(
    world: World, civil: Source
) -> None:
    """The issue's second attack: a department of committee A1 creates a person of an
    arbitrary name living in committee B1."""
    planning = _publisher(world, "family_planning", "A1", RELIEF_FIELDS)
    client = _allow(civil, planning)
    people = Person.objects.count()

    response = send(client, {"编号": "F1", "姓名": "随便起名", "居住地": world.areas["B1"].code})

    assert response.status_code == 403, response.content
    assert any(f["field"] == "residence_division" for f in response.json()["error"]["fields"])
    assert Person.objects.count() == people
    assert not Person.objects.filter(name="随便起名").exists()
    assert AuditEvent.objects.filter(user_id=planning.pk, action=Action.DENIED).exists()


def test_inside_its_grant_a_department_still_publishes(world: World, civil: Source) -> None:
    planning = _publisher(world, "family_planning", "A1", RELIEF_FIELDS)
    client = _allow(civil, planning)

    response = send(client, {"编号": "F2", "姓名": "新生儿", "居住地": world.areas["A1"].code})

    assert response.status_code == 200, response.content
    assert response.json() == {"record_id": "F2", "status": "new", "unmapped": []}
    assert Person.objects.filter(name="新生儿").exists()


def test_a_tag_is_published_only_when_granted(world: World, civil: Source) -> None:
    fields = [*RELIEF_FIELDS, PersonField.ID_NUMBER, PersonField.TAGS]
    relief = _publisher(world, "relief_office", "A", fields)
    client = _allow(civil, relief)
    mine = world.planted["A1"].person

    sensitive = send(client, {"编号": "T1", "身份证号": mine.id_number, "人员标签": "残疾"})
    plain = send(client, {"编号": "T2", "身份证号": mine.id_number, "人员标签": "独居"})

    assert sensitive.status_code == 403
    assert [f["field"] for f in sensitive.json()["error"]["fields"]] == ["tags"]
    assert not PersonTag.objects.filter(person=mine, tag="disabled").exists()
    assert plain.status_code == 200, plain.content
    assert PersonTag.objects.filter(person=mine, tag="elderly_alone").exists()


def test_an_id_held_outside_the_area_is_held_and_answered_like_an_unknown_one(
    world: World, civil: Source
) -> None:
    """A publisher granted ID numbers sends the ID of B1's person (outside its street): the
    person is not changed, the record is held for review, and the answer is the one an ID
    number nobody holds gets: publishing is no test of whether an ID number exists."""
    fields = [*RELIEF_FIELDS, PersonField.ID_NUMBER]
    relief = _publisher(world, "relief_office", "A", fields)
    client = _allow(civil, relief)
    target = world.planted["B1"].person
    before = _denied(relief)

    elsewhere = send(client, {"编号": "H1", "身份证号": target.id_number, "婚姻": "离婚"})
    nobody = send(client, {"编号": "H2", "身份证号": "11010519491231002X", "婚姻": "离婚"})

    assert elsewhere.status_code == nobody.status_code == 200
    assert elsewhere.json() == {"record_id": "H1", "status": "new", "unmapped": []}
    assert nobody.json() == {"record_id": "H2", "status": "new", "unmapped": []}
    assert str(target.pk) not in elsewhere.content.decode()
    assert not _divorced(target)
    (held,) = HeldRecord.objects.all()
    assert (held.record_id, held.person_id, held.publisher_id) == ("H1", target.pk, relief.pk)
    assert not SourceRecord.objects.filter(source=civil, record_id="H1").exists()
    assert _denied(relief) == before + 1
    # Sent again: unchanged, like any record sent twice; still held, still not applied.
    again = send(client, {"编号": "H1", "身份证号": target.id_number, "婚姻": "离婚"})
    assert again.json() == {"record_id": "H1", "status": "unchanged", "unmapped": []}
    assert HeldRecord.objects.count() == 1


def test_a_record_linked_to_a_person_who_moved_away_is_held(world: World, civil: Source) -> None:
    """A record already linked to a person (an earlier import) changes them only while the
    publisher can read them."""
    fields = [*RELIEF_FIELDS, PersonField.ID_NUMBER]
    relief = _publisher(world, "relief_office", "A", fields)
    client = _allow(civil, relief)
    target = world.planted["B1"].person
    SourceRecord.objects.create(
        source=civil,
        record_id="OLD",
        mapped={"name": target.name},
        person=target,
        link_rule="id",
    )

    response = send(client, {"编号": "OLD", "婚姻": "离婚"})

    assert response.json() == {"record_id": "OLD", "status": "changed", "unmapped": []}
    assert not _divorced(target)
    assert HeldRecord.objects.filter(record_id="OLD", person_id=target.pk).exists()


def test_a_held_record_is_reviewed_by_someone_who_sees_the_person(
    world: World, civil: Source
) -> None:
    fields = [*RELIEF_FIELDS, PersonField.ID_NUMBER]
    relief = _publisher(world, "relief_office", "A", fields)
    client = _allow(civil, relief)
    target = world.planted["B1"].person
    send(client, {"编号": "H1", "身份证号": target.id_number, "婚姻": "离婚"})
    send(client, {"编号": "H2", "身份证号": target.id_number, "婚姻": "已婚"})
    admin = client_for(world.users["district_admin"])
    url = "/api/sources/civil_affairs/held-records"

    refused = client.get(url)  # the publisher may not review its own records
    listed = admin.get(url)

    assert refused.status_code == 403
    assert listed.status_code == 200
    rows = listed.json()["results"]
    assert [(r["record_id"], r["person"], r["publisher"]) for r in rows] == [
        ("H1", target.pk, "relief_office"),
        ("H2", target.pk, "relief_office"),
    ]
    assert "marital_status" in rows[0]["fields"]
    # The review is a read of the person: "who has read this person" finds it (ADR 0018).
    from renfang.audit.models import AuditEvent, AuditPersonRef

    events = AuditPersonRef.objects.filter(person_id=target.pk).values_list("event_id", flat=True)
    readers = AuditEvent.objects.filter(id__in=list(events)).values_list("user_id", flat=True)
    assert world.users["district_admin"].pk in set(readers)
    first, second = rows[0]["id"], rows[1]["id"]

    applied = _post_json(admin, f"{url}/{first}/decision", {"apply": True})
    rejected = _post_json(admin, f"{url}/{second}/decision", {"apply": False})
    again = _post_json(admin, f"{url}/{first}/decision", {"apply": True})

    assert applied.json() == {"id": first, "applied": True, "status": "new"}
    assert rejected.json() == {"id": second, "applied": False, "status": ""}
    assert again.status_code == 404
    assert _divorced(target)
    assert SourceRecord.objects.get(source=civil, record_id="H1").person_id == target.pk
    assert not HeldRecord.objects.exists()
    assert AuditEvent.objects.filter(
        record_type="held_record", detail__action="held record applied"
    ).exists()


def _post_json(client: Client, url: str, data: dict[str, Any]) -> Any:
    return client.post(url, json.dumps(data), content_type="application/json")


def test_held_records_are_bounded_like_missed_number_searches(
    world: World, civil: Source, settings: Any
) -> None:
    """Review of issue 11: a held record answers like a new one, but not in the same time (a
    new person is built, a held record only stored), so publishing ID numbers was an
    unbounded test of who exists outside the area. Held records now count like missed number
    searches: at the bound the auditor gets an alert and publishing pauses (429), before any
    person is looked up, whoever the record names; records applied in the area cost nothing."""
    settings.RENFANG_IDENTIFY_MISSES = 5
    fields = [*RELIEF_FIELDS, PersonField.ID_NUMBER]
    relief = _publisher(world, "relief_office", "A", fields)
    client = _allow(civil, relief)
    target = world.planted["B1"].person
    for n in range(8):  # applied in its own street: never counted
        ok = send(client, {"编号": f"OK{n}", "姓名": f"新人{n}", "居住地": world.areas["A1"].code})
        assert ok.status_code == 200, ok.content
    for n in range(5):
        held = send(client, {"编号": f"P{n}", "身份证号": target.id_number, "婚姻": "离婚"})
        assert held.status_code == 200
    alerts = AuditEvent.objects.filter(user_id=relief.pk, action=Action.ALERT)
    assert alerts.count() == 1

    outside = send(client, {"编号": "P9", "身份证号": target.id_number, "婚姻": "离婚"})
    nobody = send(client, {"编号": "N9", "身份证号": "11010519491231002X", "婚姻": "离婚"})

    assert outside.status_code == nobody.status_code == 429
    assert outside.json()["error"]["message"] == nobody.json()["error"]["message"]
    assert HeldRecord.objects.count() == 5
    assert not SourceRecord.objects.filter(source=civil, record_id="N9").exists()
    assert alerts.count() == 1
