"""What a golden record is made of: each source record's usable values, and the choice of
one value per field by the policy (pure functions, no database)."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from renfang.people.golden.policy import ANY_SOURCE, GOLDEN_FIELDS, GoldenPolicy
from renfang.people.golden.values import compose_name, fold_id_number, parse_day, record_value
from renfang.people.idnumbers import check_character, normalize, upgrade_15
from renfang.people.models import IdType

_GOLDEN_SET = frozenset(GOLDEN_FIELDS)
# The mapped fields a golden record reads (the halves of a split name make its name).
MAPPED_KEYS = (*GOLDEN_FIELDS, "family_name", "given_name")
_FAMILY_NAME, _GIVEN_NAME = len(GOLDEN_FIELDS), len(GOLDEN_FIELDS) + 1
# The widest value a field of the golden record takes (its column's width).
_WIDTHS = {
    "id_type": 16,
    "id_number": 32,
    "sex": 1,
    "nationality": 3,
    "ethnicity": 2,
    "phone": 100,
    "marital_status": 100,
    "education": 100,
    "employment": 100,
}
_WIDTH_ITEMS = tuple(_WIDTHS.items())
_DAYS = ("birth_date", "death_date")

# JSON text of a string as json.dumps(ensure_ascii=False) writes it: the same escapes as
# PostgreSQL's jsonb output.
_json_text = json.encoder.encode_basestring


@dataclass(slots=True)
class Record:
    """A source record as the golden record sees it: its golden-field values."""

    pk: int
    source: str
    received_at: datetime.datetime
    values: dict[str, str]
    recency: tuple[float, int]  # sorts the most recently received first
    # Fields whose value the golden record cannot take (still compared for conflicts): a
    # resident ID number that cannot be one (check digit, birth date).
    unusable: frozenset[str] = frozenset()
    # The text of a provenance entry around its value, made when first needed:
    # {"as_of": …, "value": <value>, "record": …, "source": …}
    _text: tuple[str, str] | None = None

    @property
    def as_of(self) -> str:
        """When the record was received, ISO in UTC."""
        return self.received_at.astimezone(datetime.UTC).isoformat()

    def entry_text(self) -> tuple[str, str]:
        if self._text is None:
            self._text = (
                f'{{"as_of": "{self.as_of}", "value": ',
                f', "record": {self.pk}, "source": {_json_text(self.source)}}}',
            )
        return self._text


@dataclass(slots=True)
class Pick:
    value: str
    record: Record


def record_from(pk: int, source: str, received_at: datetime.datetime, mapped: Any) -> Record:
    """The record's golden-field values: those the golden record can hold (a date that does
    not exist, a value wider than its column count as unknown, like an empty one)."""
    # Mapped values are strings (the contract of SourceRecord.mapped); empty is unknown.
    values: dict[str, str]
    if isinstance(mapped, tuple):  # MAPPED_KEYS' values, picked out by the database
        # (zip stops at the last golden field: the name halves follow)
        values = {name: value for name, value in zip(GOLDEN_FIELDS, mapped, strict=False) if value}
        if "name" not in values and (mapped[_FAMILY_NAME] or mapped[_GIVEN_NAME]):
            values["name"] = compose_name(
                (mapped[_FAMILY_NAME] or "").strip(), (mapped[_GIVEN_NAME] or "").strip()
            )
    else:
        if isinstance(mapped, str):  # jsonb as text
            mapped = json.loads(mapped)
        values = {name: value for name, value in mapped.items() if value and name in _GOLDEN_SET}
        if "name" not in values and ("family_name" in mapped or "given_name" in mapped):
            values["name"] = record_value(mapped, "name")
    if "id_number" in values:
        values["id_number"] = fold_id_number(values["id_number"], values.get("id_type", ""))
    if "phone" in values:
        values["phone"] = record_value(values, "phone")
    for name, width in _WIDTH_ITEMS:
        value = values.get(name)
        if value is not None and len(value) > width:
            del values[name]
    for name in _DAYS:
        if name in values and parse_day(values[name]) is None:
            del values[name]
    unusable: frozenset[str] = frozenset()
    if (
        "id_number" in values
        and values.get("id_type") == IdType.RESIDENT_ID
        and not _valid_resident_id(values["id_number"])
    ):
        unusable = _NUMBER_UNUSABLE
    return Record(
        pk=pk,
        source=source,
        received_at=received_at,
        values=values,
        recency=(-received_at.timestamp(), -pk),
        unusable=unusable,
    )


@lru_cache(maxsize=65536)  # a person's records mostly carry the same number
def _valid_resident_id(number: str) -> bool:
    """Whether ``parse_resident_id`` takes the (folded) number, without building what it
    returns or raising for the numbers it refuses: the same checks, in the same order."""
    number = normalize(number)
    if len(number) == 15:  # noqa: PLR2004 (an old resident ID)
        if not number.isdigit():
            return False
        number = upgrade_15(number)
    if len(number) != 18 or not number[:17].isdigit():  # noqa: PLR2004
        return False
    last = number[17]
    if not (last.isdigit() or last == "X") or last != check_character(number[:17]):
        return False
    try:
        birth_date = datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return birth_date.year >= 1880  # noqa: PLR2004


_NUMBER_UNUSABLE = frozenset({"id_type", "id_number"})


def ranked(records: list[Record], order: tuple[str, ...], policy: GoldenPolicy) -> list[Record]:
    """The records a field of this order of sources may be taken from, best first: by the
    order, then the most recently received."""
    ranks = policy.ranks(order)
    fallback = ranks.get(ANY_SOURCE)
    keyed = [
        (rank, record.recency, record)
        for record in records
        if (rank := ranks.get(record.source, fallback)) is not None
    ]
    if len(keyed) > 1:
        keyed.sort(key=lambda item: (item[0], item[1]))
    return [item[2] for item in keyed]


def pick_golden(records: list[Record], policy: GoldenPolicy) -> dict[str, Pick]:
    """Each field's golden value and the record it came from (fields nobody knows: absent):
    of the records with a value, the one whose source stands first for the field, then the
    most recently received. One pass over the values the records hold."""
    if len(records) == 1:  # the usual person: its one record gives what the policy lets it
        record = records[0]
        ranks = policy.ranks_of_source(record.source)
        unusable = record.unusable
        picks = {
            name: Pick(value, record)
            for name, value in record.values.items()
            if name in ranks and name not in unusable
        }
        return _with_id_type(picks)
    best: dict[str, tuple[int, Record]] = {}
    for record in records:
        ranks = policy.ranks_of_source(record.source)
        for name in record.values:
            rank = ranks.get(name)
            if rank is None or name in record.unusable:
                continue
            current = best.get(name)
            if (
                current is None
                or rank < current[0]
                or (rank == current[0] and record.recency < current[1].recency)
            ):
                best[name] = (rank, record)
    return _with_id_type(
        {name: Pick(record.values[name], record) for name, (_, record) in best.items()}
    )


def _with_id_type(picks: dict[str, Pick]) -> dict[str, Pick]:
    # An ID number and its type are one statement: the type comes with the number.
    number = picks.get("id_number")
    if number is not None:
        id_type = number.record.values.get("id_type")
        if id_type:
            picks["id_type"] = Pick(id_type, number.record)
    return picks


# The golden record's fields in the order PostgreSQL's jsonb keeps keys (by length, then
# bytes), so that the text written here is the text jsonb gives back: an unchanged golden
# record is recognised by its text, without parsing a million of them.
_TEXT_ORDER = sorted(GOLDEN_FIELDS, key=lambda name: (len(name.encode()), name.encode()))


def golden_text(picks: dict[str, Pick]) -> str:
    """``Person.golden`` as canonical JSON text: {field: {as_of, value, record, source}}."""
    parts = []
    for name in _TEXT_ORDER:
        pick = picks.get(name)
        if pick is not None:
            prefix, suffix = pick.record.entry_text()
            parts.append(f'"{name}": {prefix}{_json_text(pick.value)}{suffix}')
    return "{" + ", ".join(parts) + "}"
