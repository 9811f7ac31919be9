"""Fixtures for the login security and user administration tests: a few areas of Xuhui and
users made through the role services, logged in through the real login page."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from renfang.accounts.models import PersonField, PoliceArea, Role
from renfang.accounts.services import role_grant
from renfang.areas.models import Area, AreaLevel

PASSWORD = "Tianping-road-12"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    # The real hasher takes a third of a second on purpose; these tests log in a lot.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class Areas:
    district: Area
    street: Area
    committee: Area
    sibling: Area
    grid: Area
    other_street: Area
    police_area: PoliceArea


def _area(code: str, name: str, parent: Area | None, level: str) -> Area:
    return Area.objects.create(code=code, name=name, parent=parent, level=level)


@pytest.fixture
def areas(db: None) -> Areas:
    city = _area("31", "上海市", None, AreaLevel.CITY)
    district = _area("310104", "徐汇区", city, AreaLevel.DISTRICT)
    street = _area("310104003", "天平路街道", district, AreaLevel.STREET)
    committee = _area("310104003001", "天平居委会", street, AreaLevel.COMMITTEE)
    sibling = _area("310104003002", "建国居委会", street, AreaLevel.COMMITTEE)
    grid = _area("310104003001001", "天平第一网格", committee, AreaLevel.GRID)
    other_street = _area("310104004", "湖南路街道", district, AreaLevel.STREET)
    police_area = PoliceArea.objects.create(code="PA-1", name="天平警务区")
    police_area.committees.set([committee, sibling])
    return Areas(district, street, committee, sibling, grid, other_street, police_area)


def make_user(username: str, role: str | None = None, **grant: Any) -> User:
    user = User.objects.create_user(username, password=PASSWORD)
    if role is not None:
        role_grant(user=user, role=role, granted_by=None, **grant)
        user.refresh_from_db()
    return user


@pytest.fixture
def district_admin(areas: Areas) -> User:
    """A district administrator: needs a second factor."""
    return make_user("qu_admin", Role.DISTRICT_ADMIN, area=areas.district)


@pytest.fixture
def clerk(areas: Areas) -> User:
    """A committee clerk: no second factor needed."""
    return make_user("clerk", Role.COMMITTEE_CLERK, area=areas.committee)


@pytest.fixture
def collector(areas: Areas) -> User:
    """A collector: no sensitive tags, masked numbers; within a district administrator's own
    powers, so the administrator manages the account (ADR 0020)."""
    return make_user("collector", Role.COLLECTOR, area=areas.committee)


@pytest.fixture
def auditor(areas: Areas) -> User:
    return make_user("auditor", Role.AUDITOR, area=areas.district)


@pytest.fixture
def reader(areas: Areas) -> User:
    return make_user(
        "civil_affairs",
        Role.DEPARTMENT_READER,
        area=areas.district,
        fields=[PersonField.NAME, "tag:subsistence_allowance"],
    )


def confirmed_device(user: User) -> Any:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def code_for(device: Any, steps_ahead: int = 0) -> str:
    """The code the user's app shows now (or that many 30-second steps later: a device
    accepts each code once, and the next step's code as well as the current one)."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return str(totp.token()).zfill(device.digits)


def wrong_code(device: Any) -> str:
    right = {code_for(device, step) for step in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in right)


def log_in(client: Client, username: str, password: str = PASSWORD, **extra: Any) -> Any:
    """Post the login form as a browser does."""
    return client.post("/login/", {"username": username, "password": password}, **extra)


def with_second_factor(client: Client, user: User) -> Client:
    """Log a test client in as a user who has given their second factor (for tests about
    something else than the login)."""
    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or confirmed_device(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client
