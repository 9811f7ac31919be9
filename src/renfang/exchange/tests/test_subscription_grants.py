"""A subscription chooses people only by fields its subscriber is granted (issue 11, finding 6;
ADR 0022).

The attack: ``categories: ["overseas"]`` for a department that may not see nationality
delivered exactly the overseas people, i.e. their nationality. Every filter (categories need
nationality and hukou, sex needs sex, ages and the death and birth event types need the birth
date, areas the grant's areas) is checked on create and update, through the API and the web
form, with a message naming the filter and the missing grant; and again at every read of the
feed and every webhook planning: a grant that shrank suspends the subscription (it delivers
nothing, and says why) until the administrator changes the subscription or the grant.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from renfang.accounts.access import forget_access
from renfang.accounts.models import PersonField, RoleGrant
from renfang.exchange.models import (
    Delivery,
    Event,
    EventHead,
    EventType,
    Subscription,
    WebhookEndpoint,
)
from renfang.exchange.subscriptions import (
    SubscriptionInvalid,
    subscription_create,
    subscription_update,
)
from renfang.exchange.tests.feed_world import feed_emptied
from renfang.exchange.webhooks.services import deliveries_plan
from renfang.testing.matrix import World, build_world
from renfang.testing.users import client_for

pytestmark = pytest.mark.django_db

A1 = "310104003001"
AT = datetime.datetime(2026, 5, 1, 9, 0, tzinfo=datetime.UTC)
# The world's department reader: A1, name, sex and residences.
READER_FIELDS = [PersonField.NAME, PersonField.SEX, PersonField.RESIDENCES]


@pytest.fixture
def world() -> World:
    return build_world()


def _grant(world: World, fields: Sequence[str]) -> None:
    reader = world.users["department_reader"]
    RoleGrant.objects.filter(user=reader).update(fields=fields)
    forget_access(reader)


def _arrivals() -> None:
    """Three arrivals in A1: one overseas, one migrant, one registered resident."""
    feed_emptied()
    for seq, category in enumerate(("overseas", "domestic_migrant", "registered"), start=1):
        Event.objects.create(
            seq=seq,
            at=AT + datetime.timedelta(minutes=seq),
            type=EventType.ARRIVED,
            person_id=2000 + seq,
            division=A1,
            sex="2",
            age=30,
            category=category,
            changes=[{"field": "name", "old": None, "new": f"来住{seq}"}],
            source="register",
        )
    EventHead.objects.update_or_create(id=1, defaults={"last_seq": 3})


def _post(client: Client, url: str, data: dict[str, Any], method: str = "post") -> Any:
    send = getattr(client, method)
    return send(url, json.dumps(data), content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")


def test_a_category_filter_without_nationality_and_hukou_is_refused_by_the_api(
    world: World,
) -> None:
    """The issue's attack: the overseas people of A1 for a reader not granted nationality."""
    _arrivals()
    admin = client_for(world.users["district_admin"])

    response = _post(
        admin,
        "/api/subscriptions",
        {"subscriber": "m_reader", "name": "境外", "categories": ["overseas"]},
    )

    assert response.status_code == 422, response.content
    (problem,) = response.json()["error"]["fields"]
    assert problem["field"] == "categories"
    assert "nationality" in problem["message"] and "hukou" in problem["message"]
    assert not Subscription.objects.exists()


@pytest.mark.parametrize(
    ("values", "field", "grant"),
    [
        ({"categories": ["registered"]}, "categories", "nationality, hukou"),
        ({"age_min": 15}, "age_min", "birth_date"),
        ({"age_max": 49}, "age_max", "birth_date"),
        ({"event_types": [EventType.DIED]}, "event_types", "birth_date"),
        ({"event_types": [EventType.BORN]}, "event_types", "birth_date"),
    ],
)
def test_every_filter_needs_the_grant_of_its_field(
    world: World, values: dict[str, Any], field: str, grant: str
) -> None:
    with translation.override("en"), pytest.raises(SubscriptionInvalid) as caught:
        subscription_create(
            user=world.users["district_admin"],
            subscriber=world.users["department_reader"],
            name="x",
            **values,
        )
    (message,) = caught.value.errors[field]
    assert grant in message


