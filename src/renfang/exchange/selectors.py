"""Reading the change feed as one subscriber may: its grant and its subscription, intersected.

``view_of(subscription)`` is what a subscription receives: the event types it asked for, the
areas both it and its subscriber's grant cover, the fields both name, the people it chose.
``feed_events`` is its events after a sequence number, in order (SQL does the types, areas and
people; ``shown`` then keeps only granted fields, masks identifiers the role does not see whole
and places outside the areas). The same question always gives the same answer: events are
never changed, so a replay from any number is exactly what was read before (as long as the
subscription and grant are unchanged).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.db.models import Q, QuerySet

from renfang.accounts.access import (
    SOURCE_FIELD_GRANTS,
    Access,
    access_for,
    in_areas_q,
    shown_id_number,
    shown_phone,
)
from renfang.accounts.models import PersonField
from renfang.codes.models import Code
from renfang.exchange.models import Event, EventType, Subscription
from renfang.exchange.subscriptions import EVENT_TYPE_FIELDS, filters_outside_grant

# Which grant (accounts.PersonField) each field of an event's changes belongs to; a field
# not listed is shown to nobody.
EVENT_FIELD_GRANTS: dict[str, str] = {
    **SOURCE_FIELD_GRANTS,
    "residence": PersonField.RESIDENCES,
    "hukou": PersonField.HUKOU,
    "tag": PersonField.TAGS,
    "death_date": PersonField.BIRTH_DATE,  # a death date goes with the birth date
}
# Fields an event shows whatever the grant: the merge and split of persons (ids only).
_ALWAYS = frozenset({"merged_from", "split_from", "house_use"})


@dataclass(frozen=True)
class View:
    """What one subscription may receive."""

    subscription_id: int
    access: Access
    types: frozenset[str]
    prefixes: tuple[str, ...]
    fields: frozenset[str]
    sex: str
    age_min: int | None
    age_max: int | None
    categories: frozenset[str]
    # The filters the subscriber's grant no longer allows (each with why): a suspended
    # subscription receives nothing until the administrator changes it or the grant.
    suspended: tuple[str, ...] = ()


def suspension_of(subscription: Subscription, access: Access | None = None) -> list[str]:
    """Why the subscription is suspended (its filters the subscriber's grant does not allow
    now: a grant may shrink after the subscription was made), or [] when it is not."""
    access = access or access_for(subscription.subscriber)
    problems = filters_outside_grant(
        {
            "sex": subscription.sex,
            "age_min": subscription.age_min,
            "age_max": subscription.age_max,
            "categories": list(subscription.categories or []),
            "event_types": list(subscription.event_types or []),
        },
        access,
    )
    return [message for messages in problems.values() for message in messages]


def intersect_prefixes(wanted: Iterable[str], granted: Iterable[str]) -> tuple[str, ...]:
    """The areas (division code prefixes) inside both sets: areas nest by code."""
    granted = tuple(granted)
    found: set[str] = set()
    for prefix in wanted:
        for grant in granted:
            if prefix.startswith(grant):
                found.add(prefix)
            elif grant.startswith(prefix):
                found.add(grant)
    return tuple(sorted(p for p in found if not any(p != q and p.startswith(q) for q in found)))


def view_of(subscription: Subscription, access: Access | None = None) -> View:
    access = access or access_for(subscription.subscriber)
    wanted_areas = [str(code) for code in subscription.areas or []]
    prefixes = (
        intersect_prefixes(wanted_areas, access.prefixes) if wanted_areas else access.prefixes
    )
    wanted_fields = {str(name) for name in subscription.fields or []}
    fields = access.fields & wanted_fields if wanted_fields else access.fields
    types = {str(name) for name in subscription.event_types or []} or set(EventType.values)
    # Without event types named, those that tell a field the grant lacks are left out.
    if not subscription.event_types:
        types = {kind for kind in types if not suspension_of_types(kind, access)}
    suspended = tuple(suspension_of(subscription, access))
    return View(
        subscription_id=subscription.pk,
        access=access,
        types=frozenset(types & set(EventType.values)),
        prefixes=prefixes if subscription.active and not suspended else (),
        suspended=suspended,
        fields=frozenset(fields),
        sex=subscription.sex,
        age_min=subscription.age_min,
        age_max=subscription.age_max,
        categories=frozenset(str(c) for c in subscription.categories or []),
    )


def suspension_of_types(kind: str, access: Access) -> bool:
    """Whether an event type tells a field the grant lacks (a death: the death date)."""
    return any(not access.sees_field(f) for f in EVENT_TYPE_FIELDS.get(kind, ()))


def _in_areas(prefixes: Sequence[str]) -> Q:
    return in_areas_q(prefixes, "division", "division_before")


def events_for(view: View, after: int = 0) -> QuerySet[Event]:
    """The subscription's events after ``after``, in order, before masking."""
    if not view.prefixes or not view.types:
        return Event.objects.none()
    events = Event.objects.filter(seq__gt=after, type__in=sorted(view.types))
    events = events.filter(_in_areas(view.prefixes))
    if view.sex:
        events = events.filter(Q(sex=view.sex) | Q(person_id__isnull=True))
    if view.age_min is not None:
        events = events.filter(age__gte=view.age_min)
    if view.age_max is not None:
        events = events.filter(age__lte=view.age_max)
    if view.categories:
        events = events.filter(category__in=sorted(view.categories))
    return events.order_by("seq")


