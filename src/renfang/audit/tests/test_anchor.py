"""Issue 11, finding 7: the chain anchored outside the database (ADR 0019).

The two rewrites the attacker did with nothing but the database, and the PostgreSQL purge
switch any client could set: each is now caught by ``renfang audit verify`` (exit code 1,
the first broken event named). Also: the switch-over from plain SHA-256, the anchors file,
another key, and the production check."""

from __future__ import annotations

import json
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, transaction
from django.utils import translation

from renfang.audit.keys import forget_key
from renfang.audit.models import Action, AuditEvent, AuditHead
from renfang.audit.services import (
    GENESIS,
    Problem,
    audit_record,
    audit_verify,
    event_hash,
    head_mac,
)
from renfang.audit.tests.chain import TABLE, as_database_owner, execute, only_postgresql

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    with translation.override("en"):
        yield


def record(count: int) -> list[AuditEvent]:
    events = []
    for number in range(count):
        event = audit_record(Action.READ, user=None, username="clerk", record_id=number)
        assert event is not None
        events.append(event)
    return events


def verify(*args: str) -> str:
    out = StringIO()
    call_command("audit", "verify", "--no-progress", *args, stdout=out)
    return out.getvalue()


def verify_exit(*args: str) -> CommandError:
    with pytest.raises(CommandError) as failed:
        verify(*args)
    assert failed.value.returncode == 1
    return failed.value


def rehash_with_sha256(events: list[AuditEvent], prev_hash: str) -> str:
    """Re-link and re-hash ``events`` with plain SHA-256, as the chain was before the key:
    what a database holder can compute. Returns the last hash."""
    for event in events:
        fresh = event_hash(
            prev_hash=prev_hash,
            at=event.at,
            user_id=event.user_id,
            username=event.username,
            ip=event.ip,
            channel=event.channel,
            action=event.action,
            record_type=event.record_type,
            record_id=event.record_id,
            detail=event.detail,
            purpose=event.purpose,
            keyed=False,
        )
        AuditEvent.objects.filter(pk=event.pk).update(prev_hash=prev_hash, hash=fresh)
        prev_hash = fresh
    return prev_hash


# ---------------------------------------------------------------- the two rewrites


def test_deleting_the_tail_and_moving_the_head_back_is_caught() -> None:
    events = record(5)

    with as_database_owner():  # the first rewrite
        AuditEvent.objects.filter(pk__gte=events[3].pk).delete()
    AuditHead.objects.update(last_id=events[2].pk, last_hash=events[2].hash)

    result = audit_verify()
    assert (result.problem, result.broken_id) == (Problem.HEAD_FORGED, events[2].pk)
    error = verify_exit()
    assert f"chain broken at its head (event #{events[2].pk})" in str(error)
    assert "not signed with the audit key" in str(error)


def test_a_head_put_back_from_an_old_copy_is_caught_by_an_anchor(tmp_path: Path) -> None:
    """The head signed earlier (copied from a backup) is valid on its own: only an anchor
    taken since, outside the database, shows the tail it drops."""
    events = record(3)
    old_head = AuditHead.objects.values("last_id", "last_hash", "mac").get()
    later = record(2)
    anchors = tmp_path / "anchors.jsonl"
    call_command("audit", "anchor", "--to", str(anchors), stdout=StringIO())

    with as_database_owner():
        AuditEvent.objects.filter(pk__in=[e.pk for e in later]).delete()
    AuditHead.objects.update(**old_head)

    assert audit_verify().ok  # the chain alone cannot tell
    error = verify_exit("--anchors", str(anchors))
    assert f"chain broken after event #{events[2].pk}: the anchor of" in str(
        error
    ) and f"names event #{later[1].pk}, but the chain's head is #{events[2].pk}" in str(error)


def test_deleting_from_the_middle_and_rehashing_with_sha256_is_caught() -> None:
    events = record(6)

    with as_database_owner():  # the second rewrite: trigger off, delete, re-hash
        AuditEvent.objects.filter(pk=events[2].pk).delete()
        last = rehash_with_sha256(
            list(AuditEvent.objects.filter(pk__gt=events[2].pk).order_by("pk")), events[1].hash
        )
    AuditHead.objects.update(last_hash=last)

    result = audit_verify()
    assert (result.problem, result.broken_id) == (Problem.ALTERED, events[3].pk)
    error = verify_exit()
    assert f"chain broken at event #{events[3].pk}" in str(error)


