"""Replaying the feed from 0 gives exactly what the golden records' history implies.

A history: the register imported, a department's file imported and resolved, a move, a death,
a merge and a split. Replaying every event in order (as a subscriber of everything would) must
rebuild each person's current golden values of the published fields — where they live, name,
marital status, death — and no person write may have gone out without its event (ARCHITECTURE.md
invariant 1: every audited write of a person has events of that person)."""

from __future__ import annotations

import datetime
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.db.models import Q
from django.utils import timezone

from renfang.audit.models import Action, AuditEvent
from renfang.exchange.models import Event, EventType
from renfang.exchange.tests.publishing import (
    CIVIL_MAPPING,
    HEALTH_MAPPING,
    department,
    health_record,
)
from renfang.linkage.resolve import resolve
from renfang.linkage.services import person_merge, person_split
from renfang.people.models import AttributeKind, Person, PersonAttribute, Residence
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
from renfang.sources.models import SourceRecord
from renfang.sources.services import source_import
from renfang.sources.services.publish.record import record_publish

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference")]

WANG = "31010419700202003X"  # not checked here: a department-only person with an odd ID


@dataclass
class Replayed:
    """A person as the feed tells it."""

    name: str | None = None
    marital_status: str | None = None
    death_date: str | None = None
    # Open residence spells: (from, division)
    residences: set[tuple[str, str]] = field(default_factory=set)
    merged_into: int | None = None


def _is_open(place: dict[str, Any], today: datetime.date) -> bool:
    end = place.get("to")
    return not end or str(end) >= today.isoformat()


def replay(events: list[Event], today: datetime.date) -> dict[int, Replayed]:
    people: dict[int, Replayed] = defaultdict(Replayed)
    for event in events:
        if event.person_id is None:
            continue
        person = people[event.person_id]
        for line in event.changes:
            name, old, new = line["field"], line.get("old"), line.get("new")
            if name == "name":
                person.name = new
            elif name == "marital_status":
                person.marital_status = new
            elif name == "death_date":
                person.death_date = new
            elif name == "residence":
                if isinstance(old, dict):
                    person.residences.discard((old["from"], old["division"]))
                if isinstance(new, dict) and _is_open(new, today) and new.get("division"):
                    person.residences.add((new["from"], new["division"]))
            elif name == "merged_from":
                # The merged person's facts are the survivor's now.
                merged = people[int(new)]
                merged.merged_into = event.person_id
                person.residences |= merged.residences
    return people


def stored(person: Person, today: datetime.date) -> Replayed:
    residences = {
        (str(spell.valid_from), str(spell.division))
        for spell in Residence.objects.filter(person=person)
        if spell.division and (spell.valid_to is None or spell.valid_to >= today)
    }
    marital = (
        PersonAttribute.objects.filter(person=person, kind=AttributeKind.MARITAL_STATUS)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=today))
        .values_list("value", flat=True)
        .first()
    )
    return Replayed(
        name=person.name,
        marital_status=marital,
        death_date=person.death_date.isoformat() if person.death_date else None,
        residences=residences,
        merged_into=person.merged_into_id,
    )


def _jsonl(path: Path, records: list[dict[str, str]]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n")
    return path


def history(tmp_path: Path) -> None:
    # The register, then civil affairs' file, resolved with it.
    register_import(path=write(tmp_path / "r.csv", [row(), *li_rows()]), today=TODAY)
    civil, _bureau = department("civil_affairs", "民政", CIVIL_MAPPING, "bureau")
    extract = _jsonl(
        tmp_path / "civil.jsonl",
        [
            {"身份证号": ZHANG, "姓名": "张伟", "婚姻状况": "已婚"},
            {"身份证号": LI, "姓名": "李娜", "婚姻状况": "未婚"},
            {"身份证号": WANG, "姓名": "王五", "婚姻状况": "离婚", "死亡日期": ""},
        ],
    )
    source_import(civil, extract, actor=None)
    resolve(today=timezone.localdate())
    # Zhang moves (the register says so).
    moved = row(
        residence_division="310104004001",
        residence_house_code="310104004001000001",
        residence_from="2026-05-01",
    )
    register_import(
        path=write(tmp_path / "r2.csv", [row(residence_to="2026-04-30"), moved, *li_rows()]),
        today=TODAY,
    )
    # Li dies (the hospital publishes it); a newborn and two records of one man nobody knew.
    health, hospital = department("health", "卫健", HEALTH_MAPPING, "hospital")
    record_publish(
        health, health_record(编号="H1", 身份证号=LI, 死亡日期="2026-11-02"), actor=hospital
    )
    for record_id in ("H20", "H21"):
        record_publish(
            health,
            health_record(
                编号=record_id, 姓名="孙七", 居住地="310104003001", 居住起始="2024-01-01"
            ),
            actor=hospital,
        )
    # The two records of 孙七 are one man: merged by a reviewer.
    first, second = (Person.objects.get(source_records__record_id=code) for code in ("H20", "H21"))
    person_merge(first, second, user=None, reason="the same man")
    # Zhang's civil affairs record was someone else's: split off.
    zhang = Person.objects.get(id_number=ZHANG, merged_into__isnull=True)
    record = SourceRecord.objects.get(source=civil, record_id=ZHANG)
    person_split(zhang, [record.pk], user=None, reason="not him")


def test_replaying_the_feed_rebuilds_every_persons_published_fields(tmp_path: Path) -> None:
    history(tmp_path)
    today = timezone.localdate()
    events = list(Event.objects.order_by("seq"))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))  # no gap
    kinds = {e.type for e in events}
    assert {
        EventType.ARRIVED,
        EventType.MOVED,
        EventType.CHANGED,
        EventType.DIED,
        EventType.MERGED,
        EventType.SPLIT,
    } <= kinds

    replayed = replay(events, today)

    for person in Person.objects.all():
        want = stored(person, today)
        got = replayed.get(person.pk, Replayed())
        if person.merged_into_id is not None:
            assert got.merged_into == person.merged_into_id, person.pk
            continue
        assert (got.name, got.marital_status, got.death_date) == (
            want.name,
            want.marital_status,
            want.death_date,
        ), person.pk
        assert got.residences == want.residences, person.pk
    li = Person.objects.get(id_number=LI)
    assert li.death_date is not None and not replayed[li.pk].residences
    zhang = Person.objects.get(id_number=ZHANG, merged_into__isnull=True)
    assert {d for _f, d in replayed[zhang.pk].residences} == {"310104004001"}


def test_no_person_write_goes_out_without_its_event(tmp_path: Path) -> None:
    history(tmp_path)
    published: dict[int, set[str]] = defaultdict(set)
    for event in Event.objects.exclude(person_id=None):
        assert event.person_id is not None
        published[event.person_id] |= {line["field"] for line in event.changes}
        published[event.person_id].add(event.type)
    merged_from = {
        int(line["new"]): event.person_id
        for event in Event.objects.filter(type=EventType.MERGED)
        for line in event.changes
    }
    split_off = {event.person_id for event in Event.objects.filter(type=EventType.SPLIT)}

    writes = AuditEvent.objects.filter(action=Action.WRITE, record_type="person")
    assert writes.exists()
    for write_event in writes:
        person_id = int(write_event.record_id)
        detail = write_event.detail or {}
        fields = {line["field"] for line in detail.get("changes") or []}
        if fields == {"merged_into"}:
            assert merged_from.get(person_id) == detail["changes"][0]["new"], write_event.pk
        elif "split_from" in detail:
            assert person_id in split_off, write_event.pk
        elif fields:
            assert fields <= published[person_id], (write_event.pk, fields, published[person_id])
