"""The subscriptions pages: the district administrator lists, exports, creates and changes
subscriptions (each problem shown at its field), sees a subscription's feed as the department
receives it, its webhook and dead letters; nobody else finds the pages; a department reader
reads its own feeds."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from renfang.accounts.access import forget_access
from renfang.accounts.masks import mask_id_number, mask_phone
from renfang.accounts.models import PersonField, RoleGrant
from renfang.audit.models import Action, AuditEvent
from renfang.exchange.models import (
    Delivery,
    DeliveryStatus,
    Event,
    EventType,
    Subscription,
    WebhookEndpoint,
)
from renfang.exchange.subscriptions import subscription_create
from renfang.exchange.tests.feed_world import feed_emptied, grant_filters
from renfang.testing.matrix import World, build_world
from renfang.testing.users import client_for
from renfang.web.tests.test_exports import rows_of

pytestmark = pytest.mark.django_db

A1 = "310104003001"
B1 = "310104004001"
ID_NUMBER = "310104197101010031"


@pytest.fixture
def world() -> World:
    built = build_world()
    grant_filters(built)
    return built


def english(client: Client) -> Client:
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def admin(world: World) -> Client:
    return english(client_for(world.users["district_admin"]))


def subscribe(world: World, **values: Any) -> Subscription:
    return subscription_create(
        user=world.users["district_admin"],
        subscriber=world.users["department_reader"],
        name=values.pop("name", "民政 甲一"),
        **values,
    )


def arrival(seq: int, division: str) -> Event:
    if seq == 1:  # the first planted event: the feed holds only what the test plants
        feed_emptied()
    return Event.objects.create(
        seq=seq,
        at=datetime.datetime(2026, 5, 1, 9, seq, tzinfo=datetime.UTC),
        type=EventType.ARRIVED,
        person_id=100 + seq,
        division=division,
        sex="1",
        age=40,
        category="registered",
        source="register",
        changes=[
            {"field": "name", "old": None, "new": f"新住户{seq}"},
            {"field": "id_number", "old": None, "new": ID_NUMBER},
        ],
    )


def test_the_admin_reaches_the_subscriptions_from_the_navigation(
    world: World, admin: Client
) -> None:
    subscription = subscribe(world)
    home = admin.get("/").content.decode()
    assert 'id="nav-subscriptions"' in home
    page = admin.get(reverse("web:subscriptions_list"))
    assert page.status_code == 200
    text = page.content.decode()
    assert reverse("web:subscription_detail", args=[subscription.pk]) in text
    assert "m_reader" in text
    assert AuditEvent.objects.filter(
        action=Action.READ, record_type="subscription", user_id=world.users["district_admin"].pk
    ).exists()


def test_the_list_exports_to_excel(world: World, admin: Client) -> None:
    subscribe(world, event_types=[EventType.DIED], areas=[A1])
    response: Any = admin.get(reverse("web:subscriptions_export"))
    header, *data = rows_of(response)
    assert header[:3] == ("Id", "Subscriber", "Name")
    assert len(data) == 1
    assert data[0][1:3] == ("m_reader", "民政 甲一")
    assert data[0][4] == A1
    assert AuditEvent.objects.filter(action=Action.EXPORT, record_type="subscription").exists()


def test_the_admin_creates_a_subscription_and_sees_its_feed_masked(
    world: World, admin: Client
) -> None:
    arrival(1, A1)
    arrival(2, B1)
    response = admin.post(
        reverse("web:subscription_create"),
        {
            "subscriber": world.users["department_reader"].pk,
            "name": "迁入 甲一",
            "event_types": [EventType.ARRIVED],
            "areas": A1,
            "person_fields": ["name"],
            "active": "on",
        },
    )
    subscription = Subscription.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("web:subscription_detail", args=[subscription.pk])
    page = admin.get(response["Location"]).content.decode()
    assert 'id="event-1"' in page and "新住户1" in page
    assert 'id="event-2"' not in page  # another street: not the department's
    assert ID_NUMBER not in page and ID_NUMBER[-4:] not in page  # not granted
    assert AuditEvent.objects.filter(action=Action.READ, record_type="feed").exists()


def test_a_department_granted_whole_numbers_does_not_show_them_to_the_admin(
    world: World, admin: Client
) -> None:
    """The department receives whole ID and phone numbers (they match its records); the
    administrator looking at its feed sees them masked, as on every other page."""
    reader = world.users["department_reader"]
    grant = RoleGrant.objects.get(user=reader)
    grant.fields = [*grant.fields, PersonField.ID_NUMBER, PersonField.PHONE]
    grant.save(update_fields=["fields"])
    forget_access(reader)
    event = arrival(1, A1)
    event.changes = [*event.changes, {"field": "phone", "old": None, "new": "13912345678"}]
    event.save(update_fields=["changes"])
    subscription = subscribe(world, areas=[A1], fields=["name", "id_number", "phone"])

    page = admin.get(reverse("web:subscription_detail", args=[subscription.pk])).content.decode()

    assert 'id="event-1"' in page and "新住户1" in page
    assert ID_NUMBER not in page and "13912345678" not in page
    assert mask_id_number(ID_NUMBER) in page and mask_phone("13912345678") in page
    # The department itself receives them whole.
    own = client_for(reader).get(reverse("web:my_feeds")).content.decode()
    assert ID_NUMBER in own and "13912345678" in own


def test_a_bad_form_shows_each_problem_at_its_field_and_saves_nothing(
    world: World, admin: Client
) -> None:
    response = admin.post(
        reverse("web:subscription_create"),
        {
            "subscriber": world.users["department_reader"].pk,
            "name": "x",
            "areas": f"{B1} 999",
            "person_fields": ["phone"],
            "age_min": "60",
            "age_max": "20",
        },
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["areas"] == [
        f"Area {B1} lies outside the subscriber's grant.",
        "999 is not a known division code.",
    ]
    assert form.errors["person_fields"] == ["The field phone is not granted to the subscriber."]
    assert form.errors["age_max"] == ["The upper age is below the lower age."]
    text = response.content.decode()
    assert "lies outside the subscriber&#x27;s grant" in text
    assert not Subscription.objects.exists()


def test_the_form_offers_only_department_readers(world: World, admin: Client) -> None:
    response = admin.post(
        reverse("web:subscription_create"),
        {"subscriber": world.users["committee_clerk"].pk, "name": "x"},
    )
    assert response.status_code == 400
    assert "subscriber" in response.context["form"].errors


def test_the_admin_changes_and_deletes_a_subscription(world: World, admin: Client) -> None:
    subscription = subscribe(world)
    edit_url = reverse("web:subscription_edit", args=[subscription.pk])
    form = admin.get(edit_url)
    assert form.status_code == 200
    assert 'value="民政 甲一"' in form.content.decode()
    response = admin.post(
        edit_url,
        {
            "subscriber": world.users["department_reader"].pk,
            "name": "民政 死亡",
            "event_types": [EventType.DIED],
            "areas": "",
        },
    )
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert (subscription.name, subscription.event_types, subscription.active) == (
        "民政 死亡",
        [EventType.DIED],
        False,  # the box was not ticked
    )
    assert admin.post(reverse("web:subscription_delete", args=[subscription.pk])).status_code == 302
    assert not Subscription.objects.exists()


def test_the_page_shows_the_webhook_and_its_dead_letters_with_a_resend_button(
    world: World, admin: Client
) -> None:
    subscription = subscribe(world)
    event = arrival(1, A1)
    endpoint = WebhookEndpoint.objects.create(
        subscription=subscription,
        url="http://127.0.0.1:9/hooks",
        allow_private=True,
        secret="whsec_dGVzdA==",
        enabled=False,
        disabled_reason="410 Gone",
    )
    dead = Delivery.objects.create(
        endpoint=endpoint,
        event=event,
        webhook_id="msg_1",
        status=DeliveryStatus.DEAD,
        attempts=9,
        next_attempt_at=timezone.now(),
        last_status_code=410,
    )
    page = admin.get(reverse("web:subscription_detail", args=[subscription.pk])).content.decode()
    assert "http://127.0.0.1:9/hooks" in page and "410 Gone" in page
    assert f'id="dead-{dead.pk}"' in page
    resend = reverse("web:dead_letter_resend", args=[subscription.pk, dead.pk])
    assert resend in page
    # A dead letter of a disabled endpoint waits for the endpoint: the page says so.
    refused = admin.post(resend, follow=True)
    assert "enable the endpoint" in refused.content.decode()
    dead.refresh_from_db()
    assert dead.status == DeliveryStatus.DEAD
    webhook = reverse("web:subscription_webhook", args=[subscription.pk])
    assert admin.post(webhook, {"action": "enable"}).status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.enabled
    assert admin.post(resend).status_code == 302
    dead.refresh_from_db()
    assert dead.status == DeliveryStatus.PENDING
    assert dead.webhook_id == "msg_1"  # the same idempotency key
    # Another subscription's delivery is not found through this one.
    other = subscribe(world, name="其他")
    assert (
        admin.post(reverse("web:dead_letter_resend", args=[other.pk, dead.pk])).status_code == 404
    )


@pytest.mark.parametrize(
    "role", ["street_officer", "committee_clerk", "police", "department_reader", "auditor"]
)
def test_nobody_else_finds_the_subscription_pages(world: World, role: str) -> None:
    subscription = subscribe(world)
    client = client_for(world.users[role])
    for url in (
        reverse("web:subscriptions_list"),
        reverse("web:subscriptions_export"),
        reverse("web:subscription_create"),
        reverse("web:subscription_detail", args=[subscription.pk]),
        reverse("web:subscription_edit", args=[subscription.pk]),
    ):
        assert client.get(url).status_code == 404, url
    assert (
        client.post(reverse("web:subscription_delete", args=[subscription.pk])).status_code == 404
    )
    assert Subscription.objects.filter(pk=subscription.pk).exists()
    assert 'id="nav-subscriptions"' not in client.get("/").content.decode()


def test_the_admin_sets_a_webhook_and_a_private_address_is_refused(
    world: World, admin: Client
) -> None:
    subscription = subscribe(world)
    webhook = reverse("web:subscription_webhook", args=[subscription.pk])
    refused = admin.post(
        webhook, {"action": "create", "url": "http://192.168.1.10/hook"}, follow=True
    )
    assert refused.status_code == 200
    assert not WebhookEndpoint.objects.exists()
    assert (
        admin.post(
            webhook, {"action": "create", "url": "http://192.168.1.10/hook", "allow_private": "on"}
        ).status_code
        == 200  # the page itself, showing the signing secret once (no redirect)
    )
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.allow_private and endpoint.enabled
    admin.post(webhook, {"action": "disable", "reason": "维护"})
    endpoint.refresh_from_db()
    assert (endpoint.enabled, endpoint.disabled_reason) == (False, "维护")


def test_a_department_reader_reads_its_own_feeds(world: World) -> None:
    subscribe(world)
    arrival(1, A1)
    arrival(2, B1)
    reader = client_for(world.users["department_reader"])
    assert 'id="nav-feeds"' in reader.get("/").content.decode()
    page = reader.get(reverse("web:my_feeds")).content.decode()
    assert 'id="event-1"' in page and 'id="event-2"' not in page
    assert ID_NUMBER not in page
    # Someone without a subscription sees none.
    clerk_page = client_for(world.users["committee_clerk"]).get(reverse("web:my_feeds"))
    assert clerk_page.status_code == 200 and 'id="event-1"' not in clerk_page.content.decode()
