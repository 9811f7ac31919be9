"""Retention: the purge deletes what is older than the retention period, anchors the rest
of the chain, and refuses to erase a broken chain; the startup check wants 183 days."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from io import StringIO
from unittest import mock

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, transaction
from django.utils import translation

from renfang.audit.checks import check_retention
from renfang.audit.models import Action, AuditEvent
from renfang.audit.services import (
    Problem,
    PurgeRefused,
    audit_head,
    audit_purge,
    audit_record,
    audit_verify,
)
from renfang.audit.tests.chain import (
    TABLE,
    as_database_owner,
    execute,
    only_postgresql,
    verify_fails,
    verify_output,
)

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
LAST_YEAR = datetime.datetime(2025, 1, 10, 9, 0, tzinfo=UTC)
THIS_YEAR = datetime.datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
NOW = datetime.datetime(2026, 4, 1, 9, 0, tzinfo=UTC)  # a year back: 2025-04-01


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    with translation.override("en"):
        yield


def record_at(moment: datetime.datetime, count: int) -> list[AuditEvent]:
    events = []
    with mock.patch("renfang.audit.services.timezone.now", return_value=moment):
        for number in range(count):
            event = audit_record(Action.READ, user=None, record_type="person", record_id=number)
            assert event is not None
            events.append(event)
    return events


def test_the_purge_deletes_old_events_and_verify_still_passes() -> None:
    old = record_at(LAST_YEAR, 4)
    kept = record_at(THIS_YEAR, 3)

    deleted = audit_purge(now=NOW)

    assert deleted == 4
    assert not AuditEvent.objects.filter(pk__in=[event.pk for event in old]).exists()
    purge = AuditEvent.objects.get(action=Action.PURGE)
    assert purge.detail["anchor_hash"] == old[-1].hash
    assert purge.detail["anchor_id"] == old[-1].pk
    assert (purge.detail["deleted"], purge.detail["retention_days"]) == (4, 365)
    assert purge.detail["verified"] is True
    assert purge.username == "system"
    result = audit_verify()
    assert result.ok and result.checked == len(kept) + 1
    assert audit_head() == (purge.pk, purge.hash)


def test_the_chain_goes_on_after_a_purge_and_a_second_purge() -> None:
    record_at(LAST_YEAR, 3)
    record_at(THIS_YEAR, 2)
    audit_purge(now=NOW)
    record_at(NOW, 2)

    # A year later everything so far is old, the first purge event too.
    assert audit_purge(now=NOW + datetime.timedelta(days=400)) == 5

    assert AuditEvent.objects.filter(action=Action.PURGE).count() == 1
    assert audit_verify().ok
    assert AuditEvent.objects.count() == 1


def test_nothing_old_nothing_purged() -> None:
    record_at(THIS_YEAR, 2)

    assert audit_purge(now=NOW) == 0
    assert not AuditEvent.objects.filter(action=Action.PURGE).exists()


def test_after_a_purge_deleting_the_first_kept_event_is_found() -> None:
    record_at(LAST_YEAR, 2)
    kept = record_at(THIS_YEAR, 3)
    audit_purge(now=NOW)

    with as_database_owner():
        AuditEvent.objects.filter(pk=kept[0].pk).delete()

    result = audit_verify()
    assert (result.problem, result.broken_id) == (Problem.MISSING, kept[1].pk)


def test_a_forged_purge_anchor_is_found() -> None:
    record_at(LAST_YEAR, 2)
    kept = record_at(THIS_YEAR, 2)
    audit_purge(now=NOW)
    purge = AuditEvent.objects.get(action=Action.PURGE)

    # Someone deletes a kept event and points the anchor past it.
    with as_database_owner():
        AuditEvent.objects.filter(pk=kept[0].pk).delete()
        AuditEvent.objects.filter(pk=purge.pk).update(
            detail=purge.detail | {"anchor_hash": kept[0].hash}
        )

    result = audit_verify()
    assert not result.ok
    assert result.broken_id == purge.pk  # the purge event's own hash no longer matches


def test_a_broken_chain_is_not_purged_unless_forced() -> None:
    old = record_at(LAST_YEAR, 3)
    record_at(THIS_YEAR, 1)
    with as_database_owner():
        AuditEvent.objects.filter(pk=old[1].pk).update(purpose="covered up")

    with pytest.raises(PurgeRefused) as refused:
        audit_purge(now=NOW)
    assert refused.value.result.broken_id == old[1].pk
    assert AuditEvent.objects.count() == 4  # the evidence is still there

    assert audit_purge(now=NOW, force=True) == 3
    assert AuditEvent.objects.get(action=Action.PURGE).detail["verified"] is False
    assert audit_verify().ok


def test_the_purge_refuses_a_retention_below_the_law(settings: pytest.FixtureRequest) -> None:
    record_at(LAST_YEAR, 1)
    settings.RENFANG_AUDIT_RETENTION_DAYS = 30  # type: ignore[attr-defined]

    with pytest.raises(ImproperlyConfigured, match="at least 183"):
        audit_purge(now=NOW)
    assert AuditEvent.objects.count() == 1


def test_the_retention_setting_moves_the_cutoff(settings: pytest.FixtureRequest) -> None:
    record_at(datetime.datetime(2025, 9, 1, tzinfo=UTC), 2)  # seven months before NOW
    settings.RENFANG_AUDIT_RETENTION_DAYS = 200  # type: ignore[attr-defined]

    assert audit_purge(now=NOW) == 2


@only_postgresql
def test_after_the_purge_deletes_are_refused_again_in_the_same_transaction() -> None:
    record_at(LAST_YEAR, 2)
    record_at(THIS_YEAR, 2)

    with transaction.atomic():
        audit_purge(now=NOW)
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            execute(f"DELETE FROM {TABLE}")  # noqa: S608
    assert audit_verify().ok


def test_the_purge_command_says_what_it_did() -> None:
    record_at(LAST_YEAR, 3)
    record_at(THIS_YEAR, 1)
    out = StringIO()

    with mock.patch("renfang.audit.services.timezone.now", return_value=NOW):
        call_command("audit", "purge", stdout=out)
        call_command("audit", "purge", stdout=out)

    assert out.getvalue().splitlines() == [
        "3 events older than 365 days deleted; a purge event anchors the rest of the chain",
        "nothing to purge: no event is older than 365 days",
    ]
    assert "2 events, chain intact" in verify_output()


def test_the_purge_command_refuses_a_broken_chain() -> None:
    old = record_at(LAST_YEAR, 2)
    with as_database_owner():
        AuditEvent.objects.filter(pk=old[0].pk).update(username="nobody")

    with (
        mock.patch("renfang.audit.services.timezone.now", return_value=NOW),
        pytest.raises(CommandError, match=f"purge refused: .*event #{old[0].pk}"),
    ):
        call_command("audit", "purge")
    assert f"chain broken at event #{old[0].pk}" in str(verify_fails())

    with mock.patch("renfang.audit.services.timezone.now", return_value=NOW):
        call_command("audit", "purge", "--force", stdout=StringIO())
    assert "1 events, chain intact" in verify_output()


@pytest.mark.parametrize(
    ("days", "refused"), [(182, True), (0, True), (-5, True), (183, False), (365, False)]
)
def test_the_startup_check_wants_at_least_183_days(
    settings: pytest.FixtureRequest, days: int, refused: bool
) -> None:
    settings.RENFANG_AUDIT_RETENTION_DAYS = days  # type: ignore[attr-defined]

    errors = [error for error in run_checks() if error.id == "audit.E001"]

    assert bool(errors) is refused
    if refused:
        assert f"RENFANG_AUDIT_RETENTION_DAYS is {days}" in errors[0].msg


def test_a_retention_that_is_not_a_number_is_refused(settings: pytest.FixtureRequest) -> None:
    settings.RENFANG_AUDIT_RETENTION_DAYS = "365"  # type: ignore[attr-defined]

    assert [error.id for error in check_retention()] == ["audit.E001"]
