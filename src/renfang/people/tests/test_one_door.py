"""The one door (ADR 0024): persons and their time-valid facts are written only by
``renfang.people.facts``. The lock is on in every test (``src/renfang/conftest.py``), so every
path the suite exercises proves it; these tests show the lock itself, and check the code for
what the suite might not exercise."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
from django.db import connection, transaction

from renfang.core import bulk, writeguard
from renfang.core.writeguard import DoorClosed
from renfang.people import facts
from renfang.people.facts import person_create, residence_record
from renfang.people.models import Person, Residence
from renfang.stats.models import PopulationSpell

pytestmark = pytest.mark.django_db

SRC = Path(__file__).resolve().parents[2]
DOOR = SRC / "people" / "facts"
GUARDED_MODELS = (
    "Person",
    "IdentityRevision",
    "Residence",
    "Hukou",
    "PersonAttribute",
    "PersonTag",
    "PopulationSpell",
)
_MODELS = "|".join(GUARDED_MODELS)
WRITES = [
    re.compile(
        rf"\b({_MODELS})\.objects\.(create|bulk_create|bulk_update|get_or_create|update_or_create)\("
    ),
    re.compile(rf"\b({_MODELS})\.objects\.[^\n]*\.(update|delete)\("),
    re.compile(rf"\b({_MODELS})\(\s*[a-z_]+="),  # an instance built to be saved
    re.compile(rf"\bbulk\.insert\(\s*({_MODELS})\b"),
    re.compile(r"\bupdate_rows\(|\bclose_facts\(|\bretract_facts\("),
]


def _python_files(*, tests: bool) -> list[Path]:
    """The code (``tests``: with the tests and the test world, ``renfang.testing``, which
    production code may not import: an import contract says so)."""
    return [
        path
        for path in SRC.rglob("*.py")
        if "migrations" not in path.parts
        and DOOR not in path.parents
        and (
            tests
            or (
                "tests" not in path.parts
                and "testing" not in path.parts
                and path.name != "conftest.py"
            )
        )
    ]


def _anna() -> Person:
    return person_create(
        id_type="passport",
        id_number="E7654321",
        name="Anna Berg",
        sex="2",
        birth_date=None,
        nationality="SWE",
    )


def test_the_door_guards_every_table_of_persons_and_their_facts() -> None:
    assert set(facts.GUARDED) == {
        "people_person",
        "people_identityrevision",
        "people_residence",
        "people_hukou",
        "people_personattribute",
        "people_persontag",
        "stats_populationspell",
    }


def test_a_write_outside_the_door_is_refused_by_the_orm_raw_sql_and_the_bulk_paths() -> None:
    someone = _anna()

    with pytest.raises(DoorClosed), transaction.atomic():
        Person.objects.filter(pk=someone.pk).update(name="Someone Else")
    with pytest.raises(DoorClosed), transaction.atomic():
        Residence.objects.create(person=someone, valid_from=datetime.date(2020, 1, 1))
    with pytest.raises(DoorClosed), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE "{Person._meta.db_table}" SET name = %s WHERE id = %s',  # noqa: S608
            ["Someone Else", someone.pk],
        )
    with pytest.raises(DoorClosed), transaction.atomic():
        bulk.insert(
            PopulationSpell,
            ["person_id", "valid_from", "residence_division", "overseas"],
            [(someone.pk, datetime.date(2020, 1, 1), "310104003001", True)],
        )
    with pytest.raises(DoorClosed), transaction.atomic():
        someone.delete()

    someone.refresh_from_db()
    assert someone.name == "Anna Berg"
    assert not Residence.objects.filter(person=someone).exists()


@pytest.mark.parametrize(
    ("sql", "written"),
    [
        ('/* hidden */ UPDATE "people_person" SET "name" = %s', {"people_person"}),
        ("-- a note\nDELETE FROM people_residence", {"people_residence"}),
        ("WITH u AS (UPDATE ONLY public.people_person SET name = 1) SELECT 1", {"people_person"}),
        ('SELECT 1; UPDATE main."people_person" SET name = 1', {"people_person"}),
        ("INSERT OR REPLACE INTO people_persontag (tag) VALUES (1)", {"people_persontag"}),
        ("REPLACE INTO people_persontag VALUES (1)", {"people_persontag"}),
        ("MERGE INTO people_person p USING x ON true", {"people_person"}),
        ('COPY "people_hukou" ("division") FROM STDIN', {"people_hukou"}),
        ('TRUNCATE "audit_auditevent", "people_person" RESTART IDENTITY', {"people_person"}),
        ('SELECT "people_person"."id" FROM "people_person" FOR UPDATE', set()),
        ("SELECT * FROM people_person FOR NO KEY UPDATE", set()),
        ("SELECT replace(name, 'a', 'b') FROM people_person", set()),
        (
            'UPDATE "people_conflict" SET status = 1 WHERE person_id IN '
            '(SELECT id FROM "people_person")',
            set(),
        ),
    ],
)
def test_the_lock_finds_the_table_a_statement_writes_wherever_it_stands(
    sql: str, written: set[str]
) -> None:
    assert writeguard.written_tables(sql) & set(facts.GUARDED) == written


def test_a_write_hidden_behind_a_comment_or_a_second_statement_is_refused() -> None:
    someone = _anna()
    table = Person._meta.db_table
    for sql in (
        f'/* hidden */ UPDATE "{table}" SET name = %s WHERE id = %s',
        f'WITH moved AS (SELECT 1) UPDATE "{table}" SET name = %s WHERE id = %s',
    ):
        with pytest.raises(DoorClosed), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, ["Someone Else", someone.pk])

    someone.refresh_from_db()
    assert someone.name == "Anna Berg"


def test_the_door_writes_the_fact_its_spells_and_the_audit() -> None:
    someone = _anna()

    residence_record(person=someone, valid_from=datetime.date(2020, 1, 1), division="310104003001")

    spell = PopulationSpell.objects.get(person=someone)
    assert (spell.residence_division, spell.overseas) == ("310104003001", True)


def test_no_code_outside_the_door_writes_those_tables() -> None:
    """The lock catches what the tests run (their worlds are built through the door too);
    this catches the rest of the production code."""
    found = []
    for path in _python_files(tests=False):
        text = path.read_text(encoding="utf-8")
        for pattern in WRITES:
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(SRC)}:{line}: {match.group(0)}")
    assert found == []


def test_only_the_door_opens_the_door() -> None:
    """Nothing but the door opens it; tests that plant a state no path writes say so with
    ``by_hand()``, which production code never imports."""
    opening = re.compile(
        r"\bthrough_door\b|\bwriteguard\.door\b|\b_inside\b|writeguard import [^\n]*\bdoor\b"
    )
    planting = re.compile(r"\bplanting\b|\bby_hand\b")
    found = [
        str(path.relative_to(SRC))
        for path in _python_files(tests=True)
        if path.name not in {"writeguard.py", "test_one_door.py"}
        and opening.search(path.read_text(encoding="utf-8"))
    ]
    found += [
        str(path.relative_to(SRC))
        for path in _python_files(tests=False)
        if planting.search(path.read_text(encoding="utf-8"))
    ]
    # Migrations: only the one that rebuilds the spells of the dead (ADR 0028), visibly.
    found += [
        str(path.relative_to(SRC))
        for path in SRC.glob("*/migrations/*.py")
        if opening.search(path.read_text(encoding="utf-8"))
        and path.name != "0002_spells_of_the_dead.py"
    ]
    assert found == []
