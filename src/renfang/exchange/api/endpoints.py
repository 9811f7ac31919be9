"""The exchange API operations: the feed (``feed_router``) and the district administrator's
subscriptions and webhooks (``router``)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router

from renfang.areas.models import Area
from renfang.audit.models import Action
from renfang.audit.services import PERSON_IDS, audit_record
from renfang.core.api.auth import acting_user
from renfang.core.api.errors import (
    error_responses,
    not_found,
    validation_error,
)
from renfang.core.api.pagination import PageQuery, paginate
from renfang.exchange.api.queries import (
    _admin,
    _day,
    _dead_count,
    _denied,
    _endpoint_or_404,
    _invalid,
    _person_on_out,
    _refused,
    _subscription_or_404,
    _subscription_out,
    _user_named,
    _webhook_out,
    dead_letters_of,
    subscription_of_caller,
    subscriptions_listed,
)
from renfang.exchange.api.schemas import (
    AsOfPageQuery,
    AsOfQuery,
    DeadLetterOut,
    DeadLetterPageOut,
    DeletedOut,
    DeliveryId,
    DeliveryOut,
    DisableIn,
    Division,
    FeedEventOut,
    FeedOut,
    FeedQuery,
    PersonId,
    PersonOnOut,
    PersonOnPageOut,
    SubscriptionId,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionPageOut,
    SubscriptionPatch,
    WebhookCreatedOut,
    WebhookIn,
    WebhookOut,
)
from renfang.exchange.feed import people_as_of, person_on
from renfang.exchange.selectors import (
    feed_events,
    sensitive_tags,
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
