"""What the exchange API operations look up and build: the caller's subscription, the answers
about subscriptions and webhooks, the refusals."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import Count, Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from renfang.accounts.powers import access_with_power
from renfang.audit.models import Action
from renfang.audit.services import audit_record
from renfang.core.api.auth import acting_user
from renfang.core.api.errors import (
    ApiError,
    ErrorCode,
    not_found,
    validation_error,
)
from renfang.exchange.api.schemas import (
    POWER,
    PersonOnOut,
    PlaceOnOut,
    SubscriptionOut,
    WebhookOut,
)
from renfang.exchange.feed import PersonOn
from renfang.exchange.models import Delivery, DeliveryStatus, Subscription, WebhookEndpoint
from renfang.exchange.selectors import (
    View,
    suspension_of,
)
from renfang.exchange.subscriptions import (
    SubscriptionInvalid,
)
from renfang.exchange.webhooks import WebhookError


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


def _denied(user: AbstractBaseUser, record_type: str, record_id: object, view: View) -> None:
    audit_record(
        Action.DENIED,
        user=user,
        record_type=record_type,
        record_id=str(record_id),
        detail={"reason": "outside the subscription", "subscription": view.subscription_id},
    )


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


def _refused(exc: WebhookError) -> ApiError:
    return ApiError(400, ErrorCode.BAD_REQUEST, str(exc))


def _endpoint_or_404(subscription_id: int) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(subscription_id=subscription_id).first()
    if endpoint is None:
        raise not_found()
    return endpoint


def _dead_count(endpoint: WebhookEndpoint) -> int:
    return endpoint.deliveries.filter(status=DeliveryStatus.DEAD).count()


def dead_letters_of(endpoint: WebhookEndpoint) -> Any:
    return (
        Delivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.DEAD)
        .select_related("event")
        .order_by("event_id")
    )
