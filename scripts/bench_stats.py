"""Time the figures of ``renfang stats`` (``area_figures``) for a district and one of its streets
on a loaded database (DATABASE_URL), as of a date.

    .venv/bin/python scripts/bench_stats.py [--as-of YYYY-MM-DD] [--district CODE] [--street CODE]

Without --district: the district with the most residents; without --street: that district's
street with the most residents. Each is timed 5 times after one warm-up run; prints one JSON
line: {"district_s": median, "street_s": median, "people": …, "district": …, "street": …, …}.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys
import time
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "renfang.settings")
django.setup()

from django.db.models import Count  # noqa: E402
from django.db.models.functions import Substr  # noqa: E402
from django.utils import timezone  # noqa: E402

from renfang.areas.models import Area, AreaLevel  # noqa: E402
from renfang.people.models import Person  # noqa: E402
from renfang.stats.models import PopulationSpell  # noqa: E402
from renfang.stats.selectors import area_figures  # noqa: E402

RUNS = 5


def timed(area_code: str, as_of: datetime.date) -> tuple[float, dict[str, Any]]:
    """Median seconds of RUNS calls after a warm-up call, and the figures."""
    figures = area_figures(area_code=area_code, as_of=as_of)
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        area_figures(area_code=area_code, as_of=as_of)
        timings.append(time.perf_counter() - started)
    return round(statistics.median(timings), 4), figures


def busiest_district() -> str:
    districts = set(Area.objects.filter(level=AreaLevel.DISTRICT).values_list("code", flat=True))
    counts = (
        PopulationSpell.objects.exclude(residence_division=None)
        .values(prefix=Substr("residence_division", 1, 6))
        .annotate(spells=Count("id"))
        .order_by("-spells")
    )
    for row in counts:
        if row["prefix"] in districts:
            return str(row["prefix"])
    sys.exit("bench_stats: no district with residents; load a register first")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--as-of", type=datetime.date.fromisoformat, default=timezone.localdate())
    parser.add_argument("--district")
    parser.add_argument("--street")
    args = parser.parse_args()

    district = args.district or busiest_district()
    district_s, figures = timed(district, args.as_of)
    street = args.street
    if street is None:
        if not figures["by_subarea"]:
            sys.exit(f"bench_stats: district {district} has no streets loaded")
        street = max(figures["by_subarea"], key=lambda child: child["actual_population"]["total"])[
            "area"
        ]
    street_s, street_figures = timed(street, args.as_of)
    print(
        json.dumps(
            {
                "district_s": district_s,
                "street_s": street_s,
                "people": Person.objects.count(),
                "district": district,
                "district_population": figures["actual_population"]["total"],
                "street": street,
                "street_population": street_figures["actual_population"]["total"],
                "as_of": args.as_of.isoformat(),
                "runs": RUNS,
            }
        )
    )


if __name__ == "__main__":
    main()
