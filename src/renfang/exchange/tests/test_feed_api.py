"""The pull API: ``GET /api/feed`` gives a department its events in order, filtered and masked by
its grant and subscription, resumable and the same on every replay, each page audited; the
"as of" reads show a person or an area's people on a past day as the subscription may; the
district administrator manages subscriptions through ``/api/subscriptions``."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from renfang.accounts.access import forget_access
from renfang.accounts.models import PersonField, RoleGrant
from renfang.accounts.tokens import api_token_create
from renfang.audit.models import Action, AuditEvent
from renfang.exchange.models import Event, EventType, Subscription
from renfang.exchange.subscriptions import subscription_create
from renfang.exchange.tests.feed_world import feed_emptied, grant_filters
from renfang.testing.matrix import World, add_moved_person, build_world
from renfang.testing.users import client_for

pytestmark = pytest.mark.django_db

A1 = "310104003001"
A2 = "310104003002"
B1 = "310104004001"
AT = datetime.datetime(2026, 5, 1, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture
def world() -> World:
    built = build_world()
    add_moved_person(built)
    grant_filters(built)
    return built


def event(seq: int, kind: str, *, division: str = "", before: str = "", **extra: Any) -> Event:
    values: dict[str, Any] = {
        "person_id": 1000 + seq,
        "sex": "1",
        "age": 40,
        "category": "registered",
        "changes": [],
        "source": "register",
    }
    values.update(extra)
    if seq == 1:  # the first planted event: the feed holds only what the test plants
        feed_emptied()
    return Event.objects.create(
        seq=seq,
        at=AT + datetime.timedelta(minutes=seq),
        type=kind,
        division=division,
        division_before=before,
        **values,
    )


def arrival(seq: int, division: str, **extra: Any) -> Event:
    place = {"division": division, "house": f"{division}900001", "from": "2026-05-01"}
    return event(
        seq,
        EventType.ARRIVED,
        division=division,
        changes=[
            {"field": "name", "old": None, "new": f"住户{seq}"},
            {"field": "id_number", "old": None, "new": "310104197101010031"},
            {"field": "phone", "old": None, "new": "13911110001"},
            {"field": "residence", "old": None, "new": place},
        ],
        **extra,
    )


def subscribe(world: World, **values: Any) -> Subscription:
    return subscription_create(
        user=world.users["district_admin"],
        subscriber=values.pop("subscriber", world.users["department_reader"]),
        name=values.pop("name", "甲一全部"),
        **values,
    )


@pytest.fixture
def reader(world: World) -> Client:
    return client_for(world.users["department_reader"])


def feed(client: Client, **params: Any) -> Any:
    return client.get("/api/feed", params, HTTP_ACCEPT_LANGUAGE="en")


def test_the_feed_gives_the_subscribers_events_in_order_masked_by_its_grant(
    world: World, reader: Client
) -> None:
    user = world.users["department_reader"]
    RoleGrant.objects.filter(user=user).update(
        fields=[PersonField.NAME, PersonField.SEX, PersonField.RESIDENCES]
    )
    forget_access(user)
    subscription = subscribe(world)
    arrival(1, A1)
    arrival(2, B1)  # another street
    event(3, EventType.CHANGED, division=A1, changes=[{"field": "phone", "old": "1", "new": "2"}])
    moved_to = {"division": B1, "house": f"{B1}900003"}
    event(
        4,
        EventType.MOVED,
        division=B1,
        before=A1,
        changes=[{"field": "residence", "old": {"division": A1, "house": "h"}, "new": moved_to}],
    )
    event(5, EventType.DIED, division=A1, changes=[{"field": "death_date", "new": "2026-05-02"}])

    response = feed(reader)
    assert response.status_code == 200
    body = response.json()
    assert body["subscription"] == subscription.pk
    # No death without the birth date grant (a death date goes with the birth date; ADR 0022).
    assert [e["seq"] for e in body["events"]] == [1, 4]
    assert body["next_after"] == 4
    first = body["events"][0]
    assert first["id"] == "evt_1" and first["type"] == "person.arrived" and first["area"] == A1
    # Granted name, sex and residences: no ID number, no phone.
    assert [c["field"] for c in first["changes"]] == ["name", "residence"]
    assert "310104197101010031" not in response.content.decode()
    assert "13911110001" not in response.content.decode()
    move = body["events"][1]
    assert (move["area"], move["area_before"]) == (None, A1)
    assert move["changes"][0]["new"] == {
        "division": None,
        "house": None,
        "outside": True,
    }  # the new place is in another street: not named


def test_the_feed_resumes_from_next_after_and_a_replay_gives_the_same_events(
    world: World, reader: Client
) -> None:
    subscribe(world)
    for seq in range(1, 8):
        arrival(seq, A1 if seq % 3 else B1)

    first = feed(reader, after=0, limit=2).json()
    second = feed(reader, after=first["next_after"], limit=2).json()
    rest = feed(reader, after=second["next_after"], limit=100).json()
    seqs = [e["seq"] for page in (first, second, rest) for e in page["events"]]
    assert seqs == [1, 2, 4, 5, 7]
    assert rest["next_after"] == 7
    assert feed(reader, after=0, limit=2).json() == first  # the same on a replay
    assert feed(reader, after=7).json()["events"] == []
    arrival(8, A1)  # a new event: the replay of an old page is unchanged
    assert feed(reader, after=0, limit=2).json() == first
    assert [e["seq"] for e in feed(reader, after=7).json()["events"]] == [8]


def test_every_feed_page_is_audited_once(world: World, reader: Client) -> None:
    subscription = subscribe(world)
    arrival(1, A1)
    feed(reader, after=0, limit=10)

    audits = AuditEvent.objects.filter(record_type="feed")
    assert audits.count() == 1
    audit = audits.get()
    assert audit.action == Action.READ
    assert audit.user_id == world.users["department_reader"].pk
    assert audit.detail["subscription"] == subscription.pk
    assert (audit.detail["after"], audit.detail["count"]) == (0, 1)


def test_a_department_system_reads_its_feed_with_a_token(world: World) -> None:
    subscribe(world)
    arrival(1, A1)
    key = api_token_create(user=world.users["department_reader"], name="民政系统").key
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert [e["seq"] for e in client.get("/api/feed").json()["events"]] == [1]
    assert Client().get("/api/feed").status_code == 401


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"after": -1}, "after"),
        ({"after": "x"}, "after"),
        ({"subscription": 0}, "subscription"),
    ],
)
def test_bad_parameters_are_refused_naming_the_parameter(
    world: World, reader: Client, params: dict[str, Any], field: str
) -> None:
    subscribe(world)
    response = feed(reader, **params)
    assert response.status_code == 422
    body = response.json()["error"]
    assert body["code"] == "validation_error"
    assert [f["field"] for f in body["fields"]] == [field]
    assert not AuditEvent.objects.filter(record_type="feed").exists()


def test_the_subscription_must_be_named_when_there_are_several(
    world: World, reader: Client
) -> None:
    assert feed(reader).status_code == 404  # none yet
    assert "no active subscription" in feed(reader).json()["error"]["message"]
    one = subscribe(world)
    two = subscribe(world, name="甲一死亡", event_types=[EventType.DIED])
    subscribe(world, name="停用", active=False)

    response = feed(reader)
    assert response.status_code == 422
    message = response.json()["error"]["fields"][0]["message"]
    assert message.endswith(f"one of {one.pk}, {two.pk}.")
    assert feed(reader, subscription=two.pk).status_code == 200
    # Someone else's subscription, or an unknown one: not found.
    other = subscribe(world, subscriber=world.users["department_reader"], name="x")
    police = client_for(world.users["police"])
    assert feed(police, subscription=other.pk).status_code == 404
    assert feed(reader, subscription=987654).status_code == 404


def test_the_subscription_narrows_types_areas_people_and_fields(
    world: World, reader: Client
) -> None:
    subscription = subscribe(
        world,
        event_types=[EventType.ARRIVED],
        fields=[PersonField.NAME],
        sex="2",
        age_min=15,
        age_max=49,
    )
    arrival(1, A1, sex="2", age=30)
    arrival(2, A1, sex="1", age=30)
    arrival(3, A1, sex="2", age=50)
    event(4, EventType.DIED, division=A1, sex="2", age=30)
    body = feed(reader, subscription=subscription.pk).json()
    assert [e["seq"] for e in body["events"]] == [1]
    assert [c["field"] for c in body["events"][0]["changes"]] == ["name"]


# --- as of -----------------------------------------------------------------------------------


def test_a_person_as_of_a_day_shows_only_what_the_grant_and_subscription_allow(
    world: World, reader: Client
) -> None:
    subscribe(world)
    person = world.planted["A1"].person
    response = reader.get(f"/api/feed/people/{person.pk}", {"as_of": "2021-06-01"})
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["as_of"], body["name"]) == (person.pk, "2021-06-01", "甲一住户")
    assert body["residence"]["division"].startswith(A1)
    house = world.planted["A1"].house
    assert house is not None and body["residence"]["house_code"] == house.house_code
    # Not granted: null, never masked values to guess from.
    assert body["shown_id_number"] is None and body["shown_phone"] is None
    assert body["tags"] is None and body["hukou_division"] is None
    audit = AuditEvent.objects.get(
        action=Action.READ, record_type="person", record_id=str(person.pk)
    )
    assert (audit.detail["via"], audit.detail["as_of"]) == ("feed", "2021-06-01")


def test_a_person_outside_the_subscriptions_areas_that_day_is_not_found(
    world: World, reader: Client
) -> None:
    subscribe(world)
    moved = world.planted["MOVED"].person  # in A1 2015–2018, in B1 since 2019
    assert reader.get(f"/api/feed/people/{moved.pk}", {"as_of": "2017-03-01"}).status_code == 200
    outside = reader.get(f"/api/feed/people/{moved.pk}", {"as_of": "2020-03-01"})
    missing = reader.get("/api/feed/people/987654321", {"as_of": "2020-03-01"})
    assert outside.status_code == missing.status_code == 404
    assert outside.json() == missing.json()
    assert AuditEvent.objects.filter(
        action=Action.DENIED, record_type="person", record_id=str(moved.pk)
    ).exists()
    other_street = world.planted["B1"].person
    assert reader.get(f"/api/feed/people/{other_street.pk}").status_code == 404


def test_an_as_of_in_the_future_is_refused(world: World, reader: Client) -> None:
    subscribe(world)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    person = world.planted["A1"].person
    response = reader.get(
        f"/api/feed/people/{person.pk}", {"as_of": tomorrow.isoformat()}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == [
        {"field": "as_of", "message": "as_of lies in the future."}
    ]
    bad = reader.get(f"/api/feed/people/{person.pk}", {"as_of": "2021-13-01"})
    assert bad.status_code == 422


def test_an_areas_people_as_of_a_day(world: World, reader: Client) -> None:
    subscribe(world)
    then = reader.get(f"/api/feed/areas/{A1}/people", {"as_of": "2017-03-01"}).json()
    assert [p["name"] for p in then["results"]] == ["甲一迁出"]  # the only one living there
    now = reader.get(f"/api/feed/areas/{A1}/people", {"page_size": 1}).json()
    assert (now["count"], now["pages"]) == (1, 1)
    assert [p["name"] for p in now["results"]] == ["甲一住户"]
    # An area outside the subscription: as unknown as a made-up code.
    assert reader.get(f"/api/feed/areas/{B1}/people").status_code == 404
    assert reader.get(f"/api/feed/areas/{A2}/people").status_code == 404
    assert reader.get("/api/feed/areas/310104999999/people").status_code == 404
    audit = AuditEvent.objects.filter(record_type="area", action=Action.READ).order_by("id").first()
    assert audit is not None and audit.detail["person_ids"] == [world.planted["MOVED"].person.pk]


def test_as_of_reads_keep_to_the_people_the_subscription_chose(
    world: World, reader: Client
) -> None:
    women = subscribe(world, sex="2")
    person = world.planted["A1"].person  # sex from the ID number's 17th digit
    expected = 200 if person.sex == "2" else 404
    response = reader.get(f"/api/feed/people/{person.pk}", {"subscription": women.pk})
    assert response.status_code == expected


# --- the administrator's API -----------------------------------------------------------------


def post(client: Client, url: str, data: dict[str, Any], method: str = "post") -> Any:
    send = getattr(client, method)
    return send(url, json.dumps(data), content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")


def test_the_district_admin_creates_changes_lists_and_deletes_subscriptions(
    world: World,
) -> None:
    admin = client_for(world.users["district_admin"])
    created = post(
        admin,
        "/api/subscriptions",
        {
            "subscriber": "m_reader",
            "name": "计生",
            "event_types": ["person.born", "person.arrived"],
            "fields": ["name", "sex"],
            "sex": "2",
            "age_min": 15,
            "age_max": 49,
        },
    )
    assert created.status_code == 200, created.content
    body = created.json()
    assert (body["subscriber"], body["name"], body["webhook"]) == ("m_reader", "计生", None)
    pk = body["id"]

    changed = post(admin, f"/api/subscriptions/{pk}", {"active": False}, method="patch")
    assert changed.status_code == 200
    assert changed.json()["active"] is False and changed.json()["sex"] == "2"
    listed = admin.get("/api/subscriptions").json()
    assert [s["id"] for s in listed["results"]] == [pk]
    assert admin.get(f"/api/subscriptions/{pk}").json()["name"] == "计生"
    assert admin.delete(f"/api/subscriptions/{pk}").json() == {"id": pk, "deleted": True}
    assert admin.get(f"/api/subscriptions/{pk}").status_code == 404


def test_a_bad_subscription_is_refused_naming_each_field(world: World) -> None:
    admin = client_for(world.users["district_admin"])
    response = post(
        admin,
        "/api/subscriptions",
        {
            "subscriber": "m_clerk",
            "name": "x",
            "areas": ["310104004001"],
            "fields": ["phone"],
            "event_types": ["person.exploded"],
        },
    )
    assert response.status_code == 422
    fields = {f["field"] for f in response.json()["error"]["fields"]}
    assert fields == {"subscriber", "event_types"}  # areas and fields need a subscriber first
    response = post(
        admin,
        "/api/subscriptions",
        {"subscriber": "m_reader", "name": "x", "areas": [B1], "fields": ["phone"]},
    )
    assert {f["field"]: f["message"] for f in response.json()["error"]["fields"]} == {
        "areas": f"Area {B1} lies outside the subscriber's grant.",
        "fields": "The field phone is not granted to the subscriber.",
    }
    assert not Subscription.objects.exists()


@pytest.mark.parametrize("role", ["street_officer", "police", "department_reader", "auditor"])
def test_only_the_district_admin_manages_subscriptions(world: World, role: str) -> None:
    subscription = subscribe(world)
    client = client_for(world.users[role])
    assert client.get("/api/subscriptions").status_code == 403
    assert (
        post(client, "/api/subscriptions", {"subscriber": "m_reader", "name": "y"}).status_code
        == 403
    )
    assert client.delete(f"/api/subscriptions/{subscription.pk}").status_code == 403
    assert Subscription.objects.count() == 1


def test_the_admin_sets_a_webhook_disables_it_and_resends_a_dead_letter(world: World) -> None:
    from renfang.exchange.models import Delivery, DeliveryStatus  # noqa: PLC0415

    admin = client_for(world.users["district_admin"])
    subscription = subscribe(world)
    url = f"/api/subscriptions/{subscription.pk}/webhook"
    refused = post(admin, url, {"url": "http://10.0.0.5/hook"})
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"][0]["field"] == "url"
    created = post(admin, url, {"url": "http://127.0.0.1:9/hook", "allow_private": True})
    assert created.status_code == 200
    assert created.json()["secret"].startswith("whsec_")
    assert post(admin, url, {"url": "http://127.0.0.1:9/other"}).status_code == 422  # one only

    disabled = post(admin, f"{url}/disable", {"reason": "维护"})
    assert disabled.status_code == 200
    assert (disabled.json()["enabled"], disabled.json()["disabled_reason"]) == (False, "维护")
    endpoint = subscription.webhook
    dead = Delivery.objects.create(
        endpoint=endpoint,
        event=arrival(1, A1),
        webhook_id="msg_dead",
        status=DeliveryStatus.DEAD,
        attempts=5,
        next_attempt_at=timezone.now(),
    )
    letters = admin.get(f"/api/subscriptions/{subscription.pk}/dead-letters").json()
    assert [d["webhook_id"] for d in letters["results"]] == ["msg_dead"]
    resend = f"/api/subscriptions/{subscription.pk}/dead-letters/{dead.pk}/resend"
    assert post(admin, resend, {}).status_code == 400  # the endpoint is disabled
    assert post(admin, f"{url}/enable", {}).json()["enabled"] is True
    again = post(admin, resend, {})
    assert again.status_code == 200
    assert (again.json()["status"], again.json()["webhook_id"]) == ("pending", "msg_dead")
    assert post(admin, resend, {}).status_code == 404  # no longer a dead letter
    assert (
        client_for(world.users["street_officer"])
        .get(f"/api/subscriptions/{subscription.pk}/dead-letters")
        .status_code
        == 403
    )
