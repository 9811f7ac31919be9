"""Writing the three files: rows go to disk as they are made, not kept in memory.

Files are written under a temporary name and renamed when complete, so a failed or
interrupted run never leaves a half-written register that looks whole.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from renfang.synth.households import Person
from renfang.synth.houses import HUKOU_PLACEHOLDER, PLACEHOLDER, HouseStock
from renfang.synth.timeline import Stay

AREAS_HEADER = ["code", "name", "parent_code", "level"]
REGISTER_HEADER = [
    "id_type", "id_number", "name", "sex", "birth_date", "nationality", "hukou_division",
    "hukou_type", "residence_division", "residence_house_code", "residence_from",
    "residence_to", "phone",
]  # fmt: skip
_BUFFER = 1 << 20
_HUKOU_DIVISION = REGISTER_HEADER.index("hukou_division")
_RESIDENCE_DIVISION = REGISTER_HEADER.index("residence_division")
_HOUSE_CODE = REGISTER_HEADER.index("residence_house_code")


class CsvOut:
    """A UTF-8 CSV file (``\\n`` line ends) that appears under its name only when closed
    without an error."""

    def __init__(self, path: Path, header: list[str]) -> None:
        self.path = path
        self._partial = path.with_name(path.name + ".partial")
        self._file: IO[str] = self._partial.open(
            "w", encoding="utf-8", newline="", buffering=_BUFFER
        )
        self._writer = csv.writer(self._file, lineterminator="\n")
        self._writer.writerow(header)
        self.rows = 0

    def write(self, row: Iterable[str]) -> None:
        self._writer.writerow(row)
        self.rows += 1

    def write_all(self, rows: Iterable[Iterable[str]]) -> None:
        for row in rows:
            self.write(row)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._file.close()
        if kind is None:
            self._partial.replace(self.path)
        else:
            self._partial.unlink(missing_ok=True)


def place_houses(
    source: Path, target: Path, stock: HouseStock, progress: Callable[[int], object]
) -> None:
    """Copy the register, putting houses, their committees and hukou held there in place
    of placeholders; ``source`` is removed."""
    with source.open(encoding="utf-8", newline="", buffering=_BUFFER) as rows:
        reader = csv.reader(rows)
        with CsvOut(target, next(reader)) as out:
            write = out.write
            placement = stock.placement
            hukou_placement = stock.hukou_placement
            for count, row in enumerate(reader, 1):
                if count % 100_000 == 0:
                    progress(100_000)
                if row[_HOUSE_CODE].startswith(PLACEHOLDER):
                    row[_HOUSE_CODE], row[_RESIDENCE_DIVISION] = placement(row[_HOUSE_CODE])
                if row[_HUKOU_DIVISION].startswith(HUKOU_PLACEHOLDER):
                    row[_HUKOU_DIVISION] = hukou_placement(row[_HUKOU_DIVISION])
                write(row)
    progress(count % 100_000)
    source.unlink()


class RegisterOut(CsvOut):
    """register.csv: one row per residence spell, the spell cut where the hukou changes."""

    def __init__(self, path: Path, date_text: Callable[[int], str]) -> None:
        super().__init__(path, REGISTER_HEADER)
        self.date_text = date_text
        self.people = 0

    def write_person(self, person: Person, stays: list[Stay]) -> None:
        date_text = self.date_text
        write = self._writer.writerow
        birth = person.birth
        hukou = person.hukou or [(0, "", "")]
        identity = (
            person.id_type,
            person.id_number,
            person.name,
            person.sex,
            date_text(birth),
            person.nationality,
        )
        phone = person.phone
        written = 0
        for stay_start, end, division, house_code in stays:
            start = max(stay_start, birth)
            if end is not None and end < start:
                continue  # the stay ended before the person was born
            held = 0
            while held + 1 < len(hukou) and hukou[held + 1][0] <= start:
                held += 1
            while True:
                change = hukou[held + 1][0] if held + 1 < len(hukou) else None
                if change is not None and (end is None or change <= end):
                    last: int | None = change - 1
                else:
                    last = end
                _day, hukou_division, hukou_type = hukou[held]
                to = "" if last is None else date_text(last)
                write(
                    (
                        *identity,
                        hukou_division,
                        hukou_type,
                        division,
                        house_code,
                        date_text(start),
                        to,
                        phone,
                    )
                )
                written += 1
                if last == end or change is None:
                    break
                start, held = change, held + 1
        if written == 0:
            raise ValueError(f"{person.id_number} would have no register row")
        self.rows += written
        self.people += 1
