"""Roles: the fields and areas a grant may hold, separation of duties, the staff flag."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from renfang.accounts.models import PersonField, PoliceArea, Role, RoleGrant
from renfang.accounts.policy import RolePolicy, role_policies

# --- Roles -------------------------------------------------------------------------------
from renfang.accounts.services.common import (
    TAG_PREFIX,
    Actor,
    _event,
)
from renfang.areas.models import Area, AreaLevel
from renfang.audit.services import PendingEvent


def _role_label(role: str) -> str:
    return str(Role(role).label) if role in Role.values else role


def _level_label(level: str) -> str:
    if level == "police_area":
        return str(_("police area"))
    return str(AreaLevel(level).label) if level in AreaLevel.values else level


def grantable_fields() -> frozenset[str]:
    """What a department reader may be granted: person fields and the sensitive tags its
    policy allows, as ``tag:CODE``."""
    policy = role_policies()[Role.DEPARTMENT_READER]
    return frozenset(PersonField.values) | {TAG_PREFIX + t for t in policy.sensitive_tags}


def _clean_fields(role: str, fields: Iterable[str]) -> list[str]:
    cleaned = list(dict.fromkeys(str(f).strip() for f in fields if str(f).strip()))
    if role != Role.DEPARTMENT_READER:
        if cleaned:
            raise ValidationError(
                _("Only a department reader is granted a list of fields."),
                code="fields_not_allowed",
            )
        return []
    if not cleaned:
        raise ValidationError(
            _("A department reader needs the list of fields it may read."), code="fields_required"
        )
    unknown = [f for f in cleaned if f not in grantable_fields()]
    if unknown:
        raise ValidationError(
            _("Not a field or a sensitive tag a department may be granted: %(fields)s.")
            % {"fields": ", ".join(unknown)},
            code="fields_unknown",
        )
    return cleaned


def _check_area(policy: RolePolicy, area: Area | None, police_area: PoliceArea | None) -> None:
    levels = policy.area_levels
    allowed = ", ".join(_level_label(level) for level in sorted(levels))
    if area is not None and police_area is not None:
        raise ValidationError(
            _("Choose an area or a police area, not both."), code="area_and_police_area"
        )
    if police_area is not None:
        if "police_area" not in levels:
            raise ValidationError(
                _("The role “%(role)s” is bound to: %(levels)s; not to a police area.")
                % {"role": _role_label(policy.role), "levels": allowed},
                code="area_level",
            )
        return
    if area is None:
        raise ValidationError(
            _("The role “%(role)s” is bound to: %(levels)s. Choose one.")
            % {"role": _role_label(policy.role), "levels": allowed},
            code="area_required",
        )
    if area.level not in levels:
        raise ValidationError(
            _("The role “%(role)s” is bound to: %(levels)s; %(area)s is: %(level)s.")
            % {
                "role": _role_label(policy.role),
                "levels": allowed,
                "area": area.name,
                "level": _level_label(area.level),
            },
            code="area_level",
        )


def separation_of_duties_check(*, roles: Iterable[str], is_superuser: bool, username: str) -> None:
    """Nobody may both administer users and read the audit log: whoever manages accounts
    could otherwise cover their own tracks. A superuser administers users."""
    policies = role_policies()
    held = [policies[r] for r in set(roles) if r in policies]
    administers = is_superuser or any(p.administers_users for p in held)
    if any(p.approves_grants for p in held) and (is_superuser or len(held) > 1):
        # ADR 0020: the security officer checks the administrators; it holds nothing else.
        raise ValidationError(
            _(
                "Separation of duties: %(user)s would be a security officer and hold another "
                "role too. A security officer holds no other role."
            )
            % {"user": username},
            code="separation_of_duties",
        )
    if administers and any(p.reads_audit for p in held):
        raise ValidationError(
            _(
                "Separation of duties: %(user)s would both administer users and read the audit "
                "log. Give these roles to different people."
            )
            % {"user": username},
            code="separation_of_duties",
        )


def _refuse_self_grant(user: AbstractBaseUser, actor: Actor) -> None:
    """Nobody changes their own roles: an administrator could make themselves police, or a
    department reader with full numbers and sensitive tags, and read what they administer."""
    actor_pk = getattr(actor, "pk", None)
    if actor_pk is not None and actor_pk == user.pk:
        raise ValidationError(
            _("Nobody may change their own roles: ask another administrator."),
            code="self_grant",
        )


def _refuse_duplicate(  # noqa: PLR0917 (the grant's own fields, in their usual order)
    grants: QuerySet[RoleGrant],
    user: AbstractBaseUser,
    role: str,
    area: Area | None,
    police_area: PoliceArea | None,
) -> None:
    if grants.filter(role=role, area=area, police_area=police_area).exists():
        raise ValidationError(
            _("%(user)s already has this role there.") % {"user": user.get_username()},
            code="duplicate",
        )


def role_grant_check(
    *,
    user: AbstractBaseUser,
    role: str,
    area: Area | None,
    police_area: PoliceArea | None,
    fields: Iterable[str],
    other_roles: Iterable[str],
    is_superuser: bool | None = None,
) -> list[str]:
    """Check one grant as it would stand beside ``other_roles``; returns the cleaned fields.
    Raises ``ValidationError`` with a message for the person granting it."""
    if role not in Role.values:
        raise ValidationError(_("%(role)s is not a role.") % {"role": role}, code="role_unknown")
    policy = role_policies()[role]
    _check_area(policy, area, police_area)
    cleaned = _clean_fields(role, fields)
    separation_of_duties_check(
        roles=[*other_roles, role],
        is_superuser=bool(
            getattr(user, "is_superuser", False) if is_superuser is None else is_superuser
        ),
        username=user.get_username(),
    )
    return cleaned


def grant_description(grant: RoleGrant) -> dict[str, Any]:
    return {
        "role": grant.role,
        "area": grant.area_id,
        "police_area": grant.police_area_id,
        "fields": list(grant.fields or []),
    }


def _locked_user(user: AbstractBaseUser) -> AbstractBaseUser:
    # One grant at a time per user, so two concurrent grants cannot both pass the
    # separation-of-duties check.
    locked: AbstractBaseUser = get_user_model()._default_manager.select_for_update().get(pk=user.pk)
    return locked


def _staff_roles(roles: Iterable[str]) -> bool:
    policies = role_policies()
    return any(
        policies[r].administers_users or policies[r].reads_audit or policies[r].approves_grants
        for r in roles
    )


def _staff_sync(
    user: AbstractBaseUser, actor: Actor, *, revoked: str | None = None
) -> list[PendingEvent]:
    """Staff status (may open the admin site) follows the roles that work there: district
    administrators and auditors. It is taken away only with the last such role, and never
    from a superuser."""
    roles = set(RoleGrant.objects.filter(user_id=user.pk).values_list("role", flat=True))
    is_staff = bool(getattr(user, "is_staff", False))
    wanted = is_staff
    if _staff_roles(roles):
        wanted = True
    elif (
        revoked is not None and _staff_roles([revoked]) and not getattr(user, "is_superuser", False)
    ):
        wanted = False
    if wanted == is_staff:
        return []
    get_user_model()._default_manager.filter(pk=user.pk).update(is_staff=wanted)
    user.is_staff = wanted  # type: ignore[attr-defined]
    return [_event(actor, "user", user.pk, ("is_staff", is_staff, wanted))]
