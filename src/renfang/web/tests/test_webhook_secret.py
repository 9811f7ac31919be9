"""The webhook's signing secret (issue 11, finding 12): shown once, on the page that set the
webhook, and never in a cookie, a header, the session or a later page."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from renfang.exchange.models import WebhookEndpoint
from renfang.testing.matrix import World
from renfang.web.tests.test_exchange_pages import admin, subscribe, world

__all__ = ["admin", "world"]  # fixtures

pytestmark = pytest.mark.django_db


def test_the_secret_is_shown_once_and_travels_in_no_cookie_or_header(
    world: World, admin: Client
) -> None:
    subscription = subscribe(world)
    webhook = reverse("web:subscription_webhook", args=[subscription.pk])

    response = admin.post(webhook, {"action": "create", "url": "https://93.184.216.34/hooks"})

    secret = WebhookEndpoint.objects.get().secret
    bare = secret.removeprefix("whsec_")
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count(secret) == 1  # shown exactly once
    assert 'id="webhook-secret"' in page
    for name, value in response.items():
        assert bare not in value, f"the secret travels in the {name} header"
    for name, morsel in response.cookies.items():
        assert bare not in morsel.OutputString(), f"the secret travels in the {name} cookie"
    assert "messages" not in admin.cookies or bare not in admin.cookies["messages"].value
    for session in Session.objects.all():
        assert bare not in str(session.get_decoded())
    assert (
        response["Cache-Control"].startswith("no-store") or "no-store" in response["Cache-Control"]
    )

    # The next page (and any later one) does not show it again.
    later = admin.get(reverse("web:subscription_detail", args=[subscription.pk]))
    assert bare not in later.content.decode()
    assert 'id="webhook-secret"' not in later.content.decode()
