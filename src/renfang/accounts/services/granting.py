"""Who may grant what (ADR 0020): an administrator's granting powers, what lies beyond them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext_lazy as _lazy

from renfang.accounts.access import access_for
from renfang.accounts.models import GrantRequest, PersonField, PoliceArea, Role, RoleGrant
from renfang.accounts.policy import role_policies

# --- Who may grant what (ADR 0020) ----------------------------------------------------------
from renfang.accounts.services.common import (
    TAG_PREFIX,
    Actor,
)
from renfang.areas.models import Area


@dataclass(frozen=True)
class GrantingPowers:
    """What an actor may give without anybody's approval: no more than it holds itself.
    ``prefixes`` are the areas it administers ("" covers every area)."""

    administers: bool
    approves: bool
    prefixes: tuple[str, ...]
    full_identifiers: bool
    sensitive_tags: frozenset[str]


def _protected_role(role: str) -> bool:
    """The auditor and the security officer: granted and revoked by a security officer (or an
    operator's command) only, never by an administrator."""
    policy = role_policies().get(role)
    return policy is not None and (policy.reads_audit or policy.approves_grants)


def granting_powers(actor: AbstractBaseUser | AnonymousUser) -> GrantingPowers:
    access = access_for(actor)
    if getattr(actor, "is_superuser", False) and actor.is_active:
        return GrantingPowers(True, False, ("",), True, _all_sensitive_tags())
    policies = role_policies()
    prefixes = tuple(
        str(g.area_id)
        for g in RoleGrant.objects.filter(user_id=getattr(actor, "pk", None) or 0)
        if policies[g.role].administers_users and g.area_id
    )
    return GrantingPowers(
        administers=access.administers_users,
        approves=access.approves_grants,
        prefixes=prefixes if access.administers_users else (),
        full_identifiers=access.full_identifiers,
        sensitive_tags=access.sensitive_tags,
    )


def _all_sensitive_tags() -> frozenset[str]:
    tags: set[str] = set()
    for policy in role_policies().values():
        tags |= policy.sensitive_tags
    return frozenset(tags)


def _administrator_baseline() -> GrantingPowers:
    """What every district administrator may give: the security officer looks after the
    accounts holding more (their passwords, second factors, active flags)."""
    admins = [p for p in role_policies().values() if p.administers_users]
    tags = frozenset.intersection(*(p.sensitive_tags for p in admins)) if admins else frozenset()
    return GrantingPowers(
        administers=True,
        approves=False,
        prefixes=("",),
        full_identifiers=all(p.full_identifiers for p in admins),
        sensitive_tags=tags,
    )


def _grant_codes(area: Area | str | None, police_area: PoliceArea | str | None) -> list[str]:
    if police_area is not None:
        pk = police_area.pk if isinstance(police_area, PoliceArea) else police_area
        return list(
            PoliceArea.committees.through.objects.filter(policearea_id=pk).values_list(
                "area_id", flat=True
            )
        )
    if area is None:
        return []
    return [str(area.pk if isinstance(area, Area) else area)]


def grant_beyond(  # noqa: PLR0913, PLR0917 (the grant's own fields)
    powers: GrantingPowers,
    role: str,
    area: Area | str | None,
    police_area: PoliceArea | str | None,
    fields: Iterable[str],
) -> list[str]:
    """What a grant would give beyond ``powers`` (empty: within them): ``role`` (the auditor
    or security officer role), ``full_identifiers``, ``sensitive_tags``, ``area``."""
    policy = role_policies().get(role)
    if policy is None:
        return []
    beyond: list[str] = []
    if _protected_role(role):
        beyond.append("role")
    granted = {str(f) for f in fields}
    if role == Role.DEPARTMENT_READER:
        full = bool(granted & {PersonField.ID_NUMBER, PersonField.PHONE})
        tags = {f.removeprefix(TAG_PREFIX) for f in granted if f.startswith(TAG_PREFIX)}
    else:
        full, tags = policy.full_identifiers, set(policy.sensitive_tags)
    if full and not powers.full_identifiers:
        beyond.append("full_identifiers")
    if tags - powers.sensitive_tags:
        beyond.append("sensitive_tags")
    codes = _grant_codes(area, police_area)
    if not all(any(c.startswith(p) for p in powers.prefixes) for c in codes):
        beyond.append("area")
    return beyond


def police_area_widening_beyond(
    actor: AbstractBaseUser | AnonymousUser, police_area: PoliceArea, committees: Iterable[str]
) -> list[str]:
    """What widening a police area to ``committees`` would give its officers beyond
    ``actor``'s own powers (empty: nothing). A police area is part of every grant that names
    it: adding a committee to it is granting its officers (full numbers, police tags) that
    committee, so it needs the same powers as the grant itself (issue 11)."""
    if police_area.pk is None:
        return []
    added = set(committees) - set(_grant_codes(None, police_area))
    if not added:
        return []  # narrowing, or the same committees: nobody gains anything
    powers = granting_powers(actor)
    beyond: list[str] = []
    for grant in RoleGrant.objects.filter(police_area_id=police_area.pk):
        policy = role_policies().get(grant.role)
        if policy is None:
            continue
        for reason in grant_beyond(powers, grant.role, sorted(added)[0], None, grant.fields or []):
            if reason not in beyond:
                beyond.append(reason)
        if not all(any(c.startswith(p) for p in powers.prefixes) for c in added):
            if "area" not in beyond:
                beyond.append("area")
    return beyond


BEYOND_LABELS = {
    "role": _lazy("the role is granted by a security officer only"),
    "full_identifiers": _lazy("full ID or phone numbers"),
    "sensitive_tags": _lazy("sensitive tags you do not see yourself"),
    "area": _lazy("an area beyond your own"),
}


def _held(user: AbstractBaseUser) -> list[tuple[str, Any, Any, list[str]]]:
    """The user's grants and pending requests, as (role, area, police area, fields)."""
    held = [
        (g.role, g.area_id, g.police_area_id, list(g.fields or []))
        for g in RoleGrant.objects.filter(user_id=user.pk)
    ]
    held += [
        (r.role, r.area_id, r.police_area_id, list(r.fields or []))
        for r in GrantRequest.objects.filter(user_id=user.pk, state=GrantRequest.State.PENDING)
    ]
    return held


def is_beyond_administrators(user: AbstractBaseUser) -> bool:
    """Whether the user holds (or waits for) a grant no administrator may give alone."""
    baseline = _administrator_baseline()
    return any(grant_beyond(baseline, *held) for held in _held(user))


def may_manage_account(actor: Actor, user: AbstractBaseUser) -> bool:  # noqa: PLR0911
    """Whether ``actor`` may set the user's password, reset its second factor or change its
    active flag and details. An administrator: users whose grants (and pending requests) lie
    within its own powers; a security officer: users holding (or waiting for) more than any
    administrator may give; only a superuser manages a superuser; a command, everyone."""
    if actor is None:
        return True
    if not (actor.is_authenticated and actor.is_active):
        return False
    if user.pk is not None and actor.pk == user.pk:
        return True  # one's own password
    if getattr(user, "is_superuser", False) and not getattr(actor, "is_superuser", False):
        return False
    powers = granting_powers(actor)
    if powers.administers:
        return not any(grant_beyond(powers, *held) for held in _held(user))
    if powers.approves:
        return is_beyond_administrators(user)
    return False
