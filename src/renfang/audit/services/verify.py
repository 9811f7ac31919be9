"""Checking the chain: every event's hash and link, the people index, the signed head."""

from __future__ import annotations

import datetime
import hmac
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction

from renfang.audit.models import Action, AuditEvent, AuditHead, AuditPersonRef

# ---------------------------------------------------------------- verifying
from renfang.audit.services.chain import (
    GENESIS,
    PERSON_IDS,
    _digest,
    _dumps,
    _iso,
    head_mac,
    person_ids,
)


class Problem:
    """What ``audit_verify`` found wrong."""

    ALTERED = "altered"  # an event's content does not match its hash
    MISSING = "missing"  # an event's link does not match the event before: one is missing
    MISSING_LATEST = "missing_latest"  # the chain ends before the head: the latest are gone
    HEAD_MISSING = "head_missing"  # events without a head row
    UNCHAINED = "unchained"  # an event past the head: written around the chain, by hand
    HEAD_FORGED = "head_forged"  # the head is not signed with the audit key: moved by hand
    UNINDEXED = "unindexed"  # a list event's people are missing from the person index
    ANCHOR_AHEAD = "anchor_ahead"  # an anchor names an event past the head: the tail is gone
    ANCHOR_MISMATCH = "anchor_mismatch"  # the event an anchor names has another hash, or is gone
    ANCHOR_FORGED = "anchor_forged"  # an anchor line not signed with the audit key


_REASONS = {
    Problem.ALTERED: "the event's content was altered: it does not match its hash",
    Problem.MISSING: "the link to the previous event is broken: an event before it is missing "
    "(or the previous one was rewritten)",
    Problem.MISSING_LATEST: "the chain ends before its head: the latest events are missing",
    Problem.HEAD_MISSING: "the chain head is missing",
    Problem.UNCHAINED: "the event lies past the chain's head: it was written around the chain",
    Problem.HEAD_FORGED: "the chain's head is not signed with the audit key: it was moved by "
    "hand (the latest events may have been deleted)",
    Problem.UNINDEXED: "the people this list event showed are missing from the person index",
    Problem.ANCHOR_AHEAD: "an anchor names an event past the chain's head: the latest events "
    "were deleted and the head moved back",
    Problem.ANCHOR_MISMATCH: "the event an anchor names no longer has the anchored hash: the "
    "chain was rewritten",
    Problem.ANCHOR_FORGED: "an anchor is not signed with the audit key",
}


@dataclass(frozen=True)
class VerifyResult:
    """``checked`` events were intact; then, unless ``ok``, the ``problem`` at event
    ``broken_id`` (its time and user when it is there to read), after ``last_good_id``."""

    checked: int
    broken_id: int | None = None
    problem: str = ""
    broken_at: datetime.datetime | None = None
    broken_username: str = ""
    broken_user_id: int | None = None
    last_good_id: int | None = None
    head_id: int = 0
    head_hash: str = GENESIS

    @property
    def ok(self) -> bool:
        return not self.problem

    @property
    def reason(self) -> str:
        return _REASONS.get(self.problem, "")


_VERIFY_FIELDS = (
    "id",
    "prev_hash",
    "at",
    "user_id",
    "username",
    "ip",
    "channel",
    "action",
    "record_type",
    "record_id",
    "detail",
    "purpose",
    "hash",
)
_PROGRESS_EVERY = 5000


def _anchor(head_id: int) -> str:
    """The hash the first kept event must follow: the genesis, or what the last purge cut."""
    purge = (
        AuditEvent.objects.filter(action=Action.PURGE, id__lte=head_id)
        .order_by("-id")
        .values("detail")
        .first()
    )
    if purge and isinstance(purge["detail"], dict) and purge["detail"].get("anchor_hash"):
        return str(purge["detail"]["anchor_hash"])
    return GENESIS


