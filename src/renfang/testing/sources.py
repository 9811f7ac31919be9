"""Sources and source records of the test world, linked to persons as ``renfang import`` and
``renfang resolve`` leave them (the import and the resolve are tested by their own apps).

- ``source``, ``record``, ``zhang``: records for the golden record tests;
- ``plant_sources``, ``plant_pair_to_review``: the access matrix's district's records, review
  pairs and conflicts (see ``renfang.testing.matrix``).

Every planted person of the matrix gets two records: one from the police household register
and one from civil affairs (whose record id is the person's ID number, as some departments key
records; it must be masked wherever a masked role sees it). The two wait in the review queue
as an open pair, and they disagree on marital status: one open conflict. An import of civil
affairs reported a problem quoting A1's ID number and B1's phone (masked on the sources pages).
"""

from __future__ import annotations

import datetime
import itertools
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from renfang.linkage.models import ReviewPair
from renfang.people.facts import person_create, residence_record
from renfang.people.facts.planting import by_hand
from renfang.people.idnumbers import with_check_digit
from renfang.people.models import Conflict, Person
from renfang.sources.models import (
    ImportStatus,
    LinkRule,
    Mapping,
    Source,
    SourceImport,
    SourceRecord,
    UnmappedCode,
)
from renfang.testing.matrix import Planted, World

_sequence = itertools.count(1)
# A day long enough ago that "received later" is always in the past.
START = datetime.datetime(2025, 1, 1, 8, 0, tzinfo=datetime.UTC)
ZHANG_ID = with_check_digit("31010419800101123")  # male, born 1980-01-01


def source(code: str) -> Source:
    found, _ = Source.objects.get_or_create(code=code, defaults={"name": f"{code} system"})
    return found


def record(
    owner: Person | None, code: str, *, day: int = 0, record_id: str = "", **mapped: str
) -> SourceRecord:
    """A record of source ``code`` received ``day`` days after START, linked to ``owner``."""
    made: SourceRecord = SourceRecord.objects.create(
        source=source(code),
        record_id=record_id or f"{code}-{next(_sequence)}",
        mapped=mapped,
        received_at=START + datetime.timedelta(days=day),
        person=owner,
        link_rule=LinkRule.ID_NUMBER if owner is not None else "",
        linked_at=timezone.now() if owner is not None else None,
    )
    return made


def zhang(**overrides: str) -> dict[str, Any]:
    """Mapped values of one man, as a police record would hold them."""
    values: dict[str, Any] = {
        "id_type": "resident_id",
        "id_number": ZHANG_ID,
        "name": "张伟",
        "sex": "1",
        "birth_date": "1980-01-01",
        "nationality": "CHN",
        "hukou_division": "310104003",
        "hukou_type": "family",
    }
    values.update(overrides)
    return values


POLICE_MAPPING = """record_id: "{户籍编号}"
fields:
  id_type: resident_id
  id_number: "{公民身份号码}"
  name: "{姓名}"
  marital_status:
    value: "{婚姻状况}"
    codes: {已婚: "20", 未婚: "10"}
"""
CIVIL_MAPPING = """record_id: "{身份证号}"
fields:
  id_type: resident_id
  id_number: "{身份证号}"
  name: "{姓名}"
  phone: "{联系电话}"
  marital_status:
    value: "{婚姻}"
    codes: {已婚: "20", 未婚: "10"}
"""
MISSING = 987654321  # the id of a pair, conflict or record nobody has


@dataclass
class PlantedSources:
    police: SourceRecord
    civil: SourceRecord
    pair: ReviewPair
    conflict: Conflict


# planted person's pk → their records, pair and conflict (filled by plant_sources)
BY_PERSON: dict[int, PlantedSources] = {}


def pair_id(planted: Planted) -> int:
    found = BY_PERSON.get(planted.person.pk)
    return found.pair.pk if found else MISSING


def conflict_id(planted: Planted) -> int:
    found = BY_PERSON.get(planted.person.pk)
    return found.conflict.pk if found else MISSING


def police_record_id(planted: Planted) -> int:
    found = BY_PERSON.get(planted.person.pk)
    return found.police.pk if found else MISSING


