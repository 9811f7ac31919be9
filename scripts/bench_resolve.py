"""Identity resolution with truth: department extracts of a synthetic district, imported and
resolved on a fresh PostgreSQL database, scored against the truth, beside plain Splink on the
same mapped records.

    .venv/bin/python scripts/bench_resolve.py [--people 100000 1000000] [--seed 1]
        [--dir bench-data] [--pg-url postgres://postgres@127.0.0.1:5432/renfang]
        [--no-splink] [--docs docs/BENCHMARKS.md]

For each size: ``renfang synth --extracts`` (kept in DIR/synth-N-SEED), a fresh database
``renfang_bench_resolve``, migrate, code sets and areas, ``renfang sources add`` and the timed
``renfang import`` of every extract, ``renfang resolve --no-progress`` under ``/usr/bin/time
-v`` (wall time, peak memory), ``renfang links export``, then pair precision, recall, F1 and
the share of true persons that came out exactly right (``renfang.synth.extracts.metrics``);
then ``scripts/bench_splink_plain.py`` on the same mapped records, scored the same way.
Prints one JSON line per size and a markdown table at the end; with ``--docs`` the table and
the figures replace the "Identity resolution" section of docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import re
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from renfang.synth.extracts.metrics import (  # noqa: E402
    PairMetrics,
    metrics_from_files,
    wrong_by_kind,
)
from renfang.synth.extracts.write import read_sources  # noqa: E402

BIN = ROOT / ".venv" / "bin"
DATABASE = "renfang_bench_resolve"
SECTION = "## Identity resolution (issue 4)"


def run(*args: str | Path, env: dict[str, str], timed: Path | None = None) -> str:
    """Run a command (under ``/usr/bin/time -v`` into ``timed`` when given); its stdout."""
    command = [str(arg) for arg in args]
    if timed is not None:
        command = ["/usr/bin/time", "-v", "-o", str(timed), *command]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"bench_resolve: {' '.join(command)} failed ({done.returncode})")
    return done.stdout


def time_v(path: Path) -> tuple[float, float]:
    """(wall seconds, peak resident memory in GB) from ``/usr/bin/time -v`` output."""
    text = path.read_text()
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text)
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    if wall is None or peak is None:
        raise SystemExit(f"bench_resolve: cannot read {path}")
    seconds = 0.0
    for part in wall.group(1).split(":"):
        seconds = seconds * 60 + float(part)
    return round(seconds, 1), round(int(peak.group(1)) / 1024 / 1024, 2)


def fresh_database(pg_url: str) -> str:
    base = pg_url.rsplit("/", 1)[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {DATABASE}")
    return f"{base}/{DATABASE}"


def scored(metrics: PairMetrics) -> dict[str, Any]:
    return {
        key: metrics.as_dict()[key]
        for key in ("precision", "recall", "f1", "exact_share", "exact_persons",
                    "predicted_persons", "largest_predicted", "unlinked")
    }  # fmt: skip


def wrong_kinds(truth: Path, clusters: Path, noise: Path) -> dict[str, str]:
    """The kinds of error of records that came out wrong: "wrong / records with the kind"."""
    return {
        kind: f"{counts['wrong']} / {counts['records']}"
        for kind, counts in wrong_by_kind(truth, clusters, noise).items()
        if counts["wrong"]
    }


def load(env: dict[str, str], district: Path, per_source: Counter[str]) -> dict[str, Any]:
    """A fresh database with the reference data and every extract imported (timed)."""
    extracts = district / "extracts"
    env["DATABASE_URL"] = fresh_database(env["PG_URL"])
    renfang = BIN / "renfang"
    run(renfang, "migrate", "--noinput", "-v", "0", env=env)
    run(renfang, "codes", "-v", "0", "load", env=env)
    run(renfang, "areas", "-v", "0", "load-builtin", env=env)
    run(renfang, "areas", "-v", "0", "load", district / "areas.csv", env=env)
    imports: dict[str, dict[str, Any]] = {}
    for source in read_sources(extracts):
        run(renfang, "sources", "add", source.code, "--name", source.name,
            "--mapping", extracts / source.mapping, env=env)  # fmt: skip
        started = time.perf_counter()
        run(renfang, "import", source.code, extracts / source.file, "--no-progress", env=env)
        seconds = time.perf_counter() - started
        imports[source.code] = {
            "records": per_source[source.code],
            "s": round(seconds, 1),
            "records_per_s": round(per_source[source.code] / seconds),
        }
    import_s = round(sum(step["s"] for step in imports.values()), 1)
    return {
        "import_s": import_s,
        "import_records_per_s": round(sum(per_source.values()) / import_s),
        "imports": imports,
    }


def plain_splink(env: dict[str, str], extracts: Path, work: Path) -> dict[str, Any]:
    records = work / "records.csv"
    clusters = work / "splink-clusters.csv"
    script = ROOT / "scripts" / "bench_splink_plain.py"
    run(BIN / "python", script, "export", records, env=env)
    stages = run(BIN / "python", script, "link", records, clusters, env=env,
                 timed=work / "splink.time")  # fmt: skip
    seconds, peak = time_v(work / "splink.time")
    truth = extracts / "truth.csv"
    return {
        "splink": {
            **scored(metrics_from_files(truth, clusters)),
            "s": seconds,
            "peak_gb": peak,
            "stages": json.loads(stages.strip().splitlines()[-1]),
        },
        "splink_wrong_by_kind": wrong_kinds(truth, clusters, extracts / "noise.csv"),
    }


def bench(people: int, seed: int, bench_dir: Path, pg_url: str, *, splink: bool) -> dict[str, Any]:
    district = bench_dir / f"synth-{people}-{seed}"
    extracts = district / "extracts"
    work = bench_dir / f"resolve-{people}-{seed}"
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "RENFANG_LOG_LEVEL": "ERROR", "PG_URL": pg_url}
    result: dict[str, Any] = {"people": people, "seed": seed}
    if not (extracts / "truth.csv").exists():
        print(f"== synthesising {people:,} people with extracts into {district}", file=sys.stderr)
        district.mkdir(parents=True, exist_ok=True)
        run(BIN / "renfang", "synth", "--people", people, "--seed", seed, "--out", district,
            "--extracts", "--force", "-v", "0", env=env, timed=work / "synth.time")  # fmt: skip
        result["synth_s"], result["synth_peak_gb"] = time_v(work / "synth.time")
    truth = extracts / "truth.csv"
    persons: set[str] = set()
    per_source: Counter[str] = Counter()
    with truth.open(encoding="utf-8", newline="") as file:
        for source_code, _record, person in list(csv.reader(file))[1:]:
            persons.add(person)
            per_source[source_code] += 1
    result["true_persons"] = len(persons)
    result["records"] = sum(per_source.values())
    print(f"== {people:,} people: import into {DATABASE}", file=sys.stderr)
    result.update(load(env, district, per_source))

    print(f"== {people:,} people: renfang resolve", file=sys.stderr)
    summary = run(BIN / "renfang", "resolve", "--no-progress", env=env,
                  timed=work / "resolve.time")  # fmt: skip
    result["resolve_s"], result["resolve_peak_gb"] = time_v(work / "resolve.time")
    result["resolve_summary"] = summary.strip().splitlines()[-6:]
    links = work / "links.csv"
    run(BIN / "renfang", "links", "export", links, env=env)
    result["renfang"] = scored(metrics_from_files(truth, links))
    result["renfang_wrong_by_kind"] = wrong_kinds(truth, links, extracts / "noise.csv")
    print(json.dumps(result, ensure_ascii=False), file=sys.stderr)
    if splink:
        print(f"== {people:,} people: plain Splink", file=sys.stderr)
        result.update(plain_splink(env, extracts, work))
    return result


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| people | records | true persons | import | `renfang resolve` | precision | recall "
        "| F1 | exactly right | plain Splink F1 (P / R) | Splink exactly right | Splink time |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        ours = r["renfang"]
        splink = r.get("splink")
        theirs = (
            (f"{splink['f1']:.4f} ({splink['precision']:.4f} / {splink['recall']:.4f})",
             f"{splink['exact_share']:.2%}", f"{splink['s']:.0f} s, {splink['peak_gb']} GB")
            if splink else ("—", "—", "—")
        )  # fmt: skip
        lines.append(
            f"| {r['people']:,} | {r['records']:,} | {r['true_persons']:,} "
            f"| {r['import_s']:.0f} s ({r['import_records_per_s']:,}/s) "
            f"| **{r['resolve_s']:.0f} s**, {r['resolve_peak_gb']} GB "
            f"| {ours['precision']:.4f} | {ours['recall']:.4f} | **{ours['f1']:.4f}** "
            f"| {ours['exact_share']:.2%} | {theirs[0]} | {theirs[1]} | {theirs[2]} |"
        )
    return "\n".join(lines)


def wrong_table(result: dict[str, Any], rows: int = 8) -> str:
    """The kinds of error behind the wrong records of one size, renfang beside Splink."""
    ours: dict[str, str] = result.get("renfang_wrong_by_kind", {})
    theirs: dict[str, str] = result.get("splink_wrong_by_kind", {})

    def wrong(counts: str) -> int:
        return int(counts.split(" / ", maxsplit=1)[0])

    kinds = sorted(
        set(ours) | set(theirs),
        key=lambda kind: -max(wrong(ours.get(kind, "0")), wrong(theirs.get(kind, "0"))),
    )[:rows]
    lines = [
        "| kind of error (records carrying it) | renfang: wrong | plain Splink: wrong |",
        "| --- | --- | --- |",
    ]
    for kind in kinds:
        total = (ours.get(kind) or theirs.get(kind, "0 / 0")).split(" / ")[1]
        lines.append(
            f"| {kind} ({int(total):,}) | {wrong(ours.get(kind, '0')):,} "
            f"| {wrong(theirs.get(kind, '0')):,} |"
        )
    return "\n".join(lines)


def update_docs(docs: Path, results: list[dict[str, Any]], command: str, note: str) -> None:
    commit = subprocess.run(
        ["git", "log", "-1", "--format=%h %s"], cwd=ROOT, capture_output=True, text=True,
        check=False,
    ).stdout.strip()  # fmt: skip
    today = datetime.datetime.now(tz=datetime.UTC).date().isoformat()
    largest = results[-1]
    known = ", ".join(f"{r['true_persons']:,}" for r in results)
    measured = textwrap.fill(
        f'Measured {today} at commit "{commit}". "People" counts everyone who ever lived in '
        f"the synthetic register; the departments know {known} distinct persons of them. {note}",
        width=96,
    )
    body = f"""{SECTION}

