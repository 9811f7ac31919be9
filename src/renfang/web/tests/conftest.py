"""A small district for the page tests: Xuhui with two streets, two houses and four people
made through the people services, as a real import would leave them; and a user for each role.

Who sees whom: Zhang lives in the Tianping committee (310104003001), Li lived there and lives
in the Hunan committee (310104004001) now, Smith lives in the Hunan committee, Wang holds a
hukou in the Hunan street (310104004) and lived there, whereabouts unknown now."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from renfang.accounts.models import PoliceArea, Role, RoleGrant
from renfang.accounts.totp import second_factor_required
from renfang.areas.models import Area, AreaLevel
from renfang.houses.models import House, HouseUse, standard_address
from renfang.people.facts import (
    attribute_record,
    hukou_record,
    person_create,
    residence_record,
    tag_record,
)
from renfang.people.idnumbers import upgrade_15, with_check_digit
from renfang.people.models import AttributeKind, Person

D = datetime.date
PASSWORD = "a-long-test-password"


def old_id_ending_in_x() -> tuple[str, str]:
    """A 15-digit old ID number whose 18-digit form ends in X (a woman born 1975-06-18)."""
    for sequence in range(2, 1000, 2):
        old = f"310104750618{sequence:03d}"
        new = upgrade_15(old)
        if new.endswith("X"):
            return old, new
    raise AssertionError("no sequence gives an X check digit")


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


def _house(*, code: str, area: Area, road: str, number: str, room: str, use: str) -> House:
    house = House.objects.create(
        house_code=code,
        area=area,
        road=road,
        number=number,
        room=room,
        address=standard_address(road, number, "", "", room),
        kind="flat",
        floor_area="65.50",
        rooms=2,
    )
    HouseUse.objects.create(
        house=house, use="owner_occupied", valid_from=D(2010, 1, 1), valid_to=D(2017, 12, 31)
    )
    HouseUse.objects.create(house=house, use=use, valid_from=D(2018, 1, 1))
    return house


def build_district() -> District:
    city = Area.objects.create(code="31", name="上海市", level=AreaLevel.CITY)
    xuhui = Area.objects.create(code="310104", name="徐汇区", parent=city, level=AreaLevel.DISTRICT)
    tianping = Area.objects.create(
        code="310104003", name="天平路街道", parent=xuhui, level=AreaLevel.STREET
    )
    hunan = Area.objects.create(
        code="310104004", name="湖南路街道", parent=xuhui, level=AreaLevel.STREET
    )
    committee_t = Area.objects.create(
        code="310104003001", name="天平居委会", parent=tianping, level=AreaLevel.COMMITTEE
    )
    committee_h = Area.objects.create(
        code="310104004001", name="湖南居委会", parent=hunan, level=AreaLevel.COMMITTEE
    )
    house_t = _house(
        code="310104003001000001",
        area=committee_t,
        road="天平路",
        number="12",
        room="301",
        use="rented_whole",
    )
    house_h = _house(
        code="310104004001000002",
        area=committee_h,
        road="湖南路",
        number="8",
        room="502",
        use="group_rental",
    )

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
        division="310104003",
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
    hukou_record(person=wang, division="310104004", valid_from=D(2000, 1, 1))
    residence_record(
        person=wang, valid_from=D(2010, 1, 1), valid_to=D(2020, 12, 31), division="310104004"
    )
    residence_record(person=wang, valid_from=D(2021, 1, 1))  # whereabouts unknown
    return District(
        xuhui=xuhui,
        tianping=tianping,
        hunan=hunan,
        house_tianping=house_t,
        house_hunan=house_h,
        zhang=zhang,
        li=li,
        smith=smith,
        wang=wang,
        wang_old_id=wang_old,
    )


@pytest.fixture(autouse=True)
def fast_password_hashing(settings) -> None:
    # The real hasher takes a third of a second on purpose; these tests log in a lot.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def district(db: None) -> District:
    return build_district()


def user_with_role(
    username: str,
    role: str,
    area: str | None = None,
    *,
    police_committees: tuple[str, ...] = (),
    fields: list[str] | None = None,
) -> User:
    """A user with one role: bound to ``area``, or (police) to a police area of committees."""
    user = User.objects.create_user(username, password=PASSWORD)
    police_area = None
    if police_committees:
        police_area = PoliceArea.objects.create(code=f"PA-{username}", name=f"{username} 警务区")
        police_area.committees.set(Area.objects.filter(code__in=police_committees))
    RoleGrant.objects.create(
        user=user, role=role, area_id=area, police_area=police_area, fields=fields or []
    )
    return user


def client_for(user: User) -> Client:
    """A client logged in as the user; one whose role needs a second factor has given it."""
    client = Client()
    client.force_login(user)
    if second_factor_required(user):
        device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


@pytest.fixture
def officer(district: District) -> User:
    """The district's administrator: sees the whole district, masked."""
    return user_with_role("officer", Role.DISTRICT_ADMIN, "310104")


@pytest.fixture
def officer_client(officer: User) -> Client:
    return client_for(officer)


@pytest.fixture
def clerk(district: District) -> User:
    """A committee clerk of the Tianping committee: Zhang and Li (who lived there)."""
    return user_with_role("clerk", Role.COMMITTEE_CLERK, "310104003001")


@pytest.fixture
def clerk_client(clerk: User) -> Client:
    return client_for(clerk)


@pytest.fixture
def street_officer(district: District) -> User:
    """The Hunan street's population officer: Li, Smith and Wang."""
    return user_with_role("hunan", Role.STREET_OFFICER, "310104004")


@pytest.fixture
def police(district: District) -> User:
    """The community police officer of a beat that holds the Tianping committee."""
    return user_with_role("police", Role.POLICE, police_committees=("310104003001",))


@pytest.fixture
def police_client(police: User) -> Client:
    return client_for(police)


@pytest.fixture
def auditor(district: District) -> User:
    return user_with_role("auditor", Role.AUDITOR, "310104")


@pytest.fixture
def auditor_client(auditor: User) -> Client:
    return client_for(auditor)


@pytest.fixture
def reader(district: District) -> User:
    """A department reader of the district granted names, sex and tags (no identifiers,
    no residences), and one sensitive tag: disability."""
    return user_with_role(
        "reader",
        Role.DEPARTMENT_READER,
        "310104",
        fields=["name", "sex", "tags", "tag:disabled"],
    )


@pytest.fixture
def nobody(db: None) -> User:
    """A user without any role."""
    return User.objects.create_user("nobody", password=PASSWORD)
