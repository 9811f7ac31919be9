"""``renfang register import``: the register format into the register, all or nothing.

The register is a source like the others (ADR 0025): its rows are source records of the
``register`` source, linked to persons, and the golden refresh writes the persons' facts from
them by the policy (data/golden.toml: the register's history owns the residences and the hukou).

1. Read and check every row (reading.py, rows.py); collect every error with its line, column
   and reason. Any error: nothing is saved.
2. Find each person of the file (known.py): the person its register record is linked to (the
   link survives a corrected ID number, a merge, a split), else the person with that ID
   number, else a new person (inserted blank through the door: the golden record says who they are,
   and its audit event says so).
3. Store the register records (register/source.py): one per person of the file, carrying
   the person's identity, phone and whole history (every spell of the file); a record the
   register already holds as it is stays as it is (importing the same file twice changes
   nothing); link the new ones to their persons.
4. Refresh the golden records of the persons whose record is new or changed: the golden
   refresh (people/golden) writes, through the door, the identity fields the register is
   authoritative for (another source's value stays and is shown as a conflict), the phone,
   and the residences and hukou as the history states them (facts it no longer states are
   retracted, never deleted), rebuilds their population spells, and records one audit event
   and one change-feed event per changed person.
5. Audit the import itself (what it did, in counts), in the same transaction.
"""

from __future__ import annotations

import datetime
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from renfang.audit.context import os_user
from renfang.audit.models import Action
from renfang.audit.services import SYSTEM, PendingEvent, User, audit_record_stream, is_recording
from renfang.core import bulk
from renfang.core.collector import collector_calm
from renfang.people.facts import persons_loading, persons_reserve
from renfang.people.golden import GoldenReport, golden_refresh
from renfang.people.models import Hukou, Person, PersonAttribute, Residence
from renfang.register.known import LOOKUP_CHUNK, PERSON_LOOKUP, existing_people, known
from renfang.register.reading import read_register
from renfang.register.rows import (
    Identity,
    PersonRows,
)
from renfang.register.source import RegisterRecord, link, register_source, stored_records
from renfang.register.source import store as store_records
from renfang.sources.models import SourceRecord, SourceRecordVersion
from renfang.stats.models import PopulationSpell


@dataclass
class ImportSummary:
    rows: int = 0
    people: int = 0
    people_created: int = 0
    people_changed: int = 0
    people_unchanged: int = 0
    residences_added: int = 0
    residences_retracted: int = 0
    hukous_added: int = 0
    hukous_retracted: int = 0
    phones_recorded: int = 0
    identity_revisions: int = 0
    # Identity fields the file states differently from the source authoritative for them
    # (golden.toml): left as they are, shown as conflicts.
    identity_kept: int = 0
    # Rows whose birth date is not the one inside the ID number (kept as given).
    birth_dates_differing: int = 0
    # Persons of the file that are one person in renfang (merged): only the first one's rows
    # are that person's facts.
    people_merged: int = 0
    records_new: int = 0
    records_changed: int = 0
    golden_refreshed: int = 0
    # Of them, persons whose record in a source of history carries no usable history (no
    # spells, or spells that are no history): their residences and hukou were left as they
    # were (GoldenReport.no_history).
    no_history: int = 0
    # The identity of the persons renfang knew, before the import (by person id)
    identity_before: dict[int, Identity] = field(default_factory=dict, repr=False)
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)

    @property
    def changed_anything(self) -> bool:
        return bool(self.people_created or self.people_changed)

    def as_text(self) -> str:
        rate = self.rows / self.seconds if self.seconds else 0.0
        return (
            f"{self.rows} rows, {self.people} people: {self.people_created} new, "
            f"{self.people_changed} changed, {self.people_unchanged} unchanged; "
            f"residence spells +{self.residences_added} −{self.residences_retracted}, "
            f"hukou spells +{self.hukous_added} −{self.hukous_retracted}, "
            f"phones +{self.phones_recorded}, identity corrections {self.identity_revisions}"
            + (f" ({self.identity_kept} kept from another source)" if self.identity_kept else "")
            + (f", {self.people_merged} merged into another" if self.people_merged else "")
            + (
                f", {self.birth_dates_differing} rows with a birth date other than their "
                "ID number's (kept as given)"
                if self.birth_dates_differing
                else ""
            )
            + f"; register records +{self.records_new} changed {self.records_changed}, "
            f"golden records refreshed {self.golden_refreshed}"
            + (f" ({self.no_history} without a usable history)" if self.no_history else "")
            + f" ({self.seconds:.1f} s, {rate:,.0f} rows/s)"
        )


