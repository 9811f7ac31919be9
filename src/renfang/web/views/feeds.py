"""The change feed as the pages show it (the latest events, their fields labelled, values as
text; each read audited with the people the events name), and "My feeds": a department
reader's own subscriptions and the latest events of each, read-only."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from renfang.accounts.access import Access, access_for, shown_id_number, shown_phone
from renfang.accounts.models import PersonField
from renfang.audit.models import Action
from renfang.audit.services import PERSON_IDS, audit_record
from renfang.exchange.models import EventType, Subscription
from renfang.exchange.selectors import latest_feed_events, view_of
from renfang.web.sourcefields import field_label

FEED_SHOWN = 50  # the latest events a subscription's page shows


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


def _shown_to(access: Access, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events as the department receives them, their ID and phone numbers masked as the
    reader of the page sees numbers (an administrator looking at a department's feed, whose
    grant gives it whole numbers to match its records, sees them masked as everywhere else)."""
    if access.full_identifiers:
        return events
    shown = {
        "id_number": lambda value: shown_id_number(access, value),
        "phone": lambda value: shown_phone(access, value),
    }
    return [
        {
            **event,
            "changes": [
                {
                    **line,
                    **{
                        side: shown[str(line["field"])](line[side])
                        for side in ("old", "new")
                        if isinstance(line.get(side), str) and line.get(side)
                    },
                }
                if str(line.get("field")) in shown
                else line
                for line in event["changes"]
            ],
        }
        for event in events
    ]


def _feed_of(request: HttpRequest, subscription: Subscription) -> list[dict[str, Any]]:
    events = _shown_to(
        access_for(request.user), latest_feed_events(view_of(subscription), FEED_SHOWN)
    )
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
def my_feeds(request: HttpRequest) -> HttpResponse:
    """A department reader's own subscriptions and the latest events of each, read-only."""
    subscriptions = list(
        Subscription.objects.filter(subscriber_id=request.user.pk, active=True).order_by("name")
    )
    feeds = [(s, _feed_of(request, s)) for s in subscriptions]
    return render(request, "web/my_feeds.html", {"feeds": feeds, "feed_shown": FEED_SHOWN})
