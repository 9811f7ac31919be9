"""What the account services share: the actor of a change, the fields of a user kept in the
audit, the audit event of a change."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser

from renfang.audit.models import Action
from renfang.audit.services import SYSTEM, PendingEvent

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
