"""The powers of roles.toml beyond reading (manages_sources, resolves_identities,
settles_conflicts): who holds them, how a broken policy is refused, and how they combine
across a user's roles (the least of the reading roles)."""

from __future__ import annotations

import pytest

from renfang.accounts.access import access_for
from renfang.accounts.models import Role, RoleGrant
from renfang.accounts.policy import POLICY_FILE, PolicyError, parse_policy, role_policies
from renfang.testing.matrix import World, build_world

POWERS = ("manages_sources", "resolves_identities", "settles_conflicts")


@pytest.fixture
def world(db: None) -> World:
    return build_world()


def _powers(user) -> set[str]:
    access = access_for(user)
    return {power for power in POWERS if getattr(access, power)}


def test_each_role_holds_the_powers_of_its_work(world):
    held = {role: _powers(user) for role, user in world.users.items()}

    assert held == {
        "district_admin": set(POWERS),
        "street_officer": {"resolves_identities", "settles_conflicts"},
        "committee_clerk": {"settles_conflicts"},
        "collector": set(),
        "police": set(),
        "department_reader": set(),
        "auditor": set(),
        "no_role": set(),
    }


def test_powers_are_the_least_of_the_users_reading_roles(world):
    officer = world.users["street_officer"]
    RoleGrant.objects.create(user=officer, role=Role.COLLECTOR, area=world.areas["B1"])
    clerk = world.users["committee_clerk"]
    RoleGrant.objects.create(user=clerk, role=Role.AUDITOR, area=world.areas["district"])

    # A collector resolves nothing: with a collector's area in reach, neither does the officer.
    assert _powers(officer) == set()
    # An auditor reads no people: the clerk's powers stay.
    assert _powers(clerk) == {"settles_conflicts"}


def _policy_text(**changes: str) -> str:
    """roles.toml with lines of one role replaced: changes are "role.key" → new line."""
    lines = POLICY_FILE.read_text(encoding="utf-8").splitlines()
    role = ""
    out = []
    for line in lines:
        if line.startswith("["):
            role = line.strip("[]")
        key = line.split("=")[0].strip()
        change = changes.get(f"{role}.{key}")
        if change is None:
            out.append(line)
        elif change:
            out.append(change)
    return "\n".join(out)


def test_the_shipped_policy_is_valid():
    policies = role_policies()

    assert policies["district_admin"].manages_sources


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"collector.resolves_identities": ""}, "[collector] resolves_identities must be"),
        (
            {"police.settles_conflicts": 'settles_conflicts = "yes"'},
            "[police] settles_conflicts must be true or false",
        ),
        (
            {"auditor.manages_sources": "manages_sources = true"},
            "[auditor] manages_sources needs reads_people = true",
        ),
    ],
)
def test_a_broken_power_is_refused_naming_the_role_and_the_key(changes, message):
    with pytest.raises(PolicyError) as refused:
        parse_policy(_policy_text(**changes))

    assert message in str(refused.value)
