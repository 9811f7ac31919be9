"""Retention: removing the oldest events past the retention period; the tail of the log."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.utils import timezone

from renfang.audit.checks import MINIMUM_RETENTION_DAYS
from renfang.audit.keys import purge_token
from renfang.audit.models import Action, AuditEvent, AuditPersonRef
from renfang.audit.services.chain import SYSTEM, _locked_head, audit_record
from renfang.audit.services.verify import VerifyResult, _verify


def _purged_upto() -> int:
    """The last event id a (keyed, verified) purge event says it deleted."""
    anchors = AuditEvent.objects.filter(action=Action.PURGE).values_list("detail", flat=True)
    return max(
        (int(detail.get("anchor_id", 0)) for detail in anchors if isinstance(detail, dict)),
        default=0,
    )


# ---------------------------------------------------------------- retention


def retention_days() -> int:
    return int(settings.RENFANG_AUDIT_RETENTION_DAYS)


class PurgeRefused(Exception):
    """The events to delete do not verify: deleting them would destroy the evidence."""

    def __init__(self, result: VerifyResult) -> None:
        super().__init__(f"event #{result.broken_id}: {result.reason}")
        self.result = result


def audit_purge(*, now: datetime.datetime | None = None, force: bool = False) -> int:
    """Delete events older than the retention period, leaving a purge event that anchors
    the rest of the chain. Returns how many were deleted.

    The events to be deleted are verified first, and a broken chain is not purged (that
    would erase the evidence) unless ``force``; the purge event says which it was."""
    days = retention_days()
    if days < MINIMUM_RETENTION_DAYS:
        raise ImproperlyConfigured(
            f"RENFANG_AUDIT_RETENTION_DAYS is {days}; at least {MINIMUM_RETENTION_DAYS}"
        )
    cutoff = (now or timezone.now()) - datetime.timedelta(days=days)
    with transaction.atomic():
        head = _locked_head()
        last = (
            AuditEvent.objects.filter(at__lt=cutoff, id__lte=head.last_id)
            .order_by("-id")
            .values("id", "hash")
            .first()
        )
        if last is None:
            return 0
        checked = _verify(last["id"], None)
        if not checked.ok and not force:
            raise PurgeRefused(checked)
        _allow_delete(True)
        deleted, _ = AuditEvent.objects.filter(id__lte=last["id"]).delete()
        _allow_delete(False)
        AuditPersonRef.objects.filter(event_id__lte=last["id"]).delete()
        audit_record(
            Action.PURGE,
            user=None,
            username=SYSTEM,
            detail={
                "deleted": deleted,
                "before": cutoff.isoformat(),
                "anchor_id": last["id"],
                "anchor_hash": last["hash"],
                "retention_days": days,
                "verified": checked.ok,
            },
        )
    return deleted


def _allow_delete(allowed: bool) -> None:
    """The append-only trigger lets a delete through only while this transaction presents the
    purge token, which only a holder of the audit key can make (ADR 0019)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('renfang.audit_purge', %s, true)",
                [purge_token() if allowed else "off"],
            )


def audit_tail(count: int) -> list[AuditEvent]:
    """The latest ``count`` events, oldest first."""
    return list(reversed(AuditEvent.objects.order_by("-id")[:count]))
