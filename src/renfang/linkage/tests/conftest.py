"""Source records of a few made-up people, as department systems would send them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.utils import translation

from renfang.people.idnumbers import with_check_digit
from renfang.sources.models import Source, SourceRecord

# Made-up people: (name, sex, birth date, first 17 ID digits' sequence).
ZHANG_WEI = with_check_digit("31010419800101123")  # 张伟, male, 1980-01-01
LI_NA = with_check_digit("31010419850315002")  # 李娜, female, 1985-03-15
CHEN_HUA = with_check_digit("31010419700202003")  # 陈华, male, 1970-02-02
SHAN_YING = with_check_digit("31010419901111004")  # 单英, female, 1990-11-11
TWIN_A = with_check_digit("31010420050606011")  # 王一鸣, male, twins born 2005-06-06
TWIN_B = with_check_digit("31010420050606031")  # 王一鹏, male
FATHER = with_check_digit("31010419750707015")  # 王建国, male, the twins' father
AYGUL = with_check_digit("65010219920909002")  # 阿依古丽·买买提, female

Make = Callable[..., SourceRecord]


@pytest.fixture
def sources(db: None) -> dict[str, Source]:
    return {
        code: Source.objects.create(code=code, name=code)
        for code in ("police", "health", "civil_affairs", "education", "hrss")
    }


@pytest.fixture
def record(sources: dict[str, Source]) -> Make:
    """A source record: ``record("health", "h1", name="张伟", ...)`` (mapped values)."""

    def make(source: str, record_id: str, **mapped: Any) -> SourceRecord:
        return SourceRecord.objects.create(
            source=sources[source],
            record_id=record_id,
            mapped={key: value for key, value in mapped.items() if value not in (None, "")},
        )

    return make


def person_of(source: str, record_id: str) -> int:
    """The person a record is linked to (it must be linked)."""
    person_id = (
        SourceRecord.objects.filter(source__code=source, record_id=record_id)
        .values_list("person_id", flat=True)
        .get()
    )
    assert person_id is not None, f"{source}:{record_id} is not linked"
    return person_id


def rule_of(source: str, record_id: str) -> str:
    return (
        SourceRecord.objects.filter(source__code=source, record_id=record_id)
        .values_list("link_rule", flat=True)
        .get()
    )


def zhang(make: Make, source: str, record_id: str, **changes: Any) -> SourceRecord:
    values: dict[str, Any] = {
        "id_type": "resident_id",
        "id_number": ZHANG_WEI,
        "name": "张伟",
        "sex": "1",
        "birth_date": "1980-01-01",
        "phone": "13812345678",
        "residence_division": "310104003001",
        "residence_address": "天平路100弄3号201室",
        "hukou_division": "310104003",
    }
    values.update(changes)
    return make(source, record_id, **values)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """The tests read refusals in English; the catalogue would show them in Chinese."""
    with translation.override("en"):
        yield
