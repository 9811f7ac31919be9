"""Subscriptions are written by the district administrator only, never beyond the subscriber's
grant, with every problem named by its field, nothing half-saved, and every write audited."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.utils import translation

from renfang.accounts.models import PersonField, Role, RoleGrant
from renfang.audit.models import Action, AuditEvent
from renfang.exchange.models import EventType, Subscription
from renfang.exchange.subscriptions import (
    SubscriptionInvalid,
    SubscriptionRefused,
    subscription_create,
    subscription_delete,
    subscription_update,
)
from renfang.exchange.tests.feed_world import grant_filters
from renfang.testing.matrix import World, build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> World:
    built = build_world()
    grant_filters(built)
    return built


def _create(world: World, **values: object) -> Subscription:
    defaults: dict[str, object] = {
        "subscriber": world.users["department_reader"],
        "name": "民政 甲一",
        "event_types": [EventType.DIED, EventType.LEFT],
        "areas": ["310104003001"],
        "fields": [PersonField.NAME],
    }
    return subscription_create(user=world.users["district_admin"], **{**defaults, **values})


def _errors(world: World, **values: object) -> dict[str, list[str]]:
    with translation.override("en"), pytest.raises(SubscriptionInvalid) as caught:
        _create(world, **values)
    return caught.value.errors


def test_the_district_admin_creates_a_subscription_and_it_is_audited(world: World) -> None:
    subscription = _create(world, sex="2", age_min=15, age_max=49, categories=["registered"])

    assert subscription.subscriber == world.users["department_reader"]
    assert subscription.event_types == ["person.died", "person.left"]
    assert (subscription.sex, subscription.age_min, subscription.age_max) == ("2", 15, 49)
    assert subscription.created_by == world.users["district_admin"]
    audit = AuditEvent.objects.get(record_type="subscription", record_id=str(subscription.pk))
    assert audit.action == Action.WRITE
    assert audit.user_id == world.users["district_admin"].pk
    changed = {line["field"]: line["new"] for line in audit.detail["changes"]}
    assert changed["subscriber"] == "m_reader"
    assert changed["areas"] == ["310104003001"]


@pytest.mark.parametrize(
    "role", ["street_officer", "committee_clerk", "police", "department_reader", "auditor"]
)
def test_no_other_role_may_write_a_subscription(world: World, role: str) -> None:
    with pytest.raises(SubscriptionRefused):
        subscription_create(
            user=world.users[role], subscriber=world.users["department_reader"], name="x"
        )
    assert not Subscription.objects.exists()


def test_the_subscriber_must_be_an_active_department_reader(world: World) -> None:
    for subscriber in (world.users["committee_clerk"], None, 987654):
        errors = _errors(world, subscriber=subscriber)
        assert errors == {
            "subscriber": ["The subscriber must be an active user with the department reader role."]
        }
    reader = world.users["department_reader"]
    reader.is_active = False
    reader.save()
    assert "subscriber" in _errors(world)
    assert not Subscription.objects.exists()


def test_areas_must_be_known_and_inside_the_grant(world: World) -> None:
    errors = _errors(world, areas=["310104003001", "310104004001", "999999"])
    assert errors == {
        "areas": [
            "Area 310104004001 lies outside the subscriber's grant.",
            "999999 is not a known division code.",
        ]
    }


def test_fields_must_be_person_fields_granted_to_the_subscriber(world: World) -> None:
    errors = _errors(world, fields=["name", "id_number", "shoe_size"])
    assert errors == {
        "fields": [
            "The field id_number is not granted to the subscriber.",
            "shoe_size is not a field of a person's record.",
        ]
    }


def test_every_bad_value_is_named_at_once_and_nothing_is_saved(world: World) -> None:
    errors = _errors(
        world,
        name="",
        event_types=["person.arrived", "person.exploded"],
        sex="3",
        age_min=50,
        age_max=20,
        categories=["tourist"],
    )
    assert errors == {
        "name": ["Give the subscription a name."],
        "event_types": ["person.exploded is not an event type."],
        "sex": ["Sex must be 1 (male), 2 (female) or empty."],
        "age_max": ["The upper age is below the lower age."],
        "categories": ["tourist is not a category of people."],
    }
    assert _errors(world, age_min=-1, age_max="x") == {
        "age_min": ["An age must be a whole number from 0 to 150."],
        "age_max": ["An age must be a whole number from 0 to 150."],
    }
    assert not Subscription.objects.exists()
    assert not AuditEvent.objects.filter(record_type="subscription").exists()


def test_a_name_is_unique_per_subscriber(world: World) -> None:
    _create(world)
    assert _errors(world) == {"name": ["The subscriber already has a subscription of this name."]}
    # Another department may use the same name.
    other = User.objects.create_user("m_reader2")
    RoleGrant.objects.create(
        user=other,
        role=Role.DEPARTMENT_READER,
        area=world.areas["B1"],
        fields=["name", "birth_date"],
    )
    assert _create(world, subscriber=other, areas=["310104004001"]).pk


def test_an_update_changes_what_was_given_and_audits_only_the_changes(world: World) -> None:
    subscription = _create(world)
    admin = world.users["district_admin"]
    subscription_update(subscription, user=admin, fields=["name", "sex"], active=False)

    subscription.refresh_from_db()
    assert subscription.fields == ["name", "sex"]
    assert subscription.active is False
    assert subscription.areas == ["310104003001"]  # kept
    audits = AuditEvent.objects.filter(record_type="subscription").order_by("id")
    last = audits.last()
    assert last is not None
    assert [line["field"] for line in last.detail["changes"]] == ["fields", "active"]
    # The same values again: nothing written.
    subscription_update(subscription, user=admin, fields=["sex", "name"])
    assert audits.count() == 2


def test_an_invalid_update_keeps_the_subscription_as_it_was(world: World) -> None:
    subscription = _create(world)
    with translation.override("en"), pytest.raises(SubscriptionInvalid) as caught:
        subscription_update(
            subscription, user=world.users["district_admin"], name="新名", areas=["310104"]
        )
    assert caught.value.errors == {"areas": ["Area 310104 lies outside the subscriber's grant."]}
    subscription.refresh_from_db()
    assert (subscription.name, subscription.areas) == ("民政 甲一", ["310104003001"])


def test_a_delete_removes_it_and_the_audit_keeps_what_it_was(world: World) -> None:
    subscription = _create(world)
    pk = subscription.pk
    with pytest.raises(SubscriptionRefused):
        subscription_delete(subscription, user=world.users["street_officer"])
    subscription_delete(subscription, user=world.users["district_admin"])

    assert not Subscription.objects.filter(pk=pk).exists()
    last = (
        AuditEvent.objects.filter(record_type="subscription", record_id=str(pk))
        .order_by("id")
        .last()
    )
    assert last is not None
    gone = {line["field"]: line["old"] for line in last.detail["changes"]}
    assert gone["name"] == "民政 甲一"
