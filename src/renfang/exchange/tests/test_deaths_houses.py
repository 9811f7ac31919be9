"""Deaths and house uses in the feed: a death date from the authoritative source ends the
person's residence and is one ``person.died`` event where they lived; a house whose use changes
is one ``house.changed`` event in its area; the first load of a house is none."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from renfang.exchange.events import PersonChange, classify
from renfang.exchange.models import Event, EventType
from renfang.exchange.tests.publishing import (
    CIVIL_MAPPING,
    HEALTH_MAPPING,
    department,
    health_record,
)
from renfang.houses.services import houses_load
from renfang.houses.tests.test_houses_load import HEADER, ROWS, committee  # noqa: F401
from renfang.houses.tests.test_houses_load import write as write_houses
from renfang.people.golden import golden_refresh
from renfang.people.idnumbers import with_check_digit
from renfang.people.models import Person, Residence
from renfang.sources.models import SourceRecord
from renfang.sources.services.publish.record import record_publish

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 21)
ZHAO = with_check_digit("31010419550101123")  # 赵大爷, born 1955


@pytest.fixture
def codes() -> None:
    from django.core.management import call_command

    call_command("codes", "load", verbosity=0)
    call_command("areas", "load-builtin", verbosity=0)


# ---------------------------------------------------------------- deaths


@pytest.mark.usefixtures("codes")
def test_a_department_only_person_who_dies_leaves_the_street_with_one_died_event() -> None:
    health, hospital = department("health", "卫健", HEALTH_MAPPING, "hospital")
    civil, bureau = department("civil_affairs", "民政", CIVIL_MAPPING, "bureau")
    zhao = ZHAO
    first = record_publish(
        health,
        health_record(
            编号="H9", 身份证号=zhao, 姓名="赵大爷", 居住地="310104003001", 居住起始="2020-01-01"
        ),
        actor=hospital,
        today=TODAY,
    )
    assert first.person_id is not None
    person = Person.objects.get(pk=first.person_id)
    assert Residence.objects.get(person=person).valid_to is None
    before = Event.objects.count()

    # Civil affairs hears of the death (a funeral): linked by the ID, the death date taken.
    died = record_publish(
        civil,
        {"身份证号": zhao, "姓名": "赵大爷", "死亡日期": "2026-11-10"},
        actor=bureau,
        today=TODAY,
    )

    assert died.person_id == person.pk
    person.refresh_from_db()
    assert person.death_date == datetime.date(2026, 11, 10)
    (event,) = Event.objects.filter(seq__gt=before)
    assert (event.type, event.division, event.source) == (
        EventType.DIED,
        "310104003001",
        "civil_affairs",
    )
    (spell,) = Residence.objects.filter(person=person)
    assert spell.valid_to == datetime.date(2026, 11, 10)
    # A later refresh (another record, a resolve) leaves the ended residence ended.
    golden_refresh([person.pk], today=TODAY)
    assert Event.objects.count() == before + 1
    assert Residence.objects.get(person=person).valid_to == datetime.date(2026, 11, 10)


@pytest.mark.usefixtures("codes")
def test_the_police_register_outranks_health_for_the_death_date() -> None:
    health, hospital = department("health", "卫健", HEALTH_MAPPING, "hospital")
    police, station = department(
        "police",
        "公安",
        'record_id: "{id}"\nfields:\n  id_type: resident_id\n  id_number: "{id}"\n'
        '  death_date: "{died}"\n',
        "station",
    )
    number = ZHAO
    published = record_publish(
        health, health_record(身份证号=number, 死亡日期="2026-11-09"), actor=hospital, today=TODAY
    )
    record_publish(police, {"id": number, "died": "2026-11-08"}, actor=station, today=TODAY)

    assert published.person_id is not None
    person = Person.objects.get(pk=published.person_id)
    assert person.death_date == datetime.date(2026, 11, 8)
    assert person.golden["death_date"]["source"] == "police"
    assert SourceRecord.objects.filter(person=person).count() == 2


def test_a_closing_residence_goes_out_with_the_death_not_as_a_departure() -> None:
    place = {"from": "2015-03-01", "to": None, "division": "310104003001", "house": None}
    change = PersonChange(
        person_id=1,
        changes=[
            {"field": "death_date", "old": None, "new": "2026-11-10"},
            {"field": "residence", "old": place, "new": {**place, "to": "2026-11-10"}},
            {"field": "marital_status", "old": "20", "new": "30"},
        ],
        source="civil_affairs",
    )

    events = classify(change, TODAY)

    assert [(e.type, e.division) for e in events] == [
        (EventType.CHANGED, ""),
        (EventType.DIED, "310104003001"),
    ]
    assert [line["field"] for line in events[1].changes] == ["death_date", "residence"]


# ---------------------------------------------------------------- houses


def test_a_change_of_use_is_one_house_event_in_its_area(tmp_path: Path) -> None:
    houses_load(path=write_houses(tmp_path, HEADER + ROWS))
    assert not Event.objects.exists()  # loading houses is no change of one

    changed = ROWS.replace("owner_occupied,2015-06-01", "group_rental,2024-03-01")
    houses_load(path=write_houses(tmp_path, HEADER + changed, "b.csv"))
    houses_load(path=write_houses(tmp_path, HEADER + changed, "c.csv"))  # again: nothing

    (event,) = Event.objects.all()
    assert event.type == EventType.HOUSE_CHANGED
    assert (event.house_code, event.division, event.person_id) == (
        "310104003001000001",
        "310104003001",
        None,
    )
    assert [line["field"] for line in event.changes] == ["house_use", "house_use"]
    closed, opened = event.changes
    assert closed["new"]["to"] == "2024-02-29" and closed["new"]["use"] == "owner_occupied"
    assert opened["new"] == {"use": "group_rental", "from": "2024-03-01", "to": None}
    assert event.source == "houses load b.csv"


def test_a_refused_house_file_publishes_nothing(tmp_path: Path) -> None:
    houses_load(path=write_houses(tmp_path, HEADER + ROWS))
    bad = ROWS.replace("owner_occupied,2015-06-01", "group_rental,2024-03-01") + "bad,line\n"

    with pytest.raises(Exception, match="expected 14 fields"):
        houses_load(path=write_houses(tmp_path, HEADER + bad, "bad.csv"))

    assert not Event.objects.exists()
