"""The actions on a subscription's webhook, from its page (district administrator,
``administers_users``): give it an endpoint, enable or disable it, re-send a dead letter."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from renfang.exchange.models import Delivery, DeliveryStatus, WebhookEndpoint
from renfang.exchange.webhooks import WebhookError
from renfang.exchange.webhooks.services import (
    delivery_resend,
    endpoint_create,
    endpoint_disable,
    endpoint_enable,
)
from renfang.web.views.subscriptions import _admin, _detail_page, _subscription


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