def test_sex_needs_the_sex_grant_and_an_update_is_checked_too(world: World) -> None:
    subscription = subscription_create(
        user=world.users["district_admin"],
        subscriber=world.users["department_reader"],
        name="甲一",
    )
    _grant(world, [PersonField.NAME, PersonField.RESIDENCES])

    with pytest.raises(SubscriptionInvalid) as caught:
        subscription_update(subscription, user=world.users["district_admin"], sex="2")

    assert "sex" in caught.value.errors
    subscription.refresh_from_db()
    assert subscription.sex == ""


def test_the_api_update_names_the_filter_and_the_missing_grant(world: World) -> None:
    subscription = subscription_create(
        user=world.users["district_admin"],
        subscriber=world.users["department_reader"],
        name="甲一",
    )
    admin = client_for(world.users["district_admin"])

    response = _post(
        admin, f"/api/subscriptions/{subscription.pk}", {"age_min": 60}, method="patch"
    )

    assert response.status_code == 422
    (problem,) = response.json()["error"]["fields"]
    assert problem["field"] == "age_min" and "birth_date" in problem["message"]


def test_the_web_form_refuses_a_filter_outside_the_grant(world: World) -> None:
    admin = client_for(world.users["district_admin"])

    response = admin.post(
        reverse("web:subscription_create"),
        {
            "subscriber": world.users["department_reader"].pk,
            "name": "境外",
            "categories": ["overseas"],
            "age_min": "15",
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 400
    form = response.context["form"]
    assert any("nationality" in m for m in form.errors["categories"])
    assert any("birth_date" in m for m in form.errors["age_min"])
    assert not Subscription.objects.exists()


def test_a_granted_filter_still_works(world: World) -> None:
    _grant(world, [*READER_FIELDS, PersonField.NATIONALITY, PersonField.HUKOU])
    _arrivals()
    subscription_create(
        user=world.users["district_admin"],
        subscriber=world.users["department_reader"],
        name="境外",
        categories=["overseas"],
    )
    reader = client_for(world.users["department_reader"])

    body = reader.get("/api/feed").json()

    assert [e["person"] for e in body["events"]] == [2001]
    assert body["suspended"] == []


def test_a_grant_that_shrank_suspends_the_feed_and_the_webhook(world: World) -> None:
    _grant(world, [*READER_FIELDS, PersonField.NATIONALITY, PersonField.HUKOU])
    subscription = subscription_create(
        user=world.users["district_admin"],
        subscriber=world.users["department_reader"],
        name="境外",
        categories=["overseas"],
    )
    WebhookEndpoint.objects.create(
        subscription=subscription, url="https://receiver.example/hook", secret="whsec_x"
    )
    _grant(world, READER_FIELDS)  # nationality and hukou taken away
    _arrivals()
    reader = client_for(world.users["department_reader"])
    admin = client_for(world.users["district_admin"])

    body = reader.get("/api/feed", HTTP_ACCEPT_LANGUAGE="en").json()
    planned = deliveries_plan()
    shown = admin.get(f"/api/subscriptions/{subscription.pk}", HTTP_ACCEPT_LANGUAGE="en")
    page = admin.get(
        reverse("web:subscription_detail", args=[subscription.pk]), HTTP_ACCEPT_LANGUAGE="en"
    )

    assert body["events"] == []
    assert body["suspended"] and "nationality" in body["suspended"][0]
    assert planned == 0 and not Delivery.objects.exists()
    assert shown.json()["suspended"] == body["suspended"]
    assert page.status_code == 200
    assert "suspended-why" in page.content.decode()
    assert "来住1" not in page.content.decode()
