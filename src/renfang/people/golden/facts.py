"""The time-valid facts a golden record keeps (planned per person, written per chunk).

- Phone, marital status, education, employment (PersonAttribute) and tags (PersonTag), for
  every person: a golden value that differs from the open fact closes it the day before and
  opens a new one from today (from an unknown day when the person never had one); an equal
  value changes nothing; no golden value leaves the facts alone.
- Hukou and residence, for a person no source of the policy's ``[history]`` knows (those get
  their record's whole history: history.py, ADR 0025): the current hukou of the
  authoritative source and the residence of the record that gave the golden residence
  division, so the area filter, the figures and the pages see them.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from renfang.audit.services import field_change
from renfang.core.changes import FieldChange
from renfang.people.facts.columns import FACT_INSERT
from renfang.people.facts.lines import hukou_value, residence_value
from renfang.people.golden.values import parse_day
from renfang.people.models import (
    AttributeKind,
    HouseholdType,
    Hukou,
    PersonAttribute,
    PersonTag,
    Residence,
)

ATTRIBUTE_FIELDS = (
    AttributeKind.PHONE.value,
    AttributeKind.MARITAL_STATUS.value,
    AttributeKind.EDUCATION.value,
    AttributeKind.EMPLOYMENT.value,
)
# A tag the golden record opened says so in its note, so that only such tags are closed
# when the sources stop naming them (a tag someone recorded by hand stays).
TAG_NOTE_PREFIX = "source: "
_ONE_DAY = datetime.timedelta(days=1)
_HOUSEHOLD_TYPES = frozenset(HouseholdType.values)

# A stored fact: (id, valid_from, valid_to, *values)
StoredFact = tuple[Any, ...]


@dataclass
class Writes:
    """What one chunk of a refresh writes."""

    today: datetime.date
    inserts: dict[type, list[tuple[Any, ...]]] = field(default_factory=lambda: defaultdict(list))
    closes: dict[type, list[tuple[int, datetime.date]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    retracts: dict[type, list[int]] = field(default_factory=lambda: defaultdict(list))
    spells_for: set[int] = field(default_factory=set)

    @property
    def yesterday(self) -> datetime.date:
        return self.today - _ONE_DAY

    def end(self, model: type, fact: StoredFact, last_day: datetime.date) -> None:
        """End an open fact on ``last_day``; one that begins after it never held: retracted."""
        if fact[1] is not None and fact[1] > last_day:
            self.retracts[model].append(fact[0])
        else:
            self.closes[model].append((fact[0], last_day))


def _is_open(fact: StoredFact, today: datetime.date) -> bool:
    return fact[2] is None or fact[2] >= today


def plan_attributes(
    writes: Writes,
    person_id: int,
    golden: dict[str, str],
    stored: list[StoredFact],  # (id, valid_from, valid_to, kind, value)
    stamp: object,
) -> list[FieldChange]:
    changes: list[FieldChange] = []
    inserts = writes.inserts[PersonAttribute]
    if not stored:  # the usual first time: nothing to compare with
        for kind in ATTRIBUTE_FIELDS:
            value = golden.get(kind)
            if value:
                inserts.append((person_id, kind, value, None, stamp))
                changes.append({"field": kind, "old": None, "new": value})
        return changes
    by_kind: dict[str, list[StoredFact]] = defaultdict(list)
    for fact in stored:
        by_kind[fact[3]].append(fact)
    for kind in ATTRIBUTE_FIELDS:
        value = golden.get(kind)
        if not value:
            continue
        facts = by_kind.get(kind, [])
        open_facts = [fact for fact in facts if _is_open(fact, writes.today)]
        if any(fact[4] == value for fact in open_facts):
            continue
        for fact in open_facts:
            writes.end(PersonAttribute, fact, writes.yesterday)
        start = writes.today if facts else None
        inserts.append((person_id, kind, value, start, stamp))
        changes.append(field_change(kind, open_facts[0][4] if open_facts else None, value))
    return changes


def plan_tags(
    writes: Writes,
    person_id: int,
    *,
    tags: str,
    source: str,
    stored: list[StoredFact],  # (id, valid_from, valid_to, tag, note)
    stamp: object,
) -> list[FieldChange]:
    wanted = set(tags.split())
    known = {fact[3] for fact in stored}
    open_tags: dict[str, list[StoredFact]] = defaultdict(list)
    for fact in stored:
        if _is_open(fact, writes.today):
            open_tags[fact[3]].append(fact)
    changes = []
    for tag in sorted(wanted - set(open_tags)):
        if len(tag) > PersonTag._meta.get_field("tag").max_length:  # type: ignore[operator]
            continue
        start = writes.today if tag in known else None
        writes.inserts[PersonTag].append(
            (person_id, tag, f"{TAG_NOTE_PREFIX}{source}", start, stamp)
        )
        changes.append(field_change("tag", None, tag))
    for tag, facts in sorted(open_tags.items()):
        if tag in wanted:
            continue
        owned = [fact for fact in facts if str(fact[4]).startswith(TAG_NOTE_PREFIX)]
        for fact in owned:
            writes.end(PersonTag, fact, writes.yesterday)
        if owned:
            changes.append(field_change("tag", tag, None))
    return changes


def plan_hukou(
    writes: Writes,
    person_id: int,
    golden: dict[str, str],
    stored: list[StoredFact],  # (id, valid_from, valid_to, division, household_type, address)
    stamp: object,
) -> list[FieldChange]:
    division = golden.get("hukou_division", "")
    if not division or len(division) > Hukou._meta.get_field("division").max_length:  # type: ignore[operator]
        return []
    household_type = golden.get("hukou_type", "")
    if household_type not in _HOUSEHOLD_TYPES:
        household_type = ""
    address = golden.get("hukou_address", "")[:300]
    wanted = (division, household_type, address)
    open_facts = [fact for fact in stored if _is_open(fact, writes.today)]
    if any(tuple(fact[3:6]) == wanted for fact in open_facts):
        return []
    for fact in open_facts:
        writes.end(Hukou, fact, writes.yesterday)
    start = writes.today if stored else None
    writes.inserts[Hukou].append((person_id, start, None, division, address, household_type, stamp))
    writes.spells_for.add(person_id)
    old = open_facts[0] if open_facts else None
    return [
        field_change(
            "hukou",
            hukou_value(old[1], old[2], old[3], old[4]) if old else None,
            hukou_value(start, None, division, household_type),
        )
    ]


@dataclass(frozen=True)
class WantedResidence:
    division: str | None
    house_id: int | None
    house_code: str | None
    valid_from: datetime.date
    valid_to: datetime.date | None


def wanted_residence(
    values: dict[str, str],
    received: datetime.date,
    houses: dict[str, tuple[int, str]],
) -> WantedResidence | None:
    """The residence one record states: its division and house (a house it names that renfang
    knows and that lies in the division), from its first day (the day it was received when it
    does not say), to its last day if it gives one."""
    division = values.get("residence_division") or None
    code = values.get("residence_house_code") or None
    house = houses.get(code) if code else None
    if house is not None and division and not house[1].startswith(division):
        house = None
    if division is None and house is not None:
        division = house[1]
    if division is None or len(division) > Residence._meta.get_field("division").max_length:  # type: ignore[operator]
        return None
    start = parse_day(values.get("residence_from", "")) or received
    end = parse_day(values.get("residence_to", ""))
    if end is not None and end < start:
        end = None
    return WantedResidence(
        division=division,
        house_id=house[0] if house else None,
        house_code=code if house else None,
        valid_from=start,
        valid_to=end,
    )


def plan_residence(
    writes: Writes,
    person_id: int,
    wanted: WantedResidence | None,
    stored: list[StoredFact],  # (id, valid_from, valid_to, division, house_id)
    stamp: object,
) -> list[FieldChange]:
    if wanted is None:
        return []
    # A residence since a day nobody knows (ADR 0028) is the earliest.
    latest = max(stored, key=lambda fact: fact[1] or datetime.date.min, default=None)
    place = (wanted.division, wanted.house_id)
    if latest is not None and (latest[3], latest[4]) == place:
        if latest[2] is None and wanted.valid_to is not None and wanted.valid_to >= latest[1]:
            writes.closes[Residence].append((latest[0], wanted.valid_to))
            writes.spells_for.add(person_id)
            return [
                field_change(
                    "residence",
                    residence_value(latest[1], None, latest[3], wanted.house_code),
                    residence_value(latest[1], wanted.valid_to, latest[3], wanted.house_code),
                )
            ]
        return []
    old = None
    if latest is not None and latest[2] is None:
        writes.end(Residence, latest, wanted.valid_from - _ONE_DAY)
        old = residence_value(latest[1], None, latest[3], None)
    writes.inserts[Residence].append(
        (
            person_id,
            wanted.valid_from,
            wanted.valid_to,
            wanted.division,
            wanted.house_id,
            "",
            stamp,
        )
    )
    writes.spells_for.add(person_id)
    new = residence_value(wanted.valid_from, wanted.valid_to, wanted.division, wanted.house_code)
    return [field_change("residence", old, new)]


INSERT_COLUMNS = FACT_INSERT
