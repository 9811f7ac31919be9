"""``renfang register export``: the register as a register-format file.

One row per residence spell; a spell during which the hukou changed is written as one row per
hukou, so that the file states the hukou of every day. Importing the export into the same
register changes nothing: contiguous rows in the same place become one spell again. Text that
a spreadsheet would take for a formula is guarded with a quote (``renfang.core.spreadsheets``);
the importer takes it off. A residence with no first day (whereabouts unknown since a day
nobody knows, ADR 0028) is written with an empty ``residence_from``, as it came.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from pathlib import Path

from django.db.models import QuerySet
from tqdm import tqdm

from renfang.audit.models import Action
from renfang.audit.services import audit_record
from renfang.core.spreadsheets import CsvWriter, csv_writer
from renfang.people.models import AttributeKind, Hukou, Person, PersonAttribute, Residence
from renfang.register.rows import EXPORT_COLUMNS

_CHUNK = 5000
_ONE_DAY = datetime.timedelta(days=1)

HukouSpan = tuple[datetime.date | None, datetime.date | None, str, str]


def _cut_by_hukou(
    start: datetime.date | None, end: datetime.date | None, hukous: list[HukouSpan]
) -> list[tuple[datetime.date | None, datetime.date | None, HukouSpan | None]]:
    """Pieces of [start, end] within which the hukou stays the same (start None: since a day
    nobody knows; the first piece keeps it)."""
    first = start or _UNKNOWN
    pieces = _pieces(first, end, hukous)
    if start is None:
        pieces[0] = (None, *pieces[0][1:])
    return pieces


# The first day of a spell since a day nobody knows, while it is cut.
_UNKNOWN = datetime.date.min


def _pieces(
    start: datetime.date, end: datetime.date | None, hukous: list[HukouSpan]
) -> list[tuple[datetime.date | None, datetime.date | None, HukouSpan | None]]:
    cuts = {start}
    for h_start, h_end, _, _ in hukous:
        if h_start is not None and start < h_start and (end is None or h_start <= end):
            cuts.add(h_start)
        if h_end is not None and start <= h_end and (end is None or h_end < end):
            cuts.add(h_end + _ONE_DAY)
    points = sorted(cuts)
    pieces: list[tuple[datetime.date | None, datetime.date | None, HukouSpan | None]] = []
    for index, piece_start in enumerate(points):
        piece_end = points[index + 1] - _ONE_DAY if index + 1 < len(points) else end
        hukou = next(
            (
                h
                for h in hukous
                if (h[0] is None or h[0] <= piece_start) and (h[1] is None or piece_start <= h[1])
            ),
            None,
        )
        pieces.append((piece_start, piece_end, hukou))
    return pieces


def register_export(
    *, path: Path, people: QuerySet[Person] | None = None, progress: bool = False
) -> int:
    """Write the register (or these people) to ``path``; returns the number of rows."""
    queryset = (people if people is not None else Person.objects.all()).order_by("id")
    ids = list(queryset.values_list("id", flat=True))
    written = 0
    with (
        path.open("w", encoding="utf-8", newline="") as handle,
        tqdm(total=len(ids), unit=" people", desc="export", disable=not progress) as bar,
    ):
        writer = csv_writer(handle)
        writer.writerow(EXPORT_COLUMNS)
        for offset in range(0, len(ids), _CHUNK):
            chunk = ids[offset : offset + _CHUNK]
            written += _write_chunk(writer, chunk)
            bar.update(len(chunk))
    # A whole-register export from the command line: the operator's, recorded as the system's.
    audit_record(
        Action.EXPORT,
        user=None,
        username="system",
        record_type="register",
        detail={"list": "register", "file": str(path), "people": len(ids), "rows": written},
    )
    return written


def _write_chunk(writer: CsvWriter, chunk: list[int]) -> int:
    residences: dict[int, list[tuple[datetime.date | None, datetime.date | None, str | None, str]]]
    residences = defaultdict(list)
    for pid, start, end, division, house_code in (
        Residence.objects.filter(person_id__in=chunk)
        .order_by("person_id", "valid_from")
        .values_list("person_id", "valid_from", "valid_to", "division", "house__house_code")
    ):
        residences[pid].append((start, end, division, house_code or ""))
    hukous: dict[int, list[HukouSpan]] = defaultdict(list)
    for pid, start, end, division, household_type in (
        Hukou.objects.filter(person_id__in=chunk)
        .order_by("person_id", "valid_from")
        .values_list("person_id", "valid_from", "valid_to", "division", "household_type")
    ):
        hukous[pid].append((start, end, division, household_type))
    phones = dict(
        PersonAttribute.objects.filter(
            person_id__in=chunk, kind=AttributeKind.PHONE, valid_to__isnull=True
        ).values_list("person_id", "value")
    )
    written = 0
    for pid, id_type, id_number, name, sex, birth, nationality in (
        Person.objects.filter(id__in=chunk)
        .order_by("id")
        .values_list("id", "id_type", "id_number", "name", "sex", "birth_date", "nationality")
    ):
        identity = [id_type, id_number, name, sex, birth.isoformat() if birth else "", nationality]
        phone = phones.get(pid, "")
        # Since a day nobody knows comes first (databases sort NULL apart).
        for start, end, division, house_code in sorted(
            residences[pid], key=lambda fact: fact[0] or _UNKNOWN
        ):
            for piece_start, piece_end, hukou in _cut_by_hukou(start, end, hukous[pid]):
                writer.writerow(
                    [
                        *identity,
                        hukou[2] if hukou else "",
                        hukou[3] if hukou else "",
                        division or "",
                        house_code,
                        piece_start.isoformat() if piece_start else "",
                        piece_end.isoformat() if piece_end else "",
                        phone,
                    ]
                )
                written += 1
    return written
