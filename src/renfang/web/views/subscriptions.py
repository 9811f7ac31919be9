"""Subscriptions to the change feed (订阅) for the district administrator: the list (with an
Excel export), the form to create or change one, and a subscription's page showing its feed as
the department receives it, its webhook endpoint and its dead letters (the actions on those:
``webhooks``).

Only a role that administers users sees these pages (``administers_users``); to anyone else
they are "not found", audited as denied. A department reader sees its own subscriptions' feeds
on "My feeds" (``feeds``), read-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from renfang.accounts.models import PersonField
from renfang.accounts.powers import access_with_power
from renfang.audit.models import Action
from renfang.audit.services import audit_record
from renfang.exchange.models import (
    Delivery,
    DeliveryStatus,
    EventType,
    Subscription,
    WebhookEndpoint,
)
from renfang.exchange.selectors import suspension_of
from renfang.exchange.subscriptions import (
    FIELDS,
    SubscriptionInvalid,
    subscription_create,
    subscription_delete,
    subscription_update,
)
from renfang.people.categories import Category
from renfang.web.exports import xlsx_response
from renfang.web.forms import CATEGORY_LABELS, SEX_CHOICES, SubscriptionForm
from renfang.web.views.feeds import FEED_SHOWN, _feed_of

POWER = "administers_users"
DEAD_SHOWN = 200


def _admin(request: HttpRequest) -> None:
    access_with_power(request.user, POWER, path=request.path)


def _initial(subscription: Subscription) -> dict[str, Any]:
    initial = {SubscriptionForm.form_field(name): getattr(subscription, name) for name in FIELDS}
    initial["areas"] = " ".join(subscription.areas or [])
    return initial


def _subscription(subscription_id: int) -> Subscription:
    found = Subscription.objects.select_related("subscriber").filter(pk=subscription_id).first()
    if found is None:
        raise Http404
    return found


@dataclass(frozen=True)
class SubscriptionRow:
    subscription: Subscription
    endpoint: WebhookEndpoint | None
    dead: int

    @property
    def event_types(self) -> str:
        labels = dict(EventType.choices)
        return "、".join(str(labels.get(t, t)) for t in self.subscription.event_types) or _(
            "all types"
        )

    @property
    def fields(self) -> str:
        labels = dict(PersonField.choices)
        return "、".join(str(labels.get(f, f)) for f in self.subscription.fields) or _(
            "all granted fields"
        )

    @property
    def people(self) -> str:
        s = self.subscription
        parts = []
        if s.sex:
            parts.append(str(dict(SEX_CHOICES)[s.sex]))
        if s.age_min is not None or s.age_max is not None:
            parts.append(f"{s.age_min if s.age_min is not None else ''}–{s.age_max or ''}")
        parts += [str(CATEGORY_LABELS.get(Category(c), c)) for c in s.categories or []]
        return " · ".join(parts) or _("everyone")


def _rows() -> list[SubscriptionRow]:
    subscriptions = list(
        Subscription.objects.select_related("subscriber").order_by(
            "subscriber__username", "name", "pk"
        )
    )
    endpoints = {
        e.subscription_id: e for e in WebhookEndpoint.objects.filter(subscription__in=subscriptions)
    }
    dead: dict[int, int] = {}
    for endpoint_id in Delivery.objects.filter(
        status=DeliveryStatus.DEAD, endpoint__in=endpoints.values()
    ).values_list("endpoint_id", flat=True):
        dead[endpoint_id] = dead.get(endpoint_id, 0) + 1
    return [
        SubscriptionRow(
            subscription=s,
            endpoint=endpoints.get(s.pk),
            dead=dead.get(endpoints[s.pk].pk, 0) if s.pk in endpoints else 0,
        )
        for s in subscriptions
    ]


@login_required
def subscriptions_list(request: HttpRequest) -> HttpResponse:
    _admin(request)
    rows = _rows()
    audit_record(Action.READ, user=request.user, record_type="subscription", detail={"list": "all"})
    return render(request, "web/subscriptions.html", {"rows": rows})


@login_required
def subscriptions_export(request: HttpRequest) -> HttpResponse:
    _admin(request)
    rows = [
        [
            row.subscription.pk,
            row.subscription.subscriber.get_username(),
            row.subscription.name,
            row.event_types,
            " ".join(row.subscription.areas) or _("the whole grant"),
            row.fields,
            row.people,
            _("yes") if row.subscription.active else _("no"),
            row.endpoint.url if row.endpoint else "",
            (_("enabled") if row.endpoint.enabled else _("disabled")) if row.endpoint else "",
            row.dead,
        ]
        for row in _rows()
    ]
    audit_record(
        Action.EXPORT,
        user=request.user,
        record_type="subscription",
        detail={"list": "all", "rows": len(rows)},
    )
    return xlsx_response(
        filename=f"renfang-subscriptions-{timezone.localdate().isoformat()}.xlsx",
        title=_("Subscriptions"),
        header=[
            _("Id"),
            _("Subscriber"),
            _("Name"),
            _("Event types"),
            _("Areas"),
            _("Fields"),
            _("People"),
            _("Active"),
            _("Webhook"),
            _("Webhook status"),
            _("Dead letters"),
        ],
        rows=rows,
    )


def _form_page(
    request: HttpRequest, form: SubscriptionForm, subscription: Subscription | None, status: int
) -> HttpResponse:
    return render(
        request,
        "web/subscription_form.html",
        {"form": form, "subscription": subscription},
        status=status,
    )


def _save(
    request: HttpRequest, form: SubscriptionForm, subscription: Subscription | None
) -> Subscription | None:
    """The subscription written, or None with the service's problems put on the form's
    fields."""
    if not form.is_valid():
        return None
    try:
        if subscription is None:
            return subscription_create(user=request.user, **form.values())
        return subscription_update(subscription, user=request.user, **form.values())
    except SubscriptionInvalid as exc:
        for name, problems in exc.errors.items():
            field = form.form_field(name)
            for problem in problems:
                form.add_error(field if field in form.fields else None, problem)
        return None


@login_required
def subscription_create_page(request: HttpRequest) -> HttpResponse:
    _admin(request)
    if request.method != "POST":
        return _form_page(request, SubscriptionForm(), None, 200)
    form = SubscriptionForm(request.POST)
    saved = _save(request, form, None)
    if saved is None:
        return _form_page(request, form, None, 400)
    messages.success(request, _("Subscription %(name)s created.") % {"name": saved.name})
    return redirect("web:subscription_detail", subscription_id=saved.pk)


@login_required
def subscription_edit(request: HttpRequest, subscription_id: int) -> HttpResponse:
    _admin(request)
    subscription = _subscription(subscription_id)
    if request.method != "POST":
        return _form_page(
            request, SubscriptionForm(initial=_initial(subscription)), subscription, 200
        )
    form = SubscriptionForm(request.POST)
    saved = _save(request, form, subscription)
    if saved is None:
        return _form_page(request, form, subscription, 400)
    messages.success(request, _("Subscription %(name)s saved.") % {"name": saved.name})
    return redirect("web:subscription_detail", subscription_id=saved.pk)


@login_required
@require_POST
def subscription_delete_view(request: HttpRequest, subscription_id: int) -> HttpResponse:
    _admin(request)
    subscription = _subscription(subscription_id)
    subscription_delete(subscription, user=request.user)
    messages.success(request, _("Subscription %(name)s deleted.") % {"name": subscription.name})
    return redirect("web:subscriptions_list")


@login_required
def subscription_detail(request: HttpRequest, subscription_id: int) -> HttpResponse:
    _admin(request)
    return _detail_page(request, _subscription(subscription_id))


def _detail_page(
    request: HttpRequest, subscription: Subscription, *, new_secret: str = ""
) -> HttpResponse:
    """The subscription's page; ``new_secret``: a webhook's signing secret, shown this once."""
    endpoint = WebhookEndpoint.objects.filter(subscription=subscription).first()
    dead = (
        list(
            Delivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.DEAD)
            .select_related("event")
            .order_by("event_id")[:DEAD_SHOWN]
        )
        if endpoint is not None
        else []
    )
    row = SubscriptionRow(subscription=subscription, endpoint=endpoint, dead=len(dead))
    return render(
        request,
        "web/subscription_detail.html",
        {
            "row": row,
            "subscription": subscription,
            "endpoint": endpoint,
            "dead_letters": dead,
            "events": _feed_of(request, subscription),
            "suspended": suspension_of(subscription),
            "feed_shown": FEED_SHOWN,
            "new_secret": new_secret,
        },
    )
