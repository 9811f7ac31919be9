"""The audit event of a write: which fields changed, from what to what."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from renfang.audit.models import Action, AuditEvent

# ---------------------------------------------------------------- writes: field, old, new
from renfang.audit.services.chain import SYSTEM, PendingEvent, User, audit_record_many
from renfang.core.changes import FieldChange


def _plain_value(value: Any) -> Any:
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def field_change(name: str, old: Any, new: Any) -> FieldChange:
    """One line of a write's detail: the field, its value before and after (None: there was
    none, or there is none now). Dates become ISO text, decimals text."""
    return {"field": name, "old": _plain_value(old), "new": _plain_value(new)}


def write_event(
    *,
    actor: User | None,
    record_type: str,
    record_id: str | int,
    changes: Sequence[FieldChange],
    source: str,
) -> PendingEvent:
    """The audit event of a write to one record; ``actor`` None is the system (a command)."""
    return PendingEvent(
        action=Action.WRITE,
        user=actor,
        username=SYSTEM if actor is None else "",
        record_type=record_type,
        record_id=str(record_id),
        detail={"changes": changes, "source": source},
    )


def audit_write(
    *,
    actor: User | None,
    record_type: str,
    record_id: str | int,
    changes: Sequence[FieldChange],
    source: str,
) -> AuditEvent | None:
    """Record a write (in the caller's transaction, so the write and its audit commit
    together); nothing when nothing changed."""
    if not changes:
        return None
    event = write_event(
        actor=actor, record_type=record_type, record_id=record_id, changes=changes, source=source
    )
    built = audit_record_many([event])
    return built[0] if built else None
