"""Idle time-out: a session with no request for RENFANG_IDLE_MINUTES is logged out (and the
logout audited); activity keeps it alive without rewriting the session on every request."""

from __future__ import annotations

import time

from django.contrib.auth.models import User
from django.test import Client

from renfang.accounts.middleware import SEEN_AT
from renfang.accounts.tests.conftest import log_in
from renfang.audit.models import Action, AuditEvent


def logged_in_clerk() -> Client:
    client = Client()
    client.cookies["django_language"] = "en"
    assert log_in(client, "clerk").status_code == 302
    return client


def idle_for(client: Client, seconds: int) -> None:
    session = client.session
    session[SEEN_AT] = int(time.time()) - seconds
    session.save()


def test_a_session_idle_too_long_is_logged_out_and_told_why(clerk: User):
    client = logged_in_clerk()
    idle_for(client, 31 * 60)

    page = client.get("/", follow=True)

    assert page.redirect_chain[-1][0].startswith("/login/")
    assert "_auth_user_id" not in client.session
    assert "logged out after 30 minutes without activity" in page.content.decode()
    logout = AuditEvent.objects.filter(action=Action.LOGOUT, username="clerk").get()
    assert logout.ip == "127.0.0.1"


def test_an_active_session_stays_logged_in(clerk: User):
    client = logged_in_clerk()
    idle_for(client, 29 * 60)

    assert client.get("/").status_code == 200
    # That request counted as activity: 29 more minutes later the session is still alive.
    idle = int(time.time()) - client.session[SEEN_AT]
    assert idle < 5
    assert client.get("/").status_code == 200


def test_the_session_is_not_rewritten_on_every_request(clerk: User):
    client = logged_in_clerk()
    idle_for(client, 10)  # seen ten seconds ago
    stamped = client.session[SEEN_AT]

    client.get("/")
    client.get("/")

    assert client.session[SEEN_AT] == stamped  # less than a minute: left alone
    idle_for(client, 61)
    client.get("/")
    assert client.session[SEEN_AT] > stamped


def test_the_time_out_is_a_setting(clerk: User, settings):
    settings.RENFANG_IDLE_MINUTES = 5
    client = logged_in_clerk()
    idle_for(client, 6 * 60)

    page = client.get("/", follow=True)

    assert "_auth_user_id" not in client.session
    assert "5 minutes" in page.content.decode()


def test_zero_minutes_turns_the_time_out_off(clerk: User, settings):
    settings.RENFANG_IDLE_MINUTES = 0
    client = logged_in_clerk()
    idle_for(client, 24 * 3600)

    assert client.get("/").status_code == 200


def test_an_idle_api_session_gets_no_data(clerk: User):
    client = logged_in_clerk()
    assert client.get("/api/me").status_code == 200
    idle_for(client, 31 * 60)

    response = client.get("/api/me")

    assert response.status_code == 401
    assert "_auth_user_id" not in client.session