def test_the_command_line_exits_1_on_a_rewritten_chain(capsys: pytest.CaptureFixture[str]) -> None:
    from renfang.audit.tests.chain import run_command_line  # noqa: PLC0415

    events = record(4)
    with as_database_owner():
        AuditEvent.objects.filter(pk=events[1].pk).delete()
        last = rehash_with_sha256(
            list(AuditEvent.objects.filter(pk__gt=events[1].pk)), events[0].hash
        )
    AuditHead.objects.update(last_hash=last)

    with pytest.raises(SystemExit) as exited:
        run_command_line("verify", "--no-progress")
    assert exited.value.code == 1
    assert f"chain broken at event #{events[2].pk}" in capsys.readouterr().err


@only_postgresql
def test_setting_the_purge_switch_no_longer_opens_the_table() -> None:
    record(3)

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        execute("SELECT set_config('renfang.audit_purge', 'on', true)")
        execute(f"DELETE FROM {TABLE}")  # noqa: S608
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        execute("SET LOCAL renfang.audit_purge = 'on'")
        execute(f"DELETE FROM {TABLE} WHERE id = (SELECT max(id) FROM {TABLE})")  # noqa: S608

    assert AuditEvent.objects.count() == 3
    assert audit_verify().ok


# ---------------------------------------------------------------- the switch-over from SHA-256


def as_before_the_key(events: list[AuditEvent]) -> None:
    """The events as an older renfang wrote them (plain SHA-256), and the head as migration
    0004 leaves it: the switch-over point at the last of them, signed."""
    with as_database_owner():
        last = rehash_with_sha256(events, GENESIS)
    last_id = events[-1].pk
    AuditHead.objects.update(
        last_id=last_id, last_hash=last, legacy_upto=last_id, mac=head_mac(last_id, last, last_id)
    )


def test_events_from_before_the_key_still_verify_and_the_chain_goes_on_keyed() -> None:
    old = record(3)
    as_before_the_key(old)
    new = record(2)

    result = audit_verify()
    assert result.ok and result.checked == 5
    assert (
        AuditEvent.objects.get(pk=new[0].pk).prev_hash == AuditEvent.objects.get(pk=old[2].pk).hash
    )


def test_the_switch_over_point_cannot_be_moved_to_pass_off_sha256_events() -> None:
    old = record(2)
    as_before_the_key(old)
    new = record(3)
    with as_database_owner():
        last = rehash_with_sha256(
            list(AuditEvent.objects.filter(pk__gte=new[0].pk).order_by("pk")),
            AuditEvent.objects.get(pk=old[1].pk).hash,
        )
    # Passing the re-hashed events off as old ones means moving the switch-over point.
    AuditHead.objects.update(last_hash=last, legacy_upto=new[2].pk)

    result = audit_verify()
    assert (result.problem, result.broken_id) == (Problem.HEAD_FORGED, new[2].pk)


def test_an_old_event_altered_is_still_found() -> None:
    old = record(3)
    as_before_the_key(old)
    record(1)
    with as_database_owner():
        execute(f"UPDATE {TABLE} SET username = 'x' WHERE id = %s", [old[1].pk])  # noqa: S608

    result = audit_verify()
    assert (result.problem, result.broken_id) == (Problem.ALTERED, old[1].pk)


# ---------------------------------------------------------------- anchors and keys


def test_anchors_append_signed_heads_and_verify_checks_them(tmp_path: Path) -> None:
    anchors = tmp_path / "anchors.jsonl"
    record(2)
    call_command("audit", "anchor", "--to", str(anchors), stdout=StringIO())
    events = record(2)
    out = StringIO()
    call_command("audit", "anchor", "--to", str(anchors), stdout=out)

    lines = [json.loads(line) for line in anchors.read_text().splitlines()]
    assert [line["id"] for line in lines] == [events[0].pk - 1, events[1].pk]
    assert lines[1]["hash"] == events[1].hash and len(lines[1]["mac"]) == 64
    assert f"anchored event #{events[1].pk}" in out.getvalue()
    assert f"the chain holds every anchor in {anchors}" in verify("--anchors", str(anchors))


def test_a_forged_anchor_line_is_refused(tmp_path: Path) -> None:
    anchors = tmp_path / "anchors.jsonl"
    record(2)
    call_command("audit", "anchor", "--to", str(anchors), stdout=StringIO())
    line = json.loads(anchors.read_text())
    line["id"] -= 1  # an anchor moved back to match a shortened chain
    anchors.write_text(json.dumps(line) + "\n")

    error = verify_exit("--anchors", str(anchors))
    assert f"{anchors}:1: not an anchor signed with this audit key" in str(error)


def test_a_chain_rewritten_with_the_key_is_caught_by_an_earlier_anchor(tmp_path: Path) -> None:
    anchors = tmp_path / "anchors.jsonl"
    events = record(3)
    call_command("audit", "anchor", "--to", str(anchors), stdout=StringIO())
    with as_database_owner():
        execute(f"UPDATE {TABLE} SET hash = %s WHERE id = %s", ["f" * 64, events[2].pk])  # noqa: S608

    error = verify_exit("--anchors", str(anchors))
    assert f"chain broken at event #{events[2].pk}" in str(error)


