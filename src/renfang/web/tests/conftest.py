"""Fixtures of the page tests: the test world's page district (``renfang.testing.district``)
and a user for each role."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from renfang.accounts.models import Role
from renfang.testing.district import District, build_district
from renfang.testing.users import PASSWORD, client_for, user_with_role


@pytest.fixture(autouse=True)
def fast_password_hashing(settings) -> None:
    # The real hasher takes a third of a second on purpose; these tests log in a lot.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def district(db: None) -> District:
    return build_district()


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
