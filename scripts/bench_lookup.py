"""Time looking a person up by ID number, the way the search page does, on a loaded database.

Prints one JSON line: {"lookup_ms_median": …, "lookup_ms_p95": …, "lookups": …, "people": …}.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "renfang.settings")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402

from renfang.accounts.models import Role, RoleGrant  # noqa: E402
from renfang.houses.models import House  # noqa: E402
from renfang.people.models import Person  # noqa: E402
from renfang.people.selectors import person_search_for_user  # noqa: E402


def main(lookups: int = 200) -> None:
    # A district administrator of the loaded district: the access filter and the audit of
    # the search are part of what a lookup costs.
    district = str(House.objects.values_list("area_id", flat=True).first())[:6]
    user, _ = get_user_model()._default_manager.get_or_create(username="bench_lookup")
    RoleGrant.objects.get_or_create(user=user, role=Role.DISTRICT_ADMIN, area_id=district)
    people = Person.objects.count()
    top = Person.objects.order_by("-id").values_list("id", flat=True).first() or 0
    generator = random.Random(1)
    numbers = []
    while len(numbers) < lookups:
        found = Person.objects.filter(id=generator.randint(1, top)).values_list(
            "id_number", flat=True
        )
        numbers.extend(found)
    timings = []
    for number in numbers:
        started = time.perf_counter()
        results = list(person_search_for_user(user, number)[:20])
        timings.append((time.perf_counter() - started) * 1000)
        assert len(results) == 1, number
    timings.sort()
    print(
        json.dumps(
            {
                "lookup_ms_median": round(statistics.median(timings), 2),
                "lookup_ms_p95": round(timings[int(len(timings) * 0.95)], 2),
                "lookups": lookups,
                "people": people,
            }
        )
    )


if __name__ == "__main__":
    main()
