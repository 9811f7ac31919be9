"""No feed event carries a field or an area outside its subscriber's grant: several department
readers with different grants, several subscriptions each, and random events of every type,
area and field, read through ``GET /api/feed`` page by page."""

from __future__ import annotations

import datetime
import random
from typing import Any

import pytest
from django.contrib.auth.models import User

from renfang.accounts.models import PersonField, Role, RoleGrant
from renfang.exchange.models import Event, EventType, Subscription
from renfang.exchange.selectors import EVENT_FIELD_GRANTS
from renfang.exchange.subscriptions import EVENT_TYPE_FIELDS, subscription_create
from renfang.exchange.tests.feed_world import feed_emptied
from renfang.testing.matrix import World, build_world
from renfang.testing.users import client_for

pytestmark = pytest.mark.django_db

DIVISIONS = [
    "310104003001",  # A1
    "310104003001001",  # A1's grid
    "310104003002",  # A2
    "310104004001",  # B1
    "310105001001",  # another district
    "",
]
# Fields an event may carry: every granted kind, and some no grant names.
CHANGE_FIELDS = [*EVENT_FIELD_GRANTS, "secret_note", "merged_from"]
ALWAYS = {"merged_from", "split_from", "house_use"}
ID_NUMBER = "310104197101010031"
PHONE = "13911110001"

# (area key of world.areas, granted fields)
GRANTS: list[tuple[str, list[str]]] = [
    ("A1", [PersonField.NAME, PersonField.SEX, PersonField.RESIDENCES]),
    ("A", [PersonField.ID_NUMBER, PersonField.BIRTH_DATE, PersonField.TAGS]),
    ("district", [PersonField.PHONE, PersonField.MARITAL_STATUS, PersonField.HUKOU]),
    ("B1", list(PersonField.values)),
]


def _value(rng: random.Random, field: str) -> Any:
    if field == "residence":
        return {"division": rng.choice(DIVISIONS) or None, "house": "h" + str(rng.randint(1, 9))}
    if field == "id_number":
        return ID_NUMBER
    if field == "phone":
        return PHONE
    if field in {"tag", "tags"}:
        return rng.choice(["drug_user", "subsistence_allowance", "veteran drug_user"])
    return f"{field}-{rng.randint(1, 99)}"


def _random_events(rng: random.Random, count: int) -> None:
    at = datetime.datetime(2026, 5, 1, tzinfo=datetime.UTC)
    feed_emptied()
    for seq in range(1, count + 1):
        fields = rng.sample(CHANGE_FIELDS, rng.randint(0, 4))
        Event.objects.create(
            seq=seq,
            at=at + datetime.timedelta(seconds=seq),
            type=rng.choice(EventType.values),
            person_id=rng.randint(1, 50),
            division=rng.choice(DIVISIONS),
            division_before=rng.choice(DIVISIONS),
            sex=rng.choice(["1", "2"]),
            age=rng.randint(0, 90),
            category=rng.choice(["registered", "domestic_migrant", "overseas"]),
            changes=[
                {
                    "field": f,
                    "old": _value(rng, f) if rng.random() < 0.5 else None,
                    "new": _value(rng, f),
                }
                for f in fields
            ],
            source="random",
        )


def _readers(world: World, rng: random.Random) -> list[tuple[User, str, set[str]]]:
    """Department readers with their grant (area code, fields) and a few subscriptions."""
    readers = []
    admin = world.users["district_admin"]
    for number, (area_key, fields) in enumerate(GRANTS):
        user = User.objects.create_user(f"dept{number}")
        area = world.areas[area_key]
        RoleGrant.objects.create(user=user, role=Role.DEPARTMENT_READER, area=area, fields=fields)
        inside = [a.code for a in world.areas.values() if a.code.startswith(area.code)]
        # Only event types the grant allows (a death needs the birth date: ADR 0022).
        allowed = [
            kind
            for kind in EventType.values
            if all(f in fields for f in EVENT_TYPE_FIELDS.get(kind, ()))
        ]
        for index in range(3):
            subscription_create(
                user=admin,
                subscriber=user,
                name=f"s{index}",
                event_types=rng.sample(allowed, rng.randint(0, 4)),
                areas=rng.sample(inside, rng.randint(0, min(2, len(inside)))),
                fields=rng.sample(fields, rng.randint(0, len(fields))),
            )
        readers.append((user, area.code, set(fields)))
    return readers


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_feed_event_carries_a_field_or_area_outside_the_grant(seed: int) -> None:
    rng = random.Random(seed)
    world: World = build_world()
    _random_events(rng, 300)
    problems: list[str] = []
    delivered = 0
    for user, prefix, fields in _readers(world, rng):
        client = client_for(user)
        for subscription in Subscription.objects.filter(subscriber=user):
            after = 0
            while True:
                body = client.get(
                    "/api/feed",
                    {"subscription": subscription.pk, "after": after, "limit": 37},
                ).json()
                for event in body["events"]:
                    delivered += 1
                    problems += _problems(event, prefix, fields, user.username)
                if body["next_after"] == after:
                    break
                after = body["next_after"]
    assert delivered > 50  # the test looked at something
    assert not problems, "\n".join(problems[:20])


def _problems(event: dict[str, Any], prefix: str, fields: set[str], who: str) -> list[str]:
    found = []
    stored = Event.objects.get(seq=event["seq"])
    if not (stored.division.startswith(prefix) or stored.division_before.startswith(prefix)) or (
        not stored.division and not stored.division_before
    ):
        found.append(f"{who}: event {event['seq']} lies outside {prefix}")
    for key in ("area", "area_before"):
        if event[key] is not None and not event[key].startswith(prefix):
            found.append(f"{who}: event {event['seq']} names area {event[key]}")
    for line in event["changes"]:
        name = line["field"]
        if name not in ALWAYS and EVENT_FIELD_GRANTS.get(name) not in fields:
            found.append(f"{who}: event {event['seq']} carries {name}")
        for value in (line["old"], line["new"]):
            if isinstance(value, dict) and value.get("division") is not None:
                if not str(value["division"]).startswith(prefix):
                    found.append(f"{who}: event {event['seq']} names {value['division']}")
            if value == ID_NUMBER and PersonField.ID_NUMBER not in fields:
                found.append(f"{who}: event {event['seq']} shows an ID number")
    return found
