"""``renfang golden refresh --all`` on the persons of a resolved synthetic district, timed.

    .venv/bin/python scripts/bench_golden_refresh.py [--people 100000] [--seed 1] [--runs 1]
        [--dir bench-data] [--pg-url postgres://postgres@127.0.0.1:5432/renfang_bench_golden]
        [--rebuild] [--profile]

Once (kept as the database ``<name>_base_<people>_<seed>``, rebuilt with ``--rebuild``):
``renfang synth --extracts`` as scripts/bench_resolve.py makes it, code sets, areas, houses,
every extract imported, then ``renfang resolve`` without its golden refresh: persons linked,
their golden records empty. Then, ``--runs`` times: the database ``<name>`` copied from it (``CREATE
DATABASE … TEMPLATE``), ``golden_records_refresh(None)`` (what ``renfang golden refresh --all``
runs) twice — the first writes every golden record, the second must write nothing — each
followed by a digest of what the database holds (persons, golden records, facts, spells,
conflicts, revisions, audit events, feed events, without ids and times): two versions of the
code that write the same have the same digests. ``--profile``: the first refresh under
cProfile, into DIR/golden-N-SEED/first.prof (``--spy``: py-spy, every thread, first.raw).
One JSON line per run.

Inside (``--step refresh|digest``, DATABASE_URL set): one refresh or one digest.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

BIN = ROOT / ".venv" / "bin"
# Columns that differ from one run to the next whatever the code: ids of new rows, times.
_VOLATILE = {
    "at",
    "created_at",
    "updated_at",
    "recorded_at",
    "changed_at",
    "settled_at",
    "prev_hash",
    "hash",
    "seq",
}
# Tables whose new rows get ids from a sequence: their id is left out of the digest.
_SURROGATE = {
    "people_identityrevision",
    "people_residence",
    "people_hukou",
    "people_personattribute",
    "people_persontag",
    "stats_populationspell",
    "people_conflict",
    "audit_auditevent",
    "audit_auditpersonref",
    "exchange_event",
}
_DIGESTED = (
    "people_person",
    *sorted(_SURROGATE),
)


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "renfang.settings")
    import django  # noqa: PLC0415

    django.setup()


def step_refresh() -> None:
    _django()
    from django.db import connection  # noqa: PLC0415

    from renfang.linkage.services import golden_records_refresh  # noqa: PLC0415

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    clock, cpu, pg_cpu = time.monotonic(), time.process_time(), _cpu_of(backend)
    report = golden_records_refresh(None, user=None)
    pg_cpu = _cpu_of(backend) - pg_cpu
    print(
        json.dumps(
            {
                "s": round(time.monotonic() - clock, 1),
                "cpu_s": round(time.process_time() - cpu, 1),
                "pg_cpu_s": round(pg_cpu, 1),  # the database server's process
                "persons": report.persons,
                "written": report.changed,
                "audited": report.audited,
                "facts_added": report.facts_added,
                "facts_closed": report.facts_closed,
                "conflicts_opened": report.conflicts_opened,
                "conflicts_settled": report.conflicts_settled,
                "stages": {name: round(value, 1) for name, value in report.stages.items()},
            }
        )
    )


def _cpu_of(pid: int) -> float:
    """CPU seconds a process of this machine has used (the database's, here): 0 if unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def step_digest() -> None:
    """Per table: rows and the MD5 of its rows in order (ids and times left out)."""
    _django()
    from django.db import connection  # noqa: PLC0415

    found: dict[str, Any] = {}
    with connection.cursor() as cursor:
        for table in _DIGESTED:
            cursor.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = %s ORDER BY ordinal_position",
                [table],
            )
            columns = []
            for name, kind in cursor.fetchall():
                if name in _VOLATILE or (name == "id" and table in _SURROGATE):
                    continue
                if name == "retracted_at":
                    columns.append(f"({name} IS NULL)::text")
                elif kind in ("jsonb", "json"):
                    columns.append(f"{name}::text")
                else:
                    columns.append(f"coalesce({name}::text, '∅')")
            row = " || '|' || ".join(columns)
            cursor.execute(
                f"SELECT count(*), md5(coalesce(string_agg(r, E'\\n' ORDER BY r), '')) "  # noqa: S608
                f'FROM (SELECT {row} AS r FROM "{table}") t'
            )
            count, digest = cursor.fetchone()
            found[table] = f"{count} {digest[:12]}"
    print(json.dumps(found))


def run(*args: str | Path, env: dict[str, str], timed: Path | None = None) -> str:
    command = [str(arg) for arg in args]
    if timed is not None:
        command = ["/usr/bin/time", "-v", "-o", str(timed), *command]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"bench_golden_refresh: {' '.join(command)} failed ({done.returncode})")
    return done.stdout


def _admin(pg_url: str, *statements: str) -> None:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(f"{pg_url.rsplit('/', 1)[0]}/postgres", autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement)  # type: ignore[arg-type]


def _exists(pg_url: str, name: str) -> bool:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(f"{pg_url.rsplit('/', 1)[0]}/postgres", autocommit=True) as connection:
        row = connection.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            [name],
        ).fetchone()
    return row is not None and row[0] == "resolved"


_RESOLVE_WITHOUT_GOLDEN = """
import os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "renfang.settings")
django.setup()
from django.core.management import call_command
import renfang.linkage.resolve as resolve
resolve._golden_refresh = lambda *args, **kwargs: {}
call_command("resolve", "--no-progress")
"""


