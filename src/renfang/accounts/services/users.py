"""Users: the audit records of a change to a user, a password, a lockout, a second factor."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from renfang.accounts.lockout import failures_clear_for_user

# --- Users -------------------------------------------------------------------------------
from renfang.accounts.services.common import (
    USER_FIELDS,
    Actor,
    _event,
)
from renfang.audit.services import audit_record_many


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
