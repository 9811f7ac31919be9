"""Every write of the people services is an audit event in the same transaction: who, which
person, each field with its old and new value, and the source."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from renfang.areas.models import Area, AreaLevel
from renfang.audit.context import audit_context
from renfang.audit.models import Action, AuditEvent, Channel
from renfang.audit.services import audit_verify
from renfang.houses.models import House
from renfang.people.facts import hukou_record, person_create, residence_record
from renfang.people.idnumbers import with_check_digit
from renfang.people.models import Person

pytestmark = pytest.mark.django_db

D = datetime.date
ZHANG = with_check_digit("31010419800101123")  # male, born 1980-01-01


def writes() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=Action.WRITE).order_by("id"))


def zhang(**kwargs: object) -> Person:
    return person_create(
        id_type="resident_id",
        id_number=ZHANG,
        name=" 张伟 ",
        sex="1",
        birth_date=None,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def clerk(django_user_model: type[User]) -> User:
    return django_user_model.objects.create_user("clerk", password="x")


def test_creating_a_person_records_each_field_by_the_system() -> None:
    person = zhang()

    (event,) = writes()
    assert (event.record_type, event.record_id) == ("person", str(person.pk))
    assert (event.user_id, event.username, event.channel) == (None, "system", "command")
    assert event.detail == {
        "changes": [
            {"field": "id_type", "old": None, "new": "resident_id"},
            {"field": "id_number", "old": None, "new": ZHANG},
            {"field": "name", "old": None, "new": "张伟"},  # as saved: trimmed
            {"field": "sex", "old": None, "new": "1"},
            {"field": "birth_date", "old": None, "new": "1980-01-01"},  # read from the ID
            {"field": "nationality", "old": None, "new": "CHN"},
        ],
        "source": "person_create",
    }


def test_the_actor_where_from_and_the_source_are_recorded(clerk: User) -> None:
    with audit_context(ip="10.0.0.7", channel=Channel.PAGE):
        zhang(actor=clerk, source="collector visit", ethnicity="01")

    (event,) = writes()
    assert (event.user_id, event.username, event.ip, event.channel) == (
        clerk.pk,
        "clerk",
        "10.0.0.7",
        "page",
    )
    assert event.detail["source"] == "collector visit"
    assert {"field": "ethnicity", "old": None, "new": "01"} in event.detail["changes"]


def test_a_residence_is_recorded_with_its_days_place_and_house(clerk: User) -> None:
    person = zhang()
    street = Area.objects.create(code="310104003", name="天平路街道", level=AreaLevel.STREET)
    committee = Area.objects.create(
        code="310104003001", name="上海新村居委会", parent=street, level=AreaLevel.COMMITTEE
    )
    house = House.objects.create(
        house_code="310104003001000001", area=committee, road="天平路", address="天平路1号"
    )

    residence_record(person=person, valid_from=D(2015, 3, 1), house=house, relation="owner")
    residence_record(person=person, valid_from=D(2010, 1, 1), valid_to=D(2014, 12, 31), actor=clerk)

    first, second = writes()[1:]
    assert first.detail == {
        "changes": [
            {
                "field": "residence",
                "old": None,
                "new": {
                    "from": "2015-03-01",
                    "to": None,
                    "division": "310104003001",
                    "house": "310104003001000001",
                    "relation": "owner",
                },
            }
        ],
        "source": "residence_record",
    }
    assert second.username == "clerk"
    assert second.detail["changes"][0]["new"] == {
        "from": "2010-01-01",
        "to": "2014-12-31",
        "division": None,  # whereabouts unknown
        "house": None,
    }


def test_a_hukou_is_recorded() -> None:
    person = zhang()

    hukou_record(
        person=person,
        division="310104003",
        valid_from=None,
        address="天平路1号",
        household_type="family",
    )

    event = writes()[-1]
    assert event.detail["changes"] == [
        {
            "field": "hukou",
            "old": None,
            "new": {
                "from": None,
                "to": None,
                "division": "310104003",
                "household_type": "family",
                "address": "天平路1号",
            },
        }
    ]


@pytest.mark.parametrize(
    "bad",
    [
        {"name": "  "},
        {"nationality": "cn"},
        {"sex": "2"},
        {"id_number": "123"},
        {"birth_date": D(1980, 1, 2)},
    ],
)
def test_a_refused_write_records_nothing(bad: dict[str, object]) -> None:
    values: dict[str, object] = {
        "id_type": "resident_id",
        "id_number": ZHANG,
        "name": "张伟",
        "sex": "1",
        "birth_date": None,
    } | bad

    with pytest.raises(ValidationError):
        person_create(**values)  # type: ignore[arg-type]

    assert not Person.objects.exists()
    assert writes() == []


def test_an_overlapping_residence_is_refused_and_not_audited() -> None:
    person = zhang()
    residence_record(person=person, valid_from=D(2015, 1, 1), division="310104003001")

    with pytest.raises(ValidationError):
        residence_record(person=person, valid_from=D(2016, 1, 1), division="310104003002")
    with pytest.raises(ValidationError):
        hukou_record(person=person, division="31x", valid_from=None)

    assert len(writes()) == 2


def test_a_write_rolled_back_takes_its_audit_event_with_it() -> None:
    zhang()

    with pytest.raises(RuntimeError), transaction.atomic():
        person = Person.objects.get()
        hukou_record(person=person, division="310104003", valid_from=None)
        raise RuntimeError("the caller's transaction fails")

    assert len(writes()) == 1
    assert audit_verify().ok
