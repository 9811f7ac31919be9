"""Writing the audit log: every event is chained to the one before under a lock on the
chain's head row, in the caller's transaction when there is one (a write and its audit
commit together) and in a transaction of its own otherwise (a read). ADR 0009.

An event's hash is HMAC-SHA-256, under a key the database does not hold (ADR 0019), over
``prev_hash``, its fields as a JSON array, and its detail as canonical JSON (sorted keys, no
spaces); events written before the key (ids up to the head's ``legacy_upto``) keep their plain
SHA-256. The detail is stored as that canonical text, made of
values that come back from PostgreSQL's jsonb and SQLite's text unchanged, so ``audit_verify``
recomputes the same hash from what it reads.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import math
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.utils import timezone

from renfang.audit.checks import MINIMUM_RETENTION_DAYS
from renfang.audit.context import AuditContext, current_context
from renfang.audit.keys import purge_token, sign
from renfang.audit.models import Action, AuditEvent, AuditHead, AuditPersonRef
from renfang.core import bulk

GENESIS = "0" * 64
SYSTEM = "system"  # the name on events no user caused (commands, imports, the purge)
User = AbstractBaseUser | AnonymousUser

# Tests and benchmarks may switch recording off to measure its cost; nothing else does.
_enabled = True


def set_recording(enabled: bool) -> None:
    global _enabled  # noqa: PLW0603 (a process-wide switch for the benchmark only)
    _enabled = enabled


def is_recording() -> bool:
    return _enabled


@dataclass(frozen=True)
class PendingEvent:
    """An event before it is chained: what the caller knows."""

    action: str
    user: User | None = None
    record_type: str = ""
    record_id: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    purpose: str = ""
    username: str = ""  # for events without a user (a failed login names what was typed)
    # The detail already written as canonical JSON (sorted keys, no spaces, strings as
    # json.dumps(ensure_ascii=False) writes them), by a bulk writer that renders thousands
    # of events faster than dicts can be built and encoded; used instead of ``detail``.
    detail_text: str = ""


# ---------------------------------------------------------------- canonical form and hash

_SEPARATORS = (",", ":")
# Built once: json.dumps with options builds an encoder on every call.
_CANONICAL = json.JSONEncoder(
    sort_keys=True, ensure_ascii=False, separators=_SEPARATORS, default=str, allow_nan=False
).encode
_STRICT = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=_SEPARATORS).encode


def _text(value: object, limit: int | None = None) -> str:
    """A string both databases store and give back unchanged: no NUL, no lone surrogate."""
    text = str(value) if limit is None else str(value)[:limit]
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    if not text.isascii():
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def _tame(value: Any) -> Any:
    """The detail in values that survive a round trip through jsonb."""
    if isinstance(value, dict):
        return {_text(key): _tame(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_tame(item) for item in value]
    if isinstance(value, float) and math.isfinite(value):
        return int(value) if value.is_integer() else value
    if value is None or isinstance(value, bool | int):
        return value
    return _text(value)  # strings, and what JSON lacks (NaN and infinities among them)


def _dumps(value: Any) -> str:
    text: str = _STRICT(value)
    return text


# What PostgreSQL's jsonb would not give back as it was given: a NUL (refused), floats
# written with an exponent (1e+16 comes back as 10000000000000000), NaN and infinities
# (refused), a negative zero. Rare; such a detail goes the slow way through _tame (NaN and
# infinities make the encoder fail; the rest are looked for in the text, in a string too).
def _suspect(data: bytes) -> bool:
    # On the UTF-8 bytes, looking for a rare single byte first: that search is a memchr,
    # the others are not (several microseconds for an import's event, times millions).
    return (
        (b"+" in data and (b"e+" in data or b"E+" in data))
        or (b"\\" in data and b"\\u0000" in data)
        or b"-0.0" in data
    )


def _canonical(detail: Any) -> tuple[str, bytes]:
    """The detail as canonical JSON text, and that text in UTF-8."""
    try:
        text: str = _CANONICAL(detail)
        data = text.encode("utf-8")
    except (TypeError, ValueError):  # keys of mixed types; NaN; a lone surrogate
        text = _dumps(_tame(detail))
        return text, text.encode("utf-8")
    if _suspect(data):
        text = _dumps(_tame(json.loads(text)))
        return text, text.encode("utf-8")
    return text, data


def canonical_detail(detail: Any) -> str:
    """The detail as canonical JSON text: what is hashed and what is stored. Dates and other
    values JSON lacks become strings."""
    return _canonical(detail)[0]


def _given_detail(text: str) -> tuple[str, bytes]:
    """A detail the caller wrote as canonical text, made safe like any other."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        return _canonical(json.loads(text))
    return _canonical(json.loads(text)) if _suspect(data) else (text, data)


