"""The lock on the one door (docs/adr/0024): the tables of persons and their time-valid facts
are written only by ``renfang.people.facts``, which opens the door (``door()``) around its
writes. Anything else that writes them, by the ORM, raw SQL or ``renfang.core.bulk``, raises
``DoorClosed``.

The lock is checked at two places: ``renfang.core.bulk`` (COPY and executemany, which go
under Django's cursor) checks the table it writes, and ``execute_guard`` (a Django execute
wrapper that ``lock`` installs on every connection when it opens, in production as in the
tests) finds the tables every statement writes, wherever the write stands in it. So every test that
exercises a path writing a person anywhere else fails, and so does such a path in production
rather than write behind the audit's back; ``people/tests/test_one_door.py`` checks the code
for writes the tests do not exercise and for anything else that opens the door.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

from django.db.backends.base.base import BaseDatabaseWrapper

P = ParamSpec("P")
R = TypeVar("R")
_inside: ContextVar[bool] = ContextVar("renfang_one_door", default=False)
_guarded: set[str] = set()
_named: re.Pattern[str] = re.compile(r"(?!)")  # any guarded table's name (set by ``guard``)
_TABLE = r'(?:"?\w+"?\.)?"?(\w+)"?'
# The table each write writes, wherever the write stands in the statement (after a comment,
# in a WITH, the second of two statements), with a schema or not: INSERT [OR …] INTO, REPLACE
# INTO, UPDATE [OR …] [ONLY], DELETE FROM [ONLY], MERGE INTO, COPY (a row lock, SELECT … FOR
# UPDATE, is no write).
_TARGETS = re.compile(
    r"(?:\bINSERT\s+(?:OR\s+\w+\s+)?INTO|\bREPLACE\s+INTO|(?<!FOR )(?<!KEY )\bUPDATE"
    r"(?:\s+OR\s+\w+)?(?:\s+ONLY)?|\bDELETE\s+FROM(?:\s+ONLY)?|\bMERGE\s+INTO|\bCOPY)"
    rf"\s+{_TABLE}",
    re.IGNORECASE,
)
# TRUNCATE names a list of tables (``renfang flush`` on PostgreSQL: all of them at once).
_TRUNCATE = re.compile(r"\bTRUNCATE\b([^;]*)", re.IGNORECASE)


class DoorClosed(RuntimeError):
    """A write to a person's tables outside ``renfang.people.facts``."""


def guard(*tables: str) -> None:
    """Put these tables behind the door (called once, by the door, at start)."""
    global _named  # noqa: PLW0603 (set once, at start)
    _guarded.update(tables)
    _named = re.compile("|".join(map(re.escape, sorted(_guarded))), re.IGNORECASE)


def guarded() -> frozenset[str]:
    return frozenset(_guarded)


@contextmanager
def door() -> Iterator[None]:
    """Open the door for the writes inside the block. Only ``renfang.people.facts`` calls it
    (a test says so)."""
    token = _inside.set(True)
    try:
        yield
    finally:
        _inside.reset(token)


def is_open() -> bool:
    return _inside.get()


def check_table(table: str) -> None:
    if table in _guarded and not _inside.get():
        raise DoorClosed(
            f"{table} is written only through renfang.people.facts (the one door, ADR 0024)"
        )


def execute_guard(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
) -> Any:
    """A Django execute wrapper: outside the door, refuse a statement that writes and names a
    guarded table (a whole-database TRUNCATE or DELETE, ``renfang flush``, too: the register is
    not wiped behind the audit's back)."""
    # Most statements name no guarded table at all: a substring test spares them the parse.
    if not _inside.get() and _named.search(sql):
        for table in written_tables(sql):
            check_table(table)
    return execute(sql, params, many, context)


def written_tables(sql: str) -> set[str]:
    """The tables a statement writes (lower case)."""
    found = {match.group(1).lower() for match in _TARGETS.finditer(sql)}
    for match in _TRUNCATE.finditer(sql):
        found.update(name.lower() for name in re.findall(r"\w+", match.group(1)))
    return found


def through_door(function: Callable[P, R]) -> Callable[P, R]:
    """A function of ``renfang.people.facts`` that writes: the door is open while it runs."""

    @functools.wraps(function)
    def opened(*args: P.args, **kwargs: P.kwargs) -> R:
        with door():
            return function(*args, **kwargs)

    return opened


def lock(sender: object, connection: BaseDatabaseWrapper, **kwargs: object) -> None:
    """``connection_created`` receiver: put ``execute_guard`` on the connection."""
    if execute_guard not in connection.execute_wrappers:
        connection.execute_wrappers.append(execute_guard)