```sh
{command}
```

(script: `scripts/bench_resolve.py`; `make bench` runs it for the sizes in
`BENCH_RESOLVE_PEOPLE`, default "100000 1000000"). For each size: `renfang synth --people N
--seed 1 --extracts` writes seven department extracts of one synthetic district (police
household register, civil affairs, family planning, human resources and social security,
health, education, residence permits: own columns, codes, encodings and file types, realistic
errors — see `src/renfang/synth/extracts/`) and `truth.csv`; a fresh PostgreSQL database;
`renfang sources add` and `renfang import` of each extract; `renfang resolve --no-progress`
under `/usr/bin/time -v` (wall time and peak memory, golden records included);
`renfang links export`; pair precision, recall and F1 (pairs of records in one predicted person
against pairs in one true person, counted from cluster sizes) and the share of true persons
whose records came out as exactly one person holding nothing else. "Plain Splink" is
`scripts/bench_splink_plain.py` on the same mapped records: Splink 5 on DuckDB with the
comparison library's defaults (`NameComparison` on the name, `DateOfBirthComparison`,
`ExactMatch` on sex, phone and division, `LevenshteinAtThresholds` on the ID number), blocking
on the ID number, name and birth date, phone, name and division, birth date, sex and division;
u by random sampling, m by EM; clustered at 0.9.

