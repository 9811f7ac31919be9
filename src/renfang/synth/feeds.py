"""The demo's worked example of the change feed (issue 5): three department offices, what
each is granted, and what each subscribes to.

- 民政救助 (``relief_office``, the civil affairs relief office of one street): deaths, moves
  out and marital status in its street;
- 计生 (``family_planning``, the district's family planning office): women of 15–49, and
  births;
- 公安 (``police_bureau``, the district's public security sub-bureau): arrivals of domestic
  migrants and of overseas people.

Each office also publishes the records of its source (民政 civil affairs, 卫健 health, 居住证
residence permits: synth/changes.py), and a publisher writes only the fields it is granted
(ADR 0022): the grants hold the fields their sources' records set, and the fields their
subscriptions choose people by (categories need nationality and hukou, sex needs sex, ages and
deaths the birth date).

``renfang demo_users`` creates the offices (with the other demo users) and their
subscriptions, ``renfang demo`` makes the changes that fill their feeds (synth/changes.py)
and says how many events each feed holds and where to read it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser

from renfang.accounts.models import PersonField
from renfang.exchange.models import EventType, Subscription
from renfang.exchange.selectors import feed_events, view_of
from renfang.exchange.subscriptions import subscription_create, subscription_update
from renfang.people.categories import Category

RELIEF_OFFICE = "relief_office"
FAMILY_PLANNING = "family_planning"
POLICE_BUREAU = "police_bureau"


@dataclass(frozen=True)
class Office:
    """A department office of the demo: its account, its grant (``area``: ``"street"`` for
    the demo street, ``"district"`` for the district) and its name."""

    username: str
    name: str
    area: str
    fields: tuple[str, ...]


OFFICES: tuple[Office, ...] = (
    Office(
        RELIEF_OFFICE,
        "民政救助",
        "street",
        (
            PersonField.ID_NUMBER,
            PersonField.NAME,
            PersonField.SEX,
            PersonField.BIRTH_DATE,
            PersonField.NATIONALITY,
            PersonField.RESIDENCES,
            PersonField.PHONE,
            PersonField.MARITAL_STATUS,
        ),
    ),
    Office(
        FAMILY_PLANNING,
        "计生",
        "district",
        (
            PersonField.ID_NUMBER,
            PersonField.NAME,
            PersonField.SEX,
            PersonField.BIRTH_DATE,
            PersonField.ETHNICITY,
            PersonField.HUKOU,
            PersonField.RESIDENCES,
            PersonField.PHONE,
            PersonField.MARITAL_STATUS,
        ),
    ),
    Office(
        POLICE_BUREAU,
        "公安",
        "district",
        (
            PersonField.ID_NUMBER,
            PersonField.NAME,
            PersonField.SEX,
            PersonField.BIRTH_DATE,
            PersonField.ETHNICITY,
            PersonField.NATIONALITY,
            PersonField.HUKOU,
            PersonField.RESIDENCES,
            PersonField.PHONE,
            PersonField.EDUCATION,
            PersonField.MARITAL_STATUS,
            PersonField.EMPLOYMENT,
        ),
    ),
)


@dataclass(frozen=True)
class Plan:
    """One subscription of an office (the values of ``subscription_create``; no areas: the
    office's whole grant)."""

    subscriber: str
    name: str
    event_types: tuple[str, ...]
    fields: tuple[str, ...] = ()
    sex: str = ""
    age_min: int | None = None
    age_max: int | None = None
    categories: tuple[str, ...] = field(default=())

    def values(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "event_types": list(self.event_types),
            "areas": [],
            "fields": list(self.fields),
            "sex": self.sex,
            "age_min": self.age_min,
            "age_max": self.age_max,
            "categories": list(self.categories),
            "active": True,
        }


PLANS: tuple[Plan, ...] = (
    Plan(
        RELIEF_OFFICE,
        "辖区死亡、迁出与婚姻状况",
        (EventType.DIED, EventType.LEFT, EventType.MOVED, EventType.CHANGED),
        # A death date goes with the birth date; a move shows the residences; a change shows
        # the marital status only (not every corrected name of the street).
        fields=(PersonField.BIRTH_DATE, PersonField.MARITAL_STATUS, PersonField.RESIDENCES),
    ),
    Plan(
        FAMILY_PLANNING,
        "育龄妇女（15–49 岁）",
        (EventType.ARRIVED, EventType.MOVED, EventType.LEFT, EventType.CHANGED),
        # Granted ID numbers and marital status to publish health records; the feed of women
        # needs neither.
        fields=(PersonField.NAME, PersonField.SEX, PersonField.BIRTH_DATE, PersonField.RESIDENCES),
        sex="2",
        age_min=15,
        age_max=49,
    ),
    Plan(FAMILY_PLANNING, "出生", (EventType.BORN,)),
    Plan(
        POLICE_BUREAU,
        "来沪人员与境外人员来住",
        (EventType.ARRIVED,),
        categories=(Category.DOMESTIC_MIGRANT, Category.OVERSEAS),
    ),
)


def subscriptions_ensure(users: dict[str, AbstractBaseUser]) -> list[Subscription]:
    """The offices' subscriptions as the demo has them: created when missing, put back when
    someone changed them (through the subscription services, audited as the system's)."""
    made: list[Subscription] = []
    for plan in PLANS:
        user = users[plan.subscriber]
        found = Subscription.objects.filter(subscriber_id=user.pk, name=plan.name).first()
        if found is None:
            made.append(subscription_create(user=None, subscriber=user, **plan.values()))
        else:
            made.append(subscription_update(found, user=None, **plan.values()))
    return made


@dataclass(frozen=True)
class FeedCount:
    subscription: Subscription
    events: int  # every event the feed shows
    recent: int  # of those, after ``after``


def _shown(subscription: Subscription, after: int) -> int:
    view = view_of(subscription)
    count, last = 0, after
    while True:
        events, last_seen = feed_events(view, last, limit=1000)
        count += len(events)
        if last_seen == last:
            return count
        last = last_seen


def feed_counts(subscriptions: Iterable[Subscription], after: int) -> list[FeedCount]:
    """How many events each feed shows, all told (the load's arrivals and changes, too) and
    after ``after`` (the demo's changes)."""
    return [
        FeedCount(subscription, _shown(subscription, 0), _shown(subscription, after))
        for subscription in subscriptions
    ]
