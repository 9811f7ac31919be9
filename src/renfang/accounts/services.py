"""Writes to users, roles and police areas (API tokens: ``renfang.accounts.tokens``). Each
is checked here and audited (``Action.ADMIN``, with the field, the old and the new value) in
the same transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from renfang.accounts.access import forget_access
from renfang.accounts.lockout import failures_clear_for_user
from renfang.accounts.models import PersonField, PoliceArea, Role, RoleGrant
from renfang.accounts.policy import RolePolicy, role_policies
from renfang.areas.models import Area, AreaLevel
from renfang.audit.models import Action
from renfang.audit.services import SYSTEM, PendingEvent, audit_record_many

Actor = AbstractBaseUser | AnonymousUser | None
TAG_PREFIX = "tag:"


# The user fields whose changes are audited (never the password hash: only that it changed).
USER_FIELDS = (
    "username",
    "first_name",
    "last_name",
    "email",
    "is_active",
    "is_staff",
    "is_superuser",
)


def _event(
    actor: Actor, record_type: str, record_id: object, change: tuple[str, Any, Any]
) -> PendingEvent:
    """An admin event; ``change`` is (field, old value, new value)."""
    field, old, new = change
    return PendingEvent(
        action=Action.ADMIN,
        user=actor,
        username=SYSTEM if actor is None else "",  # a command
        record_type=record_type,
        record_id=str(record_id),
        detail={"field": field, "old": old, "new": new},
    )


# --- Roles -------------------------------------------------------------------------------


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
    return any(policies[r].administers_users or policies[r].reads_audit for r in roles)


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


def role_grant(
    *,
    user: AbstractBaseUser,
    role: str,
    area: Area | None = None,
    police_area: PoliceArea | None = None,
    fields: Sequence[str] = (),
    granted_by: Actor,
) -> RoleGrant:
    """Give a user a role bound to an area (or a police area); audited."""
    _refuse_self_grant(user, granted_by)
    with transaction.atomic():
        locked = _locked_user(user)
        existing = RoleGrant.objects.filter(user_id=user.pk)
        cleaned = role_grant_check(
            user=locked,
            role=role,
            area=area,
            police_area=police_area,
            fields=fields,
            other_roles=existing.values_list("role", flat=True),
        )
        _refuse_duplicate(existing, user, role, area, police_area)
        grant = RoleGrant.objects.create(
            user_id=user.pk, role=role, area=area, police_area=police_area, fields=cleaned
        )
        events = [_event(granted_by, "user", user.pk, ("role", None, grant_description(grant)))]
        events += _staff_sync(locked, granted_by)
        audit_record_many(events)
    user.is_staff = locked.is_staff  # type: ignore[attr-defined]
    forget_access(user)
    return grant


def role_grant_update(
    *,
    grant: RoleGrant,
    role: str,
    area: Area | None = None,
    police_area: PoliceArea | None = None,
    fields: Sequence[str] = (),
    changed_by: Actor,
) -> RoleGrant:
    """Change one of a user's roles (its role, area or fields); audited."""
    user = grant.user
    _refuse_self_grant(user, changed_by)
    with transaction.atomic():
        locked = _locked_user(user)
        before = grant_description(RoleGrant.objects.get(pk=grant.pk))
        others = RoleGrant.objects.filter(user_id=user.pk).exclude(pk=grant.pk)
        cleaned = role_grant_check(
            user=locked,
            role=role,
            area=area,
            police_area=police_area,
            fields=fields,
            other_roles=others.values_list("role", flat=True),
        )
        _refuse_duplicate(others, user, role, area, police_area)
        grant.role, grant.area, grant.police_area, grant.fields = role, area, police_area, cleaned
        grant.save(update_fields=["role", "area", "police_area", "fields"])
        after = grant_description(grant)
        if after != before:
            events = [_event(changed_by, "user", user.pk, ("role", before, after))]
            events += _staff_sync(locked, changed_by, revoked=str(before["role"]))
            audit_record_many(events)
    user.is_staff = locked.is_staff  # type: ignore[attr-defined]
    forget_access(user)
    return grant


