"""The role policy (data/roles.toml): what each role may see and do."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from renfang.accounts.models import Role

POLICY_FILE = Path(__file__).resolve().parent / "data" / "roles.toml"

AREA_LEVELS = frozenset({"district", "street", "committee", "grid", "police_area"})
_FLAGS = (
    "reads_people",
    "full_identifiers",
    "may_unmask",
    "reads_audit",
    "administers_users",
    "needs_second_factor",
    "manages_sources",
    "resolves_identities",
    "settles_conflicts",
)
# Powers that act on people's records of the role's area: a role that cannot see people
# cannot hold them.
_POWERS_OVER_PEOPLE = ("manages_sources", "resolves_identities", "settles_conflicts")


class PolicyError(ValueError):
    """The role policy file is wrong; the message names the role and the key."""


@dataclass(frozen=True)
class RolePolicy:
    role: str
    reads_people: bool
    full_identifiers: bool
    may_unmask: bool
    sensitive_tags: frozenset[str]
    reads_audit: bool
    administers_users: bool
    needs_second_factor: bool
    area_levels: frozenset[str]
    manages_sources: bool
    resolves_identities: bool
    settles_conflicts: bool
    approves_grants: bool = False


def _approves_grants(
    entry: dict[str, object], flags: dict[str, bool], role: str, source: str
) -> bool:
    approves = entry.get("approves_grants", False)
    if not isinstance(approves, bool):
        raise PolicyError(f"{source}: [{role}] approves_grants must be true or false")
    if approves and (flags["reads_people"] or flags["reads_audit"] or flags["administers_users"]):
        # Separation of duties (ADR 0020): who approves grants holds no other power.
        raise PolicyError(
            f"{source}: [{role}] approves_grants may not go with reads_people, "
            "reads_audit or administers_users"
        )
    return approves


def parse_policy(text: str, source: str = "roles.toml") -> dict[str, RolePolicy]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: {exc}") from exc
    policies: dict[str, RolePolicy] = {}
    for role in Role.values:
        entry = data.get(role)
        if not isinstance(entry, dict):
            raise PolicyError(f"{source}: role {role!r} has no [{role}] table")
        flags: dict[str, bool] = {}
        for key in _FLAGS:
            value = entry.get(key)
            if not isinstance(value, bool):
                raise PolicyError(f"{source}: [{role}] {key} must be true or false")
            flags[key] = value
        approves = _approves_grants(entry, flags, role, source)
        tags = entry.get("sensitive_tags")
        levels = entry.get("area_levels")
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise PolicyError(f"{source}: [{role}] sensitive_tags must be a list of tag codes")
        if not isinstance(levels, list) or not levels or not set(levels) <= AREA_LEVELS:
            raise PolicyError(
                f"{source}: [{role}] area_levels must list some of {sorted(AREA_LEVELS)}"
            )
        if flags["administers_users"] and flags["reads_audit"]:
            # Separation of duties: whoever manages users must not also hold the audit log.
            raise PolicyError(
                f"{source}: [{role}] may not both administer users and read the audit log"
            )
        for power in _POWERS_OVER_PEOPLE:
            if flags[power] and not flags["reads_people"]:
                raise PolicyError(f"{source}: [{role}] {power} needs reads_people = true")
        policies[role] = RolePolicy(
            role=role,
            sensitive_tags=frozenset(tags),
            area_levels=frozenset(levels),
            approves_grants=approves,
            **flags,
        )
    unknown = set(data) - set(Role.values)
    if unknown:
        raise PolicyError(f"{source}: unknown roles {sorted(unknown)}")
    return policies


@cache
def role_policies() -> dict[str, RolePolicy]:
    return parse_policy(POLICY_FILE.read_text(encoding="utf-8"), str(POLICY_FILE))
