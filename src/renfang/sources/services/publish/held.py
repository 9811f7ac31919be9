"""Held records (ADR 0022): those a reviewer may decide, and the decision: apply one (as if its
publisher had sent it now) or reject it."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from renfang.accounts.access import access_for
from renfang.audit.services import User
from renfang.people.selectors import people_visible_to
from renfang.sources.models import HeldRecord, Source, SourceRecord
from renfang.sources.services.publish.grant import _grant_problems
from renfang.sources.services.publish.outcomes import OutsideGrant, Published, PublishRefused
from renfang.sources.services.publish.reading import _incoming
from renfang.sources.services.publish.record import _apply
from renfang.sources.services.sources import (
    audit_write,
    history_publish_refused,
    history_sources,
)


def held_records_for(user: User, source: Source) -> QuerySet[HeldRecord]:
    """The source's held records a reviewer may decide: those of persons the user reads, for
    a user who manages sources (others: none)."""
    if not access_for(user).manages_sources:
        return HeldRecord.objects.none()
    visible = people_visible_to(user).values("pk")
    return HeldRecord.objects.filter(source=source, person_id__in=visible).order_by(
        "received_at", "pk"
    )


class HeldRecordMissing(LookupError):
    """No such held record among those the user may decide."""


def held_record_decide(
    source: Source,
    held_id: int,
    *,
    apply: bool,
    actor: User,
    today: datetime.date | None = None,
) -> Published | None:
    """Apply a held record (as if its publisher had sent it now, read by the source's current
    mapping; the reviewer must be granted what it sets) or reject it; audited either way. A
    held record of a source that keeps people's history is never applied (ADR 0033).
    Raises HeldRecordMissing, PublishRefused."""
    held = held_records_for(actor, source).filter(pk=held_id).first()
    if held is None:
        raise HeldRecordMissing(held_id)
    detail = {
        "source": source.code,
        "record_id": held.record_id,
        "person": held.person_id,
        "publisher": held.publisher_id,
    }
    if not apply:
        with transaction.atomic():
            held.delete()
            audit_write(actor, "held_record", held_id, {"action": "held record rejected", **detail})
        return None
    if source.code in history_sources():
        raise PublishRefused([("-", history_publish_refused(source.code))])
    incoming = _incoming(source, held.raw)
    problems = _grant_problems(access_for(actor), incoming.mapped)
    if problems:
        raise OutsideGrant(problems)
    now = timezone.now()
    with transaction.atomic():
        Source.objects.select_for_update().filter(pk=source.pk).first()
        before = SourceRecord.objects.filter(source=source, record_id=incoming.record_id).first()
        held.delete()
        audit_write(actor, "held_record", held_id, {"action": "held record applied", **detail})
        return _apply(source, incoming, before, actor=actor, today=today, now=now)
