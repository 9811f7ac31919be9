"""Small registers for the statistics tests, written through the people services."""

from __future__ import annotations

import datetime
import itertools

from renfang.areas.models import Area, AreaLevel
from renfang.people.facts import hukou_record, person_create, residence_record
from renfang.people.idnumbers import with_check_digit
from renfang.people.models import Person

D = datetime.date
CITY = "31"
XUHUI = "310104"  # 徐汇区
TIANPING = "310104003"  # 天平路街道
HUNAN = "310104004"  # 湖南路街道
TIANPING_1 = "310104003001"
TIANPING_2 = "310104003002"
HUNAN_1 = "310104004001"
CHANGNING = "310105"  # 长宁区, elsewhere in the city
NANJING = "320102"  # 南京市玄武区, outside the city

LONG_AGO = D(2015, 1, 1)

_sequence = itertools.count(1)


def make_areas() -> dict[str, Area]:
    """City 31 → Xuhui (and Changning) → two streets of Xuhui → three committees."""
    rows = [
        (CITY, "上海市", None, AreaLevel.CITY),
        (XUHUI, "徐汇区", CITY, AreaLevel.DISTRICT),
        (CHANGNING, "长宁区", CITY, AreaLevel.DISTRICT),
        (TIANPING, "天平路街道", XUHUI, AreaLevel.STREET),
        (HUNAN, "湖南路街道", XUHUI, AreaLevel.STREET),
        (TIANPING_1, "天平路第一居委", TIANPING, AreaLevel.COMMITTEE),
        (TIANPING_2, "天平路第二居委", TIANPING, AreaLevel.COMMITTEE),
        (HUNAN_1, "湖南路第一居委", HUNAN, AreaLevel.COMMITTEE),
    ]
    areas: dict[str, Area] = {}
    for code, name, parent, level in rows:
        areas[code] = Area.objects.create(
            code=code, name=name, parent=areas[parent] if parent else None, level=level
        )
    return areas


def chinese(name: str = "张伟", *, region: str = "310104") -> Person:
    """A Chinese citizen with a valid resident ID number."""
    sequence = next(_sequence) % 1000
    number = with_check_digit(f"{region}19850315{sequence:03d}")
    return person_create(
        id_type="resident_id",
        id_number=number,
        name=name,
        sex="1" if sequence % 2 else "2",
        birth_date=None,
    )


def foreigner(name: str = "John Smith", *, id_type: str = "passport", nationality: str) -> Person:
    return person_create(
        id_type=id_type,
        id_number=f"X{next(_sequence):08d}",
        name=name,
        sex="1",
        birth_date=D(1980, 1, 1),
        nationality=nationality,
    )


def resident(
    *,
    hukou: str | None,
    lives: str | None,
    since: datetime.date = LONG_AGO,
    until: datetime.date | None = None,
    person: Person | None = None,
) -> Person:
    """A person with a hukou (or none) and a residence from ``since`` to ``until``; ``lives``
    None records a spell of unknown whereabouts; the hukou holds throughout."""
    person = person or chinese()
    if hukou is not None:
        hukou_record(person=person, division=hukou, valid_from=D(2000, 1, 1))
    residence_record(person=person, valid_from=since, valid_to=until, division=lives)
    return person