def register_import(
    *,
    path: Path,
    progress: bool = False,
    today: datetime.date | None = None,
    actor: User | None = None,
) -> ImportSummary:
    """Import a register-format file. Raises ImportRejected (and saves nothing) on any error.
    ``actor`` is the user who imports (None: the system, from a command)."""
    # The file's people are held from the check to the end: with the cyclic collector on,
    # every write stage would scan them again and again (renfang.core.collector).
    with collector_calm():
        return _import(path=path, progress=progress, today=today, actor=actor)


def _import(
    *,
    path: Path,
    progress: bool,
    today: datetime.date | None,
    actor: User | None,
) -> ImportSummary:
    started = time.monotonic()
    today = today or timezone.localdate()
    people, rows, house_codes, columns, differing = read_register(
        path, today=today, progress=progress
    )
    summary = ImportSummary(rows=rows, people=len(people), birth_dates_differing=differing)
    summary.stages["check"] = time.monotonic() - started
    # Registered (and audited) before the import's transaction: an audit event there would
    # hold the chain's head for the whole import.
    source = register_source(actor)
    with transaction.atomic(), ExitStack() as loading:
        clock = time.monotonic()
        records = stored_records(source, people, house_codes)
        person_of, new_ids = _persons(people, records, summary)
        # A district's first import: foreign keys checked once after the load, not by row.
        refresh = sorted(
            set(new_ids)
            | {person_of[key] for key in people if key not in records or not records[key].same}
        )
        loading.enter_context(persons_loading(len(new_ids), others=len(refresh) - len(new_ids)))
        loading.enter_context(
            bulk.foreign_keys_checked_after(
                [SourceRecord, SourceRecordVersion], new_rows=len(people) - len(records)
            )
        )
        # (the records' person index stays: the golden refresh reads them by it)
        loading.enter_context(
            bulk.indexes_deferred(SourceRecordVersion, new_rows=len(people) - len(records))
        )
        summary.stages["persons"] = time.monotonic() - clock
        clock = time.monotonic()
        _source_import, stored = store_records(
            source,
            people,
            house_codes=house_codes,
            columns=columns,
            path=path,
            actor=actor,
            stored=records,
            person_of=person_of,
        )
        summary.records_new, summary.records_changed = len(stored.new), len(stored.changed)
        link(
            source,
            [
                (key, person_of[key])
                for key in people
                if key in records and records[key].person_id is None
            ],
        )
        if bulk.is_postgresql() and len(stored.new) >= bulk.LARGE_LOAD:
            # The golden refresh reads them by person: with no statistics of the records just
            # stored, PostgreSQL would scan them all for each chunk of persons.
            bulk.analyze(SourceRecord)
        summary.stages["register records"] = time.monotonic() - clock
        clock = time.monotonic()
        if refresh:
            report = golden_refresh(
                refresh,
                progress=progress,
                actor=actor,
                today=today,
                reason=f"register import {path.name}",
                new=new_ids,
            )
            _count(summary, report)
            for name, seconds in report.stages.items():
                summary.stages[f"golden {name}"] = seconds
        summary.identity_kept = _identity_kept(people, person_of, summary, refreshed=set(refresh))
        summary.people_unchanged = (
            summary.people - summary.people_created - summary.people_changed - summary.people_merged
        )
        summary.stages["golden"] = time.monotonic() - clock
        clock = time.monotonic()
        _audit_import(summary, file=path.name, actor=actor)
        summary.stages["audit"] = time.monotonic() - clock
        clock = time.monotonic()
        loading.close()  # the keys checked, the indexes built
        summary.stages["keys and indexes"] = time.monotonic() - clock
        clock = time.monotonic()
    summary.stages["commit"] = time.monotonic() - clock
    if bulk.is_postgresql() and summary.changed_anything and rows > 10000:
        clock = time.monotonic()
        bulk.analyze(Person, Residence, Hukou, PersonAttribute, PopulationSpell, SourceRecord)
        summary.stages["analyze"] = time.monotonic() - clock
    summary.seconds = time.monotonic() - started
    return summary


