"""``renfang resolve``: link every source record to a person (身份识别). ADR 0014.

1. ``records``: read every record into DuckDB and fold it into keys.
2. ``groups``: records that are one person for certain (equal valid resident ID, equal other
   identifier, pinned by a person's decision).
3. ``pairs`` and ``model``: candidate pairs (blocking) weighed by a Fellegi–Sunter model
   (Splink 5) trained on the ID clusters.
4. ``assign``: clusters best first under guards, a person for each, stable across runs.
5. ``write``: persons created and merged, changed links, review pairs; then the golden
   records of the persons whose records changed, and the audit.

The heavy lifting happens in an in-memory DuckDB outside any database transaction; the writes
happen in one transaction at the end.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from tqdm import tqdm

from renfang.audit.context import os_user
from renfang.audit.models import Action
from renfang.audit.services import SYSTEM, PendingEvent, User, audit_record_stream
from renfang.core import bulk
from renfang.linkage.models import ResolveRun, ReviewPair, ReviewStatus
from renfang.linkage.resolve import assign, duck, groups, model, pairs, records, write
from renfang.people import facts
from renfang.people.models import IdType

logger = logging.getLogger(__name__)

_STAGES = (
    "load",
    "keys",
    "groups",
    "pairs",
    "model",
    "clusters",
    "persons",
    "links",
    "golden",
    "audit",
)


class _Clock:
    """Stage timings for the run's record, and the progress bar over the stages."""

    def __init__(self, progress: bool) -> None:
        self.stages: dict[str, float] = {}
        self.bar = tqdm(total=len(_STAGES), desc="resolve", unit=" stages", disable=not progress)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self.bar.set_postfix_str(name)
        started = time.monotonic()
        yield
        self.stages[name] = round(time.monotonic() - started, 2)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


class ResolveBusy(RuntimeError):
    """Another ``renfang resolve`` is running."""


# Any fixed number: the PostgreSQL advisory lock that one resolve at a time holds.
_LOCK_KEY = 4_041_404_014


@contextmanager
def _alone() -> Iterator[None]:
    """One resolve at a time (PostgreSQL; on SQLite the write transaction serialises them):
    two would both create persons for the same new clusters."""
    if not bulk.is_postgresql():
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_LOCK_KEY])
        if not cursor.fetchone()[0]:
            raise ResolveBusy("another renfang resolve is running; try again when it is done")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_KEY])


def _thresholds() -> tuple[float, float]:
    link = float(getattr(settings, "RENFANG_LINK_THRESHOLD", 0.99))
    review = float(getattr(settings, "RENFANG_REVIEW_THRESHOLD", 0.5))
    return link, review