def role_revoke(*, grant: RoleGrant, revoked_by: Actor) -> None:
    """Take a role away from a user; audited."""
    user = grant.user
    with transaction.atomic():
        locked = _locked_user(user)
        before = grant_description(grant)
        grant.delete()
        events = [_event(revoked_by, "user", user.pk, ("role", before, None))]
        events += _staff_sync(locked, revoked_by, revoked=str(before["role"]))
        audit_record_many(events)
    user.is_staff = locked.is_staff  # type: ignore[attr-defined]
    forget_access(user)


# --- Users -------------------------------------------------------------------------------


def user_snapshot(user: AbstractBaseUser) -> dict[str, Any]:
    """The audited fields of a user, to compare before and after a change."""
    return {name: getattr(user, name, None) for name in USER_FIELDS}


def user_changes_record(
    *, user: AbstractBaseUser, before: dict[str, Any] | None, changed_by: Actor
) -> int:
    """Audit what changed on a user since ``before`` (``None``: the user was created); one
    event per field. Returns how many events were written."""
    after = user_snapshot(user)
    if before is None:
        events = [_event(changed_by, "user", user.pk, ("user", None, after))]
    else:
        events = [
            _event(changed_by, "user", user.pk, (name, before.get(name), value))
            for name, value in after.items()
            if before.get(name) != value
        ]
    audit_record_many(events)
    return len(events)


def user_password_changed_record(*, user: AbstractBaseUser, changed_by: Actor) -> None:
    """Audit a password change: that it happened, never the password or its hash."""
    audit_record_many([_event(changed_by, "user", user.pk, ("password", None, "changed"))])


def user_unlock(*, user: AbstractBaseUser, unlocked_by: Actor) -> int:
    """Forget a user's failed logins, from every address, so they may log in again; audited
    when there was something to forget."""
    with transaction.atomic():
        cleared = failures_clear_for_user(user.get_username())
        if cleared:
            audit_record_many([_event(unlocked_by, "user", user.pk, ("failed_logins", cleared, 0))])
    return cleared


def user_second_factor_reset(*, user: AbstractBaseUser, reset_by: Actor) -> int:
    """Remove a user's TOTP devices (a lost phone): they set up a new one at their next
    login if they need one. Audited."""
    with transaction.atomic():
        confirmed = TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).exists()
        deleted, _deleted = TOTPDevice.objects.filter(user_id=user.pk).delete()
        if confirmed:
            audit_record_many([_event(reset_by, "user", user.pk, ("second_factor", "totp", None))])
    return int(deleted)


def user_second_factor_confirm(*, device: Any, user: AbstractBaseUser) -> None:
    """The user confirmed a new TOTP device with a code; any older device is dropped."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user_id=user.pk).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        audit_record_many([_event(user, "user", user.pk, ("second_factor", None, "totp"))])


# --- Police areas -------------------------------------------------------------


def police_area_snapshot(police_area: PoliceArea) -> dict[str, Any]:
    committees: list[str] = []
    if police_area.pk is not None and PoliceArea.objects.filter(pk=police_area.pk).exists():
        committees = sorted(police_area.committees.values_list("code", flat=True))
    return {"name": police_area.name, "committees": committees}


def police_area_changes_record(
    *, police_area: PoliceArea, before: dict[str, Any] | None, changed_by: Actor
) -> int:
    """Audit a police area's creation or change (its committees decide what police see)."""
    after = police_area_snapshot(police_area)
    if before is None:
        events = [_event(changed_by, "police_area", police_area.pk, ("police_area", None, after))]
    else:
        events = [
            _event(changed_by, "police_area", police_area.pk, (name, before.get(name), value))
            for name, value in after.items()
            if before.get(name) != value
        ]
    audit_record_many(events)
    if events:
        for grant in RoleGrant.objects.filter(police_area=police_area).select_related("user"):
            forget_access(grant.user)
    return len(events)
