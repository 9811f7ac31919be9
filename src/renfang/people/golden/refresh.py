"""``golden_refresh``: each person's golden record from the source records linked to them.

Field by field, the first source of the policy (data/golden.toml) that has a value gives the
golden value (``"*"``: any other source, the most recently received record first). The golden
record is written where the rest of renfang reads a person: the identity fields of ``Person``
(a changed one keeps its old value in IdentityRevision), the time-valid facts (facts.py), the
provenance ``Person.golden`` ({field: {value, source, record, as_of}}), and the conflicts
(another record that disagrees with the golden value of a conflict field). Every person whose
values changed gets one audit event listing each change.

Bulk, for the million persons of ``renfang resolve``: persons in chunks, each chunk's records
and facts read with one query per table (``bulk.select_in``), its rows inserted with COPY and
updated with one ``UPDATE … FROM`` a temporary table filled with COPY. Idempotent: a second
call on the same records writes nothing.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from tqdm import tqdm

from renfang.audit.services import User
from renfang.core import bulk
from renfang.core.collector import collector_calm
from renfang.people.facts import AUDIT_SOURCE, golden_write, persons_analysed
from renfang.people.golden.chunks import (
    ChunkRead,
    ChunkWrites,
    Context,
    GoldenReport,
    plan_chunk,
    read_chunk,
)
from renfang.people.golden.conflicting import (
    CONFLICT_FIELDS,
    settle_open,
)
from renfang.people.golden.deaths import plan_deaths
from renfang.people.golden.policy import GoldenPolicy, golden_policy
from renfang.people.models import (
    Conflict,
    ConflictStatus,
    Residence,
)
from renfang.sources.models import Source

_CHUNK = 5000


# ---------------------------------------------------------------- the refresh


def _actor(actor: User | str | None) -> User | None:
    return None if actor is None or isinstance(actor, str) else actor


def golden_refresh(
    person_ids: Iterable[int],
    *,
    progress: bool = False,
    actor: User | str | None = None,
    policy: GoldenPolicy | None = None,
    today: datetime.date | None = None,
    reason: str | None = None,
    new: Collection[int] = (),
) -> GoldenReport:
    """Compute and write the golden records of these persons (see the module's docstring).

    ``actor`` is who caused it (None or a name: the system); ``policy`` replaces the
    district's (tests); ``reason`` is what the audit events name as the source of the changes
    (default: the golden record); ``new``: persons whose ids were reserved
    (``persons_reserve``) and whose rows this refresh inserts (they have no facts yet). Runs in
    the caller's transaction, or its own."""
    started = time.monotonic()
    ids = sorted(set(person_ids) | set(new))
    report = GoldenReport(persons=len(ids))
    policy = policy or golden_policy()
    sources = dict(Source.objects.values_list("id", "code"))
    now = timezone.now()
    context = Context(
        policy=policy,
        sources=sources,
        today=today or timezone.localdate(),
        now=now,
        actor=_actor(actor),
        agreed_note=_("the sources now agree"),
        gone_note=_("the record no longer belongs to this person"),
        postgresql=bulk.is_postgresql(),
        stamp=bulk.db_value(Residence, "recorded_at", now),
        audit_source=reason or AUDIT_SOURCE,
        new=frozenset(new),
    )
    with (
        collector_calm(),
        transaction.atomic(),
        tqdm(total=len(ids), unit=" persons", desc="golden", disable=not progress) as bar,
        _planner(context) as (planner, plan),
    ):
        _settle_merged_away(context, report)
        # A pipeline: while this process writes one chunk (and PostgreSQL works), the next
        # one is planned by the planner (pure Python, no database access).
        pending: tuple[Future[_Planned], int] | None = None
        for offset in range(0, len(ids), _CHUNK):
            chunk = ids[offset : offset + _CHUNK]
            read = read_chunk(chunk, context, report)
            done = pending[0].result() if pending is not None else None
            planned = planner.submit(plan, read)
            if done is not None and pending is not None:
                _write(done.into(report), context, report)
                bar.update(pending[1])
            pending = (planned, len(chunk))
        if pending is not None:
            _write(pending[0].result().into(report), context, report)
            bar.update(pending[1])
    report.seconds = time.monotonic() - started
    return report


# ---------------------------------------------------------------- the planner


@dataclass
class _Planned:
    """A planned chunk, and what planning it adds to the report."""

    writes: ChunkWrites
    stages: dict[str, float]
    merged_away: int
    id_collisions: list[int]
    no_history: list[int]

    def into(self, report: GoldenReport) -> ChunkWrites:
        for name, seconds in self.stages.items():
            report.stages[name] = report.stages.get(name, 0.0) + seconds
        report.merged_away += self.merged_away
        report.id_collisions.extend(self.id_collisions)
        report.no_history.extend(self.no_history)
        return self.writes


def plan_job(read: ChunkRead, context: Context, taken: set[tuple[str, str]]) -> _Planned:
    """Plan one chunk (in the planner thread)."""
    report = GoldenReport()
    writes = plan_chunk(read, context, report, taken)
    return _Planned(
        writes, report.stages, report.merged_away, report.id_collisions, report.no_history
    )


@contextmanager
def _planner(context: Context) -> Iterator[tuple[Executor, Callable[[ChunkRead], _Planned]]]:
    """The planner of a refresh: a thread (pure Python: it overlaps with this thread's waits
    for the database) and the function to submit to it. (A process of its own was tried: the
    pickling of every chunk both ways cost more than it saved on two busy cores.)"""
    taken: set[tuple[str, str]] = set()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="golden") as thread:
        yield thread, partial(plan_job, context=context, taken=taken)


def _merged_note(survivor: int | None) -> str:
    return _("the person was merged into person %(id)s") % {"id": survivor}


def _settle_merged_away(context: Context, report: GoldenReport) -> None:
    """Open conflicts of persons merged into another: moot (the records and their conflicts
    are the survivor's now), whoever merged them and whichever persons this refresh is for.
    Few rows, found by one query."""
    stale = (
        Conflict.objects.filter(
            status__in=(ConflictStatus.OPEN, ConflictStatus.VISIT),
            person__merged_into__isnull=False,
        )
        .order_by("pk")
        .values_list(*CONFLICT_FIELDS, "person_id", "person__merged_into_id")
    )
    writes = ChunkWrites.start(context)
    for row in stale:
        writes.changes[row[-2]] += settle_open(writes.conflicts, [row[:-2]], _merged_note(row[-1]))
    if writes.conflicts.updates:
        _write(writes, context, report)


def _write(writes: ChunkWrites, context: Context, report: GoldenReport) -> None:
    """A planned chunk through the door; the deaths it knows end the residences and the
    hukous first (this reads the stored ones, so it runs here, not in the planner)."""
    plan_deaths(writes.facts, writes.changes, writes.died)
    golden_write(writes, context, report)
    if writes.new_person_rows and context.postgresql:
        _statistics_kept(report, len(writes.new_person_rows))


def _statistics_kept(report: GoldenReport, inserted: int) -> None:
    """A refresh that inserts persons (a district's first import) grows their tables from
    nothing while it reads them: without statistics PostgreSQL reads a chunk's persons by a
    scan of the whole table (a refresh of 1.5 M new persons spent 339 s reading, where 200,000
    spent 12 s). Each time the rows inserted double, the tables are analysed (which sees the
    transaction's own rows): a handful of times, a fraction of a second each."""
    report.inserted += inserted
    if report.inserted < max(_FIRST_ANALYSIS, 2 * report.analysed_at):
        return
    persons_analysed()
    report.analysed_at = report.inserted


_FIRST_ANALYSIS = 20_000
