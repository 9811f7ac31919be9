"""The access matrix, for the accounts (issue 11, findings 8 and 14; ADR 0020): the user and
grant pages of the admin by role, whose account each role may take over (password, second
factor), and the security officer against every route of the matrix: it reads no people and
no audit log."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from renfang.accounts.models import Role, RoleGrant
from renfang.accounts.tests import test_access_matrix as matrix
from renfang.accounts.tests.test_access_matrix import ROLES, clients, world  # noqa: F401
from renfang.testing.matrix import World
from renfang.testing.users import client_for

SECURITY = "security_officer"
USERS = "/admin/auth/user/"
REQUESTS = "/admin/accounts/grantrequest/"

# Who opens the user list and the grant requests (200); everyone else is sent to the admin
# login or refused (302 / 403), never a server error.
SEES_USERS = frozenset({"district_admin", SECURITY})
# Whose password each role may set: an administrator, the accounts within its own powers
# (here the collector and the department reader granted names, sex and residences: no
# sensitive tags, no numbers); the security officer, the accounts
# holding more (the auditor, the clerk's and the police's sensitive tags, full numbers).
SETS_PASSWORD_OF: dict[str, frozenset[str]] = {
    "district_admin": frozenset({"collector", "department_reader", "no_role"}),
    SECURITY: frozenset({"street_officer", "committee_clerk", "police", "auditor"}),
}
TARGETS = (
    "street_officer",
    "committee_clerk",
    "collector",
    "police",
    "department_reader",
    "auditor",
    "no_role",
)


@pytest.fixture
def with_security(world: World, clients: dict[str, Client]) -> dict[str, Client]:  # noqa: F811
    officer = User.objects.create_user("m_security", password="Security-pass-12")
    RoleGrant.objects.create(user=officer, role=Role.SECURITY_OFFICER, area=world.areas["district"])
    officer.is_staff = True
    officer.save()
    world.users[SECURITY] = officer
    world.sees[SECURITY] = frozenset()
    clients[SECURITY] = client_for(officer)
    for role in ("district_admin", "auditor"):
        world.users[role].is_staff = True
        world.users[role].save()
    return clients


@pytest.mark.parametrize("role", [*ROLES, SECURITY])
def test_the_user_and_grant_pages_by_role(
    role: str,
    world: World,  # noqa: F811
    with_security: dict[str, Client],
) -> None:
    client = with_security[role]
    problems = []
    for url in (USERS, REQUESTS, f"{USERS}{world.users['collector'].pk}/change/"):
        status = client.get(url).status_code
        expected = {200} if role in SEES_USERS else {302, 403}
        if status not in expected:
            problems.append(f"{url}: {status}, expected {sorted(expected)}")
    for target in TARGETS:
        if target == role:
            continue
        url = f"{USERS}{world.users[target].pk}/password/"
        status = client.get(url).status_code
        expected = {200} if target in SETS_PASSWORD_OF.get(role, ()) else {302, 403}
        if status not in expected:
            problems.append(f"password of {target}: {status}, expected {sorted(expected)}")
    assert not problems, "\n".join(problems)


def test_the_security_officer_reads_no_people_and_no_log(
    world: World,  # noqa: F811
    with_security: dict[str, Client],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every route of the matrix, as the security officer: like a user without a role."""
    monkeypatch.setitem(matrix.AREA_SEES, SECURITY, frozenset())
    matrix.test_no_route_returns_a_record_outside_the_area(SECURITY, world, with_security)


@pytest.mark.parametrize("role", ["district_admin", SECURITY])
def test_nobody_sets_their_own_roles_in_the_admin(
    role: str,
    world: World,  # noqa: F811
    with_security: dict[str, Client],
) -> None:
    user = world.users[role]
    grant = user.role_grants.get()
    data = {
        "username": user.username,
        "is_active": "on",
        "role_grants-TOTAL_FORMS": "2",
        "role_grants-INITIAL_FORMS": "1",
        "role_grants-MIN_NUM_FORMS": "0",
        "role_grants-MAX_NUM_FORMS": "1000",
        "role_grants-0-id": str(grant.pk),
        "role_grants-0-user": str(user.pk),
        "role_grants-0-role": grant.role,
        "role_grants-0-area": grant.area_id,
        "role_grants-1-role": Role.AUDITOR,
        "role_grants-1-area": "310104",
    }

    response = with_security[role].post(f"{USERS}{user.pk}/change/", data)

    assert response.status_code in (200, 403)  # a message on the form, or view only
    assert list(user.role_grants.values_list("role", flat=True)) == [grant.role]
