"""Grants of roles: made, changed, proposed, approved, refused, revoked; each audited."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from renfang.accounts.access import access_for, forget_access
from renfang.accounts.models import GrantRequest, PoliceArea, RoleGrant
from renfang.accounts.services.common import (
    Actor,
    _event,
)
from renfang.accounts.services.granting import (
    BEYOND_LABELS,
    _administrator_baseline,
    _protected_role,
    grant_beyond,
    granting_powers,
)
from renfang.accounts.services.roles import (
    _locked_user,
    _refuse_duplicate,
    _refuse_self_grant,
    _role_label,
    _staff_sync,
    grant_description,
    role_grant_check,
)
from renfang.areas.models import Area
from renfang.audit.services import PendingEvent, audit_record_many


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
