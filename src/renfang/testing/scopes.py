"""A world built once for a module's tests that only read it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction
from django.test import override_settings

# The real hasher takes a third of a second on purpose; a world's users never log in by
# password here.
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@contextmanager
def kept_for_module(django_db_blocker: Any) -> Iterator[None]:
    """Rows written inside stay for the tests of a module (a module-scoped fixture), and are
    rolled back after its last test. Each test still asks for ``db``: pytest-django runs it in
    a savepoint inside this transaction, so what a test writes is gone before the next one."""
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=FAST_HASHERS),
        transaction.atomic(),
    ):
        yield
        transaction.set_rollback(True)