def _iso(at: datetime.datetime) -> str:
    return at.astimezone(datetime.UTC).isoformat(timespec="microseconds")


def _digest(prev_hash: str, fields: list[Any] | str, detail: bytes, *, keyed: bool = True) -> str:
    """The event hash: ``prev_hash`` ⏎ the fields as a JSON array ⏎ the detail's canonical
    UTF-8. prev_hash has a fixed length and the JSON array cannot contain a raw newline, so
    the three parts cannot be shifted into one another. Keyed (HMAC-SHA-256 under the chain
    key) for every event since the switch-over; plain SHA-256 for the events before it."""
    array = fields if isinstance(fields, str) else _STRICT(fields)
    message = f"{prev_hash}\n{array}\n".encode() + detail
    return sign("chain", message) if keyed else hashlib.sha256(message).hexdigest()


def head_mac(last_id: int, last_hash: str, legacy_upto: int) -> str:
    """The head's signature: who holds only the database cannot move the head (ADR 0019)."""
    return sign("head", f"{last_id}:{last_hash}:{legacy_upto}")


def _move_head(head: AuditHead, last_id: int, last_hash: str) -> None:
    head.last_id, head.last_hash = last_id, last_hash
    head.mac = head_mac(last_id, last_hash, head.legacy_upto)
    head.save(update_fields=["last_id", "last_hash", "mac"])


_json_text = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) uses


def _fields_array(fields: tuple[str, int | None, str, str, str, str, str, str, str]) -> str:
    """Exactly what ``_STRICT`` writes for these fields (at, user_id, username, ip, channel,
    action, record_type, record_id, purpose; a test holds the two together), in a third of
    the time: an import hashes millions."""
    at_text, user_id, *texts = fields
    user = "null" if user_id is None else str(user_id)
    return f"[{_json_text(at_text)},{user},{','.join(map(_json_text, texts))}]"


def event_hash(
    *,
    prev_hash: str,
    at: datetime.datetime,
    user_id: int | None,
    username: str,
    ip: str,
    channel: str,
    action: str,
    record_type: str,
    record_id: str,
    detail: Any,
    purpose: str,
    keyed: bool = True,
) -> str:
    """The hash of an event as stored (``detail`` as read back from the database); ``keyed``
    False: the plain SHA-256 of the events before the audit key."""
    fields = [_iso(at), user_id, username, ip, channel, action, record_type, record_id, purpose]
    return _digest(prev_hash, fields, _dumps(detail).encode("utf-8"), keyed=keyed)


# ---------------------------------------------------------------- appending


def _locked_head() -> AuditHead:
    """The head row, locked until the transaction ends: appends queue up here, one chain."""
    head = AuditHead.objects.select_for_update().filter(pk=1).first()
    if head is None:  # the first event ever (or a flushed test database): keyed from here
        AuditHead.objects.get_or_create(
            pk=1,
            defaults={
                "last_id": 0,
                "last_hash": GENESIS,
                "legacy_upto": 0,
                "mac": head_mac(0, GENESIS, 0),
            },
        )
        head = AuditHead.objects.select_for_update().get(pk=1)
    return head


# The columns of a stored event, in the order _row gives them.
_COLUMNS = [
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
    "prev_hash",
    "hash",
]
Row = tuple[Any, ...]


def _row(
    pending: PendingEvent, prev_hash: str, at: Any, at_text: str, context: AuditContext
) -> Row:
    """An event ready to store, chained to ``prev_hash``: its columns with the detail as
    canonical text (``at`` as given, ``at_text`` the same time as hashed)."""
    user = pending.user
    if user is not None and user.is_authenticated:
        user_id: int | None = int(str(user.pk))
        username = _text(user.get_username(), 150)
    else:
        user_id, username = None, _text(pending.username, 150)
    ip, channel = _text(context.ip, 45), context.channel
    action, record_type = _text(pending.action, 20), _text(pending.record_type, 20)
    record_id, purpose = _text(pending.record_id, 64), _text(pending.purpose, 300)
    if pending.detail_text:
        detail_text, detail_data = _given_detail(pending.detail_text)
    else:
        detail_text, detail_data = _canonical(pending.detail)
    fields = (at_text, user_id, username, ip, channel, action, record_type, record_id, purpose)
    digest = _digest(prev_hash, _fields_array(fields), detail_data)
    return (
        at,
        user_id,
        username,
        ip,
        channel,
        action,
        record_type,
        record_id,
        detail_text,
        purpose,
        prev_hash,
        digest,
    )


def _model(row: Row) -> AuditEvent:
    values = dict(zip(_COLUMNS, row, strict=True))
    values["detail"] = json.loads(values["detail"])
    return AuditEvent(**values)


