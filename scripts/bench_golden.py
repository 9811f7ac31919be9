"""Time ``golden_refresh`` on a synthetic set of persons and linked source records.

    DATABASE_URL=postgres://…/renfang_bench python scripts/bench_golden.py --people 1000000

Into an empty (migrated) database: N persons as ``renfang resolve`` leaves them (no identity
yet), each with records of several sources as linkage would have linked them (police 90 %,
renfang's register 70 %, health 50 %, human resources 40 %, civil affairs 30 %, family
planning 20 %, with disagreements: traditional characters, another marital status, another
phone), then ``golden_refresh`` of all of them twice: the first writes every golden record,
the second must write nothing. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import resource
import sys
import time

import django

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "renfang.settings")
django.setup()

from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from renfang.audit.services import set_recording  # noqa: E402
from renfang.core import bulk  # noqa: E402
from renfang.people.golden import golden_refresh  # noqa: E402
from renfang.people.idnumbers import with_check_digit  # noqa: E402
from renfang.people.models import Person  # noqa: E402
from renfang.sources.models import Source, SourceRecord  # noqa: E402

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
TRADITIONAL = {"张": "張", "陈": "陳", "杨": "楊", "黄": "黃", "赵": "趙", "伟": "偉"}
SOURCES = {
    "police": "公安户籍",
    "register": "人口登记",
    "health": "卫健",
    "hrss": "人社",
    "civil_affairs": "民政",
    "family_planning": "计生",
}


def _records(pid: int, rng: random.Random) -> list[tuple[str, dict[str, str]]]:
    birth = datetime.date(1940, 1, 1) + datetime.timedelta(days=rng.randrange(30000))
    number = with_check_digit(f"310104{birth:%Y%m%d}{pid % 1000:03d}")
    name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
    identity = {
        "id_type": "resident_id",
        "id_number": number,
        "name": name,
        "sex": "1" if int(number[16]) % 2 else "2",
        "birth_date": birth.isoformat(),
        "nationality": "CHN",
    }
    committee = f"310104{rng.randrange(3, 15):03d}{rng.randrange(1, 20):03d}"
    phone = f"13{rng.randrange(10**9):09d}"
    marital = rng.choice(["10", "20", "20", "20", "30", "40"])
    out = []
    if rng.random() < 0.9:
        out.append(
            ("police", {**identity, "hukou_division": committee[:9], "hukou_type": "family"})
        )
    if rng.random() < 0.7:
        out.append(
            (
                "register",
                {
                    **identity,
                    "residence_division": committee,
                    "residence_from": "2018-01-01",
                    "phone": phone,
                },
            )
        )
    if rng.random() < 0.5:
        variant = "".join(TRADITIONAL.get(char, char) for char in name)
        other_phone = phone if rng.random() < 0.7 else f"13{rng.randrange(10**9):09d}"
        out.append(("health", {"name": variant, "id_number": number, "phone": other_phone}))
    if rng.random() < 0.4:
        out.append(("hrss", {**identity, "employment": rng.choice(["employed", "retired"])}))
    if rng.random() < 0.3:
        out.append(
            ("civil_affairs", {"id_number": number, "name": name, "marital_status": marital})
        )
    if rng.random() < 0.2:
        other = marital if rng.random() < 0.9 else rng.choice(["10", "20"])
        out.append(("family_planning", {"id_number": number, "marital_status": other}))
    if not out:
        out.append(("health", {"name": name, "id_number": number}))
    return out


def load(people: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    codes = {}
    for code, name in SOURCES.items():
        codes[code] = Source.objects.get_or_create(code=code, defaults={"name": name})[0].pk
    now = timezone.now()
    stamp = bulk.db_value(Person, "created_at", now)
    with transaction.atomic():
        ids = bulk.reserve_ids(Person, people)
        bulk.insert(
            Person,
            [
                "id",
                "id_type",
                "id_number",
                "name",
                "sex",
                "nationality",
                "ethnicity",
                "created_at",
                "updated_at",
                "golden",
            ],
            ((pid, "", "", "", "", "CHN", "", stamp, stamp, "{}") for pid in ids),
        )

        def rows():
            serial = 0
            for pid in ids:
                for code, mapped in _records(pid, rng):
                    serial += 1
                    received = bulk.db_value(
                        SourceRecord,
                        "received_at",
                        now - datetime.timedelta(days=rng.randrange(400)),
                    )
                    yield (
                        codes[code],
                        f"{code}-{serial}",
                        1,
                        json.dumps(mapped, ensure_ascii=False),
                        "[]",
                        False,
                        received,
                        pid,
                        "id",
                        "{}",
                    )

        bulk.insert(
            SourceRecord,
            [
                "source_id",
                "record_id",
                "version",
                "mapped",
                "problems",
                "flagged",
                "received_at",
                "person_id",
                "link_rule",
                "link_detail",
            ],
            rows(),
        )
    if bulk.is_postgresql():
        bulk.analyze(Person, SourceRecord)
    return ids


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-audit", action="store_true")
    parser.add_argument("--progress", action="store_true")
    args = parser.parse_args()
    set_recording(not args.no_audit)
    clock = time.monotonic()
    ids = load(args.people, args.seed)
    loaded = time.monotonic() - clock
    clock, cpu = time.monotonic(), time.process_time()
    first = golden_refresh(ids, progress=args.progress)
    first_s, first_cpu = time.monotonic() - clock, time.process_time() - cpu
    clock, cpu = time.monotonic(), time.process_time()
    second = golden_refresh(ids, progress=args.progress)
    second_s, second_cpu = time.monotonic() - clock, time.process_time() - cpu
    print(
        json.dumps(
            {
                "db": "postgresql" if bulk.is_postgresql() else "sqlite",
                "people": args.people,
                "records": SourceRecord.objects.count(),
                "load_s": round(loaded, 1),
                "golden_s": round(first_s, 1),
                "golden_cpu_s": round(first_cpu, 1),
                "golden_written": first.changed,
                "facts_added": first.facts_added,
                "conflicts_opened": first.conflicts_opened,
                "again_s": round(second_s, 1),
                "again_cpu_s": round(second_cpu, 1),
                "again_written": second.changed + second.facts_added + second.conflicts_opened,
                "stages": {name: round(v, 1) for name, v in first.stages.items()},
                "again_stages": {name: round(v, 1) for name, v in second.stages.items()},
                "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