def _persons(
    people: dict[tuple[str, str], PersonRows],
    records: dict[tuple[str, str], RegisterRecord],
    summary: ImportSummary,
) -> tuple[dict[tuple[str, str], int], list[int]]:
    """The person of each key of the file (persons renfang knows; new ones get an id, and the
    golden refresh inserts them), and the new persons' ids."""
    existing = existing_people(list(people), records)
    summary.identity_before = {known[0]: known[2] for known in existing.values()}
    person_of = {key: known[0] for key, known in existing.items()}
    claimed: set[int] = set()
    for person_id in person_of.values():
        if person_id in claimed:  # two persons of the file are one person in renfang
            summary.people_merged += 1
        claimed.add(person_id)
    new_keys = [key for key in people if key not in existing]
    new_ids = persons_reserve(len(new_keys))
    person_of.update(zip(new_keys, new_ids, strict=True))
    summary.people_created = len(new_ids)
    return person_of, new_ids


def _count(summary: ImportSummary, report: GoldenReport) -> None:
    """The import's figures from what the golden refresh wrote."""
    summary.golden_refreshed = report.persons
    summary.no_history = len(report.no_history)
    summary.people_changed = sum(
        1 for person_id in report.audited_ids if person_id in summary.identity_before
    )
    summary.residences_added = report.added.get("residence", 0)
    summary.residences_retracted = report.retracted.get("residence", 0)
    summary.hukous_added = report.added.get("hukou", 0)
    summary.hukous_retracted = report.retracted.get("hukou", 0)
    summary.phones_recorded = report.added.get("personattribute", 0)
    summary.identity_revisions = report.identity_revisions


def _identity_kept(
    people: dict[tuple[str, str], PersonRows],
    person_of: dict[tuple[str, str], int],
    summary: ImportSummary,
    *,
    refreshed: set[int],
) -> int:
    """Identity fields of persons renfang knew that the file states otherwise than their
    golden record, which took them from a source authoritative before the register."""
    before = summary.identity_before
    identity_of = {pid: identity for pid, identity in before.items() if pid not in refreshed}
    wanted = sorted(pid for pid in before if pid in refreshed)
    for offset in range(0, len(wanted), LOOKUP_CHUNK):
        for row in bulk.select_in(
            Person, PERSON_LOOKUP, "id", wanted[offset : offset + LOOKUP_CHUNK]
        ):
            identity_of[row[0]] = known(row)[2]
    kept = 0
    for key, person in people.items():
        stored = identity_of.get(person_of[key])
        if stored is not None and stored != person.identity:
            kept += sum(
                1
                for name in _IDENTITY_FIELDS
                if getattr(stored, name) != getattr(person.identity, name)
            )
    return kept


def _audit_import(summary: ImportSummary, *, file: str, actor: User | None) -> None:
    """The import's own audit event: what it did, in counts."""
    if not is_recording():
        return
    audit_record_stream(
        [
            PendingEvent(
                action=Action.WRITE,
                user=actor,
                username=SYSTEM if actor is None else "",
                record_type="import",
                record_id=file,
                detail={
                    "source": "register import",
                    "file": file,
                    **_audit_counts(summary),
                    "os_user": os_user(),
                },
            )
        ]
    )


_IDENTITY_FIELDS = ("name", "sex", "birth_date", "nationality")


def _audit_counts(summary: ImportSummary) -> dict[str, int]:
    """The import's own audit event: what it did, in counts."""
    return {
        "rows": summary.rows,
        "people": summary.people,
        "people_created": summary.people_created,
        "people_changed": summary.people_changed,
        "people_unchanged": summary.people_unchanged,
        "residences_added": summary.residences_added,
        "residences_retracted": summary.residences_retracted,
        "hukous_added": summary.hukous_added,
        "hukous_retracted": summary.hukous_retracted,
        "phones_recorded": summary.phones_recorded,
        "identity_revisions": summary.identity_revisions,
        "birth_dates_differing": summary.birth_dates_differing,
    }
