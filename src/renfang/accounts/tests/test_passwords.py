"""The password policy: length, Django's checks and a mix of character classes, each
configurable; the user sees why a password is refused, on the page where they chose it."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import password_validators_help_texts
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import translation

from renfang.accounts.passwords import CharacterClassValidator, character_classes
from renfang.accounts.tests.conftest import PASSWORD
from renfang.audit.models import Action, AuditEvent


def refusals(password: str, user: User | None = None) -> list[str]:
    from django.contrib.auth.password_validation import validate_password  # noqa: PLC0415

    try:
        validate_password(password, user)
    except ValidationError as error:
        return [e.code or "" for e in error.error_list]
    return []


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("Short-1a", "password_too_short"),
        ("123456789012345", "password_entirely_numeric"),
        ("alllowercaseletters", "password_too_plain"),
        ("Password1234", "password_too_common"),
    ],
)
def test_a_weak_password_is_refused_with_its_reason(db, password, code):
    assert code in refusals(password)


def test_a_password_like_the_username_is_refused(db):
    user = User(username="zhangwei2024", first_name="Wei")
    assert "password_too_similar" in refusals("Zhangwei2024!", user)


def test_a_long_mixed_password_is_accepted(db):
    assert refusals("Tianping-road-12") == []
    assert refusals("天平路十二号Room301") == []  # Chinese characters count as symbols


def test_the_minimum_length_and_classes_follow_the_settings(db, settings):
    settings.AUTH_PASSWORD_VALIDATORS = [
        {
            "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
            "OPTIONS": {"min_length": 20},
        },
        {
            "NAME": "renfang.accounts.passwords.CharacterClassValidator",
            "OPTIONS": {"min_classes": 4},
        },
    ]
    assert set(refusals("Tianping-road-12")) == {"password_too_short"}
    assert set(refusals("tianping-road-twelve-x")) == {"password_too_plain"}
    assert refusals("Tianping-road-12-Xuhui") == []


def test_the_help_text_says_what_is_needed(db):
    with translation.override("en"):
        texts = " ".join(password_validators_help_texts())
    assert "at least 12 characters" in texts
    assert "at least 3 of" in texts


def test_character_classes_are_counted():
    assert character_classes("abc") == 1
    assert character_classes("abcDEF") == 2
    assert character_classes("abcDEF123") == 3
    assert character_classes("abcDEF123!") == 4
    with pytest.raises(ValueError, match="between 0 and 4"):
        CharacterClassValidator(min_classes=5)
    CharacterClassValidator(min_classes=0).validate("a")  # 0: no requirement


def test_changing_ones_password_applies_the_policy_and_is_audited(clerk):
    client = Client()
    client.force_login(clerk)

    refused = client.post(
        "/account/password/",
        {"old_password": PASSWORD, "new_password1": "short", "new_password2": "short"},
    )

    assert refused.status_code == 200
    errors = re.findall(r'class="error"[^>]*>([^<]*)<', refused.content.decode())
    assert any("12" in error for error in errors), errors  # too short: at least 12
    clerk.refresh_from_db()
    assert clerk.check_password(PASSWORD)

    new = "Jianguo-road-301"
    accepted = client.post(
        "/account/password/",
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )

    assert accepted.status_code == 302
    assert accepted["Location"] == "/account/password/done/"
    clerk.refresh_from_db()
    assert clerk.check_password(new)
    event = AuditEvent.objects.get(action=Action.ADMIN, detail__field="password")
    assert event.username == "clerk"
    assert event.detail == {"field": "password", "old": None, "new": "changed"}
    assert new not in str(event.detail) and clerk.password not in str(event.detail)
