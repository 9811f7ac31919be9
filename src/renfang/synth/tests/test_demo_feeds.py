"""``renfang demo``'s worked example of the change feed (issue 5): after the load, the month's
changes reach the civil affairs relief office (deaths, moves out and marital status in its
street), the family planning office (women of 15–49, births) and the police bureau (arrivals
of domestic migrants and overseas people) — each only within its grant."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.core.management import call_command

from renfang.accounts.models import RoleGrant
from renfang.exchange.models import Event, EventType, Subscription
from renfang.exchange.selectors import EVENT_FIELD_GRANTS, View, feed_events, view_of

ALWAYS = {"merged_from", "split_from", "house_use"}


def _places(value: Any) -> list[str]:
    """The divisions a change line names (residences, hukou)."""
    if isinstance(value, dict) and value.get("division"):
        return [str(value["division"])]
    return []


def _within_grant(item: dict[str, Any], view: View, granted: set[str]) -> None:
    prefixes = view.prefixes
    for area in (item["area"], item["area_before"]):
        assert area is None or area.startswith(prefixes), item
    for line in item["changes"]:
        name = line["field"]
        assert name in ALWAYS or EVENT_FIELD_GRANTS.get(name) in granted, item
        if name == "residence":
            for division in _places(line["old"]) + _places(line["new"]):
                assert division.startswith(prefixes), item


@pytest.mark.django_db
def test_each_office_reads_its_months_changes_and_nothing_beyond_its_grant() -> None:
    stdout = io.StringIO()
    call_command("demo", "--people", "1000", "--seed", "5", verbosity=0, stdout=stdout)
    output = stdout.getvalue()

    after = int(re.search(r"after=(\d+) for the month's events", output).group(1))  # type: ignore[union-attr]
    feeds: dict[str, list[dict[str, Any]]] = {}
    for subscription in Subscription.objects.select_related("subscriber"):
        view = view_of(subscription)
        grant = RoleGrant.objects.get(user=subscription.subscriber)
        granted = {str(f) for f in grant.fields}
        events, _last = feed_events(view, after, limit=1000)
        assert events, subscription.name
        for item in events:
            assert item["type"] in subscription.event_types
            _within_grant(item, view, granted)
            event = Event.objects.get(seq=item["seq"])
            places = (event.division, event.division_before)
            assert any(p.startswith(str(grant.area_id)) for p in places if p), item
        feeds[subscription.name] = events
        # The summary says how many events the office's feed holds.
        line = f"subscription {subscription.pk} “{subscription.name}”: "
        assert re.search(rf"{re.escape(line)}[\d,]+ events, {len(events)} of them", output)

    relief = feeds["辖区死亡、迁出与婚姻状况"]
    kinds = {item["type"] for item in relief}
    assert EventType.DIED in kinds
    assert kinds & {EventType.LEFT, EventType.MOVED}
    deaths = [item for item in relief if item["type"] == EventType.DIED]
    assert all(any(c["field"] == "death_date" for c in d["changes"]) for d in deaths)
    changed = [item for item in relief if item["type"] == EventType.CHANGED]
    assert changed
    # A change shows the marital status, nothing else (no names: not subscribed).
    assert {c["field"] for item in changed for c in item["changes"]} == {"marital_status"}
    assert {"old": "10", "new": "21"} in [
        {"old": c["old"], "new": c["new"]} for item in changed for c in item["changes"]
    ]

    women = feeds["育龄妇女（15–49 岁）"]
    assert {item["type"] for item in women} & {EventType.ARRIVED, EventType.MOVED}
    for item in women:
        event = Event.objects.get(seq=item["seq"])
        assert event.sex == "2" and event.age is not None and 15 <= event.age <= 49
        # The subscription does not ask for marital status or ID numbers (its grant holds them,
        # to publish health records).
        assert not {c["field"] for c in item["changes"]} & {"marital_status", "id_number"}

    births = feeds["出生"]
    assert {item["type"] for item in births} == {EventType.BORN}
    assert all(Event.objects.get(seq=item["seq"]).age == 0 for item in births)

    arrivals = feeds["来沪人员与境外人员来住"]
    categories = {Event.objects.get(seq=item["seq"]).category for item in arrivals}
    assert categories == {"domestic_migrant", "overseas"}
    nationalities = {
        c["new"] for item in arrivals for c in item["changes"] if c["field"] == "nationality"
    }
    assert nationalities - {"CHN"}, "an overseas person's nationality reaches the police"