def plant_sources(world: World) -> dict[str, PlantedSources]:
    now = timezone.now()
    police = Source.objects.create(code="police", name="公安户籍")
    civil = Source.objects.create(code="civil_affairs", name="民政")
    Mapping.objects.create(source=police, version=1, text=POLICE_MAPPING, created_by="m_admin")
    civil_mapping = Mapping.objects.create(
        source=civil, version=1, text=CIVIL_MAPPING, created_by="m_admin"
    )
    a1, b1 = world.planted["A1"], world.planted["B1"]
    SourceImport.objects.create(
        source=civil,
        mapping=civil_mapping,
        file_name="minzheng-2025.csv",
        status=ImportStatus.DONE,
        finished_at=now,
        records=len(world.planted),
        new=len(world.planted),
        flagged=1,
        report={
            "problems": [
                {
                    "record_id": a1.id_number,
                    "line": 2,
                    "field": "phone",
                    "value": b1.phone + "x",
                    "reason": f"'{b1.phone}x' is not a phone number",
                }
            ],
            "unmapped": [{"field": "marital_status", "value": "丧偶", "records": 1}],
        },
    )
    UnmappedCode.objects.create(source=civil, field="marital_status", value="丧偶", records=1)
    BY_PERSON.clear()
    planted_sources = {}
    for key, planted in world.planted.items():
        person = planted.person
        police_record = SourceRecord.objects.create(
            source=police,
            record_id=f"HJ-{key}",
            mapped={
                "id_type": "resident_id",
                "id_number": person.id_number,
                "name": person.name,
                "marital_status": "20",
            },
            person=person,
            link_rule=LinkRule.ID_NUMBER,
            linked_at=now,
        )
        civil_record = SourceRecord.objects.create(
            source=civil,
            record_id=person.id_number,
            mapped={
                "id_type": "resident_id",
                "id_number": person.id_number,
                "name": person.name,
                "phone": planted.phone,
                "marital_status": "10",
            },
            person=person,
            link_rule=LinkRule.ID_NUMBER,
            linked_at=now,
        )
        pair = ReviewPair.objects.create(
            left=police_record,
            right=civil_record,
            probability=0.8,
            match_weight=2.0,
            weights={
                "name": {"weight": 6.5, "level": "exact"},
                "id_number": {"weight": 9.1, "level": "exact"},
                "marital_status": {"weight": -0.4, "level": "different"},
            },
        )
        person.golden = {
            "name": {
                "value": person.name,
                "source": "police",
                "record": police_record.pk,
                "as_of": now.isoformat(),
            },
            "id_number": {
                "value": person.id_number,
                "source": "police",
                "record": police_record.pk,
                "as_of": now.isoformat(),
            },
            "marital_status": {
                "value": "10",
                "source": "civil_affairs",
                "record": civil_record.pk,
                "as_of": now.isoformat(),
            },
        }
        with by_hand():  # a provenance typed by hand, beside the records it names
            person.save(update_fields=["golden"])
        conflict = Conflict.objects.create(
            person=person,
            field="marital_status",
            golden_value="10",
            golden_source="civil_affairs",
            other_value="20",
            other_source="police",
            other_record=police_record,
        )
        planted_sources[key] = PlantedSources(
            police=police_record, civil=civil_record, pair=pair, conflict=conflict
        )
        BY_PERSON[person.pk] = planted_sources[key]
    return planted_sources


@dataclass
class Twin:
    """A second person made by a department's record of A1's person, the name in traditional
    characters and no ID number: the pair waits for a reviewer."""

    person: Person
    record: SourceRecord
    pair: ReviewPair


def plant_pair_to_review(world: World, *, police: SourceRecord | None = None) -> Twin:
    """A1's person as the health system knows them (户 written 戶, no ID number), made a person
    of its own living in A1's house, and the pair (A1's police record, the health record) open
    for review."""
    a1 = world.planted["A1"]
    health, _ = Source.objects.get_or_create(code="health", defaults={"name": "卫健"})
    if police is None:
        police_source, _ = Source.objects.get_or_create(
            code="police", defaults={"name": "公安户籍"}
        )
        police = SourceRecord.objects.create(
            source=police_source,
            record_id="HJ-A1-only",
            mapped={"id_type": "resident_id", "id_number": a1.id_number, "name": a1.person.name},
            person=a1.person,
            link_rule=LinkRule.ID_NUMBER,
        )
    twin = person_create(
        id_type="",
        id_number="",
        name=a1.person.name.replace("户", "戶"),
        sex=a1.person.sex,
        birth_date=None,
    )
    assert a1.house is not None
    residence_record(person=twin, valid_from=datetime.date(2020, 1, 1), house=a1.house)
    record = SourceRecord.objects.create(
        source=health,
        record_id="WJ-0001",
        mapped={"name": twin.name, "phone": a1.phone, "sex": twin.sex},
        person=twin,
        link_rule=LinkRule.SINGLETON,
    )
    left, right = sorted([police, record], key=lambda r: r.pk)
    pair = ReviewPair.objects.create(
        left=left,
        right=right,
        probability=0.93,
        match_weight=3.8,
        weights={
            "name": {"weight": 2.1, "level": "pinyin Jaro-Winkler ≥ 0.9"},
            "phone": {"weight": 4.2, "level": "exact"},
        },
    )
    return Twin(person=twin, record=record, pair=pair)
