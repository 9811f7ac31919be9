"""Feed events and a subscription for the access matrix's world (renfang.testing.matrix):
each planted person arrives in their area, with their name, ID number and phone in the
event's changes, so a test can look for them in every feed response."""

from __future__ import annotations

import datetime

from renfang.accounts.access import forget_access
from renfang.accounts.models import PersonField, RoleGrant
from renfang.exchange.models import Event, EventHead, EventType, Subscription
from renfang.exchange.subscriptions import subscription_create
from renfang.testing.matrix import World

AT = datetime.datetime(2026, 5, 1, 9, 0, tzinfo=datetime.UTC)


def plant_feed(world: World) -> Subscription:
    """One arrival per planted person, in the committee they belong to; the department
    reader (granted A1, name, sex and residences) subscribes to everything of its grant."""
    # After the events the world's own writes made (the door tells the feed of every one).
    last = EventHead.objects.filter(id=1).values_list("last_seq", flat=True).first() or 0
    for seq, planted in enumerate(world.planted.values(), start=last + 1):
        division = planted.house.area_id if planted.house is not None else planted.area_code
        Event.objects.create(
            seq=seq,
            at=AT + datetime.timedelta(minutes=seq),
            type=EventType.ARRIVED,
            person_id=planted.person.pk,
            house_code=planted.house.house_code if planted.house is not None else "",
            division=division,
            sex=planted.person.sex,
            age=50,
            category="registered",
            source="register",
            changes=[
                {"field": "name", "old": None, "new": planted.person.name},
                {"field": "id_number", "old": None, "new": planted.id_number},
                {"field": "phone", "old": None, "new": planted.phone},
                {
                    "field": "residence",
                    "old": None,
                    "new": {
                        "division": division,
                        "house": planted.house.house_code if planted.house else None,
                        "address": planted.house.address if planted.house else "",
                    },
                },
            ],
        )
    EventHead.objects.update_or_create(id=1, defaults={"last_seq": last + len(world.planted)})
    return subscription_create(
        user=None, subscriber=world.users["department_reader"], name="甲一全部"
    )


def subscription_id() -> int:
    """The planted subscription's id (987654 when there is none: a route about a missing one)."""
    found = Subscription.objects.order_by("pk").values_list("pk", flat=True).first()
    return found or 987654


def grant_filters(world: World) -> None:
    """The reader is granted what these tests filter by (ADR 0022: a filter needs the grant of
    its field): birth dates (ages, deaths, births), nationality and hukou (categories)."""
    reader = world.users["department_reader"]
    grant = RoleGrant.objects.get(user=reader)
    grant.fields = [
        *grant.fields,
        PersonField.BIRTH_DATE,
        PersonField.NATIONALITY,
        PersonField.HUKOU,
    ]
    grant.save(update_fields=["fields"])
    forget_access(reader)


def feed_emptied() -> None:
    """An empty change feed, for tests that plant their own events with their own numbers:
    the world's own writes told the feed of everyone they made (the one door, ADR 0024)."""
    Event.objects.all().delete()
    EventHead.objects.update_or_create(id=1, defaults={"last_seq": 0})
