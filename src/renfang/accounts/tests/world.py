"""A small district with one user per role, for the access matrix and the masking tests.

Xuhui (310104) has street A (天平路街道, 310104003) with committees A1 and A2 (A1 has a grid),
and street B (湖南路街道, 310104004) with committee B1. Each committee has one house and one
person living in it; one more person holds hukou in A1 but lives outside the district. Every
person has a known ID number, phone and a sensitive tag, so a test can look for them in any
response. Users are bound to A1 (or A, or the district) so that A2 is "a sibling committee"
and B1 "another street".
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.contrib.auth.models import User

from renfang.accounts.models import PersonField, PoliceArea, Role, RoleGrant
from renfang.areas.models import Area, AreaLevel
from renfang.houses.models import House, HouseUse, standard_address
from renfang.people.facts import (
    attribute_record,
    hukou_record,
    person_create,
    residence_record,
    tag_record,
)
from renfang.people.idnumbers import with_check_digit
from renfang.people.models import AttributeKind, Person

D = datetime.date
PASSWORD = "Matrix-test-passw0rd!"


@dataclass
class Planted:
    """One person and the house they live in, with values a test can search responses for."""

    key: str  # "A1", "A2", "B1", "HUKOU_A1"
    person: Person
    house: House | None
    phone: str
    area_code: str  # the committee the person belongs to

    @property
    def id_number(self) -> str:
        return self.person.id_number


@dataclass
class World:
    areas: dict[str, Area]
    planted: dict[str, Planted]
    users: dict[str, User]
    police_area: PoliceArea
    # which planted keys each user may see
    sees: dict[str, frozenset[str]] = field(default_factory=dict)


def _area(code: str, name: str, parent: Area | None, level: str) -> Area:
    area, _ = Area.objects.update_or_create(
        code=code, defaults={"name": name, "parent": parent, "level": level}
    )
    return area


def _house(code: str, area: Area, road: str, number: str) -> House:
    house = House.objects.create(
        house_code=code,
        area=area,
        road=road,
        number=number,
        room="101",
        address=standard_address(road, number, "", "", "101"),
        kind="flat",
    )
    HouseUse.objects.create(house=house, use="rented_whole", valid_from=D(2018, 1, 1))
    return house


def _person(  # noqa: PLR0917 (one planted record per line below reads best positionally)
    key: str, body: str, name: str, house: House | None, phone: str, area_code: str
) -> Planted:
    person = person_create(
        id_type="resident_id",
        id_number=with_check_digit(body),
        name=name,
        sex="1" if int(body[-1]) % 2 else "2",
        birth_date=None,
    )
    if house is not None:
        residence_record(person=person, valid_from=D(2019, 1, 1), house=house, relation="tenant")
    attribute_record(person=person, kind=AttributeKind.PHONE, value=phone, valid_from=D(2019, 1, 1))
    tag_record(person=person, tag="drug_user", valid_from=D(2020, 1, 1))
    tag_record(person=person, tag="subsistence_allowance", valid_from=D(2020, 1, 1))
    return Planted(key=key, person=person, house=house, phone=phone, area_code=area_code)


def _user(username: str, role: str | None, **grant: object) -> User:
    user = User.objects.create_user(username, password=PASSWORD)
    if role is not None:
        RoleGrant.objects.create(user=user, role=role, **grant)
    return user


def build_world() -> World:
    city = _area("31", "上海市", None, AreaLevel.CITY)
    xuhui = _area("310104", "徐汇区", city, AreaLevel.DISTRICT)
    street_a = _area("310104003", "天平路街道", xuhui, AreaLevel.STREET)
    street_b = _area("310104004", "湖南路街道", xuhui, AreaLevel.STREET)
    a1 = _area("310104003001", "甲一居委会", street_a, AreaLevel.COMMITTEE)
    a2 = _area("310104003002", "甲二居委会", street_a, AreaLevel.COMMITTEE)
    b1 = _area("310104004001", "乙一居委会", street_b, AreaLevel.COMMITTEE)
    grid = _area("310104003001001", "甲一第一网格", a1, AreaLevel.GRID)
    areas = {
        "district": xuhui,
        "A": street_a,
        "B": street_b,
        "A1": a1,
        "A2": a2,
        "B1": b1,
        "grid": grid,
    }
    house_a1 = _house("310104003001900001", grid, "甲一路", "1")
    house_a2 = _house("310104003002900002", a2, "甲二路", "2")
    house_b1 = _house("310104004001900003", b1, "乙一路", "3")
    planted = {
        "A1": _person("A1", "31010419710101003", "甲一住户", house_a1, "13911110001", a1.code),
        "A2": _person("A2", "31010419720202005", "甲二住户", house_a2, "13922220002", a2.code),
        "B1": _person("B1", "31010419730303007", "乙一住户", house_b1, "13933330003", b1.code),
        "HUKOU_A1": _person(
            "HUKOU_A1", "31010419740404009", "甲一户籍", None, "13944440004", a1.code
        ),
    }
    hukou_record(person=planted["HUKOU_A1"].person, division=a1.code, valid_from=D(1974, 4, 4))
    beat = PoliceArea.objects.create(code="P-A1", name="甲一警务区")
    beat.committees.add(a1)
    users = {
        "district_admin": _user("m_admin", Role.DISTRICT_ADMIN, area=xuhui),
        "street_officer": _user("m_officer", Role.STREET_OFFICER, area=street_a),
        "committee_clerk": _user("m_clerk", Role.COMMITTEE_CLERK, area=a1),
        "collector": _user("m_collector", Role.COLLECTOR, area=grid),
        "police": _user("m_police", Role.POLICE, police_area=beat),
        "department_reader": _user(
            "m_reader",
            Role.DEPARTMENT_READER,
            area=a1,
            fields=[PersonField.NAME, PersonField.SEX, PersonField.RESIDENCES],
        ),
        "auditor": _user("m_auditor", Role.AUDITOR, area=xuhui),
        "no_role": _user("m_nobody", None),
    }
    everyone = frozenset(planted)
    a1_people = frozenset({"A1", "HUKOU_A1"})
    sees = {
        "district_admin": everyone,
        "street_officer": frozenset({"A1", "A2", "HUKOU_A1"}),
        "committee_clerk": a1_people,
        "collector": frozenset({"A1"}),  # the grid holds A1's house; HUKOU_A1 is not in it
        "police": a1_people,
        "department_reader": a1_people,
        "auditor": frozenset(),
        "no_role": frozenset(),
    }
    return World(areas=areas, planted=planted, users=users, police_area=beat, sees=sees)


def add_moved_person(world: World) -> Planted:
    """One more person: lived in A1's house until 2018, then moved to B1's house. A1's users
    still see the person (their history in A1), but not the house in street B."""
    house_a1 = world.planted["A1"].house
    house_b1 = world.planted["B1"].house
    moved = person_create(
        id_type="resident_id",
        id_number=with_check_digit("31010419750505001"),
        name="甲一迁出",
        sex="1",
        birth_date=None,
    )
    residence_record(
        person=moved, valid_from=D(2015, 1, 1), valid_to=D(2018, 12, 31), house=house_a1
    )
    residence_record(person=moved, valid_from=D(2019, 1, 1), house=house_b1)
    attribute_record(
        person=moved, kind=AttributeKind.PHONE, value="13955550005", valid_from=D(2015, 1, 1)
    )
    planted = Planted(
        key="MOVED", person=moved, house=house_a1, phone="13955550005", area_code="310104003001"
    )
    world.planted["MOVED"] = planted
    for role in ("district_admin", "street_officer", "committee_clerk", "collector", "police"):
        world.sees[role] = world.sees[role] | {"MOVED"}
    world.sees["department_reader"] = world.sees["department_reader"] | {"MOVED"}
    return planted