def test_another_key_does_not_verify_the_chain(tmp_path: Path, settings: object) -> None:
    events = record(2)
    other = tmp_path / "other.key"
    other.write_text("a" * 64)
    settings.RENFANG_AUDIT_KEY_FILE = str(other)  # type: ignore[attr-defined]
    forget_key()
    try:
        result = audit_verify()
        assert (result.problem, result.broken_id) == (Problem.ALTERED, events[0].pk)
    finally:
        settings.RENFANG_AUDIT_KEY_FILE = ""  # type: ignore[attr-defined]
        forget_key()
    assert audit_verify().ok


def test_production_without_a_key_file_is_an_error(settings: object) -> None:
    settings.PRODUCTION = True  # type: ignore[attr-defined]
    settings.RENFANG_AUDIT_KEY_FILE = ""  # type: ignore[attr-defined]

    ids = {message.id for message in run_checks()}
    assert "audit.E002" in ids


def test_a_key_file_too_short_is_an_error(tmp_path: Path, settings: object) -> None:
    short = tmp_path / "short.key"
    short.write_text("abc")
    settings.RENFANG_AUDIT_KEY_FILE = str(short)  # type: ignore[attr-defined]
    forget_key()
    try:
        ids = {message.id for message in run_checks()}
    finally:
        settings.RENFANG_AUDIT_KEY_FILE = ""  # type: ignore[attr-defined]
        forget_key()
    assert "audit.E003" in ids


def test_an_anchor_on_purged_events_still_verifies_and_the_purge_needs_the_key(
    tmp_path: Path,
) -> None:
    import datetime  # noqa: PLC0415

    from django.utils import timezone  # noqa: PLC0415

    from renfang.audit.services import audit_purge  # noqa: PLC0415

    anchors = tmp_path / "anchors.jsonl"
    record(3)
    call_command("audit", "anchor", "--to", str(anchors), stdout=StringIO())
    assert audit_purge(now=timezone.now() + datetime.timedelta(days=400)) == 3

    assert "the chain holds every anchor" in verify("--anchors", str(anchors))
    # The purge marker is a keyed event: forging its cut to hide more is an altered event.
    purge = AuditEvent.objects.get(action=Action.PURGE)
    with as_database_owner():
        execute(f"UPDATE {TABLE} SET purpose = 'x' WHERE id = %s", [purge.pk])  # noqa: S608
    assert (audit_verify().problem, audit_verify().broken_id) == (Problem.ALTERED, purge.pk)


def test_a_log_deleted_whole_is_caught(tmp_path: Path) -> None:
    """Review of issue 11: deleting every event, the head and the person index left a log
    that verified ("0 events, chain intact"). An empty log beside a register that holds
    people was deleted (every write of a person is audited, a purge leaves its own event);
    an anchor catches it too, and verify says when it checked none."""
    from renfang.people.facts import person_create

    person_create(id_type="passport", id_number="E1234567", name="某人", sex="", birth_date=None)
    record(2)
    anchors = tmp_path / "anchors.jsonl"
    call_command("audit", "anchor", "--to", str(anchors), stdout=StringIO())
    err = StringIO()
    call_command("audit", "verify", "--no-progress", stdout=StringIO(), stderr=err)
    assert "no anchors checked" in err.getvalue()

    with as_database_owner():
        AuditEvent.objects.all().delete()
    AuditHead.objects.all().delete()

    error = verify_exit()
    assert "the audit log is empty, but the register holds 1 people" in str(error)
    error = verify_exit("--anchors", str(anchors))
    assert "the anchor of" in str(error) or "register holds" in str(error)


def test_production_without_an_anchors_file_is_warned(settings: object, tmp_path: Path) -> None:
    settings.PRODUCTION = True  # type: ignore[attr-defined]
    key = tmp_path / "audit.key"
    key.write_text("k" * 64, encoding="ascii")
    settings.RENFANG_AUDIT_KEY_FILE = str(key)  # type: ignore[attr-defined]
    settings.RENFANG_AUDIT_ANCHOR_FILE = ""  # type: ignore[attr-defined]
    forget_key()
    try:
        ids = {message.id for message in run_checks(include_deployment_checks=True)}
        assert "audit.W001" in ids
        settings.RENFANG_AUDIT_ANCHOR_FILE = str(tmp_path / "anchors.jsonl")  # type: ignore[attr-defined]
        ids = {message.id for message in run_checks(include_deployment_checks=True)}
        assert "audit.W001" not in ids
    finally:
        forget_key()
