"""The chain: recording events (one, many, a stream), their canonical detail and hash, the
changes of a write. ADR 0009, 0019."""

from __future__ import annotations

import datetime
import hashlib
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import connection, transaction
from django.utils import timezone

from renfang.audit.context import AuditContext, current_context
from renfang.audit.keys import sign
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


# What every event of one kind in a stream has alike (no user; the same name, action, record
# type and purpose: an import's thousands of events), worked out once: its columns as stored,
# and its fields as hashed, before and after the record id (``_fields_array``).
_Kind = tuple[int | None, str, str, str, str, str, str, str, str]
Kinds = dict[tuple[str, str, str, str], _Kind]


def _kind(pending: PendingEvent, at_text: str, context: AuditContext) -> _Kind:
    user = pending.user
    if user is not None and user.is_authenticated:
        user_id: int | None = int(str(user.pk))
        username = _text(user.get_username(), 150)
    else:
        user_id, username = None, _text(pending.username, 150)
    ip, channel = _text(context.ip, 45), context.channel
    action, record_type = _text(pending.action, 20), _text(pending.record_type, 20)
    purpose = _text(pending.purpose, 300)
    # _fields_array's text, in two: a record id goes in between
    user_text = "null" if user_id is None else str(user_id)
    texts = ",".join(map(_json_text, (username, ip, channel, action, record_type)))
    head, tail = f"[{_json_text(at_text)},{user_text},{texts},", f",{_json_text(purpose)}]"
    return (user_id, username, ip, channel, action, record_type, purpose, head, tail)


def _row(
    pending: PendingEvent,
    prev_hash: str,
    at: Any,
    at_text: str,
    context: AuditContext,
    *,
    kinds: Kinds | None = None,
) -> Row:
    """An event ready to store, chained to ``prev_hash``: its columns with the detail as
    canonical text (``at`` as given, ``at_text`` the same time as hashed). ``kinds``: what
    the stream's events without a user have alike, kept from one event to the next."""
    name, action, record_type, purpose = key = (
        pending.username,
        pending.action,
        pending.record_type,
        pending.purpose,
    )
    if (
        kinds is not None
        and pending.user is None
        and type(name) is type(action) is type(record_type) is type(purpose) is str
    ):
        kind = kinds.get(key)
        if kind is None:
            kind = kinds[key] = _kind(pending, at_text, context)
    else:
        kind = _kind(pending, at_text, context)
    user_id, username, ip, channel, action, record_type, purpose, head, tail = kind
    record_id = _text(pending.record_id, 64)
    if pending.detail_text:
        detail_text, detail_data = _given_detail(pending.detail_text)
    else:
        detail_text, detail_data = _canonical(pending.detail)
    digest = _digest(prev_hash, f"{head}{_json_text(record_id)}{tail}", detail_data)
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
        kinds: Kinds = {}
        for pending in events:
            row = _row(pending, prev_hash, at, at_text, context, kinds=kinds)
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
        kinds: Kinds = {}

        def rows() -> Iterator[Row]:
            nonlocal last_hash
            for pending in events:
                row = _row(pending, last_hash, stored_at, at_text, context, kinds=kinds)
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
