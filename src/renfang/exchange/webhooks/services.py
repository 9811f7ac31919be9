"""Writes of the webhooks: endpoints, planned deliveries, attempts and their results.

The ``Delivery`` table is the queue (ADR 0016). ``deliveries_plan`` turns the events after an
endpoint's ``planned_seq`` that its subscription shows into ``Delivery`` rows, body included,
and moves the cursor in the same transaction: an event is planned once per endpoint, never
skipped. ``deliveries_claim`` takes due deliveries and pushes their ``next_attempt_at`` a
lease into the future, committed before anything is sent: a worker killed while sending
leaves the delivery to be claimed again when the lease runs out (the receiver may then see
it twice, with the same ``webhook-id``). ``deliveries_record`` writes what the attempts got:
2xx delivered, 410 Gone disables the endpoint, anything else is retried later, for at least
72 hours from the first attempt, then the delivery is a dead letter that an administrator
may send again (``delivery_resend``).

Deliveries of one endpoint are not ordered: each is retried on its own schedule, so one
failing event does not hold the others back. Every body carries the event's ``seq``, and
the feed gives the order when a receiver needs it.
"""

from __future__ import annotations

import datetime
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from renfang.accounts.access import access_for
from renfang.audit.models import Action
from renfang.audit.services import SYSTEM, User, audit_record
from renfang.exchange.models import (
    Delivery,
    DeliveryStatus,
    Event,
    EventHead,
    Subscription,
    WebhookEndpoint,
)
from renfang.exchange.selectors import events_for, sensitive_tags, shown, view_of
from renfang.exchange.webhooks import WebhookError
from renfang.exchange.webhooks.addresses import check_url
from renfang.exchange.webhooks.sending import Answer
from renfang.exchange.webhooks.signing import new_secret

# The retry schedule: the n-th retry waits a random time between the step before and its
# own step (full jitter inside each step, so retries never bunch and delays still grow);
# past the table, between 4 and 8 hours, until 72 hours have passed since the first attempt.
RETRY_STEPS = tuple(
    datetime.timedelta(seconds=s)
    for s in (5, 30, 120, 600, 1800, 3600, 2 * 3600, 4 * 3600, 8 * 3600)
)
RETRY_FOR = datetime.timedelta(hours=72)
LEASE = datetime.timedelta(seconds=60)  # how long a claimed delivery is left to its worker
PLAN_PAGE = 1000  # events read per endpoint and transaction while planning
URL_LENGTH = 500  # WebhookEndpoint.url's max_length
GONE = 410
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


def _actor_name(user: User | None) -> str:
    return SYSTEM if user is None else ""


def _audit(user: User | None, record_type: str, record_id: object, detail: dict[str, Any]) -> None:
    audit_record(
        Action.ADMIN,
        user=user,
        username=_actor_name(user),
        record_type=record_type,
        record_id=str(record_id),
        detail=detail,
    )


def _head() -> int:
    return EventHead.objects.filter(pk=1).values_list("last_seq", flat=True).first() or 0


# ---------------------------------------------------------------- endpoints


def endpoint_create(
    subscription: Subscription, url: str, *, allow_private: bool = False, user: User | None
) -> WebhookEndpoint:
    """Give a subscription its webhook: a new secret (``endpoint.secret``, shown once to the
    department), the address checked, and events from now on (earlier ones are in the feed).
    ``allow_private`` is the district administrator's to give. Raises ``WebhookError``."""
    url = url.strip()
    if len(url) > URL_LENGTH:
        raise WebhookError(
            _("the address is longer than %(length)d characters") % {"length": URL_LENGTH}
        )
    if allow_private and user is not None and not access_for(user).administers_users:
        raise WebhookError(_("only the district administrator may allow private networks"))
    check_url(url, allow_private=allow_private)
    with transaction.atomic():
        if WebhookEndpoint.objects.filter(subscription=subscription).exists():
            raise WebhookError(
                _("subscription %(name)s has a webhook already") % {"name": subscription.name}
            )
        endpoint = WebhookEndpoint.objects.create(
            subscription=subscription,
            url=url,
            secret=new_secret(),
            allow_private=allow_private,
            planned_seq=_head(),
        )
        _audit(
            user,
            "webhook",
            endpoint.pk,
            {
                "change": "webhook created",
                "subscription": subscription.name,
                "url": url,
                "allow_private": allow_private,
            },
        )
    return endpoint


def _dead_letter_pending(endpoint: WebhookEndpoint, reason: str) -> int:
    return Delivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.DEAD, last_error=reason[:300]
    )


def endpoint_disable(
    endpoint: WebhookEndpoint, *, reason: str, user: User | None
) -> WebhookEndpoint:
    """Stop pushing to an endpoint; its waiting deliveries become dead letters (resendable
    once it is enabled again). ``reason`` is shown with the endpoint."""
    reason = reason.strip()[:300] or _("disabled by the administrator")
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        locked.enabled = False
        locked.disabled_reason = reason
        locked.save(update_fields=["enabled", "disabled_reason"])
        dead = _dead_letter_pending(locked, _("endpoint disabled: %(reason)s") % {"reason": reason})
        _audit(
            user,
            "webhook",
            locked.pk,
            {"change": "webhook disabled", "reason": reason, "dead_letters": dead},
        )
    return locked


