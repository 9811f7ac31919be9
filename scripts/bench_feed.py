"""Feed read throughput at a million events (docs/BENCHMARKS.md, "Feed read throughput").

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/renfang_feedbench \
        .venv/bin/python scripts/bench_feed.py --events 1000000 [--limit 1000]

Empties the database's feed, writes ``--events`` events with COPY through the Event model's
columns (the mix of a district's year: arrivals, moves, departures, field changes, deaths,
births, house uses; spread over the committees of 徐汇区 and a few other districts; sexes, ages
and categories as in the synthetic district), then reads the whole feed of two department
subscriptions through ``exchange.selectors.feed_events``, page by page as ``GET /api/feed``
does (filtering, masking and all): one street's, and the whole district's. Prints one JSON line
per reading: {"subscription", "events_read", "pages", "seconds", "events_per_s"}.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import time
from collections.abc import Iterator
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "renfang.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from renfang.accounts.models import PersonField, Role, RoleGrant  # noqa: E402
from renfang.areas.models import Area, AreaLevel  # noqa: E402
from renfang.core import bulk  # noqa: E402
from renfang.exchange.events import COLUMNS  # noqa: E402
from renfang.exchange.models import Event, EventHead, EventType, Subscription  # noqa: E402
from renfang.exchange.selectors import feed_events, view_of  # noqa: E402

DISTRICT = "310104"  # 徐汇区
OTHER_DISTRICTS = ("310101", "310105", "310106")
# A district's year of changes, by kind (a field change is the commonest).
MIX = [
    (EventType.CHANGED, 40),
    (EventType.ARRIVED, 18),
    (EventType.MOVED, 14),
    (EventType.LEFT, 14),
    (EventType.HOUSE_CHANGED, 5),
    (EventType.DIED, 4),
    (EventType.BORN, 3),
    (EventType.MERGED, 1),
    (EventType.SPLIT, 1),
]
SOURCES = ["golden record", "register", "police", "civil_affairs", "health", "family_planning"]
FIELD_LINES = [
    ("phone", lambda r: f"139{r.randrange(10**8):08d}"),
    ("marital_status", lambda r: r.choice(["10", "20", "21", "30", "40"])),
    ("employment", lambda r: r.choice(["11", "17", "21", "80"])),
    ("name", lambda r: r.choice(["张伟", "王芳", "李娜", "刘洋", "陈静"])),
    ("tag", lambda r: r.choice(["elderly_alone", "disabled", "key_youth"])),
]


def _committees() -> tuple[list[str], list[str]]:
    inside = list(
        Area.objects.filter(level=AreaLevel.COMMITTEE, code__startswith=DISTRICT).values_list(
            "code", flat=True
        )
    )
    # Next door: committees of other districts (their codes; the feed does not look them up).
    outside = [f"{district}{street:03d}{committee:03d}" for district in OTHER_DISTRICTS
               for street in range(1, 6) for committee in range(1, 11)]  # fmt: skip
    return inside, outside


def _place(division: str, start: str, end: str | None, r: random.Random) -> dict[str, Any]:
    return {
        "from": start,
        "to": end,
        "division": division,
        "house": f"{division}{r.randrange(10**6):06d}",
    }


def _rows(
    count: int, inside: list[str], outside: list[str], seed: int
) -> Iterator[tuple[Any, ...]]:
    r = random.Random(seed)
    kinds = [kind for kind, _ in MIX]
    weights = [weight for _, weight in MIX]
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    start = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
    step = datetime.timedelta(days=365) / count
    for seq in range(1, count + 1):
        kind = r.choices(kinds, weights)[0]
        # Nine events in ten happen in the district, the rest next door (a move across).
        here = r.choice(inside) if r.random() < 0.9 else r.choice(outside)
        day = (start + step * seq).date().isoformat()
        division, before, changes = here, "", []
        if kind in (EventType.ARRIVED, EventType.BORN):
            changes = [{"field": "residence", "old": None, "new": _place(here, day, None, r)}]
        elif kind == EventType.MOVED:
            before = r.choice(inside)
            old = _place(before, "2019-05-01", None, r)
            changes = [{"field": "residence", "old": old, "new": _place(here, day, None, r)}]
        elif kind == EventType.LEFT:
            division, before = "", here
            old = _place(here, "2019-05-01", None, r)
            changes = [{"field": "residence", "old": old, "new": {**old, "to": day}}]
        elif kind == EventType.DIED:
            changes = [{"field": "death_date", "old": None, "new": day}]
        elif kind == EventType.HOUSE_CHANGED:
            changes = [
                {"field": "house_use", "old": None, "new": {"use": "group_rental", "from": day}}
            ]
        elif kind == EventType.MERGED:
            changes = [{"field": "merged_from", "old": None, "new": r.randrange(1, 10**6)}]
        elif kind == EventType.SPLIT:
            changes = [{"field": "split_from", "old": None, "new": r.randrange(1, 10**6)}]
        else:
            name, value = r.choice(FIELD_LINES)
            changes = [{"field": name, "old": value(r), "new": value(r)}]
        house = kind == EventType.HOUSE_CHANGED
        age = 0 if kind == EventType.BORN else min(int(r.expovariate(1 / 38)), 104)
        yield (
            seq,
            start + step * seq,
            kind,
            None if house else r.randrange(1, 2_000_000),
            f"{here}{r.randrange(10**6):06d}" if house else "",
            division,
            before,
            "" if house else r.choice("12"),
            None if house else age,
            ""
            if house
            else r.choices(["registered", "domestic_migrant", "overseas"], [70, 28, 2])[0],
            encode(changes),
            r.choice(SOURCES),
        )


def _fill(count: int, seed: int) -> float:
    inside, outside = _committees()
    assert inside, "no committees of 310104: run `renfang areas load-builtin` first"
    started = time.monotonic()
    with transaction.atomic():
        Event.objects.all().delete()
        with bulk.indexes_deferred(Event, new_rows=count):
            bulk.insert(Event, COLUMNS, _rows(count, inside, outside, seed))
        EventHead.objects.update_or_create(pk=1, defaults={"last_seq": count})
    if bulk.is_postgresql():
        bulk.analyze(Event)
    return time.monotonic() - started


def _subscriber() -> Any:
    users = get_user_model()
    user, _ = users.objects.get_or_create(username="bench_feed_department")
    RoleGrant.objects.filter(user=user).delete()
    RoleGrant.objects.create(
        user=user,
        role=Role.DEPARTMENT_READER,
        area_id=DISTRICT,
        fields=[str(field) for field in PersonField],
    )
    return user


def _read(subscription: Subscription, limit: int) -> dict[str, Any]:
    view = view_of(subscription)
    after, read, pages = 0, 0, 0
    started = time.monotonic()
    while True:
        events, after_next = feed_events(view, after, limit)
        pages += 1
        read += len(events)
        if after_next == after:
            break
        after = after_next
    seconds = time.monotonic() - started
    return {
        "subscription": subscription.name,
        "limit": limit,
        "events_read": read,
        "pages": pages,
        "seconds": round(seconds, 1),
        "events_per_s": round(read / seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--limit", type=int, default=1000, help="events per page (API: ≤ 1000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="read the events already there")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    if not Area.objects.filter(code=DISTRICT).exists():
        call_command("codes", "load", verbosity=0)
        call_command("areas", "load-builtin", verbosity=0)
    if not args.keep:
        seconds = _fill(args.events, args.seed)
        print(json.dumps({"written": args.events, "seconds": round(seconds, 1)}), flush=True)
    user = _subscriber()
    street = (
        Area.objects.filter(level=AreaLevel.STREET, code__startswith=DISTRICT)
        .order_by("code")
        .values_list("code", flat=True)
        .first()
    )
    subscriptions = [
        Subscription.objects.update_or_create(
            subscriber=user, name=name, defaults={"areas": areas, "created_at": timezone.now()}
        )[0]
        for name, areas in ((f"street {street}", [street]), ("district", []))
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_total_relation_size(%s))", [Event._meta.db_table])
        print(json.dumps({"events_table": cursor.fetchone()[0]}), flush=True)
    for subscription in subscriptions:
        print(json.dumps(_read(subscription, args.limit)), flush=True)


if __name__ == "__main__":
    main()
