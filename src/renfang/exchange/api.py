"""The API of the exchange (数据交换): the change feed a department pulls, "as of" reads of
people on a past day, and the district administrator's subscriptions and webhooks.

``GET /feed`` is the caller's own feed: the events of one of its active subscriptions after a
sequence number, in order, filtered and masked by its grant and subscription
(``exchange.selectors``); ``next_after`` is where to resume. Replaying a request gives the same
events (events are never changed). Every page read is audited once (record type ``feed``).

``/subscriptions`` is for the district administrator (``administers_users``): others are
refused with 403 ``permission_denied``.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import Count, Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.params import P, PathEx

from renfang.accounts.powers import access_with_power
from renfang.areas.models import Area
from renfang.audit.models import Action
from renfang.audit.services import PERSON_IDS, audit_record
from renfang.core.api.auth import acting_user
from renfang.core.api.errors import (
    ApiError,
    ErrorCode,
    error_responses,
    not_found,
    validation_error,
)
from renfang.core.api.pagination import PageOut, PageQuery, paginate
from renfang.core.api.schemas import AREA_PATTERN, TEXT_PATTERN
from renfang.exchange.feed import PersonOn, people_as_of, person_on
from renfang.exchange.models import Delivery, DeliveryStatus, Subscription, WebhookEndpoint
from renfang.exchange.selectors import (
    View,
    feed_events,
    sensitive_tags,
    suspension_of,
    view_of,
)
from renfang.exchange.subscriptions import (
    SubscriptionInvalid,
    subscription_create,
    subscription_delete,
    subscription_update,
)
from renfang.exchange.webhooks import WebhookError
from renfang.exchange.webhooks.services import (
    delivery_resend,
    endpoint_create,
    endpoint_disable,
    endpoint_enable,
)
from renfang.people.models import Person

feed_router = Router(tags=["feed"])
router = Router(tags=["subscriptions"])

POWER = "administers_users"
MAX_LIMIT = 1000
MAX_SEQ = 2**63 - 1
PersonId = PathEx[int, P(ge=1, le=MAX_SEQ, description="The person's id.")]
SubscriptionId = PathEx[int, P(ge=1, le=2**31 - 1, description="The subscription's id.")]
DeliveryId = PathEx[int, P(ge=1, le=MAX_SEQ, description="The delivery's id.")]
Division = PathEx[str, P(pattern=AREA_PATTERN, description="A division code.")]


# --- schemas -----------------------------------------------------------------------------


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


# --- the caller's subscription ---------------------------------------------------------------


def subscription_of_caller(user: AbstractBaseUser, wanted: int | None) -> Subscription:
    """The caller's active subscription ``wanted``, or its only one; a clear error otherwise."""
    active = list(Subscription.objects.filter(subscriber_id=user.pk, active=True).order_by("pk"))
    if wanted is not None:
        found = next((s for s in active if s.pk == wanted), None)
        if found is None:
            raise not_found("subscription")
        return found
    if len(active) == 1:
        return active[0]
    if not active:
        message = _("You have no active subscription; ask the district administrator for one.")
        raise ApiError(404, ErrorCode.NOT_FOUND, message, [("subscription", message)])
    raise validation_error(
        "subscription",
        _("You have several subscriptions: say which with subscription, one of %(ids)s.")
        % {"ids": ", ".join(str(s.pk) for s in active)},
    )


def _day(as_of: datetime.date | None) -> datetime.date:
    today = timezone.localdate()
    if as_of is None:
        return today
    if as_of > today:
        raise validation_error("as_of", _("as_of lies in the future."))
    return as_of


def _person_on_out(item: PersonOn) -> PersonOnOut:
    data = item.__dict__.copy()
    place = data.pop("residence")
    return PersonOnOut(**data, residence=PlaceOnOut(**place.__dict__) if place else None)


# --- the feed --------------------------------------------------------------------------------


