"""The dead stay counted no more (issue 12, ADR 0028): a death ends the residence and
deregisters the hukou (注销) as of the day of death, with its audit and feed event; the figures
count the person up to that day and never after, not even as 空挂户 (registered here,
whereabouts unknown); databases written before keep right figures (a migration) and get the
deregistration with its event from ``renfang golden refresh --dead``."""

from __future__ import annotations

import datetime
import io
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.db import connection, transaction

from renfang.areas.models import Area
from renfang.audit.models import AuditEvent
from renfang.core import bulk
from renfang.exchange.models import Event, EventType
from renfang.exchange.tests.publishing import HEALTH_MAPPING, department, health_record
from renfang.people.facts.planting import by_hand
from renfang.people.facts.spells import SPELL_COLUMNS, spell_rows
from renfang.people.idnumbers import with_check_digit
from renfang.people.models import Hukou, Person, Residence
from renfang.register.importer import register_import
from renfang.register.tests.test_import import reference, row, write
from renfang.sources.services.publish.record import record_publish
from renfang.stats.models import PopulationSpell
from renfang.stats.selectors import area_figures
from renfang.stats.spells import Interval, Spell, build_spells

pytestmark = [pytest.mark.django_db]
__all__ = ["reference"]  # a fixture

TODAY = datetime.date(2026, 11, 21)
DIED = datetime.date(2026, 11, 10)
AFTER = DIED + datetime.timedelta(days=1)
ZHAO = with_check_digit("31010419550101123")  # 赵大爷, born 1955, hukou in street 003


def status(code: str, day: datetime.date) -> dict[str, int]:
    figures = area_figures(area_code=code, as_of=day)
    return {key: value for key, value in figures["hukou_status"].items() if value}


def zhao_rows() -> list[dict[str, str]]:
    return [
        row(
            id_number=ZHAO,
            name="赵大爷",
            birth_date="1955-01-01",
            residence_division="310104003001",
            residence_house_code="",
            residence_from="2015-03-01",
            phone="",
        )
    ]


def health_says_zhao_died(day: datetime.date = DIED) -> int:
    health, hospital = department("health", "卫健", HEALTH_MAPPING, "hospital")
    published = record_publish(
        health,
        health_record(编号="H9", 身份证号=ZHAO, 姓名="赵大爷", 死亡日期=day.isoformat()),
        actor=hospital,
        today=TODAY,
    )
    assert published.person_id is not None
    return published.person_id


def person_events(person_id: int) -> list[Event]:
    return list(Event.objects.filter(person_id=person_id).order_by("seq"))


def hukou_lines(events: list[Event]) -> list[dict[str, Any]]:
    return [line for event in events for line in event.changes if line["field"] == "hukou"]


# ---------------------------------------------------------------- a death from now on


@pytest.mark.usefixtures("reference")
def test_a_death_deregisters_the_hukou_and_the_dead_leave_every_count(tmp_path: Path) -> None:
    register_import(path=write(tmp_path / "r.csv", zhao_rows()), today=TODAY)
    assert status("310104003", AFTER) == {"consistent": 1, "registered_total": 1}

    person_id = health_says_zhao_died()

    (hukou,) = Hukou.objects.filter(person_id=person_id)
    assert (hukou.division, hukou.valid_to) == ("310104003", DIED)
    assert Residence.objects.get(person_id=person_id).valid_to == DIED
    # The figures: counted on the day of death, in nothing the day after.
    assert status("310104003", DIED) == {"consistent": 1, "registered_total": 1}
    assert status("310104003", AFTER) == {}
    assert status("310104", TODAY) == {}
    assert area_figures(area_code="310104", as_of=AFTER)["actual_population"]["total"] == 0
    # The deregistration goes out with the death, and the dead keep their category.
    died = [event for event in person_events(person_id) if event.type == EventType.DIED]
    (event,) = died
    assert [line["field"] for line in event.changes] == ["death_date", "residence", "hukou"]
    assert event.changes[2]["new"]["to"] == DIED.isoformat()
    assert event.category == "registered"
    audited = AuditEvent.objects.filter(record_type="person", record_id=str(person_id))
    assert any(
        line["field"] == "hukou" and line["new"]["to"] == DIED.isoformat()
        for audit in audited
        for line in audit.detail.get("changes", [])
    )