def endpoint_enable(
    endpoint: WebhookEndpoint, *, skip_missed: bool = False, user: User | None
) -> WebhookEndpoint:
    """Push to an endpoint again, its address checked anew. The events that arrived while it
    was disabled are delivered too, unless ``skip_missed`` (they stay in the feed)."""
    check_url(endpoint.url, allow_private=endpoint.allow_private)
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        locked.enabled = True
        locked.disabled_reason = ""
        if skip_missed:
            locked.planned_seq = max(locked.planned_seq, _head())
        locked.save(update_fields=["enabled", "disabled_reason", "planned_seq"])
        _audit(
            user,
            "webhook",
            locked.pk,
            {"change": "webhook enabled", "skip_missed": skip_missed},
        )
    return locked


# ---------------------------------------------------------------- planning


def _iso(at: datetime.datetime) -> str:
    return at.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


def webhook_body(event: Event, shown_event: dict[str, Any]) -> str:
    """The body pushed for one event (Standard Webhooks' ``type``, ``timestamp``, ``data``):
    ``data`` is exactly what the feed shows the subscription."""
    return str(_JSON({"type": event.type, "timestamp": _iso(event.at), "data": shown_event}))


def _plan_page(endpoint_id: int, head: int, now: datetime.datetime) -> tuple[int, bool]:
    """Plan one page of an endpoint's events: (deliveries planned, whether it is caught up)."""
    with transaction.atomic():
        endpoint = (
            WebhookEndpoint.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("subscription__subscriber")
            .filter(pk=endpoint_id, enabled=True, planned_seq__lt=head)
            .first()
        )
        if endpoint is None:  # another worker is planning it, or there is nothing to plan
            return 0, True
        view = view_of(endpoint.subscription)
        page = list(events_for(view, endpoint.planned_seq).filter(seq__lte=head)[:PLAN_PAGE])
        caught_up = len(page) < PLAN_PAGE
        sensitive = sensitive_tags() if page else frozenset()
        rows = []
        for event in page:
            item = shown(event, view, sensitive)
            if item is None:
                continue
            rows.append(
                Delivery(
                    endpoint=endpoint,
                    event=event,
                    webhook_id=f"msg_{endpoint.pk}_{event.seq}",
                    payload=webhook_body(event, item),
                    next_attempt_at=now,
                )
            )
        Delivery.objects.bulk_create(rows)
        endpoint.planned_seq = head if caught_up else page[-1].seq
        endpoint.save(update_fields=["planned_seq"])
    return len(rows), caught_up


def deliveries_plan(*, now: datetime.datetime | None = None) -> int:
    """Plan every enabled endpoint's deliveries up to the last event committed; returns how
    many were planned. Events are numbered in commit order without gaps, so "up to the head"
    is exactly the events committed so far."""
    now = now or timezone.now()
    head = _head()
    behind = WebhookEndpoint.objects.filter(
        enabled=True, subscription__active=True, planned_seq__lt=head
    ).values_list("pk", flat=True)
    planned = 0
    for endpoint_id in list(behind):
        caught_up = False
        while not caught_up:
            count, caught_up = _plan_page(endpoint_id, head, now)
            planned += count
    return planned


# ---------------------------------------------------------------- attempts


@dataclass(frozen=True)
class Claim:
    """A delivery taken by a worker for one attempt; ``attempts`` (this attempt's number)
    fences the result: a worker whose lease ran out cannot overwrite a later attempt's."""

    delivery_id: int
    attempts: int
    first_attempt_at: datetime.datetime
    endpoint_id: int
    url: str
    allow_private: bool
    secret: str
    webhook_id: str
    payload: str