def audit_record_many(events: Sequence[PendingEvent]) -> list[AuditEvent]:
    """Append events to the chain, in order, atomically; returns them saved. For a few
    events; a bulk writer (an import) streams thousands with ``audit_record_stream``."""
    if not _enabled or not events:
        return []
    with transaction.atomic():
        head = _locked_head()
        at = timezone.now()  # taken under the lock: time never runs backwards in the chain
        at_text, context = _iso(at), current_context()
        built: list[AuditEvent] = []
        prev_hash = head.last_hash
        for pending in events:
            row = _row(pending, prev_hash, at, at_text, context)
            built.append(_model(row))
            prev_hash = row[-1]
        if len(built) == 1:
            built[0].save(force_insert=True)
        else:
            AuditEvent.objects.bulk_create(built, batch_size=2000)
        _move_head(head, int(built[-1].pk), prev_hash)
        _index_people(built)
    return built


PERSON_IDS = "person_ids"  # the detail key of a list, search or export: the people it showed


def person_ids(detail: Any) -> list[int]:
    """The person ids a list event's detail names (ADR 0018: one event, many people)."""
    ids = detail.get(PERSON_IDS) if isinstance(detail, dict) else None
    if not isinstance(ids, list):
        return []
    return [item for item in ids if isinstance(item, int) and not isinstance(item, bool)]


def _index_people(events: Sequence[AuditEvent]) -> None:
    """The side index of list events by person: "who has read this person" finds a person
    shown in a list with one index lookup. Derived from the chained detail; verify checks it."""
    refs = [
        AuditPersonRef(event_id=event.pk, person_id=person_id)
        for event in events
        for person_id in dict.fromkeys(person_ids(event.detail))
    ]
    if refs:
        AuditPersonRef.objects.bulk_create(refs, batch_size=5000)


def audit_record_stream(events: Iterable[PendingEvent]) -> int:
    """Append many events in order, atomically, without holding them all in memory: the
    events are hashed as they are read and written with COPY (PostgreSQL) or executemany
    (SQLite). Call it last in a long transaction: the head stays locked until the commit,
    and every other audited action waits for it. Returns how many were written."""
    if not _enabled:
        return 0
    with transaction.atomic():
        head = _locked_head()
        at = timezone.now()
        stored_at = bulk.db_value(AuditEvent, "at", at)
        at_text = _iso(at)
        context = current_context()
        last_hash = head.last_hash

        def rows() -> Iterator[Row]:
            nonlocal last_hash
            for pending in events:
                row = _row(pending, last_hash, stored_at, at_text, context)
                last_hash = row[-1]
                yield row

        written = bulk.insert(AuditEvent, _COLUMNS, rows())
        if written:
            _move_head(head, _last_inserted_id(), last_hash)
    return written


def _last_inserted_id() -> int:
    """The id the database gave the last row this connection inserted into the log."""
    with connection.cursor() as cursor:
        if bulk.is_postgresql():
            cursor.execute(
                "SELECT currval(pg_get_serial_sequence(%s, 'id'))", [bulk.table(AuditEvent)]
            )
        else:
            cursor.execute("SELECT last_insert_rowid()")
        return int(cursor.fetchone()[0])


def audit_record(
    action: str,
    *,
    user: User | None,
    record_type: str = "",
    record_id: str | int = "",
    detail: dict[str, Any] | None = None,
    purpose: str = "",
    username: str = "",
) -> AuditEvent | None:
    """Append one event: who (``user``), what (``action``), which record, the detail (search
    terms, field changes, row counts) and why (``purpose``). When and where come from the
    clock and the request's audit context."""
    built = audit_record_many(
        [
            PendingEvent(
                action=action,
                user=user,
                record_type=record_type,
                record_id=str(record_id),
                detail=detail or {},
                purpose=purpose,
                username=username,
            )
        ]
    )
    return built[0] if built else None


def audit_people_shown(
    user: User | None,
    people: Iterable[int | str],
    *,
    listed: str,
    record_type: str = "person",
    record_id: str | int = "",
    action: str = Action.READ,
    detail: dict[str, Any] | None = None,
) -> AuditEvent | None:
    """One event naming every person a list, search, export or feed read showed (ADR 0018):
    "who has read this person" finds it through the person index. Nothing when it showed
    nobody (and ``detail`` is not to be recorded anyway)."""
    ids = list(dict.fromkeys(int(person) for person in people))
    if not ids and detail is None:
        return None
    return audit_record(
        action,
        user=user,
        record_type=record_type,
        record_id=record_id,
        detail={**(detail or {}), "list": listed, PERSON_IDS: ids},
    )


# ---------------------------------------------------------------- writes: field, old, new


