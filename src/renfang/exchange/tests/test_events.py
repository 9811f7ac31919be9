"""The outbox: every change of a person writes its events in the same transaction, numbered
without gaps, and typed by what happened (arrived, moved, left, changed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from renfang.audit.services import changes_json
from renfang.core.changes import FieldChange
from renfang.exchange.events import PersonChange, publish_person_changes
from renfang.exchange.models import Event, EventHead, EventType
from renfang.people.models import Person
from renfang.register.importer import register_import
from renfang.register.tests.test_import import (
    LI,
    TODAY,
    ZHANG,
    li_rows,
    reference,  # noqa: F401 (the fixture)
    row,
    write,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference")]


def events() -> list[Event]:
    return list(Event.objects.order_by("seq"))


def test_a_first_import_publishes_one_arrival_per_person_with_its_area(tmp_path: Path) -> None:
    register_import(path=write(tmp_path / "r.csv", [row(), *li_rows()]), today=TODAY)

    zhang = Person.objects.get(id_number=ZHANG)
    li = Person.objects.get(id_number=LI)
    published = events()
    assert [e.seq for e in published] == [1, 2]
    by_person = {e.person_id: e for e in published}
    assert by_person[zhang.pk].type == EventType.ARRIVED
    assert by_person[zhang.pk].division == "310104003001"
    assert by_person[zhang.pk].category == "registered"
    assert by_person[zhang.pk].sex == "1"
    assert by_person[zhang.pk].age == 46
    assert by_person[li.pk].division == "310104004001"  # where she lives now
    assert by_person[li.pk].category == "domestic_migrant"
    fields = {line["field"] for line in by_person[zhang.pk].changes}
    assert {"name", "id_number", "residence", "hukou", "phone"} <= fields
    assert EventHead.objects.get().last_seq == 2


def test_a_move_and_a_new_phone_are_two_events_and_reimport_publishes_nothing(
    tmp_path: Path,
) -> None:
    register_import(path=write(tmp_path / "r.csv", [row()]), today=TODAY)
    first = events()
    moved = row(
        residence_division="310104004001",
        residence_house_code="310104004001000001",
        residence_from="2026-05-01",
        phone="13900000000",
    )
    path = write(tmp_path / "r2.csv", [row(residence_to="2026-04-30", phone="13900000000"), moved])
    register_import(path=path, today=TODAY)
    register_import(path=path, today=TODAY)  # the same file again: nothing changes

    new = events()[len(first) :]
    assert [e.type for e in new] == [EventType.MOVED, EventType.CHANGED]
    move, change = new
    assert (move.division, move.division_before) == ("310104004001", "310104003001")
    assert [line["field"] for line in change.changes] == ["phone"]
    assert change.changes[0]["old"] == "13812345678"
    assert [e.seq for e in events()] == list(range(1, len(first) + 3))


def test_a_departure_is_published_with_the_area_left(tmp_path: Path) -> None:
    register_import(path=write(tmp_path / "r.csv", [row()]), today=TODAY)
    register_import(path=write(tmp_path / "r.csv", [row(residence_to="2026-06-01")]), today=TODAY)

    # The register's row ends the residence and the hukou held with it: a departure, and a
    # change of the hukou.
    left, hukou = events()[1:]
    assert left.type == EventType.LEFT
    assert (left.division, left.division_before) == ("", "310104003001")
    assert [line["field"] for line in left.changes] == ["residence"]
    assert hukou.type == EventType.CHANGED
    assert [line["field"] for line in hukou.changes] == ["hukou"]


@pytest.mark.django_db(transaction=True)
def test_an_event_is_only_written_inside_the_change_transaction() -> None:
    change = PersonChange(
        person_id=1, changes=[{"field": "name", "old": "a", "new": "b"}], source="t"
    )
    with pytest.raises(AssertionError):
        publish_person_changes([change])
    assert not Event.objects.exists()


def test_a_rolled_back_change_leaves_no_event_and_no_gap(tmp_path: Path) -> None:
    register_import(path=write(tmp_path / "r.csv", [row()]), today=TODAY)
    zhang = Person.objects.get(id_number=ZHANG)
    change = PersonChange(
        person_id=zhang.pk, changes=[{"field": "name", "old": "张伟", "new": "张玮"}], source="t"
    )
    with pytest.raises(RuntimeError), transaction.atomic():
        publish_person_changes([change], today=TODAY)
        raise RuntimeError("the write failed")
    with transaction.atomic():
        publish_person_changes([change], today=TODAY)
    assert [e.seq for e in events()] == [1, 2]
    assert events()[-1].changes == [{"field": "name", "old": "张伟", "new": "张玮"}]


def test_lines_given_as_json_text_publish_the_events_the_lines_publish(tmp_path: Path) -> None:
    # A writer that rendered its lines for the audit hands them to the feed as text: an
    # event that carries them all is written with it, one that carries some (a move, a death
    # beside other changes) encodes its own; either way the same events.
    register_import(path=write(tmp_path / "r.csv", [row()]), today=TODAY)
    pid = Person.objects.get(id_number=ZHANG).pk
    home = {"from": "2015-03-01", "to": None, "division": "310104003001", "house": "H1"}
    away = {"from": "2026-05-01", "to": None, "division": "310104004001", "house": "H2"}
    phone: FieldChange = {"field": "phone", "old": "138", "new": '139 "引号" \\', "source": "公安"}
    cases: list[tuple[list[FieldChange], bool]] = [
        (
            [
                {"field": "name", "old": None, "new": "张伟", "source": "register"},
                {"field": "residence", "old": None, "new": home},
                {"field": "hukou", "old": None, "new": {"from": "2015-03-01", "to": None}},
            ],
            True,
        ),
        ([phone, {"field": "rooms", "old": None, "new": 3}], False),
        ([{"field": "residence", "old": home, "new": away}, phone], False),
        (
            [
                {"field": "death_date", "old": None, "new": "2026-06-01"},
                {"field": "residence", "old": home, "new": {**home, "to": "2026-06-01"}},
                phone,
            ],
            False,
        ),
    ]

    def publish(text: bool) -> list[Event]:
        before = Event.objects.count()
        with transaction.atomic():
            publish_person_changes(
                [
                    PersonChange(
                        person_id=pid,
                        changes=lines,
                        source="t",
                        new=new,
                        changes_text=(changes_json(lines) or "") if text else "",
                    )
                    for lines, new in cases
                ],
                today=TODAY,
            )
        return events()[before:]

    def written(event: Event) -> tuple[Any, ...]:
        return (event.type, event.person_id, event.division, event.division_before, event.sex,
                event.age, event.category, event.changes, event.source)  # fmt: skip

    general, fast = publish(text=False), publish(text=True)
    assert len(general) == 6
    assert [written(event) for event in fast] == [written(event) for event in general]
