"""The TOTP second factor: required for roles that need it (district administrators), set up
after the password with a QR code, asked before any page or session API call works; wrong
codes are audited and count towards the lock-out. A committee clerk is not asked."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from renfang.accounts.tests.conftest import (
    code_for,
    confirmed_device,
    log_in,
    with_second_factor,
    wrong_code,
)
from renfang.accounts.totp import key_text
from renfang.audit.models import Action, AuditEvent

SETUP = "/account/second-factor/setup/"
VERIFY = "/account/second-factor/"


def english() -> Client:
    client = Client()
    client.cookies["django_language"] = "en"
    return client


def test_a_clerk_logs_in_with_the_password_alone(clerk: User):
    client = english()

    assert log_in(client, "clerk").status_code == 302
    assert client.get("/").status_code == 200


def test_an_administrator_without_a_device_is_sent_to_set_one_up(district_admin: User):
    client = english()
    log_in(client, "qu_admin")

    home = client.get("/")
    assert home.status_code == 302
    assert home["Location"] == f"{VERIFY}?next=/"
    setup = client.get(home["Location"], follow=True)

    assert setup.redirect_chain[-1][0] == f"{SETUP}?next=%2F"
    text = setup.content.decode()
    assert "<svg" in text and "<path" in text  # the QR code, drawn inline
    assert "http" not in text.split("<svg", 1)[1].split("</svg>", 1)[0].replace(
        "http://www.w3.org/2000/svg", ""
    )  # no image from another server
    device = TOTPDevice.objects.get(user=district_admin)
    assert not device.confirmed
    assert key_text(device) in text  # the key as text, to type in
    assert "Your role needs a second factor" in text


def test_the_setup_is_confirmed_with_a_code_and_the_admin_gets_in(district_admin: User):
    client = english()
    log_in(client, "qu_admin")
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=district_admin)

    refused = client.post(SETUP, {"code": wrong_code(device), "next": "/"})
    assert refused.status_code == 200
    assert "That code is not right" in refused.content.decode()
    assert client.get("/").status_code == 302  # still nothing

    confirmed = client.post(SETUP, {"code": code_for(device), "next": "/search/?q=x"})

    assert confirmed.status_code == 302
    assert confirmed["Location"] == "/search/?q=x"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/").status_code == 200
    assert AuditEvent.objects.filter(
        action=Action.ADMIN, detail__field="second_factor", detail__new="totp"
    ).exists()


def test_reloading_the_setup_page_keeps_the_same_key(district_admin: User):
    client = english()
    log_in(client, "qu_admin")

    first = client.get(SETUP).content.decode()
    second = client.get(SETUP).content.decode()

    key = re.search(r'id="totp-key">([^<]+)<', first)
    assert key is not None and key.group(1) in second
    assert TOTPDevice.objects.filter(user=district_admin).count() == 1


def test_an_administrator_with_a_device_is_asked_for_the_code(district_admin: User):
    device = confirmed_device(district_admin)
    client = english()
    log_in(client, "qu_admin")

    for path in ("/", "/search/?q=张", "/admin/", "/account/password/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith(VERIFY), path
    assert client.get(SETUP)["Location"].startswith(VERIFY)  # no second device behind its back

    page = client.get(VERIFY)
    assert page.status_code == 200 and 'name="code"' in page.content.decode()
    verified = client.post(VERIFY, {"code": code_for(device), "next": "/"})

    assert verified.status_code == 302 and verified["Location"] == "/"
    assert client.get("/").status_code == 200
    login = AuditEvent.objects.filter(action=Action.LOGIN, username="qu_admin").order_by("id")
    assert [e.detail for e in login] == [
        {"factor": "password", "pending": "totp"},  # the password: not yet a complete login
        {"factor": "totp"},
    ]


def test_a_wrong_code_is_audited_as_a_failed_login(district_admin: User):
    device = confirmed_device(district_admin)
    client = english()
    log_in(client, "qu_admin")

    page = client.post(VERIFY, {"code": wrong_code(device), "next": "/"})

    assert page.status_code == 200
    assert "That code is not right" in page.content.decode()
    failed = AuditEvent.objects.get(action=Action.LOGIN_FAILED)
    assert failed.detail == {"factor": "totp"}
    assert failed.username == "qu_admin"
    assert failed.user_id == district_admin.pk
    assert failed.ip == "127.0.0.1"


def test_a_code_that_is_not_digits_is_refused_without_counting(district_admin: User):
    confirmed_device(district_admin)
    client = english()
    log_in(client, "qu_admin")

    page = client.post(VERIFY, {"code": "abcdef"})

    assert page.status_code == 200
    assert not AuditEvent.objects.filter(action=Action.LOGIN_FAILED).exists()


def test_wrong_codes_lock_the_account_and_end_the_session(district_admin: User):
    device = confirmed_device(district_admin)
    client = english()
    log_in(client, "qu_admin")

    statuses = [client.post(VERIFY, {"code": wrong_code(device)}).status_code for _ in range(5)]

    assert statuses == [200, 200, 200, 200, 429]
    assert "_auth_user_id" not in client.session
    # Locked: the password no longer opens even the code page, until the cool-off ends.
    again = log_in(client, "qu_admin")
    assert again.status_code == 429
    assert "Too many failed logins" in again.content.decode()
    assert AuditEvent.objects.filter(action=Action.DENIED, username="qu_admin").exists()


def test_password_failures_and_code_failures_add_up(district_admin: User):
    device = confirmed_device(district_admin)
    client = english()
    for _ in range(3):
        log_in(client, "qu_admin", "Not-the-password-1")
    log_in(client, "qu_admin")

    client.post(VERIFY, {"code": wrong_code(device)})
    locking = client.post(VERIFY, {"code": wrong_code(device)})

    assert locking.status_code == 429


def test_the_password_alone_does_not_clear_the_failure_count(district_admin: User):
    # Otherwise whoever has the password could guess codes without end: four codes, log in
    # again, four more ...
    device = confirmed_device(district_admin)
    client = english()
    log_in(client, "qu_admin")
    for _ in range(4):
        client.post(VERIFY, {"code": wrong_code(device)})
    client.post("/logout/")

    log_in(client, "qu_admin")
    locking = client.post(VERIFY, {"code": wrong_code(device)})

    assert locking.status_code == 429


def test_the_session_api_waits_for_the_code_but_tokens_do_not(district_admin: User):
    from renfang.accounts.tokens import api_token_create  # noqa: PLC0415

    device = confirmed_device(district_admin)
    client = english()
    log_in(client, "qu_admin")

    assert client.get("/api/me").status_code == 401

    client.post(VERIFY, {"code": code_for(device)})
    assert client.get("/api/me").json()["username"] == "qu_admin"
    created = api_token_create(user=district_admin, name="district system")
    with_token = Client().get("/api/me", headers={"Authorization": f"Bearer {created.key}"})
    assert with_token.status_code == 200


def test_others_may_choose_a_second_factor_and_are_then_asked(clerk: User):
    client = english()
    log_in(client, "clerk")
    page = client.get(SETUP)
    assert page.status_code == 200
    assert "Your role needs" not in page.content.decode()
    device = TOTPDevice.objects.get(user=clerk)
    client.post(SETUP, {"code": code_for(device)})
    client.post("/logout/")

    log_in(client, "clerk")

    assert client.get("/")["Location"].startswith(VERIFY)
    assert client.post(VERIFY, {"code": code_for(device, 1)}).status_code == 302
    assert client.get("/").status_code == 200


def test_a_set_up_device_page_says_so(clerk: User):
    client = with_second_factor(english(), clerk)

    page = client.get(SETUP)

    assert page.status_code == 200
    assert "Your authenticator app is set up" in page.content.decode()
    assert "totp-key" not in page.content.decode()  # the key is never shown again


@pytest.mark.parametrize(
    "case",
    [("admins", False, True), ("all", True, True), ("off", False, False)],
    ids=["admins", "all", "off"],
)
def test_who_is_asked_follows_the_mode(settings, clerk, district_admin, case):
    mode, clerk_asked, admin_asked = case
    settings.RENFANG_TOTP = mode
    for user, asked in ((clerk, clerk_asked), (district_admin, admin_asked)):
        client = english()
        log_in(client, user.username)
        assert (client.get("/").status_code == 302) is asked, (mode, user.username)


def test_with_the_mode_off_there_is_no_setup_page(settings, clerk):
    settings.RENFANG_TOTP = "off"
    client = english()
    log_in(client, "clerk")

    assert client.get(SETUP).status_code == 404


def test_the_code_page_refuses_a_redirect_to_another_site(district_admin: User):
    device = confirmed_device(district_admin)
    client = english()
    log_in(client, "qu_admin")

    response = client.post(VERIFY, {"code": code_for(device), "next": "https://evil.example/"})

    assert response["Location"] == "/"


def test_logging_out_from_the_code_page_works(district_admin: User):
    confirmed_device(district_admin)
    client = english()
    log_in(client, "qu_admin")

    assert client.post("/logout/").status_code == 302
    assert "_auth_user_id" not in client.session
