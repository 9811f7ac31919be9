"""Publishing one record through the API: it takes the import's path, is linked to the person
holding its ID (or becomes a person of its own), and its changes go out as events in the same
transaction. Bad records are refused field by field and leave nothing behind."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import translation

from renfang.accounts.tokens import api_token_create
from renfang.audit.models import AuditEvent
from renfang.exchange.models import Event, EventType
from renfang.exchange.tests.publishing import HEALTH_MAPPING, department, health_record
from renfang.people.models import Person, Residence
from renfang.register.importer import register_import
from renfang.register.tests.test_import import (
    TODAY,
    ZHANG,
    reference,  # noqa: F401 (the fixture)
    row,
    write,
)
from renfang.sources.models import LinkRule, SourceRecord, SourceRecordVersion, UnmappedCode

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference")]

URL = "/api/sources/health/records"


@pytest.fixture
def health() -> Any:
    return department("health", "卫健", HEALTH_MAPPING, "health_system")


@pytest.fixture
def client(health: Any) -> Client:
    key = api_token_create(user=health[1], name="hospital system").key
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_ACCEPT_LANGUAGE="en")


def send(client: Client, record: dict[str, Any], url: str = URL) -> Any:
    return client.post(url, json.dumps(record), content_type="application/json")


def nothing_saved() -> tuple[int, int, int, int]:
    return (
        SourceRecord.objects.count(),
        SourceRecordVersion.objects.count(),
        Person.objects.count(),
        Event.objects.count(),
    )


def test_a_death_of_a_registered_person_links_by_id_and_is_published_once(
    client: Client, tmp_path: Path
) -> None:
    register_import(path=write(tmp_path / "r.csv", [row()]), today=TODAY)
    zhang = Person.objects.get(id_number=ZHANG)
    before = Event.objects.count()
    record = health_record(身份证号=ZHANG, 死亡日期="2026-11-02")

    response = send(client, record)

    assert response.status_code == 200, response.content
    body = response.json()
    # The record and its status; no person is named (ADR 0022).
    assert body == {"record_id": "H1", "status": "new", "unmapped": []}
    assert SourceRecord.objects.get(record_id="H1").person_id == zhang.pk
    zhang.refresh_from_db()
    assert str(zhang.death_date) == "2026-11-02"
    (died,) = Event.objects.filter(seq__gt=before)
    assert died.type == EventType.DIED
    assert died.person_id == zhang.pk
    assert died.division == "310104003001"  # where he lived, for that street's subscribers
    assert died.source == "health"  # the source that gave the death date
    fields = [line["field"] for line in died.changes]
    assert fields == ["death_date", "residence", "hukou"]
    # He lived there up to the day he died; his hukou is deregistered (注销) as of that day.
    (spell,) = Residence.objects.filter(person=zhang)
    assert str(spell.valid_to) == "2026-11-02"
    assert str(zhang.hukous.get().valid_to) == "2026-11-02"
    audited = AuditEvent.objects.filter(record_type="source_record").last()
    assert audited is not None and audited.detail["status"] == "new"

    again = send(client, record)  # the same record again: nothing changes, nothing published

    assert again.status_code == 200
    assert again.json()["status"] == "unchanged"
    assert Event.objects.filter(seq__gt=before).count() == 1
    assert SourceRecordVersion.objects.filter(record__source__code="health").count() == 1


def test_a_newborn_nobody_knows_becomes_a_person_of_its_own_and_is_born(client: Client) -> None:
    record = health_record(
        编号="B7",
        姓名="王小宝",
        性别="女",
        出生日期="2026-11-01",
        居住地="310104003001",
    )

    body = send(client, record).json()

    assert body == {"record_id": "B7", "status": "new", "unmapped": []}
    linked = SourceRecord.objects.get(record_id="B7")
    assert linked.link_rule == LinkRule.SINGLETON
    assert linked.person_id is not None
    baby = Person.objects.get(pk=linked.person_id)
    assert (baby.name, baby.sex, str(baby.birth_date)) == ("王小宝", "2", "2026-11-01")
    (born,) = Event.objects.filter(person_id=baby.pk)
    assert born.type == EventType.BORN
    assert (born.division, born.sex, born.age) == ("310104003001", "2", 0)
    assert born.source == "health"
    assert linked.link_detail == {"rule": "singleton", "published": True}


def test_a_changed_record_keeps_its_person_and_publishes_only_the_change(
    client: Client, tmp_path: Path
) -> None:
    register_import(path=write(tmp_path / "r.csv", [row()]), today=TODAY)
    send(client, health_record(身份证号=ZHANG))
    before = Event.objects.count()

    body = send(client, health_record(身份证号=ZHANG, 死亡日期="2026-11-03")).json()

    assert body["status"] == "changed"
    assert [e.type for e in Event.objects.filter(seq__gt=before)] == [EventType.DIED]


def test_an_unknown_code_is_kept_and_reported(client: Client) -> None:
    body = send(client, health_record(性别="不详", 出生日期="1990-01-01")).json()

    assert body["status"] == "new"
    assert body["unmapped"] == [{"field": "sex", "value": "不详"}]
    code = UnmappedCode.objects.get(source__code="health")
    assert (code.field, code.value, code.records) == ("sex", "不详", 1)

    send(client, health_record(性别="男", 出生日期="1990-01-01"))  # corrected

    assert not UnmappedCode.objects.filter(source__code="health").exists()


@pytest.mark.parametrize(
    ("record", "field", "reason"),
    [
        ({"姓名": "张伟"}, "record_id", "no record id"),
        ({"编号": "H2", "出生日期": "1990-13-45"}, "birth_date", "1990-13-45"),
        ({"编号": "H2", "死亡日期": "yesterday"}, "death_date", "yesterday"),
        ({"编号": "H2", "身份证号": ["310104198001011239"]}, "身份证号", "nested value"),
        ({"编号": "x" * 201}, "record_id", "more than 200 characters"),
    ],
)
def test_a_bad_record_is_refused_naming_field_and_reason_and_nothing_is_saved(
    client: Client, record: dict[str, Any], field: str, reason: str
) -> None:
    before = nothing_saved()

    response = send(client, record)

    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert "Nothing was saved" in error["message"]
    assert any(f["field"] == field and reason in f["message"] for f in error["fields"]), error
    assert nothing_saved() == before


def test_a_body_that_is_not_an_object_is_refused(client: Client) -> None:
    response = client.post(URL, "[1, 2]", content_type="application/json")

    assert response.status_code == 422
    assert nothing_saved() == (0, 0, 0, 0)


def test_only_the_sources_publishers_may_send(health: Any, tmp_path: Path) -> None:
    from django.contrib.auth.models import User

    other = User.objects.create_user("civil_system", password="x-unused-x")
    key = api_token_create(user=other, name="civil affairs").key
    stranger = Client(HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_ACCEPT_LANGUAGE="en")

    refused = send(stranger, health_record())
    missing = send(stranger, health_record(), url="/api/sources/nosuch/records")
    anonymous = send(Client(), health_record())

    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    assert "may not publish records of source health" in refused.json()["error"]["message"]
    assert missing.status_code == 404
    assert anonymous.status_code == 401
    assert nothing_saved() == (0, 0, 0, 0)


def test_the_administrator_names_publishers_from_the_command_line(health: Any) -> None:
    from io import StringIO

    from django.contrib.auth.models import User

    User.objects.create_user("hospital_two", password="x-unused-x")
    out = StringIO()
    with translation.override("en"):
        call_command("sources", "publishers", "health", "--add", "hospital_two", stdout=out)
        call_command("sources", "publishers", "health", "--remove", "health_system", stdout=out)

    assert out.getvalue().splitlines() == [
        "publishers of health: health_system, hospital_two",
        "publishers of health: hospital_two",
    ]
    assert AuditEvent.objects.filter(
        record_type="source", detail__action="publishers changed"
    ).exists()
    with translation.override("en"), pytest.raises(Exception, match="no such user: nobody"):
        call_command("sources", "publishers", "health", "--add", "nobody", stdout=out)
