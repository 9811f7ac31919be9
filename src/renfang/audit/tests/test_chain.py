"""The hash chain itself: what is hashed, what survives the database, what verify catches,
and the append-only trigger."""

from __future__ import annotations

import datetime
import math
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.db import DatabaseError, transaction
from django.utils import timezone

from renfang.audit.context import audit_context
from renfang.audit.models import Action, AuditEvent, AuditHead, Channel
from renfang.audit.services import (
    GENESIS,
    PendingEvent,
    Problem,
    audit_head,
    audit_record,
    audit_record_many,
    audit_record_stream,
    audit_verify,
    canonical_detail,
    set_recording,
)
from renfang.audit.tests.chain import TABLE, as_database_owner, execute, only_postgresql

pytestmark = pytest.mark.django_db


def record(count: int, **kwargs: Any) -> list[AuditEvent]:
    events = []
    for number in range(count):
        event = audit_record(
            Action.READ, user=None, record_type="person", record_id=number, **kwargs
        )
        assert event is not None
        events.append(event)
    return events


def test_events_chain_each_to_the_one_before_and_the_head_names_the_last() -> None:
    first, second, third = record(3)

    assert first.prev_hash == GENESIS
    assert (second.prev_hash, third.prev_hash) == (first.hash, second.hash)
    assert audit_head() == (third.id, third.hash)
    result = audit_verify()
    assert result.ok and result.checked == 3
    assert (result.head_id, result.head_hash) == (third.id, third.hash)


def test_an_empty_log_verifies() -> None:
    result = audit_verify()

    assert result.ok and result.checked == 0


def test_who_where_and_why_are_recorded(django_user_model: type[User]) -> None:
    clerk = django_user_model.objects.create_user("clerk", password="x")

    with audit_context(ip="10.1.2.3", channel=Channel.API):
        event = audit_record(
            Action.UNMASK,
            user=clerk,
            record_type="person",
            record_id=42,
            detail={"field": "id_number"},
            purpose="发放补贴核对身份",
        )

    stored = AuditEvent.objects.get(pk=event.pk)  # type: ignore[union-attr]
    assert (stored.user_id, stored.username, stored.ip, stored.channel) == (
        clerk.pk,
        "clerk",
        "10.1.2.3",
        "api",
    )
    assert (stored.record_type, stored.record_id, stored.purpose) == (
        "person",
        "42",
        "发放补贴核对身份",
    )
    assert audit_verify().ok


# A detail with everything that does not come back from jsonb (or JSON) as it went in.
AWKWARD = {
    "zeta": 1,
    "alpha": [1.0, 2.5, 1e20, -0.0, 0.1, 1.5e-7, 2**70],
    "not_numbers": [math.nan, math.inf, -math.inf],
    "day": datetime.date(2026, 1, 2),
    "when": datetime.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=datetime.UTC),
    "money": Decimal("1.10"),
    "nul": "a\x00b",
    "lone_surrogate": "x\ud800y",
    "chinese": "张伟 徐汇区",
    "quotes": 'say "hi" \\ \t\n',
    "nested": {"b": None, "a": True, "c": {"e+": "1e+5", "NaN": "Infinity"}},
    "keys": {3: "int key", "3b": "str key"},
    "tuple": (1, "two"),
}


def test_an_awkward_detail_round_trips_through_the_database_and_verifies() -> None:
    event = audit_record(Action.WRITE, user=None, detail=AWKWARD)
    assert event is not None

    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.detail == event.detail  # what the caller gets back is what was stored
    assert stored.detail["alpha"] == [1.0, 2.5, 10**20, 0, 0.1, 1.5e-7, 2**70]
    assert stored.detail["not_numbers"] == ["nan", "inf", "-inf"]
    assert stored.detail["day"] == "2026-01-02"
    assert stored.detail["money"] == "1.10"
    assert stored.detail["nul"] == "a\ufffdb"
    assert stored.detail["lone_surrogate"] == "x?y"
    assert stored.detail["keys"] == {"3": "int key", "3b": "str key"}
    assert stored.detail["quotes"] == 'say "hi" \\ \t\n'
    assert audit_verify().ok


def test_awkward_details_stream_and_verify_too() -> None:
    written = audit_record_stream(
        PendingEvent(action=Action.WRITE, record_id=str(number), detail=AWKWARD | {"n": number})
        for number in range(50)
    )

    assert written == 50
    assert audit_verify().checked == 50


