"""Plain Splink on renfang's mapped source records: the baseline renfang's resolve is measured
against (docs/BENCHMARKS.md, "Identity resolution").

    .venv/bin/python scripts/bench_splink_plain.py export RECORDS.csv     # from DATABASE_URL
    .venv/bin/python scripts/bench_splink_plain.py link RECORDS.csv CLUSTERS.csv [--threshold 0.9]

``export`` writes every source record's mapped values as they are (no normalisation beyond
what the mappings did): unique_id, source, record_id, name, birth_date, sex, phone, id_number,
division (the residence division, else the hukou division). ``link`` deduplicates them with
Splink 5 on DuckDB the way its documentation starts a model — the comparison library's default
comparisons, a few blocking rules, u by random sampling, m by expectation maximisation — and
clusters at the threshold; CLUSTERS.csv is ``source,record_id,cluster_id`` (the shape of
``renfang links export``). Prints one JSON line with the stage timings.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

COLUMNS = ("name", "birth_date", "sex", "phone", "id_number")


def export(path: Path) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "renfang.settings")
    import django  # noqa: PLC0415

    django.setup()
    from django.db.models.fields.json import KT  # noqa: PLC0415

    from renfang.sources.models import SourceRecord  # noqa: PLC0415

    started = time.perf_counter()
    rows = (
        SourceRecord.objects.annotate(
            **{column: KT(f"mapped__{column}") for column in COLUMNS},
            residence=KT("mapped__residence_division"),
            hukou=KT("mapped__hukou_division"),
        )
        .order_by()
        .values_list("pk", "source__code", "record_id", *COLUMNS, "residence", "hukou")
    )
    count = 0
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(("unique_id", "source", "record_id", *COLUMNS, "division"))
        for row in rows.iterator(chunk_size=20_000):
            *values, residence, hukou = row
            writer.writerow([*("" if value is None else value for value in values),
                             residence or hukou or ""])  # fmt: skip
            count += 1
    print(json.dumps({"exported": count, "export_s": round(time.perf_counter() - started, 2)}))


def link(records: Path, clusters: Path, threshold: float) -> dict[str, Any]:
    import duckdb  # noqa: PLC0415
    import splink.comparison_library as cl  # noqa: PLC0415
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on  # noqa: PLC0415

    timings: dict[str, float] = {}
    mark = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        timings[f"{stage}_s"] = round(now - mark, 2)
        mark = now

    con = duckdb.connect()
    columns = ", ".join(
        f"NULLIF(TRIM({column}), '') AS {column}" for column in (*COLUMNS, "division")
    )
    con.execute(
        f"CREATE TABLE records AS SELECT CAST(unique_id AS BIGINT) AS unique_id, source, "  # noqa: S608
        f"record_id, {columns} FROM read_csv(?, header = true, all_varchar = true, "
        "delim = ',', quote = '\"', escape = '\"')",
        [str(records)],
    )
    lap("load")
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("name"),
            cl.DateOfBirthComparison("birth_date", input_is_string=True),
            cl.ExactMatch("sex"),
            cl.ExactMatch("phone"),
            cl.LevenshteinAtThresholds("id_number", [1, 2]),
            cl.ExactMatch("division"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("id_number"),
            block_on("name", "birth_date"),
            block_on("phone"),
            block_on("name", "division"),
            block_on("birth_date", "sex", "division"),
        ],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker(DuckDBAPI(con).register("records"), settings, log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("id_number"), block_on("name", "birth_date")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=5e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("id_number"))
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("name", "birth_date")
    )
    lap("train")
    predictions = linker.inference.predict(threshold_match_probability=threshold)
    lap("predict")
    clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=threshold
    )
    lap("cluster")
    con.execute(
        f"COPY (SELECT r.source, r.record_id, c.cluster_id FROM {clustered.physical_name} c "  # noqa: S608
        "JOIN records r USING (unique_id)) TO ? (HEADER, DELIMITER ',')",
        [str(clusters)],
    )
    pairs = con.execute(f"SELECT count(*) FROM {predictions.physical_name}").fetchone()  # noqa: S608
    lap("write")
    return {
        **timings,
        "pairs_above_threshold": pairs[0] if pairs else 0,
        "threshold": threshold,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    exporting = commands.add_parser("export", help="write the mapped source records to CSV")
    exporting.add_argument("records", type=Path)
    linking = commands.add_parser("link", help="deduplicate them with plain Splink")
    linking.add_argument("records", type=Path)
    linking.add_argument("clusters", type=Path)
    linking.add_argument("--threshold", type=float, default=0.9)
    args = parser.parse_args()
    if args.command == "export":
        export(args.records)
    else:
        print(json.dumps(link(args.records, args.clusters, args.threshold)))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
