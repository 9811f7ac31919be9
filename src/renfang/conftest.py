"""Fixtures shared by every app's tests."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

import pytest

# Playwright's sync API runs an event loop in the test thread; Django's ORM refuses to run
# inside one unless told it is safe, which it is in these single-threaded tests.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


# Debian's Chromium, driven by Playwright (no browser download is possible here).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One Chromium per test module, for the browser tests (``@pytest.mark.browser``)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def city_code(settings: pytest.FixtureRequest) -> str:
    return "31"


@pytest.fixture(autouse=True)
def _site_language() -> Iterator[None]:
    """Every test starts in the site's language: a request made with the English switch
    leaves English active in the worker's thread (the locale middleware activates, nothing
    deactivates), and the next test on that worker would read English labels."""
    from django.conf import settings  # noqa: PLC0415 (Django is set up by now)
    from django.utils import translation  # noqa: PLC0415

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _fresh_code_caches() -> Iterator[None]:
    """The code and division-name caches live in the process: a test that rolled its rows
    back must not leave their labels to the next test."""
    from renfang.codes.selectors import clear_cache  # noqa: PLC0415 (Django is set up by now)

    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def admin_client(db: None, admin_user: object) -> object:
    """pytest-django's admin client, having given the second factor superusers must give."""
    from django.test import Client  # noqa: PLC0415

    from renfang.accounts.tests.conftest import with_second_factor  # noqa: PLC0415

    return with_second_factor(Client(), admin_user)  # type: ignore[arg-type]


@pytest.fixture(autouse=True, scope="session")
def _test_database_wiped_through_the_door() -> Iterator[None]:
    """Transactional tests wipe the whole test database between tests (Django's flush); the
    one door's lock (ADR 0024) would refuse the DELETEs of persons, so the wipe is planted."""
    from django.db.backends.base.operations import BaseDatabaseOperations  # noqa: PLC0415

    from renfang.people.facts.planting import by_hand  # noqa: PLC0415

    original = BaseDatabaseOperations.execute_sql_flush

    def execute_sql_flush(self: BaseDatabaseOperations, sql_list: Iterable[str]) -> None:
        with by_hand():
            original(self, sql_list)

    BaseDatabaseOperations.execute_sql_flush = execute_sql_flush  # type: ignore[method-assign]
    yield
    BaseDatabaseOperations.execute_sql_flush = original  # type: ignore[method-assign]