def test_a_detail_given_as_text_that_is_not_safe_is_made_safe() -> None:
    # A bulk writer's pre-rendered text with a NUL and an exponent: stored as any other.
    text = '{"a":"x\\u0000y","b":1e+20}'
    written = audit_record_stream([PendingEvent(action=Action.WRITE, detail_text=text)])

    assert written == 1
    assert AuditEvent.objects.get().detail == {"a": "x\ufffdy", "b": 10**20}
    assert audit_verify().ok


def test_the_canonical_detail_sorts_keys_and_has_no_spaces() -> None:
    assert canonical_detail({"b": [1, {"d": 1, "c": 2}], "a": "张"}) == (
        '{"a":"张","b":[1,{"c":2,"d":1}]}'
    )


def test_microseconds_and_time_zones_survive_the_round_trip() -> None:
    shanghai = datetime.timezone(datetime.timedelta(hours=8))
    moment = datetime.datetime(2026, 3, 4, 23, 59, 59, 999999, tzinfo=shanghai)
    with mock.patch("renfang.audit.services.timezone.now", return_value=moment):
        event = audit_record(Action.READ, user=None)

    stored = AuditEvent.objects.get(pk=event.pk)  # type: ignore[union-attr]
    assert stored.at == moment and stored.at.microsecond == 999999
    assert audit_verify().ok


def test_many_events_in_one_call_are_one_chain_in_order() -> None:
    record(2)
    built = audit_record_many(
        [PendingEvent(action=Action.READ, record_id=str(n)) for n in range(5)]
    )

    assert [event.record_id for event in built] == ["0", "1", "2", "3", "4"]
    assert all(event.pk for event in built)
    assert built[0].prev_hash == AuditEvent.objects.get(pk=built[0].pk - 1).hash
    assert audit_head() == (built[-1].pk, built[-1].hash)
    assert audit_verify().checked == 7


def test_a_stream_continues_the_chain_and_the_next_single_event_follows_it() -> None:
    record(2)
    written = audit_record_stream(
        PendingEvent(action=Action.WRITE, record_id=str(n)) for n in range(3000)
    )
    (after,) = record(1)

    assert written == 3000
    assert after.prev_hash == AuditEvent.objects.get(pk=after.pk - 1).hash
    assert audit_verify().checked == 3003
    assert AuditHead.objects.get().last_id == after.pk


def test_an_empty_stream_writes_nothing_and_leaves_the_head() -> None:
    record(1)
    head = audit_head()

    assert audit_record_stream(iter([])) == 0
    assert audit_head() == head


def test_events_that_fail_with_their_transaction_leave_the_chain_whole() -> None:
    record(2)
    with pytest.raises(RuntimeError), transaction.atomic():
        record(3)
        raise RuntimeError("the write failed")
    record(1)

    assert audit_verify().checked == 3


def test_recording_switched_off_writes_nothing() -> None:
    set_recording(False)
    try:
        assert audit_record(Action.READ, user=None) is None
        assert audit_record_stream([PendingEvent(action=Action.READ)]) == 0
    finally:
        set_recording(True)
    assert not AuditEvent.objects.exists()


# ---------------------------------------------------------------- tampering


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("username", "someone_else"),
        ("user_id", 999),
        ("ip", "10.9.9.9"),
        ("channel", "api"),
        ("action", "search"),
        ("record_type", "house"),
        ("record_id", "43"),
        ("purpose", "forged"),
        ("at", datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)),
    ],
)
def test_changing_any_column_of_an_event_is_found_at_that_event(column: str, value: object) -> None:
    events = record(5, purpose="check")
    target = events[2]

    with as_database_owner():
        AuditEvent.objects.filter(pk=target.pk).update(**{column: value})

    result = audit_verify()
    assert (result.problem, result.broken_id, result.checked) == (Problem.ALTERED, target.pk, 2)
    assert result.last_good_id == events[1].pk


def test_changing_the_detail_is_found() -> None:
    events = record(3, detail={"terms": "张伟"})

    with as_database_owner():
        AuditEvent.objects.filter(pk=events[1].pk).update(detail={"terms": "李娜"})

    result = audit_verify()
    assert (result.problem, result.broken_id) == (Problem.ALTERED, events[1].pk)


