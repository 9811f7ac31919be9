"""Taking one published record (``record_publish``): refused when it cannot be read or lies
outside the publisher's grant, held when it would change a person the publisher cannot read,
else stored, linked to its person and the person's golden record refreshed (``_apply``), its
unmapped codes counted. See the package's docstring."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from renfang.accounts.access import access_for
from renfang.audit.models import Action
from renfang.audit.services import User, audit_record
from renfang.people import identify
from renfang.people.golden import golden_refresh
from renfang.sources.models import HeldRecord, Source, SourceRecord, UnmappedCode
from renfang.sources.services.publish.grant import (
    _grant_problems,
    _may_change,
    _refuse_outside_grant,
)
from renfang.sources.services.publish.linking import _holder, _person_for
from renfang.sources.services.publish.outcomes import NotPublisher, Published
from renfang.sources.services.publish.reading import _incoming, _unmapped_of
from renfang.sources.services.sources import (
    audit_write,
    history_publish_refused,
    history_sources,
)
from renfang.sources.services.store import IncomingRecord, records_store


def _unmapped_count(
    source: Source, before: set[tuple[str, str]], after: set[tuple[str, str]]
) -> None:
    """The source's unmapped codes, counted on: a code the record now carries is one record
    more, one it no longer carries one less (gone at none), as a file import would count."""
    now = timezone.now()
    for name, value in sorted(after - before):
        code, created = UnmappedCode.objects.get_or_create(
            source=source,
            field=name,
            value=value,
            defaults={"records": 1, "first_seen": now, "last_seen": now},
        )
        if not created:
            code.records += 1
            code.last_seen = now
            code.save(update_fields=["records", "last_seen"])
    for name, value in sorted(before - after):
        gone = UnmappedCode.objects.filter(source=source, field=name, value=value).first()
        if gone is None:
            continue
        if gone.records <= 1:
            gone.delete()
        else:
            gone.records -= 1
            gone.save(update_fields=["records"])


def _hold(
    source: Source,
    incoming: IncomingRecord,
    person_id: int,
    *,
    actor: User,
    known: bool,
    now: datetime.datetime,
) -> Published:
    """Keep a record that would change a person the publisher cannot read, unapplied; answer
    as a new (or changed) record is answered."""
    last = (
        HeldRecord.objects.filter(source=source, record_id=incoming.record_id)
        .order_by("-received_at", "-pk")
        .first()
    )
    if last is not None and last.raw == incoming.raw and last.person_id == person_id:
        status = "unchanged"
    else:
        status = "changed" if known or last is not None else "new"
        HeldRecord.objects.create(
            source=source,
            record_id=incoming.record_id,
            raw=incoming.raw,
            mapped=incoming.mapped,
            person_id=person_id,
            publisher_id=actor.pk if actor.is_authenticated else None,
            received_at=now,
        )
        audit_record(
            Action.DENIED,
            user=actor,
            record_type="person",
            record_id=person_id,
            detail={
                "reason": "published record held: the person is outside the publisher's areas",
                "source": source.code,
                "record_id": incoming.record_id,
            },
        )
    return Published(
        record_id=incoming.record_id,
        status=status,
        person_id=None,
        link_rule="",
        unmapped=sorted(_unmapped_of(incoming.problems)),
        held=True,
    )


def _refuse_history(actor: User, source: Source) -> None:
    """A record sent to a source that keeps people's history: refused before it is read, and
    audited as denied when its sender is one of the source's publishers (a grant left from
    before the source kept a history, or before golden.toml named it)."""
    if actor.is_authenticated and source.publishers.filter(pk=actor.pk).exists():
        audit_record(
            Action.DENIED,
            user=actor,
            record_type="source",
            record_id=source.code,
            detail={"reason": "record published to a source that keeps people's history"},
        )
    raise NotPublisher([("-", history_publish_refused(source.code))])


def record_publish(
    source: Source,
    values: Mapping[str, Any],
    *,
    actor: User,
    today: datetime.date | None = None,
) -> Published:
    """Take one record of ``source`` from ``actor`` (a publisher of the source), see the
    package's docstring. Raises PublishRefused (field, reason) and saves nothing when the
    record cannot be read or ``actor`` may not publish to the source (nobody publishes to a
    source that keeps people's history, whatever grant is left on it: ADR 0033)."""
    if source.code in history_sources():
        _refuse_history(actor, source)
    if not actor.is_authenticated or not source.publishers.filter(pk=actor.pk).exists():
        raise NotPublisher(
            [("-", _("you may not publish records of source %(code)s") % {"code": source.code})]
        )
    incoming = _incoming(source, values)
    access = access_for(actor)
    problems = _grant_problems(access, incoming.mapped)
    if problems:
        _refuse_outside_grant(actor, source, incoming.record_id, problems)
    now = timezone.now()
    # A held record tells its publisher that the person exists outside its areas (by the
    # answer's timing, if nothing else): held records are identification attempts, bounded
    # like missed number searches; the bound is checked before any person is looked up, so a
    # refusal (IdentifyRefused) is the same whoever the record names (issue 11 review).
    identify.check_budget(actor, access, identify.PUBLISH)
    with transaction.atomic():
        Source.objects.select_for_update().filter(pk=source.pk).first()
        before = SourceRecord.objects.filter(source=source, record_id=incoming.record_id).first()
        # The person the record would change: the one it is linked to, or its ID's holder.
        linked = before.person_id if before is not None else None
        person_id = linked if linked is not None else _holder(incoming.mapped)
        if person_id is not None and not _may_change(actor, person_id):
            published = _hold(
                source, incoming, person_id, actor=actor, known=before is not None, now=now
            )
        else:
            published = _apply(source, incoming, before, actor=actor, today=today, now=now)
    identify.settle(actor, access, identify.PUBLISH, hit=not published.held)
    return published


def _apply(
    source: Source,
    incoming: IncomingRecord,
    before: SourceRecord | None,
    *,
    actor: User,
    today: datetime.date | None,
    now: datetime.datetime,
) -> Published:
    """Store the record, link it and refresh its person (inside the caller's transaction)."""
    stored = records_store(source, [incoming], source_import=None, received_at=now)
    if stored.unchanged:
        assert before is not None
        return Published(
            record_id=incoming.record_id,
            status="unchanged",
            person_id=before.person_id,
            link_rule=before.link_rule,
        )
    record = SourceRecord.objects.get(source=source, record_id=incoming.record_id)
    status = "new" if stored.new else "changed"
    _unmapped_count(
        source,
        _unmapped_of(before.problems) if before is not None else set(),
        _unmapped_of(incoming.problems),
    )
    if record.person_id is None:
        person_id, rule, detail = _person_for(record, now)
        SourceRecord.objects.filter(pk=record.pk).update(
            person_id=person_id, link_rule=rule, link_detail=detail, linked_at=now
        )
        record.person_id, record.link_rule = person_id, rule
    assert record.person_id is not None
    audit_write(
        actor,
        "source_record",
        record.pk,
        {
            "action": "record published",
            "source": source.code,
            "record_id": incoming.record_id,
            "version": record.version,
            "status": status,
            "person": record.person_id,
            "link_rule": record.link_rule,
        },
    )
    golden_refresh([record.person_id], actor=actor, today=today)
    return Published(
        record_id=incoming.record_id,
        status=status,
        person_id=record.person_id,
        link_rule=record.link_rule,
        unmapped=sorted(_unmapped_of(incoming.problems)),
    )
