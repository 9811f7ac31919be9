"""Collect once, use many times (一次采集，多次使用): the change feed and who receives it.

Every change of a golden record writes one or more ``Event`` rows in the transaction of the
change itself (an outbox). ``seq`` is handed out under a lock on ``EventHead`` that is held
until the transaction ends, so numbers are gap-free and increase in commit order: a reader
that has seen ``seq`` N has seen every event up to N, and never a later one first.

A department (a user with the department-reader role and its grant of areas and fields)
``Subscription``: the event types, areas, fields and people it wants, never more than its
grant allows; read by pull (``/api/feed``) or pushed to its ``WebhookEndpoint`` by the worker,
one ``Delivery`` per event and endpoint (ADR 0016).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class EventType(models.TextChoices):
    ARRIVED = "person.arrived", _("arrived")  # 迁入/来住
    MOVED = "person.moved", _("moved within")  # 区内搬迁
    LEFT = "person.left", _("left")  # 迁出/离开
    DIED = "person.died", _("died")  # 死亡
    BORN = "person.born", _("born")  # 出生
    CHANGED = "person.changed", _("fields changed")  # 信息变更
    MERGED = "person.merged", _("persons merged")  # 合并
    SPLIT = "person.split", _("person split")  # 拆分
    HOUSE_CHANGED = "house.changed", _("house changed")  # 房屋变更（用途等）


class Event(models.Model):
    """One change of a golden record, as published. Never updated, never deleted.

    ``division`` is where the subject is (lives, or lies: a house) after the change,
    ``division_before`` where it was (a move, a departure); a subscriber sees the event when
    either lies in its areas. ``sex``, ``age`` and ``category`` are the person's at the event,
    so subscriptions can choose people (women of 15–49, migrants) without reading them."""

    seq = models.BigIntegerField(_("sequence"), primary_key=True)
    at = models.DateTimeField(_("time"))
    type = models.CharField(_("type"), max_length=20, choices=EventType.choices)
    person_id = models.BigIntegerField(_("person"), null=True, blank=True)
    house_code = models.CharField(_("house"), max_length=40, blank=True)
    division = models.CharField(_("area"), max_length=20, blank=True)
    division_before = models.CharField(_("area before"), max_length=20, blank=True)
    sex = models.CharField(_("sex"), max_length=1, blank=True)
    age = models.SmallIntegerField(_("age"), null=True, blank=True)
    category = models.CharField(_("category"), max_length=20, blank=True)
    # [{"field": …, "old": …, "new": …}], in the audit log's form (audit.services.field_change)
    changes = models.JSONField(_("changes"), default=list, blank=True)
    source = models.CharField(_("source"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["person_id", "seq"], name="exchange_event_person"),
            models.Index(fields=["at"], name="exchange_event_at"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.type}"


class EventHead(models.Model):
    """The last sequence number handed out: one row, locked by every append until commit."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("event sequence")

    def __str__(self) -> str:
        return f"#{self.last_seq}"


class Subscription(models.Model):
    """What one department wants to receive. Empty lists mean "all that the grant allows"; a
    list never widens the grant (the feed intersects both, at every read)."""

    subscriber = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("subscriber"),
        on_delete=models.CASCADE,
        related_name="subscriptions",
    )
    name = models.CharField(_("name"), max_length=100)
    event_types = models.JSONField(_("event types"), default=list, blank=True)
    areas = models.JSONField(_("areas"), default=list, blank=True)  # division code prefixes
    fields = models.JSONField(_("fields"), default=list, blank=True)  # accounts.PersonField
    # Which people: sex ("1", "2"), age at the event, derived category (people.categories).
    sex = models.CharField(_("sex"), max_length=1, blank=True)
    age_min = models.PositiveSmallIntegerField(_("from age"), null=True, blank=True)
    age_max = models.PositiveSmallIntegerField(_("to age"), null=True, blank=True)
    categories = models.JSONField(_("categories"), default=list, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        ordering = ["subscriber", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscriber", "name"], name="exchange_subscription_name_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name


class WebhookEndpoint(models.Model):
    """Where a subscription's events are pushed (Standard Webhooks): signed with ``secret``
    (``whsec_`` + base64), disabled by a 410 answer or by the administrator."""

    subscription = models.OneToOneField(
        Subscription,
        verbose_name=_("subscription"),
        on_delete=models.CASCADE,
        related_name="webhook",
    )
    url = models.URLField(_("address"), max_length=500)
    secret = models.CharField(_("signing secret"), max_length=100)
    # An address inside a private network is refused unless the administrator allows it.
    allow_private = models.BooleanField(_("private network allowed"), default=False)
    enabled = models.BooleanField(_("enabled"), default=True)
    disabled_reason = models.CharField(_("why disabled"), max_length=300, blank=True)
    # The last event whose delivery was planned (the worker's cursor over the feed).
    planned_seq = models.BigIntegerField(_("planned up to"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("waiting")
    DELIVERED = "delivered", _("delivered")
    DEAD = "dead", _("dead letter")  # retries ran out, or the endpoint was disabled


class Delivery(models.Model):
    """One event to one endpoint. ``webhook_id`` (``msg_…``) is the same on every attempt:
    the receiver's idempotency key."""

    endpoint = models.ForeignKey(
        WebhookEndpoint,
        verbose_name=_("endpoint"),
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    event = models.ForeignKey(
        Event, verbose_name=_("event"), on_delete=models.PROTECT, related_name="deliveries"
    )
    webhook_id = models.CharField(_("webhook id"), max_length=40, unique=True)
    # The body as first built (the event as the subscription showed it then), sent unchanged
    # on every attempt: a receiver may compare a duplicate byte for byte.
    payload = models.TextField(_("body"), blank=True)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=DeliveryStatus.choices,
        default=DeliveryStatus.PENDING,
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"))
    first_attempt_at = models.DateTimeField(_("first attempt"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("last answer"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["endpoint", "event"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="exchange_delivery_unique")
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="exchange_delivery_due"),
        ]

    def __str__(self) -> str:
        return self.webhook_id
