"""Time the check stage of ``renfang register import`` alone: ``read_register`` on a file,
against a database with the reference data loaded (migrate; codes load; areas load-builtin;
areas load areas.csv; houses load houses.csv, as scripts/bench's ``load``). Nothing is written.

    DATABASE_URL=… python scripts/bench_check.py bench-data/synth-200000-1/register.csv [runs]

Prints one JSON line: {"check_rows": …, "check_people": …, "check_s_best": …,
"check_cpu_s_best": …}, the best of the runs (default 2).
"""

from __future__ import annotations

import datetime
import json
import os
import sys
import time
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "renfang.settings")
django.setup()

from renfang.register.reading import read_register  # noqa: E402


def main(path: Path, runs: int) -> None:
    walls, cpus = [], []
    rows = people = 0
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        read = read_register(path, today=datetime.date(2025, 12, 31), progress=False)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        rows, people = read[1], len(read[0])
        del read
    print(
        json.dumps(
            {
                "check_rows": rows,
                "check_people": people,
                "check_s_best": round(min(walls), 2),
                "check_cpu_s_best": round(min(cpus), 2),
            }
        )
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 2)
