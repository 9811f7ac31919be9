"""A merge through the door (``persons_merge``): the survivor's facts never overlap (nothing is
overwritten: the fact that holds longer is kept, the other closed or retracted), its
population spells count it once with its past, and the auditor and the feed's subscribers see
what the survivor received."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import pytest
from django.utils import timezone

from renfang.audit.models import AuditEvent
from renfang.audit.presenter import detail_text
from renfang.audit.services import audit_verify
from renfang.exchange.models import Event, EventType
from renfang.people.facts import (
    attribute_record,
    hukou_record,
    person_create,
    persons_merge,
    residence_record,
    tag_record,
)
from renfang.people.facts.moves import Fact, untangle
from renfang.people.models import (
    AttributeKind,
    Hukou,
    Person,
    PersonAttribute,
    PersonTag,
    Residence,
)
from renfang.stats.models import PopulationSpell

pytestmark = pytest.mark.django_db
D = datetime.date
HERE, THERE = "310104003001", "310104003002"
OPEN = None


def _person(number: str, name: str) -> Person:
    return person_create(
        id_type="passport", id_number=number, name=name, sex="2", birth_date=D(1985, 3, 15)
    )


@pytest.fixture
def li() -> Person:
    return _person("E1000001", "Li Na")


@pytest.fixture
def li_again() -> Person:
    """The same woman, known to another department under another number."""
    return _person("E1000002", "Li Na")


def _merge(survivor: Person, merged: Person) -> None:
    persons_merge([(merged.pk, survivor.pk)], timezone.now(), actor=None, reason="one woman")


def _days(model: type[Any], person: Person, **match: Any) -> list[tuple[Any, ...]]:
    return sorted(
        (fact.valid_from, fact.valid_to, getattr(fact, "division", None) or fact.pk)
        for fact in model.objects.filter(person=person, **match)
    )


def _never_overlap(facts: Sequence[tuple[Any, ...]]) -> None:
    ordered = sorted(facts, key=lambda fact: fact[0] or D.min)
    for (_, end), (start, _) in pairwise((fact[0], fact[1]) for fact in ordered):
        assert end is not None and start is not None and end < start, ordered


def _survivor_lines(survivor: Person) -> list[dict[str, Any]]:
    event = AuditEvent.objects.filter(record_type="person", record_id=str(survivor.pk)).latest("pk")
    assert event.detail["source"] == "merge"
    return list(event.detail.get("changes", []))


def _feed(person: Person) -> list[tuple[str, str, str]]:
    return list(
        Event.objects.filter(person_id=person.pk)
        .order_by("seq")
        .values_list("type", "division", "division_before")
    )


def _spell_on(person: Person, day: datetime.date) -> list[str | None]:
    spells = PopulationSpell.objects.filter(person=person, valid_from__lte=day).exclude(
        valid_to__lt=day
    )
    return [spell.residence_division for spell in spells]


# ---------------------------------------------------------------- residences


def test_two_open_residences_the_older_ends_the_day_before_the_newer_begins(
    li: Person, li_again: Person
) -> None:
    residence_record(person=li, division=HERE, valid_from=D(2020, 1, 1))
    residence_record(person=li_again, division=THERE, valid_from=D(2023, 5, 1))
    told = Event.objects.count()

    _merge(li, li_again)

    assert _days(Residence, li) == [
        (D(2020, 1, 1), D(2023, 4, 30), HERE),
        (D(2023, 5, 1), OPEN, THERE),
    ]
    assert _spell_on(li, D(2021, 1, 1)) == [HERE]
    assert _spell_on(li, D(2024, 1, 1)) == [THERE]
    assert not PopulationSpell.objects.filter(person=li_again).exists()
    # The auditor: the survivor's event says which facts changed, and how.
    assert _survivor_lines(li) == [
        {
            "field": "residence",
            "old": {"from": "2020-01-01", "to": None, "division": HERE, "house": None},
            "new": {"from": "2020-01-01", "to": "2023-04-30", "division": HERE, "house": None},
        },
        {
            "field": "residence",
            "old": None,
            "new": {"from": "2023-05-01", "to": None, "division": THERE, "house": None},
        },
    ]
    # The subscriber: the merge, then the survivor's move from here to there (each event
    # seen where the merge left the survivor).
    assert list(
        Event.objects.filter(seq__gt=told)
        .order_by("seq")
        .values_list("type", "person_id", "division", "division_before")
    ) == [
        (EventType.MERGED, li.pk, THERE, ""),
        (EventType.MOVED, li.pk, THERE, HERE),
    ]


def test_partly_overlapping_residences_the_earlier_ends_where_the_later_begins(
    li: Person, li_again: Person
) -> None:
    residence_record(person=li, division=HERE, valid_from=D(2020, 1, 1), valid_to=D(2023, 12, 31))
    residence_record(person=li_again, division=THERE, valid_from=D(2023, 6, 1))

    _merge(li, li_again)

    assert _days(Residence, li) == [
        (D(2020, 1, 1), D(2023, 5, 31), HERE),
        (D(2023, 6, 1), OPEN, THERE),
    ]


def test_an_old_residence_of_the_merged_person_never_cuts_the_survivors_current_one(
    li: Person, li_again: Person
) -> None:
    residence_record(person=li, division=HERE, valid_from=D(2020, 1, 1))
    residence_record(
        person=li_again, division=THERE, valid_from=D(2018, 1, 1), valid_to=D(2021, 6, 30)
    )
    residence_record(
        person=li_again, division=THERE, valid_from=D(2021, 9, 1), valid_to=D(2022, 6, 30)
    )

    _merge(li, li_again)

    # The first began earlier: it ends the day before; the second began inside the
    # survivor's open one: it never held beside it, and is retracted (kept as history).
    assert _days(Residence, li) == [
        (D(2018, 1, 1), D(2019, 12, 31), THERE),
        (D(2020, 1, 1), OPEN, HERE),
    ]
    assert Residence.all_versions.filter(
        person=li, valid_from=D(2021, 9, 1), retracted_at__isnull=False
    ).exists()
    assert _spell_on(li, D(2024, 1, 1)) == [HERE]
    assert [line["new"]["to"] for line in _survivor_lines(li)] == ["2019-12-31"]


def test_an_identical_residence_is_kept_once_and_the_subscriber_sees_only_the_merge(
    li: Person, li_again: Person
) -> None:
    residence_record(person=li, division=HERE, valid_from=D(2020, 1, 1))
    theirs = residence_record(person=li_again, division=HERE, valid_from=D(2020, 1, 1))

    _merge(li, li_again)

    assert _days(Residence, li) == [(D(2020, 1, 1), OPEN, HERE)]
    theirs.refresh_from_db()
    assert (theirs.person_id, theirs.retracted_at is not None) == (li.pk, True)
    assert _spell_on(li, D(2024, 1, 1)) == [HERE]
    assert _survivor_lines(li) == []
    assert [kind for kind, _, _ in _feed(li)][-1] == EventType.MERGED


def test_a_residence_where_the_survivor_had_none_is_an_arrival_for_the_subscriber(
    li: Person, li_again: Person
) -> None:
    residence_record(person=li_again, division=THERE, valid_from=D(2022, 1, 1))

    _merge(li, li_again)

    assert _days(Residence, li) == [(D(2022, 1, 1), OPEN, THERE)]
    assert _feed(li)[-2:] == [(EventType.MERGED, THERE, ""), (EventType.ARRIVED, THERE, "")]


# ---------------------------------------------------------------- hukou, phones, tags


def test_two_open_hukous_and_two_open_phones_leave_one_open_each(
    li: Person, li_again: Person
) -> None:
    hukou_record(person=li, division="310104003", valid_from=D(2000, 1, 1))
    hukou_record(person=li_again, division="320102", valid_from=D(2015, 1, 1))
    attribute_record(
        person=li, kind=AttributeKind.PHONE, value="13800000001", valid_from=D(2020, 1, 1)
    )
    attribute_record(
        person=li_again, kind=AttributeKind.PHONE, value="13800000002", valid_from=D(2023, 1, 1)
    )
    # Another kind of attribute never meets a phone.
    attribute_record(person=li_again, kind=AttributeKind.EDUCATION, value="60", valid_from=None)

    _merge(li, li_again)

    assert _days(Hukou, li) == [
        (D(2000, 1, 1), D(2014, 12, 31), "310104003"),
        (D(2015, 1, 1), OPEN, "320102"),
    ]
    phones = PersonAttribute.objects.filter(person=li, kind=AttributeKind.PHONE)
    assert sorted((p.value, p.valid_from, p.valid_to) for p in phones) == [
        ("13800000001", D(2020, 1, 1), D(2022, 12, 31)),
        ("13800000002", D(2023, 1, 1), OPEN),
    ]
    lines = _survivor_lines(li)
    assert {"field": "phone", "old": "13800000001", "new": "13800000002"} in lines
    assert {"field": "education", "old": None, "new": "60"} in lines
    assert [line["field"] for line in lines if line["field"] == "hukou"] == ["hukou", "hukou"]
    # What the auditor is shown: the fields, never the values.
    shown = detail_text(AuditEvent.objects.filter(record_id=str(li.pk)).latest("pk").detail)
    assert "hukou, education, phone" in shown
    assert "1380000000" not in shown
    assert audit_verify().ok


def test_the_same_tag_twice_is_kept_once(li: Person, li_again: Person) -> None:
    tag_record(person=li, tag="elderly_alone", valid_from=D(2021, 1, 1))
    tag_record(person=li_again, tag="elderly_alone", valid_from=D(2022, 1, 1))
    tag_record(person=li_again, tag="disabled", valid_from=D(2022, 1, 1))

    _merge(li, li_again)

    assert sorted(PersonTag.objects.filter(person=li).values_list("tag", "valid_from")) == [
        ("disabled", D(2022, 1, 1)),
        ("elderly_alone", D(2021, 1, 1)),
    ]
    assert _survivor_lines(li) == [{"field": "tag", "old": None, "new": "disabled"}]


# ---------------------------------------------------------------- the audit of a merge


def test_the_merged_person_and_the_survivor_are_audited_by_the_door(
    li: Person, li_again: Person
) -> None:
    persons_merge(
        [(li_again.pk, li.pk)], timezone.now(), records={li_again.pk: [7]}, reason="same woman"
    )

    gone = AuditEvent.objects.filter(record_type="person", record_id=str(li_again.pk)).latest("pk")
    assert gone.detail == {
        "changes": [{"field": "merged_into", "old": None, "new": li.pk}],
        "records": [7],
        "reason": "same woman",
        "source": "merge",
    }
    kept = AuditEvent.objects.filter(record_type="person", record_id=str(li.pk)).latest("pk")
    assert (kept.detail["merged"], kept.detail["records"]) == (li_again.pk, [7])
    assert kept.pk > gone.pk


# ---------------------------------------------------------------- the rule itself


def _fact(pk: int, owner: int, start: datetime.date | None, end: datetime.date | None) -> Fact:
    """A fact holding a value of its own (a place no other fact names)."""
    return Fact(pk=pk, owner=owner, start=start, end=end, value=(f"place {pk}",))


def test_the_rule_never_leaves_two_facts_overlapping() -> None:
    survivor, merged = 1, 2
    cases = [
        [_fact(1, survivor, D(2020, 1, 1), None), _fact(2, merged, D(2020, 1, 1), None)],
        [_fact(1, survivor, None, None), _fact(2, merged, D(2019, 5, 1), None)],
        [_fact(1, survivor, None, None), _fact(2, merged, None, None)],
        [
            _fact(1, survivor, D(2010, 1, 1), D(2015, 1, 1)),
            _fact(2, merged, D(2012, 1, 1), D(2020, 1, 1)),
            _fact(3, merged, D(2014, 1, 1), None),
            _fact(4, survivor, D(2016, 1, 1), D(2016, 2, 1)),
        ],
    ]
    for facts in cases:
        done = untangle(facts, survivor)
        kept = [
            (fact.start, done.closes.get(fact.pk, fact.end))
            for fact in facts
            if fact.pk not in done.retracts
        ]
        _never_overlap(kept)
        assert all(
            done.closes[pk] <= (fact.end or D.max)
            for fact in facts
            if (pk := fact.pk) in done.closes
        )
    # On the same days: the survivor's stays. Since an unknown day, and open: the other begins
    # later. Inside the one that holds longest: never held.
    assert untangle(cases[0], survivor).retracts == {2}
    assert untangle(cases[1], survivor).closes == {1: D(2019, 4, 30)}
    assert untangle(cases[2], survivor).retracts == {2}
    assert untangle(cases[3], survivor).closes == {1: D(2011, 12, 31), 2: D(2013, 12, 31)}
    assert untangle(cases[3], survivor).retracts == {4}
    # Saying the same on days another covers adds nothing, whatever the order.
    same = [Fact(1, survivor, D(2021, 1, 1), None), Fact(2, merged, D(2022, 1, 1), None)]
    assert (untangle(same, survivor).retracts, untangle(same, survivor).closes) == ({2}, {})