@feed_router.get(
    "",
    operation_id="feed_get",
    summary="The change feed",
    response={200: FeedOut, **error_responses(401, 404, 422)},
)
def feed_get(request: HttpRequest, query: Query[FeedQuery]) -> FeedOut:
    """Your events after `after`, oldest first, at most `limit` (1–1000); resume with
    `after=next_after`. Only the types, areas, people and fields of your subscription and
    grant; identifiers masked unless your grant holds them."""
    user = acting_user(request)
    subscription = subscription_of_caller(user, query.subscription)
    view = view_of(subscription)
    events, next_after = feed_events(view, query.after, query.limit)
    audit_record(
        Action.READ,
        user=user,
        record_type="feed",
        record_id=subscription.pk,
        detail={
            "subscription": subscription.pk,
            "after": query.after,
            "count": len(events),
            "next_after": next_after,
            # The people the events name (issue 11): "who has read this person" finds them.
            PERSON_IDS: list(
                dict.fromkeys(e["person"] for e in events if e.get("person") is not None)
            ),
        },
    )
    return FeedOut(
        subscription=subscription.pk,
        after=query.after,
        next_after=next_after,
        events=[FeedEventOut(**event) for event in events],
        suspended=list(view.suspended),
    )


def _denied(user: AbstractBaseUser, record_type: str, record_id: object, view: View) -> None:
    audit_record(
        Action.DENIED,
        user=user,
        record_type=record_type,
        record_id=str(record_id),
        detail={"reason": "outside the subscription", "subscription": view.subscription_id},
    )


@feed_router.get(
    "/people/{person_id}",
    operation_id="feed_person_get",
    summary="A person as of a day",
    response={200: PersonOnOut, **error_responses(401, 404, 422)},
)
def feed_person_get(
    request: HttpRequest, person_id: PersonId, query: Query[AsOfQuery]
) -> PersonOnOut:
    """A person as your subscription sees them on `as_of`: only if they lived in its areas
    that day and are one of the people it chose (otherwise 404, as for a missing person)."""
    user = acting_user(request)
    subscription = subscription_of_caller(user, query.subscription)
    day = _day(query.as_of)
    view = view_of(subscription)
    person = people_as_of(view, day).filter(pk=person_id).first()
    if person is None:
        if Person.objects.filter(pk=person_id).exists():
            _denied(user, "person", person_id, view)
        raise not_found()
    audit_record(
        Action.READ,
        user=user,
        record_type="person",
        record_id=person.pk,
        detail={"via": "feed", "subscription": subscription.pk, "as_of": day.isoformat()},
    )
    return _person_on_out(person_on(view, person, day, sensitive_tags()))


@feed_router.get(
    "/areas/{division}/people",
    operation_id="feed_area_people_list",
    summary="An area's people as of a day",
    response={200: PersonOnPageOut, **error_responses(401, 404, 422)},
)
def feed_area_people_list(
    request: HttpRequest, division: Division, query: Query[AsOfPageQuery]
) -> PersonOnPageOut:
    """The people living in the area on `as_of`, as your subscription sees them; the area
    must lie in your subscription's areas (otherwise 404, as for an unknown code)."""
    user = acting_user(request)
    subscription = subscription_of_caller(user, query.subscription)
    day = _day(query.as_of)
    view = view_of(subscription)
    area = Area.objects.filter(code=division).first()
    if area is None or not any(area.code.startswith(p) for p in view.prefixes):
        if area is not None:
            _denied(user, "area", area.code, view)
        raise not_found("division")
    paged = paginate(people_as_of(view, day, within=area.code), query)
    audit_record(
        Action.READ,
        user=user,
        record_type="area",
        record_id=area.code,
        detail={
            "via": "feed",
            "subscription": subscription.pk,
            "as_of": day.isoformat(),
            PERSON_IDS: [p.pk for p in paged.rows],
        },
    )
    sensitive = sensitive_tags()
    return PersonOnPageOut(
        **paged.meta(),
        area=area.code,
        as_of=day,
        results=[_person_on_out(person_on(view, p, day, sensitive)) for p in paged.rows],
    )


# --- subscriptions (the district administrator) ----------------------------------------------


