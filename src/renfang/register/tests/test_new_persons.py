"""A register import's new persons are written once, as the golden record has them: their row,
their facts, their population spells and their events come from what the import wrote, not
read back (people/facts/golden.py). What a user sees must be exactly what rebuilding them from
the stored facts gives: the figures (spells) and the feed (each event's sex, age, category)."""

from __future__ import annotations

import datetime
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from renfang.core import bulk
from renfang.exchange.models import Event
from renfang.people.categories import category
from renfang.people.facts import spells_rebuild_for
from renfang.people.golden import refresh
from renfang.people.golden.identity import HELD
from renfang.people.models import Hukou, Person
from renfang.register.importer import register_import
from renfang.register.source import _jsonb_text
from renfang.sources.models import SourceRecord
from renfang.stats.models import PopulationSpell

pytestmark = pytest.mark.django_db(transaction=True)

TODAY = datetime.date(2026, 1, 15)


def _spells() -> list[tuple[Any, ...]]:
    return sorted(
        PopulationSpell.objects.values_list(
            "person_id",
            "valid_from",
            "valid_to",
            "residence_division",
            "hukou_division",
            "overseas",
        )  # fmt: skip
    )


def _age(birth: datetime.date | None) -> int | None:
    if birth is None:
        return None
    return TODAY.year - birth.year - ((TODAY.month, TODAY.day) < (birth.month, birth.day))


def _hukou_today(person_id: int) -> str | None:
    found = [
        (h.valid_from or datetime.date.min, h.division)
        for h in Hukou.objects.filter(person_id=person_id)
        if h.division
        and (h.valid_to is None or h.valid_to >= TODAY)
        and (h.valid_from is None or h.valid_from <= TODAY)
    ]
    return max(found)[1] if found else None


@pytest.fixture
def district(tmp_path: Path) -> Path:
    out = tmp_path / "district"
    call_command(
        "synth", "--out", str(out), "--people", "400", "--seed", "7", "--as-of", "2025-12-31",
        verbosity=0, stdout=io.StringIO(),
    )  # fmt: skip
    call_command("codes", "load", verbosity=0, stdout=io.StringIO())
    call_command("areas", "load-builtin", verbosity=0, stdout=io.StringIO())
    call_command("areas", "load", str(out / "areas.csv"), verbosity=0, stdout=io.StringIO())
    call_command("houses", "load", str(out / "houses.csv"), verbosity=0, stdout=io.StringIO())
    return out / "register.csv"


def _schema() -> list[tuple[str, ...]]:
    """The indexes and foreign keys of every table (PostgreSQL)."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = 'public' "
            "UNION ALL SELECT conrelid::regclass::text, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE contype = 'f' ORDER BY 1, 2"
        )
        return [tuple(row) for row in cursor.fetchall()]


@pytest.mark.parametrize("large", [False, True], ids=["small load", "first load of a district"])
def test_new_persons_spells_and_events_are_what_their_stored_facts_give(
    district: Path, large: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Also as a district's first import (a large load into empty tables, PostgreSQL): its
    keys checked and indexes built after the load, and there as before."""
    if large:
        monkeypatch.setattr(bulk, "LARGE_LOAD", 1)
        monkeypatch.setattr(refresh, "_FIRST_ANALYSIS", 1)
    schema = _schema()

    summary = register_import(path=district, today=TODAY)

    assert _schema() == schema
    if large and connection.vendor == "postgresql":
        # The tables the load grows were analysed while it ran (or every chunk of persons
        # would be read by a scan of the whole table).
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT relname, reltuples FROM pg_class WHERE relname IN "
                "('people_person', 'sources_sourcerecord', 'people_residence')"
            )
            assert all(tuples > 0 for _name, tuples in cursor.fetchall())
    people = list(Person.objects.all())
    assert len(people) == summary.people_created == 400
    # Every person written once, with who they are, and their record linked as it was stored.
    assert all(person.name and person.id_number and person.golden for person in people)
    assert not SourceRecord.objects.filter(person=None).exists()
    assert not SourceRecord.objects.filter(linked_at=None).exists()
    # The history is varied enough to mean something: moves, overseas people, migrants.
    written = _spells()
    assert len(written) > 450
    assert any(spell[5] for spell in written)
    assert len({spell[4][:6] for spell in written if spell[4]}) > 1

    # The spells the import wrote from memory are those rebuilt from the stored facts.
    with transaction.atomic():
        spells_rebuild_for([person.pk for person in people])
    assert _spells() == written

    # Each person's event carries the person as stored.
    events = [event for event in Event.objects.all() if event.person_id is not None]
    assert {event.person_id for event in events} == {person.pk for person in people}
    by_id = {person.pk: person for person in people}
    for event in events:
        assert event.person_id is not None
        person = by_id[event.person_id]
        assert event.sex == person.sex, event.seq
        assert event.age == _age(person.birth_date), event.seq
        expected = category(
            id_type=person.id_type,
            nationality=person.nationality,
            hukou_division=_hukou_today(person.pk) or (None if event.type != "died" else ""),
        )
        if event.type != "died":  # the dead keep the category they died in
            assert event.category == expected.value, event.seq


@pytest.mark.skipif(connection.vendor != "postgresql", reason="jsonb's text is PostgreSQL's")
@pytest.mark.parametrize(
    "mapped",
    [
        {"name": "张伟", "id_number": "310104198001011234", "sex": "1"},
        {"name": 'O\'Brien "Jr" \\ tab\tnew\nline \x01 \u2028 é', "a": "", "bb": "x"},
        {"spells": '[["2015-03-01",null,"310104003001","H1","310104003","family"]]', "é": "1"},
    ],
)
def test_a_stored_record_is_recognised_by_the_text_postgresql_gives_back(
    mapped: dict[str, str],
) -> None:
    """A re-import finds a record unchanged by the MD5 of the text jsonb gives back
    (register/source.py): that text, written in Python, must be PostgreSQL's own."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT (%s::jsonb)::text", [json.dumps(mapped, ensure_ascii=False)])
        assert _jsonb_text(mapped) == cursor.fetchone()[0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans")
def test_persons_are_looked_up_by_id_number_through_its_index() -> None:
    """Who holds an ID number is read through the unique index of ID numbers (whose condition
    the lookup must state), never by a scan of every person: at 1.5 M persons the scans of a
    first import's 300 chunks took minutes (golden refresh and re-import alike)."""
    numbers = [f"31010419800101{n:04d}" for n in range(2000)]
    query = Person.objects.filter(**HELD, id_number__in=numbers).values_list("id").query
    sql, params = query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        # (an empty table is best scanned: say that scans are what is to be avoided)
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Seq Scan" not in plan, plan
