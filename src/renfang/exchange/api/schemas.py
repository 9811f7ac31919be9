"""What the exchange API takes and answers."""

from __future__ import annotations

import datetime
from typing import Any

from ninja import Field, Schema
from ninja.params import P, PathEx

from renfang.core.api.pagination import PageOut, PageQuery
from renfang.core.api.schemas import AREA_PATTERN, TEXT_PATTERN

POWER = "administers_users"


MAX_LIMIT = 1000


MAX_SEQ = 2**63 - 1


PersonId = PathEx[int, P(ge=1, le=MAX_SEQ, description="The person's id.")]


SubscriptionId = PathEx[int, P(ge=1, le=2**31 - 1, description="The subscription's id.")]


DeliveryId = PathEx[int, P(ge=1, le=MAX_SEQ, description="The delivery's id.")]


Division = PathEx[str, P(pattern=AREA_PATTERN, description="A division code.")]


class ChangeOut(Schema):
    field: str
    old: Any = Field(description="The value before; null: none, or not yours to see.")
    new: Any = Field(description="The value after; null: none now.")


class FeedEventOut(Schema):
    seq: int = Field(description="The event's sequence number: gap-free and increasing.")
    id: str = Field(description="evt_<seq>.")
    at: datetime.datetime
    type: str = Field(description="person.arrived, person.moved, person.left, person.died, …")
    person: int | None
    house: str | None
    area: str | None = Field(description="Where the subject is after the change, if yours.")
    area_before: str | None = Field(description="Where it was (a move, a departure), if yours.")
    changes: list[ChangeOut] = Field(description="Only the fields your grant holds, masked.")
    source: str


class FeedOut(Schema):
    subscription: int
    after: int
    next_after: int = Field(
        description="Ask with after=next_after for the next events (the last one looked at)."
    )
    events: list[FeedEventOut]
    suspended: list[str] = Field(
        default_factory=list,
        description="Why the subscription delivers nothing: its filters that your grant no "
        "longer allows (empty when it is not suspended).",
    )


class FeedQuery(Schema):
    after: int = Field(default=0, ge=0, le=MAX_SEQ, description="Events after this number.")
    limit: int = Field(default=100, ge=1, le=MAX_LIMIT, description=f"1 to {MAX_LIMIT} events.")
    subscription: int | None = Field(
        default=None,
        ge=1,
        le=2**31 - 1,
        description="Which of your subscriptions; needed when you have more than one.",
    )


class AsOfQuery(Schema):
    as_of: datetime.date | None = Field(
        default=None, description="The day (YYYY-MM-DD), not in the future; today if absent."
    )
    subscription: int | None = Field(default=None, ge=1, le=2**31 - 1)


class AsOfPageQuery(PageQuery, AsOfQuery):
    pass


class PlaceOnOut(Schema):
    division: str | None = Field(description="null: outside your areas.")
    division_name: str
    house_code: str | None
    address: str


class PersonOnOut(Schema):
    """A person on a day; a field your grant and subscription do not hold is null."""

    id: int
    as_of: datetime.date
    name: str | None
    sex: str | None
    birth_date: datetime.date | None
    id_type: str | None
    shown_id_number: str | None
    nationality: str | None
    ethnicity: str | None
    category: str | None
    hukou_division: str | None
    residence: PlaceOnOut | None
    shown_phone: str | None
    marital_status: str | None
    education: str | None
    employment: str | None
    tags: list[str] | None


class PersonOnPageOut(PageOut):
    area: str
    as_of: datetime.date
    results: list[PersonOnOut]


class WebhookOut(Schema):
    url: str
    enabled: bool
    disabled_reason: str
    allow_private: bool
    planned_seq: int
    dead_letters: int


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(description="The signing secret (whsec_…): give it to the receiver.")


class SubscriptionOut(Schema):
    id: int
    name: str
    subscriber: str = Field(description="The subscriber's user name.")
    event_types: list[str]
    areas: list[str]
    fields: list[str]
    sex: str
    age_min: int | None
    age_max: int | None
    categories: list[str]
    active: bool
    suspended: list[str] = Field(
        description="Filters the subscriber's grant does not allow (now): while any is listed "
        "the subscription delivers nothing (feed and webhook)."
    )
    created_at: datetime.datetime
    webhook: WebhookOut | None


class DeletedOut(Schema):
    id: int
    deleted: bool


class SubscriptionPageOut(PageOut):
    results: list[SubscriptionOut]


_NAME = Field(max_length=100, pattern=TEXT_PATTERN)


class SubscriptionIn(Schema):
    subscriber: str = Field(max_length=150, description="User name of a department reader.")
    name: str = _NAME
    event_types: list[str] = Field(default_factory=list, description="Empty: every type.")
    areas: list[str] = Field(default_factory=list, description="Empty: the whole grant.")
    fields: list[str] = Field(default_factory=list, description="Empty: every granted field.")
    sex: str = Field(default="", description='"1", "2" or "" (both).')
    age_min: int | None = None
    age_max: int | None = None
    categories: list[str] = Field(default_factory=list)
    active: bool = True


class SubscriptionPatch(Schema):
    subscriber: str | None = Field(default=None, max_length=150)
    name: str | None = Field(default=None, max_length=100, pattern=TEXT_PATTERN)
    event_types: list[str] | None = None
    areas: list[str] | None = None
    fields: list[str] | None = None
    sex: str | None = None
    age_min: int | None = None
    age_max: int | None = None
    categories: list[str] | None = None
    active: bool | None = None


class WebhookIn(Schema):
    url: str = Field(max_length=500, description="https://… where events are posted.")
    allow_private: bool = Field(
        default=False, description="Allow an address inside a private network."
    )


class DisableIn(Schema):
    reason: str = Field(default="", max_length=300, pattern=TEXT_PATTERN)


class DeadLetterOut(Schema):
    id: int
    webhook_id: str
    event: int
    event_type: str
    attempts: int
    last_attempt_at: datetime.datetime | None
    last_status_code: int | None
    last_error: str


class DeadLetterPageOut(PageOut):
    results: list[DeadLetterOut]


class DeliveryOut(Schema):
    id: int
    webhook_id: str
    status: str
    next_attempt_at: datetime.datetime
