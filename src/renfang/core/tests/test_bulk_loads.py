"""A district's first import checks its foreign keys once, after the load
(``bulk.foreign_keys_checked_after``): the keys are there again afterwards, as they were, and
a row that points at nothing still fails the load."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from renfang.core import bulk
from renfang.sources.models import Source, SourceRecord

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="SQLite checks keys as it always does"
    ),
]


@pytest.fixture(autouse=True)
def small_loads_are_large(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "LARGE_LOAD", 1)


def _keys() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'f' AND conrelid = %s::regclass ORDER BY conname",
            [bulk.table(SourceRecord)],
        )
        return list(cursor.fetchall())


def _row(pk: int, source_id: int) -> tuple[object, ...]:
    return (pk, source_id, f"r{pk}", 1, "{}", "[]", False, "2026-01-01T00:00:00Z", "", "{}")


_COLUMNS = [
    "id", "source", "record_id", "version", "mapped", "problems", "flagged", "received_at",
    "link_rule", "link_detail",
]  # fmt: skip


def test_a_large_load_checks_its_keys_after_it_and_keeps_them() -> None:
    source = Source.objects.create(code="dept", name="dept")
    before = _keys()
    assert before and all("DEFERRABLE INITIALLY DEFERRED" in definition for _, definition in before)

    with transaction.atomic():
        with bulk.foreign_keys_checked_after([SourceRecord], new_rows=2):
            assert _keys() == []  # not checked row by row during the load
            bulk.insert(SourceRecord, _COLUMNS, [_row(1, source.pk), _row(2, source.pk)])
        assert _keys() == before

    assert SourceRecord.objects.count() == 2
    assert _keys() == before


def test_a_row_that_points_at_nothing_fails_the_load_and_nothing_is_saved() -> None:
    source = Source.objects.create(code="dept", name="dept")
    before = _keys()

    with pytest.raises(IntegrityError), transaction.atomic():
        with bulk.foreign_keys_checked_after([SourceRecord], new_rows=2):
            bulk.insert(SourceRecord, _COLUMNS, [_row(1, source.pk), _row(2, source.pk + 99)])

    assert SourceRecord.objects.count() == 0
    assert _keys() == before


def test_a_load_smaller_than_the_table_is_checked_as_always() -> None:
    source = Source.objects.create(code="dept", name="dept")
    bulk.insert(SourceRecord, _COLUMNS, [_row(pk, source.pk) for pk in range(1, 6)])
    with connection.cursor() as cursor:
        cursor.execute(f'ANALYZE "{bulk.table(SourceRecord)}"')
    before = _keys()

    with transaction.atomic():
        with bulk.foreign_keys_checked_after([SourceRecord], new_rows=2):
            assert _keys() == before
