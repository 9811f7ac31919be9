"""Time the person page and the ID-lookup API as a real user, with the audit on and off, on a
loaded database (DATABASE_URL).

    .venv/bin/python scripts/bench_access.py [--requests 300]

A district administrator of the largest district opens the pages of random people
(GET /people/<id>/, session login) and a department system with a bearer token looks people
up by ID number (POST /api/people/lookup {"q": <id>}: numbers stay out of URLs, ADR 0021).
Both run in-process through Django's full request stack (middleware, access filter, masking,
audit), without a network. Prints one JSON line per measurement:
{"what": …, "audit": "on"|"off", "p50_ms": …, "p95_ms": …, "requests": …}.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from collections.abc import Callable

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "renfang.settings")
os.environ.setdefault("RENFANG_ALLOWED_HOSTS", "testserver,127.0.0.1")
os.environ.setdefault("RENFANG_TOTP", "off")  # the bench user logs in without a phone

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.test import Client  # noqa: E402

from renfang.accounts.models import PersonField, Role, RoleGrant  # noqa: E402
from renfang.accounts.tokens import api_token_create  # noqa: E402
from renfang.audit.models import AuditEvent  # noqa: E402
from renfang.audit.services import set_recording  # noqa: E402
from renfang.houses.models import House  # noqa: E402
from renfang.people.models import Person  # noqa: E402


def _district() -> str:
    top = (
        House.objects.values("area_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("area_id", flat=True)
        .first()
    )
    if top is None:
        raise SystemExit("no houses: load a district first (make bench does)")
    return str(top)[:6]


def _lookup(client: Client, number: str) -> HttpResponse:
    """The ID lookup: the number in the body (POST /api/people/lookup)."""
    body = json.dumps({"q": number})
    response: HttpResponse = client.post(
        "/api/people/lookup", body, content_type="application/json"
    )
    return response


def _user(username: str, role: str, district: str, fields: list[str] | None = None) -> object:
    user, _ = get_user_model()._default_manager.get_or_create(username=username)
    RoleGrant.objects.filter(user=user).delete()
    RoleGrant.objects.create(user=user, role=role, area_id=district, fields=fields or [])
    return user


def _timed(calls: list[Callable[[], int]]) -> tuple[float, float]:
    timings = []
    for call in calls:
        started = time.perf_counter()
        status = call()
        timings.append((time.perf_counter() - started) * 1000)
        assert status == 200, status  # noqa: PLR2004
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.95)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    district = _district()
    admin = _user("bench_admin", Role.DISTRICT_ADMIN, district)
    reader = _user(
        "bench_system",
        Role.DEPARTMENT_READER,
        district,
        [PersonField.ID_NUMBER, PersonField.NAME, PersonField.RESIDENCES],
    )
    key = api_token_create(user=reader, name="bench").key
    page_client = Client()
    page_client.force_login(admin)
    api_client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    top = Person.objects.order_by("-id").values_list("id", flat=True).first() or 0
    generator = random.Random(1)
    people: list[tuple[int, str]] = []
    while len(people) < args.requests:
        people.extend(
            Person.objects.filter(id=generator.randint(1, top)).values_list("id", "id_number")
        )
    # Warm up the connection, caches and code tables.
    for person_id, number in people[:20]:
        page_client.get(f"/people/{person_id}/")
        _lookup(api_client, number)
    for audit in ("on", "off"):
        set_recording(audit == "on")
        events_before = AuditEvent.objects.count()
        page = _timed(
            [lambda p=p: page_client.get(f"/people/{p}/").status_code for p, _n in people]
        )
        lookup = _timed([lambda n=n: _lookup(api_client, n).status_code for _p, n in people])
        audited = AuditEvent.objects.count() - events_before
        for what, (p50, p95) in (("person_page", page), ("id_lookup_api", lookup)):
            print(
                json.dumps(
                    {
                        "what": what,
                        "audit": audit,
                        "p50_ms": round(p50, 2),
                        "p95_ms": round(p95, 2),
                        "requests": len(people),
                        "people": top,
                        "audit_events_written": audited,
                    }
                )
            )
    set_recording(True)


if __name__ == "__main__":
    main()
