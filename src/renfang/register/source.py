"""renfang's own register as one more source (``register``, 人口登记): every person of a
register file is also kept as a source record, so that linkage, golden records and the
person page see the register beside the department systems (ADR 0015).

One record per person: record id ``{id_type}:{id_number}``; raw = the person's last row of
the file as the register import read it (the normalised ID number and phone, the house code,
ISO dates); mapped = the identity, the hukou, residence and phone of the latest spell, and
``spells``: the person's whole history, every spell of the file (people/golden/history.py),
from which the golden refresh writes the residences and the hukou (ADR 0025). Each record is
linked (rule ``id``, ``{"rule": "register"}``) to the person it is about.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import connection
from django.utils import timezone

from renfang.audit.context import os_user
from renfang.audit.services import SYSTEM, User
from renfang.core import bulk
from renfang.core.jsontext import compact
from renfang.people.golden.history import SPELLS_KEY, spells_text
from renfang.register.rows import PersonRows
from renfang.sources.models import (
    REGISTER_SOURCE,
    ImportStatus,
    LinkRule,
    Source,
    SourceImport,
    SourceRecord,
)
from renfang.sources.services import (
    IncomingRecord,
    StoreResult,
    history_source_add,
    records_store,
)

REGISTER_NAME = "人口登记 (renfang register)"
# JSON as the bulk store writes it (compact, Chinese as it is) and a string as PostgreSQL's
# jsonb writes it back (the same escapes as json.dumps with ensure_ascii=False)
_dumps = compact
_json_text = json.encoder.encode_basestring
# How a register record is linked: rule ``id``, this detail.
LINK_DETAIL = '{"rule": "register"}'
# The register format is read by renfang itself (with every check of the register import);
# this mapping documents the record it keeps of each person, in the mapping language of
# docs/MAPPINGS.md.
REGISTER_MAPPING = """\
# renfang's own register (人口登记): the register format of `renfang register import`
# (README, "The register format"). A UTF-8 CSV, one row per residence spell; rows with the
# same id_type + id_number are one person. renfang reads this format itself, with all the
# checks of the register import, and keeps one source record per person: the identity, and
# the hukou, residence and phone of the person's latest spell (its last row). This mapping
# says how that row's columns are the record's fields; it is not used to read the file.
record_id: "{id_type}:{id_number}"
file:
  encoding: utf-8
  format: csv
fields:
  id_type: "{id_type}"
  id_number: "{id_number}"
  name: "{name}"
  sex: "{sex}"
  birth_date: "{birth_date}"
  nationality: "{nationality}"
  hukou_division: "{hukou_division}"
  hukou_type: "{hukou_type}"
  residence_division: "{residence_division}"
  residence_house_code: "{residence_house_code}"
  residence_from: "{residence_from}"
  residence_to: "{residence_to}"
  phone: "{phone}"
"""
_CHUNK = 5000


def register_source(actor: User | None) -> Source:
    """The ``register`` source, registered (and audited) the first time it is needed: by
    renfang itself, never by hand (``renfang sources add register`` is refused)."""
    found = Source.objects.filter(code=REGISTER_SOURCE).first()
    if found is not None:
        return found
    return history_source_add(REGISTER_SOURCE, REGISTER_NAME, REGISTER_MAPPING, actor=actor)


def record_id(key: tuple[str, str]) -> str:
    return f"{key[0]}:{key[1]}"


@dataclass(frozen=True)
class RegisterRecord:
    """A register record already stored: its pk, the person it is linked to, and whether it
    already says what the file says (then the bulk store need not compare it again)."""

    pk: int
    person_id: int | None
    same: bool


def _day(day: datetime.date | None) -> str:
    return day.isoformat() if day is not None else ""


def _row(key: tuple[str, str], person: PersonRows, house_codes: dict[int, str]) -> dict[str, str]:
    """The person's last row, as the register import read it."""
    identity, last = person.identity, person.spells[-1]
    house_code = house_codes.get(last.house_id, "") if last.house_id is not None else ""
    return {
        "id_type": key[0],
        "id_number": key[1],
        "name": identity.name,
        "sex": identity.sex,
        "birth_date": _day(identity.birth_date),
        "nationality": identity.nationality,
        "hukou_division": last.hukou_division or "",
        "hukou_type": last.hukou_type,
        "residence_division": last.residence_division or "",
        "residence_house_code": house_code,
        "residence_from": _day(last.valid_from),
        "residence_to": _day(last.valid_to),
        "phone": person.phone or "",
    }


