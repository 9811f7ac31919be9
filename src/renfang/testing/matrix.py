"""The access matrix's district: the test world's area tree with one user per role, for the
access matrix and the masking tests.

Street A is Tianping (310104003) with committees A1 (Tianping, which has a grid) and A2
(Jianguo); street B is Hunan (310104004) with committee B1. Each committee has one house and
one person living in it; one more person holds hukou in A1 but lives outside the district.
Every person has a known ID number, phone and a sensitive tag, so a test can look for them in
any response. Users are bound to A1 (or A, or the district) so that A2 is "a sibling
committee" and B1 "another street".
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.contrib.auth.models import User

from renfang.accounts.models import PersonField, PoliceArea, Role
from renfang.areas.models import Area
from renfang.houses.models import House
from renfang.people.facts import attribute_record, hukou_record, residence_record
from renfang.people.models import AttributeKind, Person
from renfang.testing.areas import (
    GRID,
    HUNAN,
    HUNAN_1,
    TIANPING,
    TIANPING_1,
    TIANPING_2,
    XUHUI,
    make_areas,
)
from renfang.testing.houses import house
from renfang.testing.people import tenant
from renfang.testing.users import PASSWORD, user_with_role

__all__ = ["PASSWORD", "Planted", "World", "add_moved_person", "build_world"]

D = datetime.date


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


def _planted(  # noqa: PLR0917 (one planted record per line below reads best positionally)
    key: str, body: str, name: str, house: House | None, phone: str, area_code: str
) -> Planted:
    person = tenant(body=body, name=name, house=house, phone=phone)
    return Planted(key=key, person=person, house=house, phone=phone, area_code=area_code)


def build_world() -> World:
    tree = make_areas()
    a1, a2, b1 = tree[TIANPING_1], tree[TIANPING_2], tree[HUNAN_1]
    areas = {
        "district": tree[XUHUI],
        "A": tree[TIANPING],
        "B": tree[HUNAN],
        "A1": a1,
        "A2": a2,
        "B1": b1,
        "grid": tree[GRID],
    }
    house_a1 = house("310104003001900001", areas["grid"], road="甲一路", number="1")
    house_a2 = house("310104003002900002", a2, road="甲二路", number="2")
    house_b1 = house("310104004001900003", b1, road="乙一路", number="3")
    planted = {
        "A1": _planted("A1", "31010419710101003", "甲一住户", house_a1, "13911110001", a1.code),
        "A2": _planted("A2", "31010419720202005", "甲二住户", house_a2, "13922220002", a2.code),
        "B1": _planted("B1", "31010419730303007", "乙一住户", house_b1, "13933330003", b1.code),
        "HUKOU_A1": _planted(
            "HUKOU_A1", "31010419740404009", "甲一户籍", None, "13944440004", a1.code
        ),
    }
    hukou_record(person=planted["HUKOU_A1"].person, division=a1.code, valid_from=D(1974, 4, 4))
    beat = PoliceArea.objects.create(code="P-A1", name="甲一警务区")
    beat.committees.add(a1)
    district = areas["district"]
    users = {
        "district_admin": user_with_role("m_admin", Role.DISTRICT_ADMIN, district),
        "street_officer": user_with_role("m_officer", Role.STREET_OFFICER, areas["A"]),
        "committee_clerk": user_with_role("m_clerk", Role.COMMITTEE_CLERK, a1),
        "collector": user_with_role("m_collector", Role.COLLECTOR, areas["grid"]),
        "police": user_with_role("m_police", Role.POLICE, police_area=beat),
        "department_reader": user_with_role(
            "m_reader",
            Role.DEPARTMENT_READER,
            a1,
            fields=[PersonField.NAME, PersonField.SEX, PersonField.RESIDENCES],
        ),
        "auditor": user_with_role("m_auditor", Role.AUDITOR, district),
        "no_role": user_with_role("m_nobody"),
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
    moved = tenant(body="31010419750505001", name="甲一迁出", house=None, phone="", tags=())
    residence_record(
        person=moved, valid_from=D(2015, 1, 1), valid_to=D(2018, 12, 31), house=house_a1
    )
    residence_record(person=moved, valid_from=D(2019, 1, 1), house=house_b1)
    attribute_record(
        person=moved, kind=AttributeKind.PHONE, value="13955550005", valid_from=D(2015, 1, 1)
    )
    planted = Planted(
        key="MOVED", person=moved, house=house_a1, phone="13955550005", area_code=TIANPING_1
    )
    world.planted["MOVED"] = planted
    for role in ("district_admin", "street_officer", "committee_clerk", "collector", "police"):
        world.sees[role] = world.sees[role] | {"MOVED"}
    world.sees["department_reader"] = world.sees["department_reader"] | {"MOVED"}
    return planted
