"""The invariants of ARCHITECTURE.md, each with its test. Some are proved here; the others
where the behaviour lives, named below.

1. No person field changes without an event and an audit record, in the same transaction:
   here, for every way the door writes (and ``test_one_door.py``: nothing else writes).
2. No query for people or houses runs without the acting user's area filter:
   ``accounts/tests/test_access_matrix*.py`` (every route × role × area).
3. Facts are never overwritten: ``register/tests/test_import.py::
   test_a_move_closes_the_old_spell_and_keeps_it_in_history``, ``people/tests/
   test_golden_facts.py::test_a_new_residence_closes_the_old_spell_the_day_before``.
4. Derived categories are computed, never stored as typed input: here.
5. Import of the same file twice, or a resolve run twice, changes nothing:
   ``register/tests/test_import.py::test_importing_the_same_file_twice_changes_nothing``,
   ``linkage/tests/test_resolve.py::test_a_second_run_changes_nothing``.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from renfang.audit.models import Action, AuditEvent
from renfang.exchange.models import Event
from renfang.people import facts
from renfang.people.facts import (
    attribute_record,
    hukou_record,
    person_create,
    persons_merge,
    residence_record,
    tag_record,
)
from renfang.people.golden import golden_refresh
from renfang.people.models import (
    Hukou,
    IdentityRevision,
    Person,
    PersonAttribute,
    PersonTag,
    Residence,
)
from renfang.register.importer import register_import
from renfang.register.tests.test_import import li_rows, reference, row, write
from renfang.testing.people import placeholder as person
from renfang.testing.sources import record

pytestmark = pytest.mark.django_db
__all__ = ["reference"]  # the register test's fixture, used here
D = datetime.date


def _state() -> dict[int, tuple[Any, ...]]:
    """Everything the door's tables say of each person (population spells are derived)."""
    found: dict[int, list[Any]] = {}
    for pk, *identity in Person.objects.values_list(
        "pk",
        "id_type",
        "id_number",
        "name",
        "sex",
        "birth_date",
        "nationality",
        "death_date",
        "merged_into_id",
    ):
        found.setdefault(pk, []).append(tuple(identity))
    for model in (Residence, Hukou, PersonAttribute, PersonTag, IdentityRevision):
        for values in model._default_manager.order_by("pk").values():
            row = dict(values)
            person_id = row.pop("person_id")
            found.setdefault(person_id, []).append(tuple(sorted(row.items(), key=str)))
    return {pk: tuple(map(str, rows)) for pk, rows in found.items()}


def _changed_people(action: Callable[[], object]) -> tuple[set[int], set[int], set[int]]:
    """The persons whose facts ``action`` changed, those it audited, those it told the feed."""
    before = _state()
    last_audit = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    last_event = Event.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    action()
    after = _state()
    changed = {pk for pk in before.keys() | after.keys() if before.get(pk) != after.get(pk)}
    audited = {
        int(pk)
        for pk in AuditEvent.objects.filter(
            pk__gt=last_audit, action=Action.WRITE, record_type="person"
        ).values_list("record_id", flat=True)
    }
    told = {
        pk
        for pk in Event.objects.filter(seq__gt=last_event, person_id__isnull=False).values_list(
            "person_id", flat=True
        )
        if pk is not None
    }
    return changed, audited, told


def _anna() -> Person:
    return person_create(
        id_type="passport",
        id_number="E7654321",
        name="Anna Berg",
        sex="2",
        birth_date=D(1990, 5, 1),
        nationality="SWE",
    )


def test_every_fact_the_door_writes_one_at_a_time_is_audited_and_told() -> None:
    made: list[Person] = []
    steps: list[Callable[[], object]] = [
        lambda: made.append(_anna()),
        lambda: residence_record(person=made[0], valid_from=D(2024, 1, 1), division="310104003001"),
        lambda: hukou_record(person=made[0], division="310104003", valid_from=D(2024, 1, 1)),
        lambda: attribute_record(
            person=made[0], kind="phone", value="13911112222", valid_from=D(2024, 1, 1)
        ),
        lambda: tag_record(person=made[0], tag="elderly_alone", valid_from=D(2024, 1, 1)),
    ]
    for step in steps:
        changed, audited, told = _changed_people(step)

        assert changed == {made[0].pk}
        assert changed <= audited and changed <= told


@pytest.mark.usefixtures("reference")
def test_every_person_a_register_import_changes_is_audited_and_told(tmp_path: Path) -> None:
    changed, audited, told = _changed_people(
        lambda: register_import(path=write(tmp_path / "r.csv", [row(), *li_rows()]))
    )
    assert len(changed) == 2 and changed <= audited and changed <= told

    new_phone = [row(phone="13900000009"), *li_rows()]
    changed, audited, told = _changed_people(
        lambda: register_import(path=write(tmp_path / "r2.csv", new_phone))
    )
    assert len(changed) == 1 and changed <= audited and changed <= told


def test_every_person_a_golden_refresh_or_a_merge_changes_is_audited_and_told() -> None:
    someone, other = person(), person()
    record(
        someone,
        "police",
        id_type="resident_id",
        id_number="310104198001010011",
        name="张伟",
        sex="1",
        birth_date="1980-01-01",
        hukou_division="310104003",
    )
    record(other, "health", name="张伟", phone="13800000001")

    changed, audited, told = _changed_people(lambda: golden_refresh([someone.pk, other.pk]))
    assert changed == {someone.pk, other.pk} and changed <= audited and changed <= told

    changed, audited, told = _changed_people(
        lambda: persons_merge([(other.pk, someone.pk)], timezone.now())
    )
    # The merged person (``merged_into``) and the survivor (the phone it received): both
    # audited; the feed tells the merge and the phone on the survivor.
    assert changed == {someone.pk, other.pk} and changed <= audited
    assert told == {someone.pk}


def test_a_fact_and_its_audit_and_event_commit_together_or_not_at_all(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    anna = _anna()
    audits, events = AuditEvent.objects.count(), Event.objects.count()

    def broken(*args: object, **kwargs: object) -> int:
        raise RuntimeError("the feed is down")

    monkeypatch.setattr(facts.record, "publish_person_changes", broken)
    with pytest.raises(RuntimeError):
        residence_record(person=anna, valid_from=D(2024, 1, 1), division="310104003001")

    assert not Residence.objects.filter(person=anna).exists()
    assert (AuditEvent.objects.count(), Event.objects.count()) == (audits, events)


def test_categories_and_hukou_status_are_not_stored() -> None:
    stored = {field.name for model in (Person, Residence, Hukou) for field in model._meta.fields}
    assert not stored & {"category", "hukou_status", "is_migrant", "is_overseas", "registered"}