def build_base(people: int, seed: int, bench_dir: Path, env: dict[str, str], base: str) -> None:
    from bench_resolve import time_v  # noqa: PLC0415

    from renfang.synth.extracts.write import read_sources  # noqa: PLC0415

    district = bench_dir / f"synth-{people}-{seed}"
    extracts = district / "extracts"
    work = bench_dir / f"golden-{people}-{seed}"
    work.mkdir(parents=True, exist_ok=True)
    renfang = BIN / "renfang"
    if not (extracts / "truth.csv").exists():
        print(f"== synthesising {people:,} people with extracts into {district}", file=sys.stderr)
        district.mkdir(parents=True, exist_ok=True)
        run(renfang, "synth", "--people", people, "--seed", seed, "--out", district,
            "--extracts", "--force", "-v", "0", env=env)  # fmt: skip
    print(f"== {base}: import and resolve (golden records left empty)", file=sys.stderr)
    _admin(env["PG_URL"], f"DROP DATABASE IF EXISTS {base} WITH (FORCE)", f"CREATE DATABASE {base}")
    env = {**env, "DATABASE_URL": f"{env['PG_URL'].rsplit('/', 1)[0]}/{base}"}
    run(renfang, "migrate", "--noinput", "-v", "0", env=env)
    run(renfang, "codes", "-v", "0", "load", env=env)
    run(renfang, "areas", "-v", "0", "load-builtin", env=env)
    run(renfang, "areas", "-v", "0", "load", district / "areas.csv", env=env)
    run(renfang, "houses", "-v", "0", "load", district / "houses.csv", env=env)
    for source in read_sources(extracts):
        run(renfang, "sources", "add", source.code, "--name", source.name,
            "--mapping", extracts / source.mapping, env=env)  # fmt: skip
        run(renfang, "import", source.code, extracts / source.file, "--no-progress", env=env)
    run(BIN / "python", "-c", _RESOLVE_WITHOUT_GOLDEN, env=env, timed=work / "resolve.time")
    print(f"== resolved in {time_v(work / 'resolve.time')[0]} s", file=sys.stderr)
    run(renfang, "dbshell", "--", "-c", "VACUUM ANALYZE", env=env)
    _admin(env["PG_URL"], f"COMMENT ON DATABASE {base} IS 'resolved'")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--step", choices=("refresh", "digest"))
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--dir", type=Path, default=ROOT / "bench-data")
    parser.add_argument(
        "--pg-url", default="postgres://postgres@127.0.0.1:5432/renfang_bench_golden"
    )
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument(
        "--base", help="the resolved database to copy (default: <name>_base_<people>_<seed>)"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile (the main thread)")
    parser.add_argument("--spy", action="store_true", help="py-spy, every thread (pip install)")
    args = parser.parse_args()
    if args.step == "refresh":
        step_refresh()
        return
    if args.step == "digest":
        step_digest()
        return
    from bench_resolve import time_v  # noqa: PLC0415

    name = args.pg_url.rsplit("/", 1)[1]
    base = args.base or f"{name}_base_{args.people}_{args.seed}"
    env = {**os.environ, "RENFANG_LOG_LEVEL": "ERROR", "PG_URL": args.pg_url}
    if args.rebuild or not _exists(args.pg_url, base):
        build_base(args.people, args.seed, args.dir, env, base)
    env["DATABASE_URL"] = args.pg_url
    work = args.dir / f"golden-{args.people}-{args.seed}"
    work.mkdir(parents=True, exist_ok=True)
    me = Path(__file__).resolve()
    for _ in range(args.runs):
        _admin(
            args.pg_url,
            f"DROP DATABASE IF EXISTS {name} WITH (FORCE)",
            f"CREATE DATABASE {name} TEMPLATE {base}",
        )
        result: dict[str, Any] = {"people": args.people, "seed": args.seed}
        with open("/proc/loadavg") as file:
            result["load"] = file.read().split()[0]
        first: list[str | Path] = [BIN / "python", me]
        if args.profile:
            first = [BIN / "python", "-m", "cProfile", "-o", work / "first.prof", me]
        elif args.spy:
            first = [BIN / "py-spy", "record", "-r", "200", "-f", "raw", "--threads",
                     "-o", work / "first.raw", "--", *first]  # fmt: skip
        result["first"] = json.loads(
            run(*first, "--step", "refresh", env=env, timed=work / "first.time").splitlines()[-1]
        )
        result["first"]["wall_s"], result["first"]["peak_gb"] = time_v(work / "first.time")
        print(json.dumps(result["first"]), file=sys.stderr)
        first_digest = json.loads(run(BIN / "python", me, "--step", "digest", env=env))
        result["again"] = json.loads(
            run(BIN / "python", me, "--step", "refresh", env=env, timed=work / "again.time")
        )
        result["again"]["wall_s"], result["again"]["peak_gb"] = time_v(work / "again.time")
        again_digest = json.loads(run(BIN / "python", me, "--step", "digest", env=env))
        result["digest"] = first_digest
        # The second refresh writes only its own audit event (the run), nothing else.
        result["again_changed"] = sorted(
            table for table in first_digest if first_digest[table] != again_digest[table]
        )
        result["digest_sum"] = hashlib.md5(  # noqa: S324
            json.dumps(first_digest, sort_keys=True).encode()
        ).hexdigest()[:12]
        print(json.dumps(result, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