def _admin(request: HttpRequest, operation: str) -> AbstractBaseUser:
    user = acting_user(request)
    access_with_power(user, POWER, operation=operation)
    return user


def subscriptions_listed() -> Any:
    """Every subscription with its subscriber, endpoint and dead-letter count."""
    return (
        Subscription.objects.select_related("subscriber", "webhook")
        .annotate(
            dead_letters=Count(
                "webhook__deliveries", filter=Q(webhook__deliveries__status=DeliveryStatus.DEAD)
            )
        )
        .order_by("subscriber__username", "name", "pk")
    )


def _webhook_out(endpoint: WebhookEndpoint | None, dead: int) -> WebhookOut | None:
    if endpoint is None:
        return None
    return WebhookOut(
        url=endpoint.url,
        enabled=endpoint.enabled,
        disabled_reason=endpoint.disabled_reason,
        allow_private=endpoint.allow_private,
        planned_seq=endpoint.planned_seq,
        dead_letters=dead,
    )


def _endpoint(subscription: Subscription) -> WebhookEndpoint | None:
    return WebhookEndpoint.objects.filter(subscription=subscription).first()


def _subscription_out(subscription: Subscription) -> SubscriptionOut:
    endpoint = _endpoint(subscription)
    dead = getattr(subscription, "dead_letters", None)
    if dead is None:
        dead = (
            endpoint.deliveries.filter(status=DeliveryStatus.DEAD).count()
            if endpoint is not None
            else 0
        )
    return SubscriptionOut(
        id=subscription.pk,
        name=subscription.name,
        subscriber=subscription.subscriber.get_username(),
        event_types=list(subscription.event_types or []),
        areas=list(subscription.areas or []),
        fields=list(subscription.fields or []),
        sex=subscription.sex,
        age_min=subscription.age_min,
        age_max=subscription.age_max,
        categories=list(subscription.categories or []),
        active=subscription.active,
        suspended=suspension_of(subscription),
        created_at=subscription.created_at,
        webhook=_webhook_out(endpoint, int(dead)),
    )


def _subscription_or_404(subscription_id: int) -> Subscription:
    subscription = (
        Subscription.objects.select_related("subscriber").filter(pk=subscription_id).first()
    )
    if subscription is None:
        raise not_found()
    return subscription


def _invalid(exc: SubscriptionInvalid) -> ApiError:
    return ApiError(
        422,
        ErrorCode.VALIDATION_ERROR,
        _("The request is not valid; see fields."),
        [(name, message) for name, messages in exc.errors.items() for message in messages],
    )


def _user_named(username: str) -> Any:
    """The user of that name, or the name itself (the service then says it is no reader)."""
    return get_user_model().objects.filter(username=username).first() or ""


@router.get(
    "",
    operation_id="subscriptions_list",
    url_name="subscriptions_list",
    summary="Subscriptions",
    response={200: SubscriptionPageOut, **error_responses(401, 403, 422)},
)
def subscriptions_list(request: HttpRequest, query: Query[PageQuery]) -> SubscriptionPageOut:
    """Every department's subscriptions, with their webhook endpoint and dead letters."""
    user = _admin(request, "subscriptions_list")
    paged = paginate(subscriptions_listed(), query)
    audit_record(Action.READ, user=user, record_type="subscription", detail={"list": "all"})
    return SubscriptionPageOut(**paged.meta(), results=[_subscription_out(s) for s in paged.rows])


@router.post(
    "",
    operation_id="subscription_create",
    url_name="subscription_create",
    summary="Create a subscription",
    response={200: SubscriptionOut, **error_responses(401, 403, 422)},
)
def subscription_create_op(request: HttpRequest, payload: SubscriptionIn) -> SubscriptionOut:
    """A department reader's new subscription; it never exceeds the reader's grant (areas
    and fields outside it are refused, naming the field)."""
    user = _admin(request, "subscription_create")
    values = payload.dict()
    values["subscriber"] = _user_named(payload.subscriber)
    try:
        subscription = subscription_create(user=user, **values)
    except SubscriptionInvalid as exc:
        raise _invalid(exc) from exc
    return _subscription_out(subscription)


