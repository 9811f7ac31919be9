"""Subscriptions to the change feed (订阅) for the district administrator: the list (with an
Excel export), the form to create or change one, and a subscription's page showing its feed as
the department receives it, its webhook endpoint and its dead letters (re-sendable).

Only a role that administers users sees these pages (``administers_users``); to anyone else
they are "not found", audited as denied. A department reader sees its own subscriptions' feeds
on "My feeds", read-only.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from renfang.accounts.models import PersonField, Role
from renfang.accounts.powers import access_with_power
from renfang.audit.models import Action
from renfang.audit.services import PERSON_IDS, audit_record
from renfang.exchange.models import (
    Delivery,
    DeliveryStatus,
    EventType,
    Subscription,
    WebhookEndpoint,
)
from renfang.exchange.selectors import latest_feed_events, suspension_of, view_of
from renfang.exchange.subscriptions import (
    FIELDS,
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
from renfang.people.categories import Category
from renfang.web.exports import xlsx_response
from renfang.web.sourcefields import field_label

POWER = "administers_users"
FEED_SHOWN = 50  # the latest events a subscription's page shows
DEAD_SHOWN = 200

CATEGORY_LABELS = {
    Category.REGISTERED: gettext_lazy("registered residents"),
    Category.DOMESTIC_MIGRANT: gettext_lazy("domestic migrants"),
    Category.OVERSEAS: gettext_lazy("overseas people"),
}
SEX_CHOICES = [("", gettext_lazy("both")), ("1", gettext_lazy("men")), ("2", gettext_lazy("women"))]


def _admin(request: HttpRequest) -> None:
    access_with_power(request.user, POWER, path=request.path)


class SubscriptionForm(forms.Form):
    """What the administrator types; the service checks it against the subscriber's grant."""

    subscriber = forms.ModelChoiceField(
        label=gettext_lazy("Subscriber"),
        queryset=get_user_model().objects.none(),
        empty_label=None,
    )
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    event_types = forms.MultipleChoiceField(
        label=gettext_lazy("Event types"),
        choices=EventType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("None ticked: every type."),
    )
    areas = forms.CharField(
        label=gettext_lazy("Areas"),
        required=False,
        max_length=500,
        help_text=gettext_lazy(
            "Division codes separated by spaces; empty: the subscriber's whole grant."
        ),
    )
    # "fields" would hide the form's own field list: the form calls it person_fields.
    person_fields = forms.MultipleChoiceField(
        label=gettext_lazy("Fields"),
        choices=PersonField.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("None ticked: every field the subscriber is granted."),
    )
    sex = forms.ChoiceField(label=gettext_lazy("Sex"), choices=SEX_CHOICES, required=False)
    age_min = forms.IntegerField(label=gettext_lazy("From age"), required=False)
    age_max = forms.IntegerField(label=gettext_lazy("To age"), required=False)
    categories = forms.MultipleChoiceField(
        label=gettext_lazy("Categories"),
        choices=list(CATEGORY_LABELS.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("None ticked: everyone."),
    )
    active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        readers = (
            get_user_model()
            .objects.filter(is_active=True, role_grants__role=Role.DEPARTMENT_READER)
            .distinct()
            .order_by("username")
        )
        self.fields["subscriber"].queryset = readers  # type: ignore[attr-defined]

    @staticmethod
    def form_field(name: str) -> str:
        """The form's name for a subscription's field (the service names its errors so)."""
        return "person_fields" if name == "fields" else name

    def values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["areas"] = str(data.get("areas") or "").replace(",", " ").split()
        return {name: data.get(self.form_field(name)) for name in FIELDS}


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


@dataclass(frozen=True)
class ChangeLine:
    field: str
    old: str
    new: str


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dict):
        if value.get("outside"):
            return _("outside the area")
        return " ".join(str(value.get(k) or "") for k in ("division", "house")).strip() or "—"
    return str(value)


