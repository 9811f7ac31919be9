"""``renfang tokens create / list / revoke`` and the token services behind them."""

from __future__ import annotations

import datetime
import hashlib
import io

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone, translation

from renfang.accounts.models import ApiToken
from renfang.accounts.tokens import TokenError, api_token_create, api_token_revoke
from renfang.audit.models import Action, AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def system_user() -> User:
    return User.objects.create_user("hr_system")


def tokens(*args: str) -> str:
    out = io.StringIO()
    call_command("tokens", *args, stdout=out)
    return out.getvalue()


def test_create_shows_the_key_once_and_keeps_only_its_hash(system_user: User) -> None:
    output = tokens("create", "hr_system", "--name", "HR bureau")
    token = ApiToken.objects.get()
    key = output.strip().splitlines()[-1]
    assert key.startswith(token.prefix)
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert token.name == "HR bureau"
    assert token.user == system_user
    assert token.expires_at is None
    assert f"Token {token.prefix} (HR bureau) for hr_system, expires never." in output
    # The key works, and nothing else prints it again.
    assert Client(HTTP_AUTHORIZATION=f"Bearer {key}").get("/api/me").status_code == 200
    assert key not in tokens("list")


def test_create_is_audited_as_user_administration(system_user: User) -> None:
    tokens("create", "hr_system", "--name", "HR bureau", "--expires-days", "30")
    event = AuditEvent.objects.get(action=Action.ADMIN)
    token = ApiToken.objects.get()
    assert event.record_type == "api_token"
    assert event.record_id == token.prefix
    assert event.detail["change"] == "token created"
    assert event.detail["for_user"] == "hr_system"
    assert event.channel == "command"


def test_create_with_an_expiry(system_user: User) -> None:
    tokens("create", "hr_system", "--name", "HR bureau", "--expires-days", "30")
    expires_at = ApiToken.objects.get().expires_at
    assert expires_at is not None
    expected = timezone.now() + datetime.timedelta(days=30)
    assert abs(expires_at - expected) < datetime.timedelta(minutes=1)


@pytest.mark.parametrize("days", ["0", "-3", "thirty", "100000"])
def test_create_refuses_a_bad_expiry(system_user: User, days: str) -> None:
    with pytest.raises(CommandError, match="expires-days"):
        tokens("create", "hr_system", "--name", "HR bureau", "--expires-days", days)
    assert not ApiToken.objects.exists()


def test_create_for_an_unknown_user_says_so(db: None) -> None:
    with pytest.raises(CommandError, match="no user is called 'nobody'"):
        tokens("create", "nobody", "--name", "HR bureau")


def test_create_for_an_inactive_user_says_so(system_user: User) -> None:
    system_user.is_active = False
    system_user.save()
    with pytest.raises(CommandError, match="inactive"):
        tokens("create", "hr_system", "--name", "HR bureau")


def test_create_needs_a_name(system_user: User) -> None:
    with pytest.raises(CommandError, match="needs a name"):
        tokens("create", "hr_system", "--name", "  ")


def test_list_shows_every_token_or_one_users(system_user: User) -> None:
    other = User.objects.create_user("police_system")
    api_token_create(user=system_user, name="HR bureau")
    revoked = api_token_create(user=other, name="Police").token
    api_token_revoke(prefix=revoked.prefix)
    everything = tokens("list")
    assert "HR bureau" in everything
    assert "Police" in everything
    assert "revoked" in everything
    only_hr = tokens("list", "hr_system")
    assert "HR bureau" in only_hr
    assert "Police" not in only_hr


def test_list_of_a_user_without_tokens(system_user: User) -> None:
    assert tokens("list", "hr_system").strip() == "No tokens."


def test_list_of_an_unknown_user_says_so(db: None) -> None:
    with pytest.raises(CommandError, match="no user is called 'nobody'"):
        tokens("list", "nobody")


def test_revoke_by_prefix(system_user: User) -> None:
    created = api_token_create(user=system_user, name="HR bureau")
    output = tokens("revoke", created.token.prefix)
    assert f"Revoked token {created.token.prefix} (HR bureau) of hr_system." in output
    assert ApiToken.objects.get().revoked_at is not None
    assert Client(HTTP_AUTHORIZATION=f"Bearer {created.key}").get("/api/me").status_code == 401
    event = AuditEvent.objects.filter(action=Action.ADMIN).latest("id")
    assert event.detail["change"] == "token revoked"


def test_revoke_accepts_the_whole_key_without_echoing_it(system_user: User) -> None:
    created = api_token_create(user=system_user, name="HR bureau")
    output = tokens("revoke", created.key)
    assert created.key not in output
    assert ApiToken.objects.get().revoked_at is not None


def test_revoke_twice_says_it_was_revoked_already(system_user: User) -> None:
    created = api_token_create(user=system_user, name="HR bureau")
    tokens("revoke", created.token.prefix)
    with pytest.raises(CommandError, match="revoked already"):
        tokens("revoke", created.token.prefix)


@pytest.mark.parametrize("prefix", ["rf_00000000", "rf_0"])
def test_revoke_an_unknown_or_short_prefix_says_so(system_user: User, prefix: str) -> None:
    api_token_create(user=system_user, name="HR bureau")
    with pytest.raises(CommandError, match="prefix"):
        tokens("revoke", prefix)
    assert ApiToken.objects.get().revoked_at is None


def test_revoke_refuses_an_ambiguous_prefix(system_user: User) -> None:
    first = api_token_create(user=system_user, name="HR bureau").token
    second = api_token_create(user=system_user, name="HR bureau 2").token
    ApiToken.objects.filter(pk=second.pk).update(prefix=first.prefix)
    with pytest.raises(TokenError, match="more than one"):
        api_token_revoke(prefix=first.prefix)
    assert not ApiToken.objects.filter(revoked_at__isnull=False).exists()


def test_an_expiry_in_the_past_is_refused(system_user: User) -> None:
    with pytest.raises(TokenError, match="future"):
        api_token_create(
            user=system_user,
            name="HR bureau",
            expires_at=timezone.now() - datetime.timedelta(days=1),
        )
