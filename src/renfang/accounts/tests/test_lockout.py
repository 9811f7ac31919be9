"""Lock-out: after N failed logins a username is locked, from every address, for M minutes;
the login page says so (HTTP 429) and the audit log has every attempt and the lock-out."""

from __future__ import annotations

import datetime
import io

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from renfang.accounts.tests.conftest import PASSWORD, log_in
from renfang.audit.models import Action, AuditEvent

WRONG = "Not-the-password-1"


def english() -> Client:
    client = Client()
    client.cookies["django_language"] = "en"
    return client


def fail(client: Client, username: str, times: int, **extra) -> list[int]:
    return [log_in(client, username, WRONG, **extra).status_code for _ in range(times)]


def test_the_fifth_failure_locks_the_account_with_a_clear_message(clerk: User):
    client = english()

    statuses = fail(client, "clerk", 5)

    assert statuses == [200, 200, 200, 200, 429]
    page = log_in(client, "clerk", PASSWORD)  # the right password, too late
    assert page.status_code == 429
    text = page.content.decode()
    assert 'id="locked-out"' in text
    assert "Too many failed logins" in text and "15 minutes" in text
    assert 'value="clerk"' in text  # the username stays in the form
    assert "_auth_user_id" not in client.session


def test_the_lock_out_message_is_on_the_chinese_login_page(clerk: User):
    client = Client()  # no language chosen: Chinese

    fail(client, "clerk", 5)
    page = log_in(client, "clerk", PASSWORD)

    assert page.status_code == 429
    text = page.content.decode()
    assert 'id="locked-out"' in text and 'lang="zh-hans"' in text
    assert 'action="/login/"' in text  # the login page itself, to try again later


def test_every_failure_and_the_lock_out_are_audited(clerk: User):
    fail(english(), "clerk", 5)

    failed = AuditEvent.objects.filter(action=Action.LOGIN_FAILED, username="clerk")
    assert failed.count() == 5
    assert set(failed.values_list("ip", flat=True)) == {"127.0.0.1"}
    locked = AuditEvent.objects.get(action=Action.DENIED, username="clerk")
    assert locked.record_type == "user"
    assert locked.detail["reason"] == "locked out"
    assert locked.detail["minutes"] == 15
    assert locked.ip == "127.0.0.1"


def test_the_lock_holds_for_that_username_from_every_address(clerk: User, auditor: User):
    """Issue 11, finding 10: the right password from a second address opened a locked
    account at once."""
    client = english()
    fail(client, "clerk", 5)

    from_elsewhere = log_in(Client(), "clerk", PASSWORD, REMOTE_ADDR="10.1.2.3")
    other_user = log_in(english(), "auditor", PASSWORD)

    assert from_elsewhere.status_code == 429
    assert "_auth_user_id" not in from_elsewhere.wsgi_request.session
    assert other_user.status_code == 302  # another user from this address is not locked


def test_failures_from_many_addresses_add_up(clerk: User):
    statuses = [
        log_in(english(), "clerk", WRONG, REMOTE_ADDR=f"10.0.0.{n}").status_code
        for n in range(1, 6)
    ]

    assert statuses == [200, 200, 200, 200, 429]
    assert log_in(Client(), "clerk", PASSWORD, REMOTE_ADDR="10.0.0.99").status_code == 429


def test_an_operator_unlocks_with_a_command(clerk: User):
    fail(english(), "clerk", 5)

    out = io.StringIO()
    call_command("unlock", "clerk", stdout=out)

    assert log_in(Client(), "clerk", PASSWORD, REMOTE_ADDR="10.1.2.3").status_code == 302
    event = AuditEvent.objects.get(action=Action.ADMIN, detail__field="failed_logins")
    assert event.channel == "command" and event.record_id == str(clerk.pk)


def test_the_admin_shows_a_lock_from_several_addresses(clerk: User, admin_client: Client):
    for n in range(1, 6):
        log_in(english(), "clerk", WRONG, REMOTE_ADDR=f"10.0.0.{n}")

    listing = admin_client.get("/admin/auth/user/?q=clerk")

    rows = [row for row in listing.content.decode().split("<tr") if ">clerk</a>" in row]
    assert len(rows) == 1
    # The columns: second factor (no), locked out (yes), active (yes).
    assert rows[0].count('alt="True"') == 2 and rows[0].count('alt="False"') == 1


def test_the_lock_ends_after_the_cool_off(clerk: User):
    client = english()
    fail(client, "clerk", 5)

    AccessAttempt.objects.update(attempt_time=timezone.now() - datetime.timedelta(minutes=16))
    page = log_in(client, "clerk", PASSWORD)

    assert page.status_code == 302
    assert client.session["_auth_user_id"] == str(clerk.pk)


def test_a_complete_login_clears_the_count(clerk: User):
    client = english()
    fail(client, "clerk", 4)
    assert log_in(client, "clerk", PASSWORD).status_code == 302
    client.post("/logout/")

    # Four more failures do not lock: the count started again.
    assert fail(client, "clerk", 4) == [200, 200, 200, 200]


def test_the_limit_and_the_time_are_settings(clerk: User, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.RENFANG_LOCKOUT_MINUTES = 60
    client = english()

    assert fail(client, "clerk", 2) == [200, 429]
    assert "60 minutes" in log_in(client, "clerk", PASSWORD).content.decode()


def test_without_lock_out_failures_never_lock(clerk: User, settings):
    settings.AXES_ENABLED = False
    client = english()

    assert fail(client, "clerk", 7) == [200] * 7
    assert log_in(client, "clerk", PASSWORD).status_code == 302


def test_an_unknown_username_is_locked_the_same_way(db):
    # Guessing usernames gives nothing away: the same answers as for a real one.
    assert fail(english(), "nobody", 5) == [200, 200, 200, 200, 429]


@pytest.mark.parametrize("path", ["/admin/login/"])
def test_the_admin_login_is_locked_too(clerk: User, path: str):
    client = english()
    statuses = [
        client.post(path, {"username": "clerk", "password": WRONG}).status_code for _ in range(5)
    ]

    assert statuses[-1] == 429
    assert log_in(client, "clerk", PASSWORD).status_code == 429


def test_logins_and_logouts_are_still_audited(clerk: User):
    client = english()

    log_in(client, "clerk", WRONG)
    log_in(client, "clerk")
    client.post("/logout/")

    actions = list(
        AuditEvent.objects.filter(username="clerk").order_by("id").values_list("action", "ip")
    )
    assert actions == [
        (Action.LOGIN_FAILED, "127.0.0.1"),
        (Action.LOGIN, "127.0.0.1"),
        (Action.LOGOUT, "127.0.0.1"),
    ]
