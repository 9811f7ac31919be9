"""The cost of appending one audit event (the person page's read event), for ADR 0019.

    DATABASE_URL=sqlite:////tmp/bench-audit.sqlite3 python scripts/bench_audit_append.py [N]

Migrates the database named by DATABASE_URL (use a scratch one), then appends N read events
one at a time, as the person page does, and prints the median and p95 per append, and the
cost of hashing one event alone. Run it on a commit before and after a change to compare.
"""

from __future__ import annotations

import os
import statistics
import sys
import time


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "renfang.settings")
    import django  # noqa: PLC0415

    django.setup()
    from django.core.management import call_command  # noqa: PLC0415

    from renfang.audit import services  # noqa: PLC0415
    from renfang.audit.models import Action  # noqa: PLC0415

    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    call_command("migrate", verbosity=0)
    timings = []
    for number in range(count):
        started = time.perf_counter()
        services.audit_record(
            Action.READ, user=None, username="bench", record_type="person", record_id=number
        )
        timings.append(time.perf_counter() - started)
    timings.sort()
    fields = ["2026-01-01T00:00:00.000000+00:00", 1, "clerk", "10.0.0.1", "page", "read"]
    fields += ["person", "12345", ""]
    detail = b'{"purpose":"x"}'
    rounds = 20000
    started = time.perf_counter()
    for _ in range(rounds):
        services._digest("0" * 64, fields, detail)  # noqa: SLF001 (the hash alone)
    hashing = (time.perf_counter() - started) / rounds
    print(  # noqa: T201
        f"{count} appends: median {statistics.median(timings) * 1e3:.3f} ms, "
        f"p95 {timings[int(count * 0.95)] * 1e3:.3f} ms; one hash {hashing * 1e6:.2f} µs"
    )


if __name__ == "__main__":
    main()
