"""Source records for the golden record tests, made straight in the tables (the source import
and ``renfang resolve`` are tested by their own apps): a person and the records linked to it."""

from __future__ import annotations

import datetime
import itertools
from typing import Any

from django.utils import timezone

from renfang.people.facts import (
    person_placeholder,
)
from renfang.people.idnumbers import with_check_digit
from renfang.people.models import Person
from renfang.sources.models import LinkRule, Source, SourceRecord

_sequence = itertools.count(1)
# A day long enough ago that "received later" is always in the past.
START = datetime.datetime(2025, 1, 1, 8, 0, tzinfo=datetime.UTC)
ZHANG_ID = with_check_digit("31010419800101123")  # male, born 1980-01-01


def source(code: str) -> Source:
    found, _ = Source.objects.get_or_create(code=code, defaults={"name": f"{code} system"})
    return found


def person(**identity: Any) -> Person:
    """A person as ``renfang resolve`` makes one: known by nothing yet but its records."""
    values: dict[str, Any] = {"name": "", "sex": ""}
    values.update(identity)
    created: Person = person_placeholder(**values)
    return created


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
    values = {
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