@pytest.mark.usefixtures("reference")
def test_refreshing_and_importing_again_change_nothing_after_a_death(tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", zhao_rows())
    register_import(path=path, today=TODAY)
    person_id = health_says_zhao_died()
    before = (Event.objects.count(), AuditEvent.objects.count(), Hukou.all_versions.count())

    call_command("golden", "refresh", "--dead", "--no-progress", stdout=io.StringIO())
    # The register file knows no death: importing it again must not reopen what it ended.
    again = register_import(path=path, today=TODAY)

    assert again.people_unchanged == 1
    # Only the refresh run's own audit event is new.
    assert (Event.objects.count(), Hukou.all_versions.count()) == (before[0], before[2])
    assert AuditEvent.objects.count() == before[1] + 2  # the refresh run, the import run
    assert Hukou.objects.get(person_id=person_id).valid_to == DIED
    assert status("310104003", AFTER) == {}


@pytest.mark.usefixtures("reference")
def test_a_death_before_a_registered_move_leaves_no_fact_after_it(tmp_path: Path) -> None:
    """A file with facts after the day of death (a move nobody made): they never held."""
    moved = [
        row(
            **{**zhao_rows()[0], "residence_to": "2026-10-31"},
        ),
        row(
            **{
                **zhao_rows()[0],
                "hukou_division": "310104004",
                "residence_division": "310104004001",
                "residence_from": "2026-11-01",
            }
        ),
    ]
    path = write(tmp_path / "r.csv", moved)
    register_import(path=path, today=TODAY)
    person_id = health_says_zhao_died(datetime.date(2026, 10, 20))

    assert list(Hukou.objects.filter(person_id=person_id).values_list("division", "valid_to")) == [
        ("310104003", datetime.date(2026, 10, 20))
    ]
    assert status("310104", datetime.date(2026, 10, 20)) == {"consistent": 1, "registered_total": 1}
    assert status("310104", datetime.date(2026, 11, 2)) == {}
    assert register_import(path=path, today=TODAY).people_unchanged == 1


# ---------------------------------------------------------------- a database from before


def _as_before_issue_12(person_id: int) -> None:
    """What a death did before issue 12: the residence ended, the hukou left open, the spells
    rebuilt from those facts (空挂户 from the day after the death)."""
    with by_hand():
        Hukou.objects.filter(person_id=person_id).update(valid_to=None)
        PopulationSpell.objects.filter(person_id=person_id).delete()
        residences = [
            Interval(start, end, division or None)
            for start, end, division in Residence.objects.filter(person_id=person_id).values_list(
                "valid_from", "valid_to", "division"
            )
        ]
        hukous = [
            Interval(start, end, division or None)
            for start, end, division in Hukou.objects.filter(person_id=person_id).values_list(
                "valid_from", "valid_to", "division"
            )
        ]
        bulk.insert(
            PopulationSpell, SPELL_COLUMNS, spell_rows(person_id, False, residences, hukous)
        )


def _migrate_spells_of_the_dead() -> None:
    from importlib import import_module  # noqa: PLC0415

    migration = import_module("renfang.stats.migrations.0002_spells_of_the_dead")
    migration.spells_of_the_dead(django_apps, SimpleNamespace(connection=connection))


@pytest.mark.usefixtures("reference")
def test_a_database_from_before_counts_right_once_migrated_and_refreshed(tmp_path: Path) -> None:
    register_import(path=write(tmp_path / "r.csv", zhao_rows()), today=TODAY)
    person_id = health_says_zhao_died()
    _as_before_issue_12(person_id)
    assert status("310104003", AFTER) == {
        "registered_here_whereabouts_unknown": 1,
        "registered_total": 1,
    }

    _migrate_spells_of_the_dead()

    assert status("310104003", DIED) == {"consistent": 1, "registered_total": 1}
    assert status("310104003", AFTER) == {}
    events = len(person_events(person_id))

    call_command("golden", "refresh", "--dead", "--no-progress", stdout=io.StringIO())

    assert Hukou.objects.get(person_id=person_id).valid_to == DIED
    (line,) = hukou_lines(person_events(person_id)[events:])
    assert (line["old"]["to"], line["new"]["to"]) == (None, DIED.isoformat())
    assert status("310104003", AFTER) == {}
    # Again: nothing left to end, nothing written.
    counts = (Event.objects.count(), Hukou.all_versions.count(), PopulationSpell.objects.count())
    call_command("golden", "refresh", "--dead", "--no-progress", stdout=io.StringIO())
    assert counts == (
        Event.objects.count(),
        Hukou.all_versions.count(),
        PopulationSpell.objects.count(),
    )


# ---------------------------------------------------------------- the demo


def _area_of(division: str) -> str:
    for length in (9, 6, 4, 2):
        if Area.objects.filter(code=division[:length]).exists():
            return division[:length]
    raise AssertionError(division)


def _without(person_id: int, code: str, days: list[datetime.date]) -> list[dict[str, int]]:
    """The figures on these days had the person never been in the register."""
    with transaction.atomic(), by_hand():
        PopulationSpell.objects.filter(person_id=person_id).delete()
        figures = [status(code, day) for day in days]
        transaction.set_rollback(True)
    return figures


def test_the_demos_dead_count_up_to_their_death_and_never_after() -> None:
    call_command("demo", "--people", "1000", "--seed", "5", verbosity=0, stdout=io.StringIO())
    dead = list(Person.objects.filter(death_date__isnull=False).order_by("pk"))
    assert len(dead) >= 2
    today = max(person.death_date for person in dead if person.death_date) + datetime.timedelta(
        days=5
    )

    for person in dead:
        died = person.death_date
        assert died is not None
        (hukou,) = Hukou.objects.filter(person=person)  # the demo's dead never moved hukou
        assert hukou.valid_to == died
        code = _area_of(hukou.division)
        days = [died, died + datetime.timedelta(days=1), today]
        with_them = [status(code, day) for day in days]
        without_them = _without(person.pk, code, days)
        # Counted (registered here) on the day of death …
        assert with_them[0]["registered_total"] == without_them[0].get("registered_total", 0) + 1
        # … and in no figure after it: not as 空挂户, not at all.
        assert with_them[1:] == without_them[1:]
        (event,) = [e for e in person_events(person.pk) if e.type == EventType.DIED]
        assert [line["new"]["to"] for line in hukou_lines([event])] == [died.isoformat()]

    counts = (Event.objects.count(), Hukou.all_versions.count(), Residence.all_versions.count())
    call_command("golden", "refresh", "--dead", "--no-progress", stdout=io.StringIO())
    assert counts == (
        Event.objects.count(),
        Hukou.all_versions.count(),
        Residence.all_versions.count(),
    )


# ---------------------------------------------------------------- the spells


def test_spells_end_on_the_day_of_death_whatever_the_facts_say() -> None:
    residences = [Interval(datetime.date(2015, 3, 1), None, "310104003001")]
    hukous = [Interval(None, None, "310104003")]

    assert build_spells(residences, hukous, died=DIED) == [
        Spell(None, datetime.date(2015, 2, 28), None, "310104003"),
        Spell(datetime.date(2015, 3, 1), DIED, "310104003001", "310104003"),
    ]
    # A fact that begins after the death never held.
    later = [*residences, Interval(AFTER, None, "310104004001")]
    assert build_spells(later, [], died=DIED) == [
        Spell(datetime.date(2015, 3, 1), DIED, "310104003001", None)
    ]
    assert build_spells(residences, hukous)[-1].valid_to is None  # the living