@router.get(
    "/{subscription_id}",
    operation_id="subscription_get",
    summary="One subscription",
    response={200: SubscriptionOut, **error_responses(401, 403, 404, 422)},
)
def subscription_get(request: HttpRequest, subscription_id: SubscriptionId) -> SubscriptionOut:
    """One subscription, with its webhook endpoint and dead-letter count."""
    user = _admin(request, "subscription_get")
    subscription = _subscription_or_404(subscription_id)
    audit_record(Action.READ, user=user, record_type="subscription", record_id=subscription.pk)
    return _subscription_out(subscription)


@router.patch(
    "/{subscription_id}",
    operation_id="subscription_update",
    url_name="subscription_update",
    summary="Change a subscription",
    response={200: SubscriptionOut, **error_responses(401, 403, 404, 422)},
)
def subscription_update_op(
    request: HttpRequest, subscription_id: SubscriptionId, payload: SubscriptionPatch
) -> SubscriptionOut:
    """Change the values given; the others stay."""
    user = _admin(request, "subscription_update")
    subscription = _subscription_or_404(subscription_id)
    changes = payload.dict(exclude_unset=True)
    if "subscriber" in changes:
        changes["subscriber"] = _user_named(str(changes["subscriber"] or ""))
    for name in ("event_types", "areas", "fields", "categories"):
        if name in changes and changes[name] is None:
            changes[name] = []
    if changes.get("sex") is None and "sex" in changes:
        changes["sex"] = ""
    try:
        subscription = subscription_update(subscription, user=user, **changes)
    except SubscriptionInvalid as exc:
        raise _invalid(exc) from exc
    return _subscription_out(subscription)


@router.delete(
    "/{subscription_id}",
    operation_id="subscription_delete",
    url_name="subscription_delete",
    summary="Delete a subscription",
    response={200: DeletedOut, **error_responses(401, 403, 404, 422)},
)
def subscription_delete_op(request: HttpRequest, subscription_id: SubscriptionId) -> DeletedOut:
    """Delete it with its webhook endpoint and deliveries (to pause it, set active false)."""
    user = _admin(request, "subscription_delete")
    subscription_delete(_subscription_or_404(subscription_id), user=user)
    return DeletedOut(id=subscription_id, deleted=True)


# --- webhooks --------------------------------------------------------------------------------


def _refused(exc: WebhookError) -> ApiError:
    return ApiError(400, ErrorCode.BAD_REQUEST, str(exc))


@router.post(
    "/{subscription_id}/webhook",
    operation_id="subscription_webhook_create",
    summary="Set the subscription's webhook endpoint",
    response={200: WebhookCreatedOut, **error_responses(401, 403, 404, 422)},
)
def subscription_webhook_create(
    request: HttpRequest, subscription_id: SubscriptionId, payload: WebhookIn
) -> WebhookCreatedOut:
    """Events are posted to `url`, signed (Standard Webhooks) with the secret answered here.
    An address in a private network is refused unless `allow_private`."""
    user = _admin(request, "subscription_webhook_create")
    subscription = _subscription_or_404(subscription_id)
    try:
        endpoint = endpoint_create(
            subscription, payload.url, allow_private=payload.allow_private, user=user
        )
    except WebhookError as exc:
        raise validation_error("url", str(exc)) from exc
    out = _webhook_out(endpoint, 0)
    assert out is not None
    return WebhookCreatedOut(**out.dict(), secret=endpoint.secret)


def _endpoint_or_404(subscription_id: int) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(subscription_id=subscription_id).first()
    if endpoint is None:
        raise not_found()
    return endpoint


def _dead_count(endpoint: WebhookEndpoint) -> int:
    return endpoint.deliveries.filter(status=DeliveryStatus.DEAD).count()