def _mapped(row: dict[str, str], person: PersonRows, house_codes: dict[int, str]) -> dict[str, str]:
    """The record's mapped values: the last row's, and the whole history."""
    mapped = {name: value for name, value in row.items() if value}
    mapped[SPELLS_KEY] = spells_text(
        [
            (
                spell.valid_from,
                spell.valid_to,
                spell.residence_division,
                house_codes.get(spell.house_id) if spell.house_id is not None else None,
                spell.hukou_division,
                spell.hukou_type,
            )
            for spell in person.spells
        ]
    )
    return mapped


def stored_records(
    source: Source, people: dict[tuple[str, str], PersonRows], house_codes: dict[int, str]
) -> dict[tuple[str, str], RegisterRecord]:
    """The register records of the file's persons that are already stored, by person key.
    Their mapped values are compared here, chunk by chunk, so that no chunk of them is held:
    as text (the file's values written as the database gives them back: on PostgreSQL their
    MD5, so that a million records of a re-import need not cross the wire), else as values."""
    found: dict[tuple[str, str], RegisterRecord] = {}
    if not SourceRecord.objects.filter(source=source).exists():
        return found
    postgresql = bulk.is_postgresql()
    by_id = {record_id(key): key for key in people}
    wanted = list(by_id)
    for offset in range(0, len(wanted), _CHUNK):
        for pk, rid, person_id, stored in _stored_chunk(source, wanted[offset : offset + _CHUNK]):
            key = by_id[rid]
            person = people[key]
            mapped = _mapped(_row(key, person, house_codes), person, house_codes)
            if postgresql:
                same = stored == hashlib.md5(_jsonb_text(mapped).encode()).hexdigest()  # noqa: S324
            else:
                same = stored == _dumps(mapped) or json.loads(stored) == mapped
            found[key] = RegisterRecord(pk, person_id, same)
    return found


def _jsonb_text(mapped: dict[str, str]) -> str:
    """The text PostgreSQL gives back of these values stored as jsonb: keys shortest first,
    then in byte order; ``": "`` and ``", "``; strings escaped as json.dumps does with
    ensure_ascii=False (the same escapes)."""
    keys = tuple(mapped)
    order = _JSONB_ORDER.get(keys)
    if order is None:
        order = _JSONB_ORDER[keys] = [
            (name, f"{_json_text(name)}: ")
            for name in sorted(keys, key=lambda name: (len(name.encode()), name.encode()))
        ]
    return "{" + ", ".join([key + _json_text(mapped[name]) for name, key in order]) + "}"


# The order of jsonb's keys for each set of keys a record has (a handful: the empty fields
# are left out), with each key's text
_JSONB_ORDER: dict[tuple[str, ...], list[tuple[str, str]]] = {}


def _stored_chunk(source: Source, record_ids: list[str]) -> list[tuple[Any, ...]]:
    """(pk, record_id, person_id, mapped) of the source's records among ``record_ids``
    (mapped: on PostgreSQL the MD5 of its text, on SQLite the text); raw queries (the ORM's
    rows cost a third of an unchanged re-import on SQLite)."""
    table = bulk.table(SourceRecord)
    with connection.cursor() as cursor:
        if bulk.is_postgresql():
            cursor.execute(
                "SELECT id, record_id, person_id, md5(mapped::text) "  # noqa: S608
                f'FROM "{table}" WHERE source_id = %s AND record_id = ANY(%s)',
                [source.pk, record_ids],
            )
        else:
            marks = ", ".join(["%s"] * len(record_ids))
            cursor.execute(
                "SELECT id, record_id, person_id, mapped "  # noqa: S608
                f'FROM "{table}" WHERE source_id = %s AND record_id IN ({marks})',
                [source.pk, *record_ids],
            )
        return list(cursor.fetchall())