def deliveries_claim(
    *,
    limit: int,
    now: datetime.datetime | None = None,
    lease: datetime.timedelta = LEASE,
) -> list[Claim]:
    """Take up to ``limit`` due deliveries for one attempt each, committed before sending.
    On PostgreSQL rows another worker holds are skipped, so workers can run side by side."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint")
            .filter(
                status=DeliveryStatus.PENDING,
                next_attempt_at__lte=now,
                endpoint__enabled=True,
                endpoint__subscription__active=True,
            )
            .order_by("next_attempt_at", "pk")[:limit]
        )
        for delivery in due:
            delivery.attempts += 1
            delivery.first_attempt_at = delivery.first_attempt_at or now
            delivery.last_attempt_at = now
            delivery.next_attempt_at = now + lease
        Delivery.objects.bulk_update(
            due, ["attempts", "first_attempt_at", "last_attempt_at", "next_attempt_at"]
        )
    return [
        Claim(
            delivery_id=d.pk,
            attempts=d.attempts,
            first_attempt_at=d.first_attempt_at or now,
            endpoint_id=d.endpoint_id,
            url=d.endpoint.url,
            allow_private=d.endpoint.allow_private,
            secret=d.endpoint.secret,
            webhook_id=d.webhook_id,
            payload=d.payload,
        )
        for d in due
    ]


def retry_delay(attempts: int, rng: random.Random | None = None) -> datetime.timedelta:
    """How long to wait after the ``attempts``-th failed attempt (see ``RETRY_STEPS``)."""
    index = max(attempts - 1, 0)
    step = RETRY_STEPS[min(index, len(RETRY_STEPS) - 1)]
    lower = RETRY_STEPS[index - 1] if 1 <= index < len(RETRY_STEPS) else step / 2
    fraction = (rng or random).random()
    return lower + (step - lower) * fraction


def _gone(endpoint_id: int, now: datetime.datetime) -> None:
    """A 410 answer: the receiver wants no more; disable the endpoint, dead-letter the rest."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
    if not endpoint.enabled:
        return
    reason = _("the receiver answered 410 Gone on %(when)s") % {
        "when": f"{timezone.localtime(now):%Y-%m-%d %H:%M:%S}"
    }
    endpoint.enabled = False
    endpoint.disabled_reason = reason
    endpoint.save(update_fields=["enabled", "disabled_reason"])
    dead = _dead_letter_pending(endpoint, _("endpoint disabled: %(reason)s") % {"reason": reason})
    _audit(
        None,
        "webhook",
        endpoint.pk,
        {"change": "webhook disabled", "reason": "410 Gone", "dead_letters": dead},
    )


def _record(claim: Claim, answer: Answer, now: datetime.datetime, rng: random.Random | None) -> str:
    mine = Delivery.objects.filter(
        pk=claim.delivery_id, status=DeliveryStatus.PENDING, attempts=claim.attempts
    )
    error = answer.error[:300] if answer.status is None else f"HTTP {answer.status}"
    if answer.delivered:
        mine.update(
            status=DeliveryStatus.DELIVERED,
            delivered_at=now,
            last_status_code=answer.status,
            last_error="",
        )
        return DeliveryStatus.DELIVERED
    if answer.status == GONE:
        mine.update(status=DeliveryStatus.DEAD, last_status_code=GONE, last_error=error)
        _gone(claim.endpoint_id, now)
        return DeliveryStatus.DEAD
    if now - claim.first_attempt_at >= RETRY_FOR:
        mine.update(status=DeliveryStatus.DEAD, last_status_code=answer.status, last_error=error)
        return DeliveryStatus.DEAD
    mine.update(
        next_attempt_at=now + retry_delay(claim.attempts, rng),
        last_status_code=answer.status,
        last_error=error,
    )
    return DeliveryStatus.PENDING


def deliveries_record(
    results: Sequence[tuple[Claim, Answer]],
    *,
    now: datetime.datetime | None = None,
    rng: random.Random | None = None,
) -> list[str]:
    """Write what attempts got, in one transaction; returns each delivery's status after it:
    2xx delivered; 410 dead and the endpoint disabled; otherwise waiting for its next attempt,
    or dead once an attempt 72 hours after the first has failed. A result whose lease ran out
    and whose delivery was claimed again (``attempts`` moved on) changes nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        return [_record(claim, answer, now, rng) for claim, answer in results]


# ---------------------------------------------------------------- dead letters


def delivery_resend(
    delivery: Delivery, *, user: User | None, now: datetime.datetime | None = None
) -> Delivery:
    """Send a dead letter again: waiting now, with a new 72-hour retry window. Its body and
    ``webhook-id`` are unchanged (the receiver may have seen it). Raises ``WebhookError``."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = Delivery.objects.select_for_update().select_related("endpoint").get(pk=delivery.pk)
        if locked.status != DeliveryStatus.DEAD:
            raise WebhookError(
                _("only a dead letter can be sent again; %(id)s is %(status)s")
                % {"id": locked.webhook_id, "status": locked.get_status_display()}
            )
        if not locked.endpoint.enabled:
            raise WebhookError(
                _("enable the endpoint %(url)s before sending its dead letters again")
                % {"url": locked.endpoint.url}
            )
        locked.status = DeliveryStatus.PENDING
        locked.next_attempt_at = now
        locked.first_attempt_at = None
        locked.save(update_fields=["status", "next_attempt_at", "first_attempt_at"])
        _audit(user, "webhook_delivery", locked.webhook_id, {"change": "resent"})
    return locked


def endpoint_resend_dead(
    endpoint: WebhookEndpoint, *, user: User | None, now: datetime.datetime | None = None
) -> int:
    """Send all of an endpoint's dead letters again (see ``delivery_resend``); returns how many."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        if not locked.enabled:
            raise WebhookError(
                _("enable the endpoint %(url)s before sending its dead letters again")
                % {"url": locked.url}
            )
        count = Delivery.objects.filter(endpoint=locked, status=DeliveryStatus.DEAD).update(
            status=DeliveryStatus.PENDING, next_attempt_at=now, first_attempt_at=None
        )
        _audit(user, "webhook", locked.pk, {"change": "dead letters resent", "count": count})
    return count