def _place(view: View, value: Any) -> Any:
    """A residence as the subscriber may see it: a place outside its areas is not named."""
    if not isinstance(value, dict):
        return value
    division = value.get("division")
    if division and not any(str(division).startswith(p) for p in view.prefixes):
        return {**value, "division": None, "house": None, "outside": True}
    return value


def _value(view: View, name: str, value: Any, sensitive: frozenset[str]) -> Any:
    if value is None:
        return None
    if name == "id_number":
        return shown_id_number(view.access, str(value))
    if name == "phone":
        return shown_phone(view.access, str(value))
    if name == "residence":
        return _place(view, value)
    if name in ("tag", "tags"):
        tags = [t for t in str(value).split() if view.access.sees_tag(t, sensitive=t in sensitive)]
        return " ".join(tags) or None
    return value


def _sees(view: View, name: str) -> bool:
    if name in _ALWAYS:
        return True
    granted = EVENT_FIELD_GRANTS.get(name)
    return granted is not None and granted in view.fields


class FeedRow(NamedTuple):
    """An event as ``feed_events`` reads it: the columns ``shown`` needs, without building a
    model instance per row (a third of a feed page's time at a million events)."""

    seq: int
    at: datetime.datetime
    type: str
    person_id: int | None
    house_code: str
    division: str
    division_before: str
    changes: list[dict[str, Any]]
    source: str


def shown(event: Event | FeedRow, view: View, sensitive: frozenset[str]) -> dict[str, Any] | None:
    """The event as the subscriber receives it, or None when nothing of it is theirs to see
    (a change of fields outside its grant)."""
    lines = []
    for line in event.changes or []:
        name = str(line.get("field", ""))
        if not _sees(view, name):
            continue
        old = _value(view, name, line.get("old"), sensitive)
        new = _value(view, name, line.get("new"), sensitive)
        if name in ("tag", "tags") and old is None and new is None:
            continue
        lines.append({"field": name, "old": old, "new": new})
    if event.type == EventType.CHANGED and not lines:
        return None
    in_area = [p for p in view.prefixes if event.division.startswith(p)] if event.division else []
    return {
        "seq": event.seq,
        "id": f"evt_{event.seq}",
        "at": event.at.isoformat(),
        "type": event.type,
        "person": event.person_id,
        "house": event.house_code or None,
        "area": event.division if in_area else None,
        "area_before": event.division_before
        if event.division_before and any(event.division_before.startswith(p) for p in view.prefixes)
        else None,
        "changes": lines,
        "source": event.source,
    }


def sensitive_tags() -> frozenset[str]:
    return frozenset(
        Code.objects.filter(code_set_id="person_tag", sensitive=True).values_list("code", flat=True)
    )


def _rows(events: QuerySet[Event], count: int) -> list[FeedRow]:
    return [FeedRow(*row) for row in events.values_list(*FeedRow._fields)[:count]]


def _collect(
    view: View, page_after: Callable[[int | None, int], list[FeedRow]], limit: int
) -> tuple[list[dict[str, Any]], int | None]:
    """Up to ``limit`` events as the subscriber receives them, reading pages of rows
    (``page_after(cursor, wanted)``: the rows after the last one looked at) until enough are
    shown: some events of the right type and area show nothing (a change of fields outside
    the grant) and are skipped without costing the reader a round trip. Returns them and the
    last sequence number looked at (None: nothing was)."""
    sensitive = sensitive_tags()
    found: list[dict[str, Any]] = []
    cursor: int | None = None
    while len(found) < limit:
        page = page_after(cursor, max(limit - len(found), 50))
        if not page:
            break
        for event in page:
            cursor = event.seq
            item = shown(event, view, sensitive)
            if item is not None:
                found.append(item)
                if len(found) >= limit:
                    break
    return found, cursor


def feed_events(view: View, after: int = 0, limit: int = 100) -> tuple[list[dict[str, Any]], int]:
    """Up to ``limit`` events the subscriber may see after ``after``, and the sequence number
    to ask after next time (the last event looked at, shown or not: a subscriber never reads
    the same hidden events twice)."""

    def page_after(cursor: int | None, wanted: int) -> list[FeedRow]:
        return _rows(events_for(view, after if cursor is None else cursor), wanted)

    found, last = _collect(view, page_after, limit)
    return found, after if last is None else last


def latest_feed_events(view: View, limit: int = 50) -> list[dict[str, Any]]:
    """The subscription's last ``limit`` events as it receives them, newest first (the
    subscription's page: "what does this department get")."""

    def page_before(cursor: int | None, wanted: int) -> list[FeedRow]:
        events = events_for(view, 0)
        if cursor is not None:
            events = events.filter(seq__lt=cursor)
        return _rows(events.order_by("-seq"), wanted)

    return _collect(view, page_before, limit)[0]
