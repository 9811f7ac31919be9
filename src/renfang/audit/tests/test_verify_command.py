"""``renfang audit verify`` over thousands of audited writes (a houses load, a register
import and the people services), and the tampering it finds; ``renfang audit tail``."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone, translation

from renfang.audit.models import Action, AuditEvent, AuditHead
from renfang.audit.services import GENESIS, audit_head, audit_purge, event_hash, head_mac
from renfang.audit.tests.chain import (
    as_database_owner,
    execute,
    middle_event,
    only_postgresql,
    run_command_line,
    set_detail_value,
    verify_fails,
    verify_output,
    write_district,
)

pytestmark = pytest.mark.django_db

PEOPLE = 2000
SERVICE_WRITES = 600


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    with translation.override("en"):
        yield


@pytest.fixture
def written(tmp_path: Path) -> int:
    """Thousands of audited writes; how many events."""
    write_district(tmp_path, people=PEOPLE, service_writes=SERVICE_WRITES)
    return AuditEvent.objects.count()


def test_thousands_of_writes_verify_and_the_head_is_printed(written: int) -> None:
    # One event per person imported, per house loaded, per file, and two per service write
    # (the person and the residence).
    assert written > PEOPLE + 2 * SERVICE_WRITES
    assert AuditEvent.objects.filter(action=Action.WRITE, record_type="person").count() == (
        PEOPLE + 2 * SERVICE_WRITES
    )

    output = verify_output()

    head_id, head_hash = audit_head()
    assert f"{written:,} events, chain intact" in output
    assert f"head: event #{head_id}, hash {head_hash}" in output


def when(event: AuditEvent) -> str:
    return f"{timezone.localtime(event.at):%Y-%m-%d %H:%M:%S}"


def test_an_altered_event_is_found_with_its_id_time_and_user(written: int) -> None:
    target = middle_event()

    with as_database_owner():
        set_detail_value(target.pk, "source", "nothing happened here")

    failed = verify_fails()
    assert failed.returncode == 1
    message = str(failed)
    assert message.startswith(
        f"chain broken at event #{target.pk} ({when(target)}, system): its content was altered"
    )
    assert f"the last one #{target.pk - 1}" in message
    # Exactly that event: every one before it is intact.
    assert f"{AuditEvent.objects.filter(pk__lt=target.pk).count():,} events before it" in message


def test_an_altered_name_column_is_found_too(written: int) -> None:
    target = middle_event()

    with as_database_owner():
        assert execute("UPDATE audit_auditevent SET username = 'clerk' WHERE id = %s", [target.pk])

    assert f"chain broken at event #{target.pk} (" in str(verify_fails())


def test_a_deleted_event_in_the_middle_is_found(written: int) -> None:
    target = middle_event()
    following = AuditEvent.objects.filter(pk__gt=target.pk).order_by("pk").first()
    assert following is not None

    with as_database_owner():
        assert execute("DELETE FROM audit_auditevent WHERE id = %s", [target.pk]) == 1

    message = str(verify_fails())
    assert message.startswith(
        f"chain broken at event #{following.pk} ({when(following)}, system): the link to the "
        "previous event is broken: an event before it is missing"
    )
    assert f"the last one #{target.pk - 1}" in message


def test_a_deleted_last_event_is_found(written: int) -> None:
    last = AuditEvent.objects.order_by("-pk").first()
    before = AuditEvent.objects.filter(pk__lt=last.pk).order_by("-pk").first()  # type: ignore[union-attr]
    assert last is not None and before is not None

    with as_database_owner():
        assert execute("DELETE FROM audit_auditevent WHERE id = %s", [last.pk]) == 1

    failed = verify_fails()
    assert failed.returncode == 1
    assert str(failed) == (
        f"chain broken after event #{before.pk} ({when(before)}, system): the latest events are "
        f"missing (the chain's head names event #{last.pk})"
    )


def test_an_event_inserted_past_the_head_is_found(written: int) -> None:
    """A forged event hashed onto the last one, but written around the chain (the head row is
    not moved), is not part of the log: verify names it."""
    last = AuditEvent.objects.order_by("-pk").first()
    assert last is not None
    forged_id = last.pk + 1000
    at = timezone.now()
    forged = event_hash(
        prev_hash=last.hash,
        at=at,
        user_id=None,
        username="intruder",
        ip="",
        channel="command",
        action=Action.UNMASK,
        record_type="person",
        record_id="1",
        detail={},
        purpose="",
    )
    AuditEvent.objects.create(
        id=forged_id,
        at=at,
        username="intruder",
        channel="command",
        action=Action.UNMASK,
        record_type="person",
        record_id="1",
        detail={},
        prev_hash=last.hash,
        hash=forged,
    )

    failed = verify_fails()
    assert failed.returncode == 1
    assert f"#{forged_id}" in str(failed) and "intruder" in str(failed)
    assert "past the chain's head" in str(failed)


def test_the_command_line_exits_1_and_says_why_on_stderr(
    written: int, capsys: pytest.CaptureFixture[str]
) -> None:
    target = middle_event("house")
    with as_database_owner():
        set_detail_value(target.pk, "source", "forged")

    with pytest.raises(SystemExit) as exited:
        run_command_line("verify", "--no-progress")

    assert exited.value.code == 1
    captured = capsys.readouterr()
    assert f"chain broken at event #{target.pk} (" in captured.err
    assert "chain intact" not in captured.out


def test_the_progress_bar_goes_to_stderr_and_can_be_switched_off(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for _ in range(3):
        call_command("audit", "tail")  # nothing yet: no output, no error
    from renfang.audit.services import audit_record  # noqa: PLC0415

    for number in range(7):
        audit_record(Action.READ, user=None, record_type="person", record_id=number)

    run_command_line("verify")
    with_bar = capsys.readouterr()
    run_command_line("verify", "--no-progress")
    without_bar = capsys.readouterr()

    assert "7 events, chain intact" in with_bar.out and "7/7" in with_bar.err
    assert "7 events, chain intact" in without_bar.out and "7/7" not in without_bar.err
    # The one line on stderr without a bar: no anchors were checked (ADR 0019).
    assert without_bar.err.strip().startswith("no anchors checked")


def test_tail_shows_the_latest_events_oldest_first() -> None:
    from renfang.audit.services import audit_record  # noqa: PLC0415

    for number in range(5):
        audit_record(
            Action.READ,
            user=None,
            username="clerk",
            record_type="person",
            record_id=number,
            purpose="核对",
        )
    out = StringIO()

    call_command("audit", "tail", "-n", "2", stdout=out)

    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    latest = AuditEvent.objects.order_by("pk").values_list("pk", flat=True)[3:]
    assert [line.split(" ", 1)[0] for line in lines] == [f"#{pk}" for pk in latest]
    assert "clerk [- command] read person:4 «核对»" in lines[1]


def test_tail_refuses_a_count_below_one() -> None:
    with pytest.raises(CommandError, match="-n must be 1 or more"):
        call_command("audit", "tail", "-n", "0")


@only_postgresql  # SQLite keeps DELETE open
def test_without_the_owner_nobody_gets_to_tamper(written: int) -> None:
    from django.db import DatabaseError, transaction  # noqa: PLC0415

    target = middle_event()
    with pytest.raises(DatabaseError), transaction.atomic():
        execute("DELETE FROM audit_auditevent WHERE id = %s", [target.pk])

    assert "chain intact" in verify_output()


def rewrite_whole_chain(username: str) -> None:
    """What the database's owner can do when they hold the audit key too (ADR 0019): change an
    event and rehash everything after it, head included. Verify cannot see it; only a head
    shipped elsewhere (an anchor) can. Without the key, see test_anchor.py."""
    prev_hash = GENESIS
    with as_database_owner():
        for event in AuditEvent.objects.order_by("pk"):
            event.username = username
            event.prev_hash = prev_hash
            event.hash = event_hash(
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
            )
            AuditEvent.objects.filter(pk=event.pk).update(
                username=event.username, prev_hash=prev_hash, hash=event.hash
            )
            prev_hash = event.hash
        head = AuditHead.objects.get()
        AuditHead.objects.update(
            last_hash=prev_hash, mac=head_mac(head.last_id, prev_hash, head.legacy_upto)
        )


def reads(count: int) -> None:
    from renfang.audit.services import audit_record  # noqa: PLC0415

    for number in range(count):
        audit_record(Action.READ, user=None, username="clerk", record_id=number)


def test_a_head_shipped_earlier_is_checked() -> None:
    reads(3)
    head_id, head_hash = audit_head()
    reads(2)

    output = verify_output("--head", f"{head_id}:{head_hash}")

    assert "5 events, chain intact" in output
    assert f"event #{head_id} still has the hash shipped earlier" in output


def test_a_rewritten_chain_passes_verify_but_not_the_shipped_head() -> None:
    reads(3)
    head_id, head_hash = audit_head()
    reads(1)

    rewrite_whole_chain("someone_else")

    assert "4 events, chain intact" in verify_output()
    with pytest.raises(CommandError) as failed:
        verify_output("--head", f"{head_id}:{head_hash}")
    assert failed.value.returncode == 1
    assert str(failed.value) == (
        f"the chain was rewritten: event #{head_id} no longer has the hash shipped earlier "
        f"({head_hash})"
    )


def test_a_shipped_head_whose_event_is_gone() -> None:
    reads(3)
    head_id, head_hash = audit_head()
    with as_database_owner():
        AuditEvent.objects.all().delete()
    AuditHead.objects.all().delete()

    with pytest.raises(CommandError, match=f"event #{head_id}, named by the head shipped"):
        verify_output("--head", f"{head_id}:{head_hash}")


def test_a_shipped_head_that_was_purged_is_said_so() -> None:
    import datetime  # noqa: PLC0415

    reads(2)
    head_id, head_hash = audit_head()
    audit_purge(now=timezone.now() + datetime.timedelta(days=400))

    output = verify_output("--head", f"{head_id}:{head_hash}")

    assert f"event #{head_id} was purged (retention); it cannot be checked any more" in output


@pytest.mark.parametrize("head", ["12", "x:" + "0" * 64, "12:abc"])
def test_a_malformed_shipped_head_is_refused(head: str) -> None:
    with pytest.raises(CommandError, match="expected ID:HASH"):
        verify_output("--head", head)
