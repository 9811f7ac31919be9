"""Writing the audit log: every event is chained to the one before under a lock on the
chain's head row, in the caller's transaction when there is one (a write and its audit
commit together) and in a transaction of its own otherwise (a read). ADR 0009.

An event's hash is HMAC-SHA-256, under a key the database does not hold (ADR 0019), over
``prev_hash``, its fields as a JSON array, and its detail as canonical JSON (sorted keys, no
spaces); events written before the key (ids up to the head's ``legacy_upto``) keep their plain
SHA-256. The detail is stored as that canonical text, made of
values that come back from PostgreSQL's jsonb and SQLite's text unchanged, so ``audit_verify``
recomputes the same hash from what it reads.

The package's modules: ``chain`` (recording events, their canonical form and hash),
``writes`` (the event of a write: its field changes), ``verify`` (checking the chain),
``anchors`` (the signed head outside the database), ``purge`` (retention). Callers import from
the package: every name they used from the former ``audit/services.py`` is here (ADR 0029).
"""

# Tests patch ``renfang.audit.services.timezone.now`` (Django's clock, for every module).
from django.utils import timezone as timezone

from renfang.audit.services.anchors import (
    Anchor,
    AnchorFileError,
    AnchorProblem,
    audit_anchor,
    read_anchors,
    verify_anchors,
)
from renfang.audit.services.chain import (
    _STRICT,
    GENESIS,
    PERSON_IDS,
    SYSTEM,
    PendingEvent,
    User,
    _fields_array,
    audit_people_shown,
    audit_record,
    audit_record_many,
    audit_record_stream,
    canonical_detail,
    event_hash,
    head_mac,
    is_recording,
    person_ids,
    set_recording,
)
from renfang.audit.services.purge import PurgeRefused, audit_purge, audit_tail, retention_days
from renfang.audit.services.verify import Problem, VerifyResult, audit_head, audit_verify
from renfang.audit.services.writes import audit_write, changes_json, field_change, write_event

__all__ = [
    "GENESIS",
    "PERSON_IDS",
    "SYSTEM",
    "_STRICT",
    "Anchor",
    "AnchorFileError",
    "AnchorProblem",
    "PendingEvent",
    "Problem",
    "PurgeRefused",
    "User",
    "VerifyResult",
    "_fields_array",
    "audit_anchor",
    "audit_head",
    "audit_people_shown",
    "audit_purge",
    "audit_record",
    "audit_record_many",
    "audit_record_stream",
    "audit_tail",
    "audit_verify",
    "audit_write",
    "canonical_detail",
    "changes_json",
    "event_hash",
    "field_change",
    "head_mac",
    "is_recording",
    "person_ids",
    "read_anchors",
    "retention_days",
    "set_recording",
    "timezone",
    "verify_anchors",
    "write_event",
]