# Fields of events that are not a source's mapped fields.
_EVENT_FIELD_LABELS = {
    "residence": PersonField.RESIDENCES.label,
    "hukou": PersonField.HUKOU.label,
    "tag": PersonField.TAGS.label,
    "death_date": gettext_lazy("death date"),
    "merged_from": gettext_lazy("merged from"),
    "split_from": gettext_lazy("split from"),
    "house_use": gettext_lazy("house use"),
}


def _field_label(name: str) -> str:
    label = _EVENT_FIELD_LABELS.get(name)
    return str(label) if label is not None else field_label(name)


def _labelled(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events as the page shows them: type and field labels, values as text."""
    types = dict(EventType.choices)
    return [
        {
            **event,
            "at_local": timezone.localtime(datetime.datetime.fromisoformat(event["at"])),
            "type_label": types.get(event["type"], event["type"]),
            "lines": [
                ChangeLine(
                    field=_field_label(str(line["field"])),
                    old=_text(line.get("old")),
                    new=_text(line.get("new")),
                )
                for line in event["changes"]
            ],
        }
        for event in events
    ]


def _feed_of(request: HttpRequest, subscription: Subscription) -> list[dict[str, Any]]:
    events = latest_feed_events(view_of(subscription), FEED_SHOWN)
    audit_record(
        Action.READ,
        user=request.user,
        record_type="feed",
        record_id=subscription.pk,
        detail={
            "subscription": subscription.pk,
            "latest": FEED_SHOWN,
            "count": len(events),
            # The people the events name (issue 11): "who has read this person" finds them.
            PERSON_IDS: list(
                dict.fromkeys(e["person"] for e in events if e.get("person") is not None)
            ),
        },
    )
    return _labelled(events)


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


@login_required
@require_POST
def dead_letter_resend(
    request: HttpRequest, subscription_id: int, delivery_id: int
) -> HttpResponse:
    _admin(request)
    subscription = _subscription(subscription_id)
    delivery = Delivery.objects.filter(
        pk=delivery_id, endpoint__subscription=subscription, status=DeliveryStatus.DEAD
    ).first()
    if delivery is None:
        raise Http404
    try:
        delivery_resend(delivery, user=request.user)
    except WebhookError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, _("Event %(seq)s will be sent again.") % {"seq": delivery.event_id}
        )
    return redirect("web:subscription_detail", subscription_id=subscription.pk)


@login_required
@require_POST
def subscription_webhook(request: HttpRequest, subscription_id: int) -> HttpResponse:
    """Give the subscription a webhook endpoint, or enable or disable it (the services check
    the address and audit); a refusal comes back as a message."""
    _admin(request)
    subscription = _subscription(subscription_id)
    endpoint = WebhookEndpoint.objects.filter(subscription=subscription).first()
    action = request.POST.get("action", "")
    try:
        if action == "create" and endpoint is None:
            created = endpoint_create(
                subscription,
                request.POST.get("url", ""),
                allow_private=request.POST.get("allow_private") == "on",
                user=request.user,
            )
            # The secret is shown on this answer only: not in a message (messages may travel
            # in a cookie, signed but readable), not in the session, not after a redirect.
            return _detail_page(request, subscription, new_secret=created.secret)
        elif action == "enable" and endpoint is not None:
            endpoint_enable(endpoint, user=request.user)
            messages.success(request, _("Webhook enabled."))
        elif action == "disable" and endpoint is not None:
            reason = request.POST.get("reason", "").strip()[:300] or _(
                "disabled by the administrator"
            )
            endpoint_disable(endpoint, reason=reason, user=request.user)
            messages.success(request, _("Webhook disabled."))
        else:
            messages.error(request, _("Nothing to do."))
    except WebhookError as exc:
        messages.error(request, str(exc))
    return redirect("web:subscription_detail", subscription_id=subscription.pk)


@login_required
def my_feeds(request: HttpRequest) -> HttpResponse:
    """A department reader's own subscriptions and the latest events of each, read-only."""
    subscriptions = list(
        Subscription.objects.filter(subscriber_id=request.user.pk, active=True).order_by("name")
    )
    feeds = [(s, _feed_of(request, s)) for s in subscriptions]
    return render(request, "web/my_feeds.html", {"feeds": feeds, "feed_shown": FEED_SHOWN})