{measured}

{table(results)}

Targets: F1 ≥ 0.995 at 100,000 people; 1,000,000 people resolved in under 10 minutes; renfang's
F1 above plain Splink's.

Where the wrong records come from at {largest["people"]:,} people: a record is wrong when it
is apart from most of its person's records or in a predicted person that is mostly someone
else; by the kinds of error it carries (`noise.csv`; a record may carry several):

{wrong_table(largest)}

"""
    text = docs.read_text(encoding="utf-8")
    start = text.find(SECTION)
    if start < 0:
        anchor = text.find("\n## ", text.find("## ") + 1)
        start = end = anchor + 1 if anchor >= 0 else len(text)
    else:
        following = text.find("\n## ", start + len(SECTION))
        end = following + 1 if following >= 0 else len(text)
    docs.write_text(text[:start] + body + text[end:], encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--people", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", type=Path, default=ROOT / "bench-data")
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432/renfang")
    parser.add_argument("--no-splink", action="store_true")
    parser.add_argument("--docs", type=Path, help="update this BENCHMARKS.md")
    parser.add_argument("--note", default="", help="a sentence for the docs (e.g. the load)")
    args = parser.parse_args()
    results = []
    for people in args.people:
        result = bench(people, args.seed, args.dir, args.pg_url, splink=not args.no_splink)
        print(json.dumps(result, ensure_ascii=False), flush=True)
        results.append(result)
    print(table(results))
    if args.docs:
        sizes = " ".join(str(people) for people in args.people)
        update_docs(
            args.docs, results, f'BENCH_RESOLVE_PEOPLE="{sizes}" make bench-resolve', args.note
        )


if __name__ == "__main__":
    main()
