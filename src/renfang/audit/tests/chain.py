"""Helpers for the audit chain tests: a district written through the real write paths, and
tampering as the database's owner would (past the append-only trigger)."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from renfang.audit.management.commands.audit import Command
from renfang.audit.models import AuditEvent
from renfang.houses.services import houses_load
from renfang.people.facts import person_create, residence_record
from renfang.people.idnumbers import with_check_digit
from renfang.register.importer import register_import
from renfang.synth.management.commands.synth import generate

TRIGGER = "audit_event_append_only"
TABLE = "audit_auditevent"


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


only_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's behaviour (run with DATABASE_URL)"
)


def write_district(out: Path, *, people: int, service_writes: int) -> None:
    """Audited writes the way the register gets them: a houses load and a register import
    of a synthetic district (one event per house and per person, one per file), then
    ``service_writes`` people created by the people services, each with a residence."""
    quiet = StringIO()
    call_command("codes", "load", verbosity=0, stdout=quiet)
    call_command("areas", "load-builtin", verbosity=0, stdout=quiet)
    generate(people=people, seed=11, out=out, as_of=datetime.date(2025, 12, 31))
    call_command("areas", "load", str(out / "areas.csv"), verbosity=0, stdout=quiet)
    houses_load(path=out / "houses.csv")
    register_import(path=out / "register.csv")
    born = datetime.date(1970, 1, 1)
    for number in range(service_writes):
        birth = born + datetime.timedelta(days=number)
        person = person_create(
            id_type="resident_id",
            id_number=with_check_digit(f"310104{birth:%Y%m%d}{number % 1000:03d}"),
            name=f"测试{number}",
            sex="",
            birth_date=None,
        )
        residence_record(
            person=person, valid_from=datetime.date(2020, 1, 1), division="310104003001"
        )


@contextmanager
def as_database_owner(*, replica: bool = False) -> Iterator[None]:
    """Past the append-only trigger, in the test's transaction (rolled back after it): on
    PostgreSQL the table's owner disables the trigger, or a superuser turns triggers off for
    the session (``replica``); on SQLite anyone with the file drops the trigger."""
    with connection.cursor() as cursor:
        if is_postgresql() and replica:
            cursor.execute("SET LOCAL session_replication_role = replica")
        elif is_postgresql():
            cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER {TRIGGER}")
        else:
            cursor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}")  # gone after a first use
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if is_postgresql() and replica:
                cursor.execute("SET LOCAL session_replication_role = origin")
            elif is_postgresql():
                cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER {TRIGGER}")


def execute(sql: str, params: list[Any] | None = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return int(cursor.rowcount)


def set_detail_value(event_id: int, key: str, value: str) -> None:
    """Rewrite one key of an event's detail in the database, leaving its hash alone."""
    if is_postgresql():
        sql = f"UPDATE {TABLE} SET detail = jsonb_set(detail, %s, to_jsonb(%s::text)) WHERE id = %s"
        assert execute(sql, [[key], value, event_id]) == 1
    else:
        sql = f"UPDATE {TABLE} SET detail = json_set(detail, %s, %s) WHERE id = %s"
        assert execute(sql, [f"$.{key}", value, event_id]) == 1


def verify_fails() -> CommandError:
    """``renfang audit verify`` on a broken chain: the error it ends with."""
    with pytest.raises(CommandError) as failed:
        call_command("audit", "verify", "--no-progress", stdout=StringIO())
    return failed.value


def run_command_line(*args: str) -> None:
    """``renfang audit ARGS`` as from a shell (exit code, stderr), inside the test's
    transaction: the command line closes the database connections when it is done."""
    with mock.patch("django.core.management.base.connections.close_all"):
        Command().run_from_argv(["renfang", "audit", "--skip-checks", *args])


def verify_output(*args: str) -> str:
    out = StringIO()
    call_command("audit", "verify", "--no-progress", *args, stdout=out)
    return out.getvalue()


def middle_event(record_type: str = "person") -> AuditEvent:
    ids = list(
        AuditEvent.objects.filter(record_type=record_type)
        .order_by("id")
        .values_list("id", flat=True)
    )
    return AuditEvent.objects.get(id=ids[len(ids) // 2])