def test_an_event_rewritten_with_a_fresh_hash_breaks_the_next_link() -> None:
    events = record(4)
    forged = AuditEvent.objects.get(pk=events[1].pk)
    forged.username = "nobody"
    # The forger recomputes the hash of the event, but cannot touch the next one's link.
    from renfang.audit.services import event_hash  # noqa: PLC0415

    new_hash = event_hash(
        prev_hash=forged.prev_hash,
        at=forged.at,
        user_id=forged.user_id,
        username=forged.username,
        ip=forged.ip,
        channel=forged.channel,
        action=forged.action,
        record_type=forged.record_type,
        record_id=forged.record_id,
        detail=forged.detail,
        purpose=forged.purpose,
    )
    with as_database_owner():
        AuditEvent.objects.filter(pk=forged.pk).update(username="nobody", hash=new_hash)

    result = audit_verify()
    assert (result.problem, result.broken_id) == (Problem.MISSING, events[2].pk)


def test_a_deleted_event_in_the_middle_is_found_at_the_next_one() -> None:
    events = record(5)

    with as_database_owner():
        AuditEvent.objects.filter(pk=events[2].pk).delete()

    result = audit_verify()
    assert (result.problem, result.broken_id, result.last_good_id) == (
        Problem.MISSING,
        events[3].pk,
        events[1].pk,
    )


def test_deleting_the_first_event_is_found() -> None:
    events = record(3)

    with as_database_owner():
        AuditEvent.objects.filter(pk=events[0].pk).delete()

    result = audit_verify()
    assert (result.problem, result.broken_id, result.checked) == (Problem.MISSING, events[1].pk, 0)


def test_deleting_the_latest_events_is_found_by_the_head() -> None:
    events = record(5)

    with as_database_owner():
        AuditEvent.objects.filter(pk__gte=events[3].pk).delete()

    result = audit_verify()
    assert (result.problem, result.broken_id, result.last_good_id, result.checked) == (
        Problem.MISSING_LATEST,
        events[4].pk,
        events[2].pk,
        3,
    )


def test_deleting_every_event_is_found_by_the_head() -> None:
    events = record(2)

    with as_database_owner():
        AuditEvent.objects.all().delete()

    result = audit_verify()
    assert (result.problem, result.broken_id) == (Problem.MISSING_LATEST, events[1].pk)


def test_deleting_the_head_is_found() -> None:
    record(2)

    AuditHead.objects.all().delete()

    result = audit_verify()
    assert result.problem == Problem.HEAD_MISSING and result.checked == 2


def test_an_event_appended_after_the_last_was_deleted_does_not_hide_it() -> None:
    events = record(3)
    with as_database_owner():
        AuditEvent.objects.filter(pk=events[2].pk).delete()

    (after,) = record(1)

    assert after.pk > events[2].pk  # the deleted event's number is not given again
    result = audit_verify()
    assert (result.problem, result.broken_id) == (Problem.MISSING, after.pk)


# ---------------------------------------------------------------- the append-only trigger


def test_the_database_refuses_to_update_an_event() -> None:
    (event,) = record(1)

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(username="someone_else")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        execute(f"UPDATE {TABLE} SET purpose = 'x'")  # noqa: S608

    assert AuditEvent.objects.get(pk=event.pk).username == ""
    assert audit_verify().ok


@only_postgresql  # SQLite keeps DELETE open (see migration 0002)
def test_postgresql_refuses_to_delete_an_event() -> None:
    record(2)

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.all().delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        execute(f"DELETE FROM {TABLE}")  # noqa: S608

    assert AuditEvent.objects.count() == 2


@only_postgresql  # a PostgreSQL superuser's way round the trigger
def test_a_superuser_without_triggers_can_tamper_and_verify_still_finds_it() -> None:
    events = record(3)

    with as_database_owner(replica=True):
        assert execute(f"UPDATE {TABLE} SET ip = '6.6.6.6' WHERE id = %s", [events[1].pk]) == 1  # noqa: S608

    result = audit_verify()
    assert (result.problem, result.broken_id) == (Problem.ALTERED, events[1].pk)


def test_events_are_stamped_by_the_clock_under_the_lock_in_order() -> None:
    events = record(3)

    times = [AuditEvent.objects.get(pk=event.pk).at for event in events]
    assert times == sorted(times)
    assert times[-1] <= timezone.now()


@pytest.mark.parametrize(
    "fields",
    [
        ("2026-01-01T00:00:00.000000+00:00", None, "", "", "command", "read", "", "", ""),
        ("t", 12345, 'a"b\\c', "::1", "api", "write", "person", "42", "核对\t身份\n"),
        ("t", 0, "\x01\x1f", "𠀀", "page", "unmask", "house", "310104", "é"),
    ],
)
def test_the_fast_field_array_is_exactly_json(fields: tuple[Any, ...]) -> None:
    from renfang.audit.services import _STRICT, _fields_array  # noqa: PLC0415

    assert _fields_array(fields) == _STRICT(list(fields))
