"""Appending from several connections at once on PostgreSQL: the lock on the chain's head
keeps one chain, and verify meanwhile sees a consistent snapshot (no false alarm)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection, transaction

from renfang.audit.models import Action, AuditEvent
from renfang.audit.services import (
    PendingEvent,
    VerifyResult,
    audit_record,
    audit_record_stream,
    audit_verify,
)
from renfang.audit.tests.chain import only_postgresql

pytestmark = [only_postgresql, pytest.mark.django_db(transaction=True)]


def run_together(*jobs: Callable[[], None]) -> list[BaseException]:
    """Run each job in a thread of its own (each with its own database connection), all
    starting at once; the exceptions they raised."""
    start = threading.Barrier(len(jobs))
    failures: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        try:
            start.wait()
            job()
        except BaseException as exc:  # noqa: BLE001 (reported by the test)
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return failures


def reads(name: str, count: int) -> Callable[[], None]:
    def job() -> None:
        for number in range(count):
            audit_record(Action.READ, user=None, username=name, record_id=number)

    return job


def test_two_connections_appending_at_once_keep_one_valid_chain() -> None:
    failures = run_together(reads("first", 300), reads("second", 300))

    assert failures == []
    result = audit_verify()
    assert result.ok and result.checked == 600
    # Both really ran at once: their events are interleaved in the chain.
    names = list(AuditEvent.objects.order_by("id").values_list("username", flat=True))
    switches = sum(1 for before, after in zip(names, names[1:], strict=False) if before != after)
    assert switches > 1


def test_bulk_streams_and_single_events_at_once_keep_one_chain() -> None:
    def stream() -> None:
        for batch in range(4):
            audit_record_stream(
                PendingEvent(action=Action.WRITE, username="import", record_id=f"{batch}-{n}")
                for n in range(500)
            )

    failures = run_together(stream, reads("clerk", 200), reads("officer", 200))

    assert failures == []
    result = audit_verify()
    assert result.ok and result.checked == 2400
    # A stream is one run in the chain: nothing of another connection inside it.
    streamed = list(
        AuditEvent.objects.filter(username="import").order_by("id").values_list("id", flat=True)
    )
    for batch in range(4):
        ids = streamed[batch * 500 : (batch + 1) * 500]
        assert AuditEvent.objects.filter(id__gte=ids[0], id__lte=ids[-1]).count() == 500


def test_a_long_transaction_holds_the_others_back_until_it_commits() -> None:
    committed_at: list[float] = []
    appended_at: list[float] = []
    holding = threading.Event()

    def long_write() -> None:
        with transaction.atomic():
            audit_record(Action.WRITE, user=None, username="slow")
            holding.set()
            time.sleep(0.5)
        committed_at.append(time.monotonic())

    def quick_read() -> None:
        holding.wait(timeout=10)
        audit_record(Action.READ, user=None, username="quick")
        appended_at.append(time.monotonic())

    failures = run_together(long_write, quick_read)

    assert failures == []
    assert appended_at[0] >= committed_at[0]  # it waited for the lock
    slow, quick = AuditEvent.objects.order_by("id")
    assert (slow.username, quick.username) == ("slow", "quick")
    assert quick.prev_hash == slow.hash
    assert quick.at >= slow.at
    assert audit_verify().ok


def test_verify_while_others_append_sees_no_broken_chain() -> None:
    audit_record(Action.READ, user=None)
    results: list[VerifyResult] = []
    stop = threading.Event()

    def verifier() -> None:
        while not stop.is_set():
            results.append(audit_verify())

    def appenders() -> None:
        try:
            reads("clerk", 400)()
            audit_record_stream(PendingEvent(action=Action.WRITE) for _ in range(2000))
            reads("clerk", 100)()
        finally:
            stop.set()

    failures = run_together(verifier, appenders)

    assert failures == []
    assert results, "the verifier ran"
    assert all(result.ok for result in results), [r for r in results if not r.ok][:1]
    assert audit_verify().checked == 2501
