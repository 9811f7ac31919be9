"""Police areas: the audit records of their changes."""

from __future__ import annotations

from typing import Any

from renfang.accounts.access import forget_access
from renfang.accounts.models import PoliceArea, RoleGrant

# --- Police areas -------------------------------------------------------------
from renfang.accounts.services.common import (
    Actor,
    _event,
)
from renfang.audit.services import audit_record_many


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
