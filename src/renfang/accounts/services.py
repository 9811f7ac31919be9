"""Writes to users, roles and police areas (API tokens: ``renfang.accounts.tokens``). Each
is checked here and audited (``Action.ADMIN``, with the field, the old and the new value) in
the same transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django_otp.plugins.otp_totp.models import TOTPDevice

from renfang.accounts.access import access_for, forget_access
from renfang.accounts.lockout import failures_clear_for_user
from renfang.accounts.models import GrantRequest, PersonField, PoliceArea, Role, RoleGrant
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


# --- Who may grant what (ADR 0020) ----------------------------------------------------------


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


def role_grant_refusal(
    *, actor: Actor, user: AbstractBaseUser, role: str, revoking: bool = False
) -> None:
    """Raise ``ValidationError`` when ``actor`` may neither grant (or revoke) ``role`` to
    ``user`` nor ask for it: nobody grants to themselves, a security officer grants only the
    auditor and security officer roles, an administrator revokes neither."""
    if not revoking:
        _refuse_self_grant(user, actor)
    if actor is None:
        return
    powers = granting_powers(actor)
    protected = _protected_role(role)
    if powers.approves:
        if not protected:
            raise ValidationError(
                _(
                    "A security officer grants and revokes only the auditor and security "
                    "officer roles; an administrator grants the others."
                ),
                code="not_an_administrator",
            )
        return
    if not powers.administers:
        raise ValidationError(_("You may not grant or revoke roles."), code="not_an_administrator")
    if revoking and protected:
        raise ValidationError(
            _("Only a security officer revokes the role “%(role)s”.") % {"role": _role_label(role)},
            code="security_officer_only",
        )


def _needs_approval(  # noqa: PLR0913, PLR0917
    actor: Actor,
    role: str,
    area: Area | None,
    police_area: PoliceArea | None,
    fields: Iterable[str],
    replaces: RoleGrant | None = None,
) -> list[str]:
    """Why a grant by ``actor`` must wait for a security officer (empty: it need not)."""
    if actor is None:
        return []
    powers = granting_powers(actor)
    if powers.approves:
        return []  # the auditor and security officer roles (others are refused before)
    beyond = grant_beyond(powers, role, area, police_area, fields)
    if replaces is not None and _protected_role(replaces.role) and "role" not in beyond:
        beyond.append("role")
    return beyond


def _credentials_reset(user: AbstractBaseUser, actor: Actor) -> list[PendingEvent]:
    """When a grant beyond an administrator's powers takes effect, whoever set the user's
    password (the administrator who asked for it) must not keep it: the password becomes
    unusable, the second factor is dropped, sessions end (Django ties them to the password);
    the security officer (or an operator, ``renfang changepassword``) sets a new one."""
    unusable = make_password(None)
    get_user_model()._default_manager.filter(pk=user.pk).update(password=unusable)
    user.password = unusable
    events = [_event(actor, "user", user.pk, ("password", None, "reset"))]
    deleted, _detail = TOTPDevice.objects.filter(user_id=user.pk).delete()
    if deleted:
        events.append(_event(actor, "user", user.pk, ("second_factor", "totp", None)))
    return events


def _checked_terms(  # noqa: PLR0913, PLR0917 (a grant's terms)
    locked: AbstractBaseUser,
    others: QuerySet[RoleGrant],
    role: str,
    area: Area | None,
    police_area: PoliceArea | None,
    fields: Sequence[str],
) -> list[str]:
    """A grant's terms checked against the rules and the user's other grants (``others``, the
    user's row locked): the cleaned fields, or ``ValidationError``. One check for a grant made,
    changed or requested."""
    cleaned = role_grant_check(
        user=locked,
        role=role,
        area=area,
        police_area=police_area,
        fields=fields,
        other_roles=others.values_list("role", flat=True),
    )
    _refuse_duplicate(others, locked, role, area, police_area)
    return cleaned


def _grant_create(  # noqa: PLR0913
    *,
    user: AbstractBaseUser,
    role: str,
    area: Area | None,
    police_area: PoliceArea | None,
    fields: Sequence[str],
    actor: Actor,
    extra: Sequence[PendingEvent] = (),
    reset: bool = False,
) -> RoleGrant:
    with transaction.atomic():
        locked = _locked_user(user)
        existing = RoleGrant.objects.filter(user_id=user.pk)
        cleaned = _checked_terms(locked, existing, role, area, police_area, fields)
        grant = RoleGrant.objects.create(
            user_id=user.pk, role=role, area=area, police_area=police_area, fields=cleaned
        )
        events = [*extra, _event(actor, "user", user.pk, ("role", None, grant_description(grant)))]
        events += _staff_sync(locked, actor)
        if reset:
            events += _credentials_reset(user, actor)
        audit_record_many(events)
    user.is_staff = locked.is_staff  # type: ignore[attr-defined]
    forget_access(user)
    return grant


def _grant_change(  # noqa: PLR0913
    *,
    grant: RoleGrant,
    role: str,
    area: Area | None,
    police_area: PoliceArea | None,
    fields: Sequence[str],
    actor: Actor,
    extra: Sequence[PendingEvent] = (),
    reset: bool = False,
) -> RoleGrant:
    user = grant.user
    with transaction.atomic():
        locked = _locked_user(user)
        before = grant_description(RoleGrant.objects.get(pk=grant.pk))
        others = RoleGrant.objects.filter(user_id=user.pk).exclude(pk=grant.pk)
        cleaned = _checked_terms(locked, others, role, area, police_area, fields)
        grant.role, grant.area, grant.police_area, grant.fields = role, area, police_area, cleaned
        grant.save(update_fields=["role", "area", "police_area", "fields"])
        after = grant_description(grant)
        events = list(extra)
        if after != before:
            events.append(_event(actor, "user", user.pk, ("role", before, after)))
            events += _staff_sync(locked, actor, revoked=str(before["role"]))
        if reset:
            events += _credentials_reset(user, actor)
        audit_record_many(events)
    user.is_staff = locked.is_staff  # type: ignore[attr-defined]
    forget_access(user)
    return grant


def _approval_required(beyond: list[str]) -> ValidationError:
    return ValidationError(
        _("This grant needs a security officer's approval: %(why)s.")
        % {"why": "; ".join(str(BEYOND_LABELS[b]) for b in beyond)},
        code="approval_required",
    )


def _resets_credentials(actor: Actor, role: str, area: Any, police_area: Any, fields: Any) -> bool:
    """A grant beyond administrators' powers made in the web by someone other than an
    operator (a command) or a superuser (who may set any password anyway): the security
    officer granting the auditor role to an account an administrator created."""
    if actor is None or getattr(actor, "is_superuser", False):
        return False
    return bool(grant_beyond(_administrator_baseline(), role, area, police_area, fields))


def role_grant(
    *,
    user: AbstractBaseUser,
    role: str,
    area: Area | None = None,
    police_area: PoliceArea | None = None,
    fields: Sequence[str] = (),
    granted_by: Actor,
) -> RoleGrant:
    """Give a user a role bound to an area (or a police area), at once; audited. A grant that
    needs a security officer's approval is refused here: ``role_grant_propose`` asks for it."""
    role_grant_refusal(actor=granted_by, user=user, role=role)
    beyond = _needs_approval(granted_by, role, area, police_area, fields)
    if beyond:
        raise _approval_required(beyond)
    return _grant_create(
        user=user,
        role=role,
        area=area,
        police_area=police_area,
        fields=fields,
        actor=granted_by,
        reset=_resets_credentials(granted_by, role, area, police_area, fields),
    )


def role_grant_update(
    *,
    grant: RoleGrant,
    role: str,
    area: Area | None = None,
    police_area: PoliceArea | None = None,
    fields: Sequence[str] = (),
    changed_by: Actor,
) -> RoleGrant:
    """Change one of a user's roles (its role, area or fields), at once; audited. Refused
    when it needs a security officer's approval (``role_grant_propose`` asks for it)."""
    role_grant_refusal(actor=changed_by, user=grant.user, role=role)
    beyond = _needs_approval(changed_by, role, area, police_area, fields, replaces=grant)
    if beyond:
        raise _approval_required(beyond)
    return _grant_change(
        grant=grant,
        role=role,
        area=area,
        police_area=police_area,
        fields=fields,
        actor=changed_by,
        reset=_resets_credentials(changed_by, role, area, police_area, fields),
    )


def request_description(request: GrantRequest) -> dict[str, Any]:
    return {
        "request": request.pk,
        "role": request.role,
        "area": request.area_id,
        "police_area": request.police_area_id,
        "fields": list(request.fields or []),
        "replaces": request.replaces_id,
        "beyond": list(request.reasons or []),
        "state": request.state,
    }


def role_grant_propose(  # noqa: PLR0913
    *,
    user: AbstractBaseUser,
    role: str,
    area: Area | None = None,
    police_area: PoliceArea | None = None,
    fields: Sequence[str] = (),
    requested_by: Actor,
    replaces: RoleGrant | None = None,
) -> RoleGrant | GrantRequest:
    """Grant (or change ``replaces`` to) a role: at once when it lies within the granter's
    own powers, else as a request waiting for a security officer, which has no effect until
    approved. Both audited; refusals raise ``ValidationError``."""
    role_grant_refusal(actor=requested_by, user=user, role=role)
    beyond = _needs_approval(requested_by, role, area, police_area, fields, replaces=replaces)
    if not beyond:
        if replaces is not None:
            return role_grant_update(
                grant=replaces,
                role=role,
                area=area,
                police_area=police_area,
                fields=fields,
                changed_by=requested_by,
            )
        return role_grant(
            user=user,
            role=role,
            area=area,
            police_area=police_area,
            fields=fields,
            granted_by=requested_by,
        )
    with transaction.atomic():
        locked = _locked_user(user)
        others = RoleGrant.objects.filter(user_id=user.pk)
        if replaces is not None:
            others = others.exclude(pk=replaces.pk)
        cleaned = _checked_terms(locked, others, role, area, police_area, fields)
        pending = GrantRequest.objects.filter(
            user_id=user.pk, state=GrantRequest.State.PENDING, role=role
        )
        if pending.filter(area=area, police_area=police_area).exists():
            raise ValidationError(
                _("This role waits for approval already."), code="duplicate_request"
            )
        request = GrantRequest.objects.create(
            user_id=user.pk,
            role=role,
            area=area,
            police_area=police_area,
            fields=cleaned,
            replaces=replaces,
            reasons=beyond,
            requested_by_id=getattr(requested_by, "pk", None),
        )
        audit_record_many(
            [
                _event(
                    requested_by,
                    "user",
                    user.pk,
                    ("grant_request", None, request_description(request)),
                )
            ]
        )
    return request


def _approver_check(request: GrantRequest, actor: Actor) -> None:
    if request.state != GrantRequest.State.PENDING:
        raise ValidationError(
            _("Request %(id)s is %(state)s already.")
            % {"id": request.pk, "state": request.get_state_display()},
            code="decided",
        )
    if actor is None:
        return
    if not access_for(actor).approves_grants:
        raise ValidationError(
            _("Only a security officer approves or refuses grants."), code="not_security_officer"
        )
    if actor.pk in (request.requested_by_id, request.user_id):
        raise ValidationError(
            _("Nobody decides a request they made or a grant to themselves."),
            code="own_request",
        )


def grant_request_approve(*, request: GrantRequest, approved_by: Actor) -> RoleGrant:
    """A security officer (or an operator's command) approves: the grant takes effect, and
    the user's password and second factor are reset (the administrator who asked set them);
    audited."""
    with transaction.atomic():
        request = GrantRequest.objects.select_for_update().get(pk=request.pk)
        _approver_check(request, approved_by)
        before = request_description(request)
        request.state = GrantRequest.State.APPROVED
        request.decided_by_id = getattr(approved_by, "pk", None)
        request.decided_at = timezone.now()
        request.save(update_fields=["state", "decided_by", "decided_at"])
        decided = _event(
            approved_by,
            "user",
            request.user_id,
            ("grant_request", before, request_description(request)),
        )
        values: dict[str, Any] = {
            "role": request.role,
            "area": request.area,
            "police_area": request.police_area,
            "fields": list(request.fields or []),
            "actor": approved_by,
            "extra": [decided],
            "reset": True,
        }
        if request.replaces is not None:
            grant = _grant_change(grant=request.replaces, **values)
        else:
            grant = _grant_create(user=request.user, **values)
    return grant


def grant_request_refuse(*, request: GrantRequest, refused_by: Actor, note: str = "") -> None:
    """A security officer (or an operator's command) refuses a request; audited."""
    with transaction.atomic():
        request = GrantRequest.objects.select_for_update().get(pk=request.pk)
        _approver_check(request, refused_by)
        before = request_description(request)
        request.state = GrantRequest.State.REFUSED
        request.decided_by_id = getattr(refused_by, "pk", None)
        request.decided_at = timezone.now()
        request.note = note[:200]
        request.save(update_fields=["state", "decided_by", "decided_at", "note"])
        after = request_description(request) | {"note": request.note}
        audit_record_many(
            [_event(refused_by, "user", request.user_id, ("grant_request", before, after))]
        )


def role_revoke(*, grant: RoleGrant, revoked_by: Actor) -> None:
    """Take a role away from a user; audited. The auditor and security officer roles are
    revoked by a security officer (or a command) only."""
    role_grant_refusal(actor=revoked_by, user=grant.user, role=grant.role, revoking=True)
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
