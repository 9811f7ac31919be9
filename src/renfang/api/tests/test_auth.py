"""Who may call the API: bearer tokens for systems, the session (with CSRF) for the browser."""

from __future__ import annotations

import datetime
import hashlib

import pytest
from django.test import Client
from django.utils import timezone

from renfang.accounts.models import ApiToken
from renfang.accounts.tokens import api_token_create, api_token_revoke
from renfang.api.main import api
from renfang.api.tests.conftest import error_of, logged_in
from renfang.audit.models import Action, AuditEvent

pytestmark = pytest.mark.django_db


def _operations() -> list[tuple[str, str]]:
    """(method, path with sample values) of every operation in the document."""
    schema = api.get_openapi_schema(path_prefix="/api/")
    samples = {
        "{person_id}": "1",
        "{house_code}": "310104003001900001",
        "{code}": "310104",
        "{code_set}": "sex",
    }
    operations: list[tuple[str, str]] = []
    for template, methods in schema["paths"].items():
        path = template
        for sample, value in samples.items():
            path = path.replace(sample, value)
        operations.extend((method.upper(), path) for method in methods)
    return operations


@pytest.mark.parametrize(("method", "path"), _operations())
def test_every_operation_refuses_a_caller_without_credentials(
    world: object, method: str, path: str
) -> None:
    response = Client().generic(method, path, "{}", content_type="application/json")
    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_valid_token_authenticates_its_user(world, bearer) -> None:
    response = bearer("committee_clerk").get("/api/me")
    assert response.status_code == 200
    me = response.json()
    assert me["username"] == world.users["committee_clerk"].username
    assert me["roles"] == ["committee_clerk"]
    assert me["areas"] == [world.areas["A1"].code]
    assert me["may_unmask"] is True
    assert me["full_identifiers"] is False


def test_only_a_hash_of_the_key_is_kept_and_the_prefix_names_it(world) -> None:
    created = api_token_create(user=world.users["police"], name="110 system")
    stored = ApiToken.objects.get(pk=created.token.pk)
    assert stored.key_hash == hashlib.sha256(created.key.encode()).hexdigest()
    assert created.key.startswith("rf_")
    assert stored.prefix == created.key[: len(stored.prefix)]
    assert len(created.key) > len(stored.prefix) + 30
    for value in (stored.name, stored.prefix, stored.key_hash):
        assert created.key not in value


@pytest.mark.parametrize(
    "header",
    [
        "Bearer rf_thisisnotakeythisisnotakeythisisnotakey12345",
        "Bearer not-even-our-format",
        "Bearer ",
        "bearer rf_",
    ],
)
def test_a_wrong_token_is_refused_and_audited(world, header: str) -> None:
    response = Client(HTTP_AUTHORIZATION=header).get("/api/me")
    assert response.status_code == 401
    error = error_of(response)
    assert error["code"] == "not_authenticated"
    failed = AuditEvent.objects.filter(action=Action.LOGIN_FAILED).latest("id")
    assert failed.detail == {"via": "api token", "reason": "unknown"}
    assert failed.channel == "api"
    assert failed.user_id is None


def test_a_revoked_token_is_refused(world) -> None:
    created = api_token_create(user=world.users["police"], name="110 system")
    api_token_revoke(prefix=created.token.prefix)
    response = Client(HTTP_AUTHORIZATION=f"Bearer {created.key}").get("/api/me")
    assert response.status_code == 401
    error = error_of(response)
    assert error["code"] == "not_authenticated"
    assert "吊销" in error["message"]  # "revoked", in the default language
    failed = AuditEvent.objects.filter(action=Action.LOGIN_FAILED).latest("id")
    assert failed.detail["reason"] == "revoked"
    assert failed.record_id == created.token.prefix


