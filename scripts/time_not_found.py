"""Time a read of a person outside the user's area against a read of a missing person (issue
11, finding 9; ADR 0021): the two must answer alike, in body and in time.

    .venv/bin/python scripts/time_not_found.py [--requests 400]

Builds the access matrix's small world in a fresh test database (SQLite in memory, or
``test_<name>`` of DATABASE_URL), logs in as the committee clerk of A1 and reads, in turn, a
person of another street and an id that no person has: the person page and GET /api/people/<id>.
Prints one JSON line per route: the median and p95 of each path and their difference in ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "renfang.settings")
os.environ.setdefault("RENFANG_ALLOWED_HOSTS", "testserver,127.0.0.1")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402


def _p95(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.95) - 1]


def _measure(client: Client, urls: dict[str, str], requests: int) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {path: [] for path in urls}
    for _ in range(requests):
        for path, url in urls.items():  # interleaved: drift hits both alike
            start = time.perf_counter()
            status = client.get(url).status_code
            timings[path].append((time.perf_counter() - start) * 1000)
            if status != 404:  # noqa: PLR2004
                raise SystemExit(f"{url}: {status}, expected 404")
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    setup_test_environment()
    # The bound's alert would be written once among hundreds of reads: keep it out.
    settings.RENFANG_IDENTIFY_MISSES = 10**9
    old_name = connection.creation.create_test_db(verbosity=0)
    try:
        from renfang.people.models import Person  # noqa: PLC0415
        from renfang.testing.matrix import build_world  # noqa: PLC0415
        from renfang.testing.users import client_for  # noqa: PLC0415

        world = build_world()
        client = client_for(world.users["committee_clerk"])
        forbidden = world.planted["B1"].person.pk
        missing = (Person.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1000
        for route, template in (("person_page", "/people/{}/"), ("person_api", "/api/people/{}")):
            urls = {"forbidden": template.format(forbidden), "missing": template.format(missing)}
            _measure(client, urls, 20)  # warm up
            timings = _measure(client, urls, args.requests)
            medians = {path: statistics.median(values) for path, values in timings.items()}
            print(
                json.dumps(
                    {
                        "route": route,
                        "database": connection.vendor,
                        "requests": args.requests,
                        **{f"{p}_p50_ms": round(v, 3) for p, v in medians.items()},
                        **{f"{p}_p95_ms": round(_p95(v), 3) for p, v in timings.items()},
                        "difference_p50_ms": round(medians["forbidden"] - medians["missing"], 3),
                    }
                )
            )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
