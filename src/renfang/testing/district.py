"""The page tests' district: the test world's area tree with two houses and four people made
through the door, as a real import would leave them.

Who sees whom: Zhang lives in the Tianping committee (310104003001), Li lived there and lives
in the Hunan committee (310104004001) now, Smith lives in the Hunan committee, Wang holds a
hukou in the Hunan street (310104004) and lived there, whereabouts unknown now."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from renfang.areas.models import Area
from renfang.houses.models import House
from renfang.people.facts import (
    attribute_record,
    hukou_record,
    person_create,
    residence_record,
    tag_record,
)
from renfang.people.idnumbers import with_check_digit
from renfang.people.models import AttributeKind, Person
from renfang.testing.areas import HUNAN, HUNAN_1, TIANPING, TIANPING_1, XUHUI, make_areas
from renfang.testing.houses import house
from renfang.testing.people import old_id_ending_in_x

D = datetime.date


@dataclass
class District:
    xuhui: Area
    tianping: Area
    hunan: Area
    house_tianping: House
    house_hunan: House
    zhang: Person  # registered resident, lives in the Tianping house, phone, tags
    li: Person  # domestic migrant, moved from the Tianping house to the Hunan house
    smith: Person  # overseas, lives in the Hunan house
    wang: Person  # registered here, whereabouts unknown; an old 15-digit ID ending in X
    wang_old_id: str


def _flat(  # noqa: PLR0917 (the two flats below read best positionally)
    code: str, area: Area, road: str, number: str, room: str, use: str
) -> House:
    """A flat its owner lived in until 2017, used as ``use`` since 2018."""
    return house(
        code,
        area,
        road=road,
        number=number,
        room=room,
        uses=(
            ("owner_occupied", D(2010, 1, 1), D(2017, 12, 31)),
            (use, D(2018, 1, 1), None),
        ),
        floor_area="65.50",
        rooms=2,
    )


def build_district() -> District:
    areas = make_areas()
    house_t = _flat("310104003001000001", areas[TIANPING_1], "天平路", "12", "301", "rented_whole")
    house_h = _flat("310104004001000002", areas[HUNAN_1], "湖南路", "8", "502", "group_rental")

    zhang = person_create(
        id_type="resident_id",
        id_number=with_check_digit("31010419800101001"),
        name="张伟",
        sex="1",
        birth_date=D(1980, 1, 1),
        ethnicity="01",
    )
    hukou_record(
        person=zhang,
        division=TIANPING,
        valid_from=D(1980, 1, 1),
        address="天平路12号301室",
        household_type="family",
    )
    residence_record(person=zhang, valid_from=D(2015, 1, 1), house=house_t, relation="owner")
    attribute_record(
        person=zhang, kind=AttributeKind.PHONE, value="13800138000", valid_from=D(2015, 1, 1)
    )
    attribute_record(
        person=zhang, kind=AttributeKind.MARITAL_STATUS, value="20", valid_from=D(2005, 5, 1)
    )
    tag_record(person=zhang, tag="disabled", valid_from=D(2019, 1, 1))
    tag_record(person=zhang, tag="elderly_alone", valid_from=D(2020, 1, 1))

    li = person_create(
        id_type="resident_id",
        id_number=with_check_digit("33010219900215002"),
        name="李娜",
        sex="2",
        birth_date=D(1990, 2, 15),
    )
    hukou_record(person=li, division="330102", valid_from=D(1990, 2, 15))
    residence_record(
        person=li,
        valid_from=D(2018, 3, 1),
        valid_to=D(2020, 6, 30),
        house=house_t,
        relation="tenant",
    )
    residence_record(person=li, valid_from=D(2020, 7, 1), house=house_h, relation="tenant")

    smith = person_create(
        id_type="passport",
        id_number="E12345678",
        name="John Smith",
        sex="1",
        birth_date=D(1975, 3, 3),
        nationality="USA",
    )
    residence_record(person=smith, valid_from=D(2019, 9, 1), house=house_h, relation="tenant")

    wang_old, wang_new = old_id_ending_in_x()
    wang = person_create(
        id_type="resident_id", id_number=wang_old, name="王芳", sex="2", birth_date=None
    )
    assert wang.id_number == wang_new
    hukou_record(person=wang, division=HUNAN, valid_from=D(2000, 1, 1))
    residence_record(
        person=wang, valid_from=D(2010, 1, 1), valid_to=D(2020, 12, 31), division=HUNAN
    )
    residence_record(person=wang, valid_from=D(2021, 1, 1))  # whereabouts unknown
    return District(
        xuhui=areas[XUHUI],
        tianping=areas[TIANPING],
        hunan=areas[HUNAN],
        house_tianping=house_t,
        house_hunan=house_h,
        zhang=zhang,
        li=li,
        smith=smith,
        wang=wang,
        wang_old_id=wang_old,
    )