def test_an_expired_token_is_refused(world) -> None:
    created = api_token_create(
        user=world.users["police"],
        name="110 system",
        expires_at=timezone.now() + datetime.timedelta(days=1),
    )
    ApiToken.objects.filter(pk=created.token.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    response = Client(HTTP_AUTHORIZATION=f"Bearer {created.key}").get("/api/people?q=x")
    assert response.status_code == 401
    error = error_of(response)
    assert error["code"] == "not_authenticated"
    assert "过期" in error["message"]  # "expired"


def test_the_token_of_a_deactivated_user_is_refused(world) -> None:
    created = api_token_create(user=world.users["police"], name="110 system")
    world.users["police"].is_active = False
    world.users["police"].save()
    response = Client(HTTP_AUTHORIZATION=f"Bearer {created.key}").get("/api/me")
    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"


def test_a_wrong_token_is_refused_even_with_a_valid_session(world, as_role) -> None:
    client = as_role("committee_clerk")
    assert client.get("/api/me").status_code == 200
    response = client.get("/api/me", HTTP_AUTHORIZATION="Bearer rf_wrongwrongwrongwrong")
    assert response.status_code == 401


def test_the_token_decides_who_calls_not_the_session(world, as_role) -> None:
    client = as_role("committee_clerk")
    key = api_token_create(user=world.users["police"], name="110 system").key
    response = client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.json()["username"] == world.users["police"].username


def test_last_used_is_recorded_at_most_once_a_minute(world) -> None:
    created = api_token_create(user=world.users["police"], name="110 system")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {created.key}")
    assert ApiToken.objects.get(pk=created.token.pk).last_used_at is None
    client.get("/api/me")
    first = ApiToken.objects.get(pk=created.token.pk).last_used_at
    assert first is not None
    recent = timezone.now() - datetime.timedelta(seconds=30)
    ApiToken.objects.filter(pk=created.token.pk).update(last_used_at=recent)
    client.get("/api/me")
    assert ApiToken.objects.get(pk=created.token.pk).last_used_at == recent
    earlier = timezone.now() - datetime.timedelta(minutes=2)
    ApiToken.objects.filter(pk=created.token.pk).update(last_used_at=earlier)
    client.get("/api/me")
    latest = ApiToken.objects.get(pk=created.token.pk).last_used_at
    assert latest is not None
    assert latest > earlier


def test_a_session_reads_without_a_csrf_token(world) -> None:
    client = logged_in(world.users["committee_clerk"], enforce_csrf_checks=True)
    assert client.get("/api/me").status_code == 200


def test_a_session_still_owing_its_second_factor_does_not_count(world) -> None:
    admin = world.users["district_admin"]
    assert logged_in(admin, second_factor=False).get("/api/me").status_code == 401
    assert logged_in(admin).get("/api/me").status_code == 200
    # A token is not a session: a system's token works without a code.
    key = api_token_create(user=admin, name="district dashboard").key
    assert Client(HTTP_AUTHORIZATION=f"Bearer {key}").get("/api/me").status_code == 200


def test_a_session_post_needs_the_csrf_token(world) -> None:
    person = world.planted["A1"].person
    client = logged_in(world.users["committee_clerk"], enforce_csrf_checks=True)
    url = f"/api/people/{person.pk}/unmask"
    body = {"field": "id_number", "purpose": "verifying a declaration"}
    refused = client.post(url, body, content_type="application/json")
    assert refused.status_code == 403
    assert error_of(refused)["code"] == "csrf_failed"
    assert not AuditEvent.objects.filter(action=Action.UNMASK).exists()

    client.get("/api/docs")  # any page sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    allowed = client.post(url, body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert allowed.status_code == 200
    assert allowed.json()["values"] == [person.id_number]


def test_a_token_post_needs_no_csrf_token(world) -> None:
    person = world.planted["A1"].person
    key = api_token_create(user=world.users["committee_clerk"], name="clerk system").key
    client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {key}")
    response = client.post(
        f"/api/people/{person.pk}/unmask",
        {"field": "id_number", "purpose": "verifying a declaration"},
        content_type="application/json",
    )
    assert response.status_code == 200


def test_an_anonymous_post_is_not_authenticated_rather_than_a_csrf_failure(world) -> None:
    person = world.planted["A1"].person
    response = Client(enforce_csrf_checks=True).post(
        f"/api/people/{person.pk}/unmask",
        {"field": "id_number", "purpose": "x"},
        content_type="application/json",
    )
    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"


def test_a_deactivated_users_session_is_refused(world, as_role) -> None:
    client = as_role("committee_clerk")
    world.users["committee_clerk"].is_active = False
    world.users["committee_clerk"].save()
    assert client.get("/api/me").status_code == 401
