"""The API tests' district: the access matrix's world (one user per role, own area A1, sibling
committee A2, other street B1) plus a few users the API tests need besides."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from renfang.accounts.access import access_for
from renfang.accounts.models import PersonField, Role, RoleGrant
from renfang.accounts.tokens import api_token_create
from renfang.testing.matrix import World, build_world
from renfang.testing.users import PASSWORD


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _user(username: str, role: str, **grant: Any) -> User:
    user = User.objects.create_user(username, password=PASSWORD)
    RoleGrant.objects.create(user=user, role=role, **grant)
    return user


@pytest.fixture
def world(db: None) -> World:
    world = build_world()
    areas = world.areas
    world.users.update(
        {
            # A department granted the identifiers (and one sensitive tag) receives them whole.
            "id_reader": _user(
                "api_id_reader",
                Role.DEPARTMENT_READER,
                area=areas["district"],
                fields=[
                    PersonField.NAME,
                    PersonField.ID_NUMBER,
                    PersonField.PHONE,
                    PersonField.HUKOU,
                    PersonField.TAGS,
                    "tag:drug_user",
                ],
            ),
            "clerk_a2": _user("api_clerk_a2", Role.COMMITTEE_CLERK, area=areas["A2"]),
            "officer_b": _user("api_officer_b", Role.STREET_OFFICER, area=areas["B"]),
        }
    )
    world.sees.update(
        {
            "id_reader": frozenset(world.planted),
            "clerk_a2": frozenset({"A2"}),
            "officer_b": frozenset({"B1"}),
        }
    )
    return world


def logged_in(user: User, *, second_factor: bool = True, **client_options: Any) -> Client:
    """A client with the user's session; a user whose role needs a second factor has given it
    (``second_factor=False``: has not)."""
    client = Client(**client_options)
    client.force_login(user)
    if second_factor and access_for(user).needs_second_factor:
        device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


@pytest.fixture
def as_role(world: World) -> Callable[[str], Client]:
    """A client logged in (by session) as the world's user of a role."""

    def client_for(role: str) -> Client:
        return logged_in(world.users[role])

    return client_for


@pytest.fixture
def bearer(world: World) -> Callable[[str], Client]:
    """A client that sends a fresh bearer token of the world's user of a role (no session)."""

    def client_for(role: str) -> Client:
        key = api_token_create(user=world.users[role], name=f"{role} system").key
        return Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    return client_for


def error_of(response: Any) -> dict[str, Any]:
    """The error object of an error response, after checking the one shape every error has."""
    assert response["Content-Type"].startswith("application/json"), response.content
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert set(error) == {"code", "message", "fields"}, error
    assert isinstance(error["message"], str) and error["message"]
    for field in error["fields"]:
        assert set(field) == {"field", "message"}, field
    return error