def _connect(scratch: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute(f"SET threads = {max(1, os.cpu_count() or 1)}")
    con.execute(f"SET memory_limit = '{getattr(settings, 'RENFANG_RESOLVE_MEMORY', '8GB')}'")
    con.execute(f"SET temp_directory = '{scratch}'")
    con.execute("SET preserve_insertion_order = false")
    return con


def resolve(
    *, progress: bool = False, actor: User | None = None, today: datetime.date | None = None
) -> ResolveRun:
    """Link every source record to a person; returns the run with its counts and model.
    ``actor``: who asked (None: the system, from a command)."""
    link_threshold, review_threshold = _thresholds()
    started_at = timezone.now()
    started = time.monotonic()
    today = today or timezone.localdate()
    clock = _Clock(progress)
    decided = list(
        ReviewPair.objects.exclude(status=ReviewStatus.OPEN).values_list(
            "left_id", "right_id", "status"
        )
    )
    apart = [(left, right) for left, right, status in decided if status == ReviewStatus.DIFFERENT]
    same = [(left, right) for left, right, status in decided if status == ReviewStatus.SAME]
    counts: dict[str, Any] = {}
    try:
        with _alone(), tempfile.TemporaryDirectory(prefix="renfang-resolve-") as scratch_dir:
            scratch = Path(scratch_dir)
            con = _connect(scratch)
            try:
                with clock.stage("load"):
                    counts["records"] = records.load(con, scratch)
                with clock.stage("keys"):
                    records.build_keys(con, today)
                with clock.stage("groups"):
                    found = groups.build(con, apart=apart)
                    components = found.components
                    _join_same(con, components, same)
                    counts["taken_out"] = found.taken_out
                with clock.stage("pairs"):
                    _mark_components(con, components)
                    candidates = pairs.build(con)
                    counts["candidate_pairs"] = candidates.pairs
                    counts["labelled_pairs"] = candidates.labelled
                with clock.stage("model"):
                    trained = _score(con, candidates, review_threshold)
                with clock.stage("clusters"):
                    outcome = assign.cluster(
                        con,
                        components,
                        link_threshold=link_threshold,
                        decided={(left, right) for left, right, _ in decided},
                    )
                    assign.rules(con, trained)
                    counts["refused_joins"] = outcome.refused
                run = _write(
                    con,
                    outcome,
                    components,
                    scratch=scratch,
                    clock=clock,
                    counts=counts,
                    progress=progress,
                    actor=actor,
                    started_at=started_at,
                    today=today,
                    trained=trained,
                    thresholds=(link_threshold, review_threshold),
                )
            finally:
                con.close()
    finally:
        clock.close()
    run.model["stages"]["total"] = round(time.monotonic() - started, 2)
    ResolveRun.objects.filter(pk=run.pk).update(model=run.model)
    return run


def _join_same(
    con: duckdb.DuckDBPyConnection,
    components: Any,
    same: list[tuple[int, int]],
) -> None:
    """Pairs a reviewer linked are one (unless a later decision pinned them apart)."""
    if not same:
        return
    group_of = dict(
        con.execute(
            "SELECT unique_id, grp FROM rec WHERE list_contains(?, unique_id)",
            [sorted({rid for pair in same for rid in pair})],
        ).fetchall()
    )
    for left, right in same:
        if left in group_of and right in group_of:
            components.union(group_of[left], group_of[right])


def _mark_components(con: duckdb.DuckDBPyConnection, components: Any) -> None:
    """Give ``rec`` the component of each record after the certain joins, and whether the
    component holds a valid resident ID (``anchored``)."""
    size = len(components.parent)
    roots = [components.find(g) for g in range(size)]
    anchored = [bool(components.ids.get(root)) for root in roots]
    con.register(
        "components_arrow",
        pa.table(
            {
                "grp": pa.array(range(size), pa.int64()),
                "comp": pa.array(roots, pa.int64()),
                "anchored": pa.array(anchored, pa.bool_()),
            }
        ),
    )
    con.execute(
        "CREATE OR REPLACE TABLE rec AS SELECT rec.*, c.comp, c.anchored "
        "FROM rec JOIN components_arrow c USING (grp) ORDER BY rec.unique_id"
    )
    con.unregister("components_arrow")


def _score(
    con: duckdb.DuckDBPyConnection, candidates: pairs.Candidates, review_threshold: float
) -> model.Model:
    columns = ", ".join(model.INPUT_COLUMNS)
    con.execute(f"CREATE OR REPLACE VIEW splink_input AS SELECT {columns} FROM rec")
    prior = _prior(con)
    return model.score(
        con,
        prior=prior,
        labels_table="labels",
        random_table="random_pairs",
        pairs_table="candidate_pairs",
        minimum_probability=review_threshold,
    )


def _prior(con: duckdb.DuckDBPyConnection) -> float:
    """The probability that two records picked at random are one person, from the ID
    clusters: pairs within them over all pairs of their records."""
    rows = con.execute(
        """
        WITH sizes AS (
            SELECT count(*) AS k FROM rec WHERE anchor_id IS NOT NULL GROUP BY anchor_id
        )
        SELECT coalesce(sum(k * (k - 1) / 2), 0), coalesce(sum(k), 0) FROM sizes
        """
    ).fetchall()
    within, total = float(rows[0][0]), float(rows[0][1])
    if total < 2 or within == 0:
        return 1e-4
    return min(0.5, max(1e-9, within / (total * (total - 1) / 2)))


def _write(
    con: duckdb.DuckDBPyConnection,
    outcome: assign.Assignment,
    components: Any,
    *,
    scratch: Path,
    clock: _Clock,
    counts: dict[str, Any],
    progress: bool,
    actor: User | None,
    started_at: datetime.datetime,
    today: datetime.date,
    trained: model.Model,
    thresholds: tuple[float, float],
) -> ResolveRun:
    now = timezone.now()
    with transaction.atomic():
        with clock.stage("persons"):
            assign.persons(con, components, outcome)
            new_ids = write.persons_create(outcome, now)
            merges = write.persons_merge(outcome, now, actor)
        with clock.stage("links"):
            total = duck.count(con, "SELECT count(*) FROM final")
            with tqdm(
                total=total,
                desc="links",
                unit=" records",
                disable=not progress,
                leave=False,
            ) as bar:
                written = write.links_write(con, outcome, now, scratch=scratch, on_batch=bar.update)
            review_open, review_added, review_removed = write.review_pairs_write(
                con, outcome, trained, now
            )
            by_rule = dict(con.execute("SELECT rule, count(*) FROM final GROUP BY rule").fetchall())
            sizes = dict(
                con.execute(
                    "SELECT person_id, n FROM (SELECT p.root, count(*) AS n FROM final p "
                    "GROUP BY p.root) JOIN (SELECT unnest(?) AS root, unnest(?) AS person_id) "
                    "USING (root)",
                    [list(outcome.person_of_root), list(outcome.person_of_root.values())],
                ).fetchall()
            )
        merged_ids = {merged for merged, _, _ in outcome.merges}
        changed_persons = (
            written.changed_persons | set(new_ids) | {s for _, s, _ in outcome.merges}
        ) - merged_ids
        with clock.stage("golden"):
            golden_stages = _golden_refresh(
                sorted(changed_persons), progress=progress, actor=actor, today=today
            )
        counts.update(
            {
                "linked_by_id": int(by_rule.get("id", 0)),
                "linked_by_identifier": int(by_rule.get("identifier", 0)),
                "linked_by_weights": int(by_rule.get("probabilistic", 0)),
                "singletons": int(by_rule.get("singleton", 0)),
                "pinned": int(sum(n for rule, n in by_rule.items() if rule in _PINNED_NAMES)),
                "to_review": review_open,
                "review_added": review_added,
                "review_removed": review_removed,
                "new_persons": len(new_ids),
                "merged_persons": len(outcome.merges),
                "changed_links": written.changed_links,
                "changed_persons": len(changed_persons),
            }
        )
        run = ResolveRun.objects.create(
            started_at=started_at,
            finished_at=timezone.now(),
            records=counts["records"],
            linked_by_id=counts["linked_by_id"],
            linked_by_weights=counts["linked_by_weights"],
            to_review=review_open,
            new_persons=len(new_ids),
            changed_links=written.changed_links,
            model={
                **trained.as_json(),
                "link_threshold": thresholds[0],
                "review_threshold": thresholds[1],
                "counts": counts,
                "stages": clock.stages,
                "golden_stages": golden_stages,
            },
        )
        with clock.stage("audit"):
            _audit(
                run=run,
                counts=counts,
                new_ids=new_ids,
                new_persons=outcome.new_persons,
                sizes=sizes,
                merges=merges,
                actor=actor,
            )
        run.model["stages"] = clock.stages
    return run


_PINNED_NAMES = frozenset({"review", "merge", "split"})


def _id_lines(id_number: str) -> str:
    """The change lines of a new person's ID number, as canonical JSON (sorted keys, no
    spaces) ending in a comma; nothing without one."""
    if not id_number:
        return ""
    return (
        f'"changes":[{{"field":"id_type","new":"{IdType.RESIDENT_ID.value}","old":null}},'
        f'{{"field":"id_number","new":{json.dumps(id_number)},"old":null}}],'
    )


def _golden_refresh(
    person_ids: list[int], *, progress: bool, actor: User | None, today: datetime.date
) -> dict[str, float]:
    """The golden records of the persons whose records changed (engineer "golden"); the
    seconds each of its stages took (the run's record keeps them: the golden records are
    most of a first run)."""
    if not person_ids:
        return {}
    from renfang.people.golden import golden_refresh  # noqa: PLC0415 (people imports linkage)

    report = golden_refresh(person_ids, progress=progress, actor=actor, today=today)
    return {stage: round(seconds, 2) for stage, seconds in report.stages.items()}


def _audit(
    *,
    run: ResolveRun,
    counts: dict[str, Any],
    new_ids: list[int],
    new_persons: list[assign.NewPerson],
    sizes: dict[int, int],
    merges: facts.Merged,
    actor: User | None,
) -> None:
    """One event for the run, one per person created (with the ID number it was made with:
    the golden refresh's event says the rest of who it is), the merges' (one per person
    merged away, one per survivor)."""
    username = SYSTEM if actor is None else ""

    def events() -> Iterable[PendingEvent]:
        for person_id, person in zip(new_ids, new_persons, strict=True):
            yield PendingEvent(
                action=Action.WRITE,
                user=actor,
                username=username,
                record_type="person",
                record_id=str(person_id),
                detail_text=(
                    f'{{{_id_lines(person.id_number)}"created":true,'
                    f'"records":{sizes.get(person_id, 0)},"source":"resolve"}}'
                ),
            )
        # The merges' events, as the door made them (the merged person's, the survivor's).
        yield from merges.events()
        yield PendingEvent(
            action=Action.WRITE,
            user=actor,
            username=username,
            record_type="resolve",
            record_id=str(run.pk),
            detail={"source": "resolve", **counts, "os_user": os_user()},
        )

    audit_record_stream(events())