def _plain_value(value: Any) -> Any:
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def field_change(name: str, old: Any, new: Any) -> dict[str, Any]:
    """One line of a write's detail: the field, its value before and after (None: there was
    none, or there is none now). Dates become ISO text, decimals text."""
    return {"field": name, "old": _plain_value(old), "new": _plain_value(new)}


def write_event(
    *,
    actor: User | None,
    record_type: str,
    record_id: str | int,
    changes: list[dict[str, Any]],
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
    changes: list[dict[str, Any]],
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


# ---------------------------------------------------------------- verifying


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


# ---------------------------------------------------------------- anchors (ADR 0019)


@dataclass(frozen=True)
class Anchor:
    """A signed head, appended to a file the database's owners cannot rewrite."""

    last_id: int
    last_hash: str
    at: str
    legacy_upto: int
    key: str
    mac: str

    def message(self) -> str:
        return f"{self.last_id}:{self.last_hash}:{self.at}:{self.legacy_upto}:{self.key}"

    def line(self) -> str:
        return _STRICT(
            {
                "id": self.last_id,
                "hash": self.last_hash,
                "at": self.at,
                "legacy_upto": self.legacy_upto,
                "key": self.key,
                "mac": self.mac,
            }
        )


def audit_anchor(path: Path) -> Anchor:
    """Sign the chain's head as it is now and append it, one JSON line, to ``path`` (made if
    missing; flushed to disk before returning)."""
    from renfang.audit.keys import key_id  # noqa: PLC0415

    with transaction.atomic():
        head = _locked_head()  # no append between reading the head and signing it
        unsigned = Anchor(
            last_id=head.last_id,
            last_hash=head.last_hash,
            at=_iso(timezone.now()),
            legacy_upto=head.legacy_upto,
            key=key_id(),
            mac="",
        )
    anchor = Anchor(**{**unsigned.__dict__, "mac": sign("anchor", unsigned.message())})
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(anchor.line() + "\n")
        out.flush()
        os.fsync(out.fileno())
    return anchor


class AnchorFileError(Exception):
    """An anchors file that cannot be read."""


def read_anchors(path: Path) -> list[tuple[int, Anchor | None]]:
    """The anchors of a file, by line number; None for a line that is not a signed anchor."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise AnchorFileError(f"{path}: {error.strerror}") from None
    anchors: list[tuple[int, Anchor | None]] = []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            data = json.loads(text)
            anchor = Anchor(
                last_id=int(data["id"]),
                last_hash=str(data["hash"]),
                at=str(data["at"]),
                legacy_upto=int(data["legacy_upto"]),
                key=str(data["key"]),
                mac=str(data["mac"]),
            )
        except (ValueError, KeyError, TypeError):
            anchors.append((number, None))
            continue
        good = hmac.compare_digest(anchor.mac, sign("anchor", anchor.message()))
        anchors.append((number, anchor if good else None))
    return anchors


@dataclass(frozen=True)
class AnchorProblem:
    problem: str
    line: int
    event_id: int | None = None
    head_id: int = 0
    anchored_at: str = ""

    @property
    def reason(self) -> str:
        return _REASONS.get(self.problem, "")


def verify_anchors(path: Path) -> list[AnchorProblem]:
    """Check the chain against every anchor in ``path``: the head must not be older than an
    anchor, and each anchored event must still have its anchored hash (or have been purged
    by a keyed purge event)."""
    anchors = read_anchors(path)
    head = AuditHead.objects.filter(pk=1).first()
    head_id = head.last_id if head is not None else 0
    purged_upto = _purged_upto()
    problems: list[AnchorProblem] = []
    signed = [(line, anchor) for line, anchor in anchors if anchor is not None]
    for line, anchor in anchors:
        if anchor is None:
            problems.append(AnchorProblem(Problem.ANCHOR_FORGED, line))
    wanted = [anchor.last_id for _line, anchor in signed if anchor.last_id]
    stored: dict[int, str] = {}
    for start in range(0, len(wanted), 5000):
        stored.update(
            AuditEvent.objects.filter(id__in=wanted[start : start + 5000]).values_list("id", "hash")
        )
    for line, anchor in signed:
        if anchor.last_id > head_id:
            problems.append(
                AnchorProblem(Problem.ANCHOR_AHEAD, line, anchor.last_id, head_id, anchor.at)
            )
        elif anchor.last_id == 0:
            continue
        elif anchor.last_id in stored:
            if stored[anchor.last_id] != anchor.last_hash:
                problems.append(
                    AnchorProblem(Problem.ANCHOR_MISMATCH, line, anchor.last_id, head_id, anchor.at)
                )
        elif anchor.last_id > purged_upto:
            problems.append(
                AnchorProblem(Problem.ANCHOR_MISMATCH, line, anchor.last_id, head_id, anchor.at)
            )
    return problems


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
