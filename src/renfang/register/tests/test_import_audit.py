"""The register import's audit: one write event per person whose facts changed (what was
added, retracted or corrected: field, old, new), one for the import; nothing else when
nothing changed, and nothing at all when the file is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User

from renfang.audit.models import Action, AuditEvent
from renfang.audit.services import audit_verify
from renfang.core.csvimport import ImportRejected
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


def person_events() -> dict[str, AuditEvent]:
    """The latest write event of each person, by person id."""
    events = AuditEvent.objects.filter(action=Action.WRITE, record_type="person").order_by("id")
    return {event.record_id: event for event in events}


def import_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(record_type="import").order_by("id"))


def test_a_first_import_records_each_new_person_with_every_fact(tmp_path: Path) -> None:
    register_import(path=write(tmp_path / "r.csv", [row(), *li_rows()]), today=TODAY)

    zhang = Person.objects.get(id_number=ZHANG)
    li = Person.objects.get(id_number=LI)
    events = person_events()
    assert set(events) == {str(zhang.pk), str(li.pk)}
    assert events[str(zhang.pk)].detail == {
        "changes": [
            *(
                {"field": name, "old": None, "new": value, "source": "register"}
                for name, value in (
                    ("id_type", "resident_id"),
                    ("id_number", ZHANG),
                    ("name", "张伟"),
                    ("sex", "1"),
                    ("birth_date", "1980-01-01"),
                    ("nationality", "CHN"),
                )
            ),
            {"field": "phone", "old": None, "new": "13812345678"},
            {
                "field": "residence",
                "old": None,
                "new": {
                    "division": "310104003001",
                    "from": "2015-03-01",
                    "house": "310104003001000001",
                    "to": None,
                },
            },
            {
                "field": "hukou",
                "old": None,
                "new": {
                    "division": "310104003",
                    "from": "2015-03-01",
                    "household_type": "family",
                    "to": None,
                },
            },
        ],
        "source": "register import r.csv",
    }
    li_changes = events[str(li.pk)].detail["changes"]
    assert [c["new"]["division"] for c in li_changes if c["field"] == "residence"] == [
        "310104003001",
        "310104004001",
    ]
    event = events[str(zhang.pk)]
    assert (event.username, event.user_id, event.channel) == ("system", None, "command")
    assert audit_verify().ok


def test_the_import_itself_is_one_event_with_the_file_and_counts(tmp_path: Path) -> None:
    register_import(path=write(tmp_path / "r.csv", [row(), *li_rows()]), today=TODAY)

    (event,) = import_events()
    assert (event.action, event.record_id, event.username) == (Action.WRITE, "r.csv", "system")
    assert event.detail | {"os_user": "?"} == {
        "source": "register import",
        "file": "r.csv",
        "rows": 3,
        "people": 2,
        "people_created": 2,
        "people_changed": 0,
        "people_unchanged": 0,
        "residences_added": 3,
        "residences_retracted": 0,
        "hukous_added": 2,
        "hukous_retracted": 0,
        "phones_recorded": 1,
        "identity_revisions": 0,
        "birth_dates_differing": 0,
        "os_user": "?",
    }
    # The import's event comes last, after every person's.
    assert event.pk == AuditEvent.objects.order_by("-pk").values_list("pk", flat=True)[0]


def test_an_unchanged_reimport_records_only_its_own_event(tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", [row(), *li_rows()])
    register_import(path=path, today=TODAY)
    before = AuditEvent.objects.count()

    register_import(path=path, today=TODAY)

    assert AuditEvent.objects.count() == before + 1
    latest = import_events()[-1]
    assert (latest.detail["people_unchanged"], latest.detail["people_changed"]) == (2, 0)
    assert audit_verify().ok


def test_a_move_records_the_closed_spell_old_to_new_and_the_new_one(
    tmp_path: Path, django_user_model: type[User]
) -> None:
    register_import(path=write(tmp_path / "a.csv", [row(), *li_rows()]), today=TODAY)
    officer = django_user_model.objects.create_user("officer", password="x")
    moved = [
        row(residence_to="2025-12-31", phone=""),
        row(
            residence_division="310104004001",
            residence_house_code="310104004001000001",
            residence_from="2026-01-01",
            phone="13900001111",
        ),
        *li_rows(),
    ]

    register_import(path=write(tmp_path / "b.csv", moved), today=TODAY, actor=officer)

    zhang = Person.objects.get(id_number=ZHANG)
    changed = AuditEvent.objects.filter(record_type="person", username="officer")
    assert [event.record_id for event in changed] == [str(zhang.pk)]  # Li did not change
    (event,) = changed
    assert event.detail["source"] == "register import b.csv"
    changes = event.detail["changes"]
    assert {"field": "phone", "old": "13812345678", "new": "13900001111"} in changes
    closed = {
        "field": "residence",
        "old": {
            "division": "310104003001",
            "from": "2015-03-01",
            "house": "310104003001000001",
            "to": None,
        },
        "new": {
            "division": "310104003001",
            "from": "2015-03-01",
            "house": "310104003001000001",
            "to": "2025-12-31",
        },
    }
    opened = {
        "field": "residence",
        "old": None,
        "new": {
            "division": "310104004001",
            "from": "2026-01-01",
            "house": "310104004001000001",
            "to": None,
        },
    }
    assert closed in changes and opened in changes
    assert import_events()[-1].username == "officer"
    assert audit_verify().ok


def test_a_retracted_spell_is_recorded_as_old_to_nothing(tmp_path: Path) -> None:
    li = li_rows()
    register_import(path=write(tmp_path / "a.csv", li), today=TODAY)

    register_import(path=write(tmp_path / "b.csv", li[1:]), today=TODAY)  # the first is wrong

    (event,) = [e for e in person_events().values() if e.detail["source"].endswith("b.csv")]
    residences = [c for c in event.detail["changes"] if c["field"] == "residence"]
    assert residences == [
        {
            "field": "residence",
            "old": {
                "division": "310104003001",
                "from": "2018-05-01",
                "house": "310104003001000001",
                "to": "2020-12-31",
            },
            "new": None,
        }
    ]
    hukous = [c for c in event.detail["changes"] if c["field"] == "hukou"]
    # The hukou now begins on another day: the old one retracted, the new one added.
    assert [(c["old"] and c["old"]["from"], c["new"] and c["new"]["from"]) for c in hukous] == [
        ("2018-05-01", None),
        (None, "2021-01-01"),
    ]


def test_a_corrected_identity_records_old_and_new(tmp_path: Path) -> None:
    register_import(path=write(tmp_path / "a.csv", [row()]), today=TODAY)

    register_import(path=write(tmp_path / "b.csv", [row(name="张玮")]), today=TODAY)

    (event,) = [e for e in person_events().values() if e.detail["source"].endswith("b.csv")]
    assert event.detail["changes"] == [
        {"field": "name", "old": "张伟", "new": "张玮", "source": "register"}
    ]


def test_a_refused_file_records_nothing(tmp_path: Path) -> None:
    register_import(path=write(tmp_path / "a.csv", [row()]), today=TODAY)
    before = AuditEvent.objects.count()

    with pytest.raises(ImportRejected):
        register_import(path=write(tmp_path / "b.csv", [row(), row(id_number="1")]), today=TODAY)

    assert AuditEvent.objects.count() == before


def test_a_whole_register_export_is_audited_with_its_row_count(tmp_path: Path) -> None:
    from renfang.register.exporter import register_export  # noqa: PLC0415

    register_import(path=write(tmp_path / "r.csv", [row(), *li_rows()]), today=TODAY)

    rows = register_export(path=tmp_path / "out.csv")

    event = AuditEvent.objects.order_by("-pk").first()
    assert event is not None and event.action == Action.EXPORT
    assert (event.username, event.record_type) == ("system", "register")
    assert event.detail["rows"] == rows == 3 and event.detail["people"] == 2
    assert event.detail["file"].endswith("out.csv")