def _verify(  # noqa: C901, PLR0911, PLR0912 (one walk, each problem where it shows)
    upto: int | None, on_progress: Callable[[int], object] | None
) -> VerifyResult:
    head = AuditHead.objects.filter(pk=1).first()
    head_id = head.last_id if head is not None else None
    last_id = head_id if upto is None else upto
    expected_prev = _anchor(last_id if last_id is not None else 2**62)
    checked = 0
    last_good: int | None = None
    rows = AuditEvent.objects.order_by("id").values_list(*_VERIFY_FIELDS)
    if last_id is not None:
        rows = rows.filter(id__lte=last_id)
    legacy_upto = head.legacy_upto if head is not None else 0
    listed: dict[int, list[int]] = {}  # list events of the current batch: their people
    for row in rows.iterator(chunk_size=_PROGRESS_EVERY):
        event_id, prev_hash, at, user_id, username, ip, channel, action = row[:8]
        record_type, record_id, detail, purpose, stored_hash = row[8:]
        problem = ""
        if prev_hash != expected_prev:
            problem = Problem.MISSING
        else:
            fields = [_iso(at), user_id, username, ip, channel, action, record_type, record_id]
            fields.append(purpose)
            keyed = event_id > legacy_upto
            if _digest(prev_hash, fields, _dumps(detail).encode("utf-8"), keyed=keyed) != (
                stored_hash
            ):
                problem = Problem.ALTERED
        if not problem and isinstance(detail, dict) and PERSON_IDS in detail:
            listed[event_id] = person_ids(detail)
            if len(listed) >= _INDEX_BATCH:
                unindexed = _unindexed(listed)
                listed = {}
                if unindexed is not None:
                    return _broken_at(unindexed, Problem.UNINDEXED, checked, head)
        if problem:
            return VerifyResult(
                checked,
                broken_id=event_id,
                problem=problem,
                broken_at=at,
                broken_username=username,
                broken_user_id=user_id,
                last_good_id=last_good,
                head_id=head_id or 0,
                head_hash=head.last_hash if head is not None else GENESIS,
            )
        expected_prev = stored_hash
        last_good = event_id
        checked += 1
        if on_progress is not None and checked % _PROGRESS_EVERY == 0:
            on_progress(_PROGRESS_EVERY)
    if on_progress is not None:
        on_progress(checked % _PROGRESS_EVERY)
    unindexed = _unindexed(listed)
    if unindexed is not None:
        return _broken_at(unindexed, Problem.UNINDEXED, checked, head)
    if (
        head is not None
        and upto is None
        and not hmac.compare_digest(
            head.mac, head_mac(head.last_id, head.last_hash, head.legacy_upto)
        )
    ):
        return VerifyResult(
            checked,
            broken_id=head.last_id,
            problem=Problem.HEAD_FORGED,
            last_good_id=last_good,
            head_id=head.last_id,
            head_hash=head.last_hash,
        )
    if head is None:
        problem = Problem.HEAD_MISSING if checked else ""
        return VerifyResult(checked, problem=problem, last_good_id=last_good)
    if upto is None and (head.last_id != (last_good or 0) or head.last_hash != expected_prev):
        return VerifyResult(
            checked,
            broken_id=head.last_id,
            problem=Problem.MISSING_LATEST,
            last_good_id=last_good,
            head_id=head.last_id,
            head_hash=head.last_hash,
        )
    if upto is None:
        stray = _unchained_event(head.last_id)
        if stray is not None:
            return VerifyResult(
                checked,
                broken_id=stray.id,
                problem=Problem.UNCHAINED,
                broken_at=stray.at,
                broken_username=stray.username,
                broken_user_id=stray.user_id,
                last_good_id=last_good,
                head_id=head.last_id,
                head_hash=head.last_hash,
            )
    return VerifyResult(
        checked, last_good_id=last_good, head_id=head.last_id, head_hash=head.last_hash
    )


_INDEX_BATCH = 2000


def _unindexed(listed: dict[int, list[int]]) -> int | None:
    """The first list event whose people are not all in the person index."""
    if not listed:
        return None
    found: dict[int, set[int]] = {}
    refs = AuditPersonRef.objects.filter(event_id__in=list(listed)).values_list(
        "event_id", "person_id"
    )
    for event_id, person_id in refs.iterator(chunk_size=20000):
        found.setdefault(event_id, set()).add(person_id)
    for event_id in sorted(listed):
        if not set(listed[event_id]) <= found.get(event_id, set()):
            return event_id
    return None


def _broken_at(event_id: int, problem: str, checked: int, head: AuditHead | None) -> VerifyResult:
    event = AuditEvent.objects.filter(pk=event_id).first()
    return VerifyResult(
        checked,
        broken_id=event_id,
        problem=problem,
        broken_at=event.at if event is not None else None,
        broken_username=event.username if event is not None else "",
        broken_user_id=event.user_id if event is not None else None,
        head_id=head.last_id if head is not None else 0,
        head_hash=head.last_hash if head is not None else GENESIS,
    )


def _unchained_event(head_id: int) -> AuditEvent | None:
    """The first event past the head that no append accounts for. An append that ran during
    the check (SQLite has no snapshot) has moved the head past its event by now."""
    stray = AuditEvent.objects.filter(id__gt=head_id).order_by("id").first()
    if stray is None:
        return None
    now_head = AuditHead.objects.filter(pk=1).values_list("last_id", flat=True).first()
    return stray if now_head is None or stray.id > now_head else None


def _in_snapshot(run: Callable[[], VerifyResult]) -> VerifyResult:
    """On PostgreSQL, read the head, the anchor and the events in one snapshot, so that
    events appended or purged meanwhile cannot look like a broken chain. (SQLite would
    lock out every writer for the whole run instead; there a purge meanwhile may give a
    false alarm, which ``audit_verify`` checks once more.)"""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return run()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        return run()


def audit_verify(on_progress: Callable[[int], object] | None = None) -> VerifyResult:
    """Recompute every event's hash and link, oldest first, up to the head; stop at the
    first broken one. ``on_progress(n)`` is called as events are checked."""
    purges_before = _purge_count()
    result = _in_snapshot(lambda: _verify(None, on_progress))
    if not result.ok and _purge_count() != purges_before:
        result = _in_snapshot(lambda: _verify(None, None))  # a purge ran meanwhile: again
    return result


def _purge_count() -> int:
    return AuditEvent.objects.filter(action=Action.PURGE).count()


def audit_head() -> tuple[int, str]:
    """The chain's last event id and hash, to copy somewhere the database's owners cannot
    rewrite (a log server, a ticket): a rewritten chain ends in another hash."""
    head = AuditHead.objects.filter(pk=1).first()
    return (head.last_id, head.last_hash) if head is not None else (0, GENESIS)