def incoming_records(
    people: dict[tuple[str, str], PersonRows],
    house_codes: dict[int, str],
    columns: list[str],
    skip: dict[tuple[str, str], RegisterRecord],
    person_of: dict[tuple[str, str], int],
) -> Iterator[IncomingRecord]:
    """The records of the file's persons, but those ``skip`` holds as they are; a new one
    stored already linked to its person (``person_of``)."""
    for key, person in people.items():
        stored = skip.get(key)
        if stored is not None and stored.same:
            continue
        row = _row(key, person, house_codes)
        raw = {column: row[column] for column in columns if column in row}
        yield IncomingRecord(
            record_id=record_id(key),
            raw=raw,
            mapped=_mapped(row, person, house_codes),
            link=None if stored is not None else (person_of[key], LinkRule.ID_NUMBER, LINK_DETAIL),
        )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def store(
    source: Source,
    people: dict[tuple[str, str], PersonRows],
    *,
    house_codes: dict[int, str],
    columns: list[str],
    path: Path,
    actor: User | None,
    stored: dict[tuple[str, str], RegisterRecord],
    person_of: dict[tuple[str, str], int],
) -> tuple[SourceImport, StoreResult]:
    """Store every person of the file as a register record, under a SourceImport of the file:
    new ones (linked to their person of ``person_of`` as they are stored) and changed ones (a
    record whose mapped values are the file's is not sent to the bulk store again: a change of
    the file's raw columns alone makes no new version)."""
    actor_name = str(actor.get_username()) if actor is not None and actor.is_authenticated else ""
    done = SourceImport.objects.create(
        source=source,
        mapping=source.current_mapping(),
        file_name=path.name[:300],
        file_sha256=file_sha256(path),
        actor=actor_name or os_user() or SYSTEM,
    )
    result = records_store(
        source,
        incoming_records(people, house_codes, columns, stored, person_of),
        source_import=done,
    )
    result.unchanged += sum(1 for record in stored.values() if record.same)
    done.status = ImportStatus.DONE
    done.finished_at = timezone.now()
    done.records = len(people)
    done.new, done.changed, done.unchanged = len(result.new), len(result.changed), result.unchanged
    done.save()
    return done, result


def link(source: Source, persons: list[tuple[tuple[str, str], int]]) -> int:
    """Link stored register records that belong to no person yet (new ones are stored linked)
    to the person the import wrote: ``(key, person_id)`` pairs. A record already linked keeps
    its link (a reviewer's merge or split is never undone by an import). Returns how many were
    linked."""
    if not persons:
        return 0
    now = bulk.db_value(SourceRecord, "linked_at", timezone.now())
    detail = LINK_DETAIL
    table = bulk.table(SourceRecord)
    linked = 0
    with connection.cursor() as cursor:
        for offset in range(0, len(persons), _CHUNK):
            chunk = persons[offset : offset + _CHUNK]
            if bulk.is_postgresql():
                temp = bulk.temp_table(
                    "register_links",
                    [("record_id", "text"), ("person_id", "bigint")],
                    ((record_id(key), person_id) for key, person_id in chunk),
                )
                cursor.execute(
                    f'UPDATE "{table}" r SET person_id = v.person_id, '  # noqa: S608
                    "link_rule = %s, link_detail = %s::jsonb, linked_at = %s "
                    f'FROM "{temp}" AS v '
                    "WHERE r.source_id = %s AND r.record_id = v.record_id "
                    "AND r.person_id IS NULL",
                    [LinkRule.ID_NUMBER.value, detail, now, source.pk],
                )
                linked += cursor.rowcount
            else:
                before = connection.connection.total_changes
                cursor.cursor.executemany(
                    f'UPDATE "{table}" SET person_id = ?, link_rule = ?, '  # noqa: S608
                    "link_detail = ?, linked_at = ? "
                    "WHERE source_id = ? AND record_id = ? AND person_id IS NULL",
                    [
                        (
                            person_id,
                            LinkRule.ID_NUMBER.value,
                            detail,
                            now,
                            source.pk,
                            record_id(key),
                        )
                        for key, person_id in chunk
                    ],
                )
                linked += connection.connection.total_changes - before
    return linked


def link_summary(result: StoreResult, linked: int) -> dict[str, Any]:
    return {
        "records_new": len(result.new),
        "records_changed": len(result.changed),
        "linked": linked,
    }