@router.post(
    "/{subscription_id}/webhook/enable",
    operation_id="subscription_webhook_enable",
    summary="Enable the webhook endpoint",
    response={200: WebhookOut, **error_responses(400, 401, 403, 404, 422)},
)
def subscription_webhook_enable(
    request: HttpRequest, subscription_id: SubscriptionId
) -> WebhookOut | None:
    """Push again, the address checked anew; events that came meanwhile are delivered too."""
    user = _admin(request, "subscription_webhook_enable")
    endpoint = _endpoint_or_404(subscription_id)
    try:
        endpoint_enable(endpoint, user=user)
    except WebhookError as exc:
        raise _refused(exc) from exc
    endpoint.refresh_from_db()
    return _webhook_out(endpoint, _dead_count(endpoint))


@router.post(
    "/{subscription_id}/webhook/disable",
    operation_id="subscription_webhook_disable",
    summary="Disable the webhook endpoint",
    response={200: WebhookOut, **error_responses(400, 401, 403, 404, 422)},
)
def subscription_webhook_disable(
    request: HttpRequest, subscription_id: SubscriptionId, payload: DisableIn
) -> WebhookOut | None:
    """Stop pushing; what is waiting becomes dead letters (re-sendable once enabled)."""
    user = _admin(request, "subscription_webhook_disable")
    endpoint = _endpoint_or_404(subscription_id)
    try:
        endpoint_disable(endpoint, reason=payload.reason, user=user)
    except WebhookError as exc:
        raise _refused(exc) from exc
    endpoint.refresh_from_db()
    return _webhook_out(endpoint, _dead_count(endpoint))


def dead_letters_of(endpoint: WebhookEndpoint) -> Any:
    return (
        Delivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.DEAD)
        .select_related("event")
        .order_by("event_id")
    )


@router.get(
    "/{subscription_id}/dead-letters",
    operation_id="subscription_dead_letters_list",
    summary="Dead letters",
    response={200: DeadLetterPageOut, **error_responses(401, 403, 404, 422)},
)
def subscription_dead_letters_list(
    request: HttpRequest, subscription_id: SubscriptionId, query: Query[PageQuery]
) -> DeadLetterPageOut:
    """Events whose delivery gave up (retries ran out, or the endpoint was disabled)."""
    user = _admin(request, "subscription_dead_letters_list")
    endpoint = _endpoint_or_404(subscription_id)
    paged = paginate(dead_letters_of(endpoint), query)
    audit_record(
        Action.READ,
        user=user,
        record_type="subscription",
        record_id=subscription_id,
        detail={"list": "dead letters"},
    )
    return DeadLetterPageOut(
        **paged.meta(),
        results=[
            DeadLetterOut(
                id=d.pk,
                webhook_id=d.webhook_id,
                event=d.event_id,
                event_type=d.event.type,
                attempts=d.attempts,
                last_attempt_at=d.last_attempt_at,
                last_status_code=d.last_status_code,
                last_error=d.last_error,
            )
            for d in paged.rows
        ],
    )


@router.post(
    "/{subscription_id}/dead-letters/{delivery_id}/resend",
    operation_id="subscription_dead_letter_resend",
    summary="Send a dead letter again",
    response={200: DeliveryOut, **error_responses(400, 401, 403, 404, 422)},
)
def subscription_dead_letter_resend(
    request: HttpRequest, subscription_id: SubscriptionId, delivery_id: DeliveryId
) -> DeliveryOut:
    """Queue the event for delivery again, with the same webhook-id."""
    user = _admin(request, "subscription_dead_letter_resend")
    endpoint = _endpoint_or_404(subscription_id)
    delivery = dead_letters_of(endpoint).filter(pk=delivery_id).first()
    if delivery is None:
        raise not_found()
    try:
        delivery_resend(delivery, user=user)
    except WebhookError as exc:
        raise _refused(exc) from exc
    delivery.refresh_from_db()
    return DeliveryOut(
        id=delivery.pk,
        webhook_id=delivery.webhook_id,
        status=delivery.status,
        next_attempt_at=delivery.next_attempt_at,
    )
