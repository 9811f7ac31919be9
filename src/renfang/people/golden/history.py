"""A person's residences and hukou over time, from a source record that carries the person's
history (ADR 0025).

Most sources state where a person lives now; renfang's own register (``register``, the
verified collection) states the whole history: one spell per row of the register file, each
with its first and last day, the residence (division and house) and the hukou. Such a record
keeps its spells in its mapped values under ``spells`` (``spells_text``), and the policy
(data/golden.toml, ``[history]``) names the sources whose records write the person's facts so.

For a person linked to such a record, the golden refresh makes the stored facts be exactly
the record's history:
- contiguous spells in the same place are one residence fact; contiguous spells with the same
  hukou are one hukou fact (a spell with no hukou division says nothing of the hukou);
- a fact the history states and the register holds is left alone (a second refresh writes
  nothing); a fact it no longer states is retracted (never deleted); a new one is inserted;
- a dead person's facts end on the day of death, whatever the history says after it (ADR 0028).

Pure functions: the planner thread of the refresh calls them with what the chunk read.
"""

from __future__ import annotations

import datetime
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from renfang.audit.services import field_change
from renfang.core.changes import FieldChange
from renfang.core.jsontext import compact
from renfang.people.facts.lines import hukou_value, residence_value
from renfang.people.golden.facts import StoredFact, Writes
from renfang.people.golden.policy import HISTORY_FACTS, GoldenPolicy
from renfang.people.golden.records import Pick
from renfang.people.models import Hukou, Residence

SPELLS_KEY = "spells"
_ONE_DAY = datetime.timedelta(days=1)

# One spell as a record keeps it: (first day, last day, residence division, house code,
# hukou division, household type). A first day None: since a day nobody knows (whereabouts
# unknown, ADR 0028); a last day None: still so.
Spell = tuple[datetime.date | None, datetime.date | None, str | None, str | None, str | None, str]
# (valid_from, valid_to, division, house code)
ResidenceFact = tuple[datetime.date | None, datetime.date | None, str | None, str | None]
# (valid_from, valid_to, division, household type)
HukouFact = tuple[datetime.date | None, datetime.date | None, str, str]


def _day_text(day: datetime.date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _parse(day: str | None) -> datetime.date | None:
    return datetime.date.fromisoformat(day) if day else None


def spells_text(spells: Sequence[Spell]) -> str:
    """The spells as a record keeps them: compact JSON, one array per spell."""
    return compact(
        [
            [_day_text(start), _day_text(end), division, house, hukou, household_type]
            for start, end, division, house, hukou, household_type in spells
        ]
    )


def parse_spells(text: str) -> list[Spell]:
    """The spells of ``spells_text``, in order of their first day; ValueError when it is not
    such a text or not a history: a value of the wrong kind, no spell at all (a person of the
    register has at least one: an empty history would retract every fact), a spell that ends
    before it begins, two spells on one day."""
    try:
        rows = json.loads(text)
        if not isinstance(rows, list):
            raise TypeError("a list of spells is expected")
        if not rows:
            raise ValueError("no spell")
        spells: list[Spell] = []
        for start, end, division, house, hukou, household_type in rows:
            for value in (division, house, hukou, household_type):
                if value is not None and not isinstance(value, str):
                    raise TypeError(f"{value!r} is not a text")
            spells.append(
                (_parse(start), _parse(end), division, house, hukou, household_type or "")
            )
    except (TypeError, ValueError) as exc:
        raise ValueError(f"not a history of spells: {exc}") from exc
    spells.sort(key=lambda spell: spell[0] or datetime.date.min)
    for spell in spells:
        if spell[0] is not None and spell[1] is not None and spell[1] < spell[0]:
            raise ValueError(f"not a history of spells: {spell[1]} ends before {spell[0]}")
    for previous, current in zip(spells, spells[1:], strict=False):
        if previous[1] is None or current[0] is None or previous[1] >= current[0]:
            raise ValueError(f"not a history of spells: two spells on {current[0]}")
    return spells


@dataclass(frozen=True, slots=True)
class Carried:
    """A history record of a person, as the refresh reads it: whether it carries a history
    text at all, and the spells of it (None: none, or what it carries is no history),
    parsed once for the chunk."""

    pk: int
    carries: bool
    spells: tuple[Spell, ...] | None


def carried(pk: int, text: str | None) -> Carried:
    if not text:
        return Carried(pk, carries=False, spells=None)
    try:
        return Carried(pk, carries=True, spells=tuple(parse_spells(text)))
    except ValueError:
        return Carried(pk, carries=True, spells=None)


def candidates(
    rows: list[tuple[Any, ...]],
    spells: dict[int, str],
    live: set[int],
    sources: dict[int, str],
    policy: GoldenPolicy,
) -> dict[int, dict[str, list[Carried]]]:
    """For each live person a history source knows: for the residences and for the hukou,
    the records of the source whose history writes them, first stored first; the planner
    takes one (``followed``)."""
    if not policy.history:
        return {}
    of_source: dict[tuple[int, str], list[int]] = defaultdict(list)
    for pk, person_id, source_id, _mapped, _received_at in rows:
        if person_id in live:
            of_source[(person_id, sources[source_id])].append(pk)
    codes_of: dict[int, set[str]] = defaultdict(set)
    for person_id, code in of_source:
        codes_of[person_id].add(code)
    parsed: dict[int, Carried] = {}
    found: dict[int, dict[str, list[Carried]]] = {}
    for person_id, codes in codes_of.items():
        governed = {}
        for fact in HISTORY_FACTS:
            owner = policy.history_source(fact, codes)
            if owner is not None:
                governed[fact] = [
                    parsed[pk]
                    if pk in parsed
                    else parsed.setdefault(pk, carried(pk, spells.get(pk)))
                    for pk in sorted(of_source[(person_id, owner)])
                ]
        if governed:
            found[person_id] = governed
    return found


def followed(candidates: list[Carried], picks: dict[str, Pick]) -> list[Spell] | None:
    """The history a person's facts follow: of the records that carry one, the record that
    gives the person's golden ID number (two persons of a register file that are one person:
    the history of the one the person is), else the first stored. None (no record carries
    one, or what it carries is no history): the facts are left as they are, and the refresh
    counts the person (``GoldenReport.no_history``) for the operator to see."""
    number = picks.get("id_number")
    carrying = [candidate for candidate in candidates if candidate.carries]
    chosen = next(
        (c for c in carrying if number is not None and c.pk == number.record.pk),
        carrying[0] if carrying else None,
    )
    if chosen is None or chosen.spells is None:
        return None
    return list(chosen.spells)


def house_codes(spells: Sequence[Spell]) -> set[str]:
    return {spell[3] for spell in spells if spell[3]}


def _contiguous(previous_to: datetime.date | None, start: datetime.date | None) -> bool:
    return previous_to is not None and start is not None and previous_to + _ONE_DAY == start


def residence_facts(spells: Sequence[Spell]) -> list[ResidenceFact]:
    facts: list[ResidenceFact] = []
    for start, end, division, house, _hukou, _type in spells:
        if facts:
            first, last, place, known_house = facts[-1]
            if _contiguous(last, start) and (place, known_house) == (division, house):
                facts[-1] = (first, end, place, known_house)
                continue
        facts.append((start, end, division, house))
    return facts


def hukou_facts(spells: Sequence[Spell]) -> list[HukouFact]:
    facts: list[HukouFact] = []
    for start, end, _division, _house, hukou, household_type in spells:
        if hukou is None:
            continue
        if facts:
            first, last, place, kind = facts[-1]
            if _contiguous(last, start) and (place, kind) == (hukou, household_type):
                facts[-1] = (first, end, place, kind)
                continue
        facts.append((start, end, hukou, household_type))
    return facts


_Fact = TypeVar("_Fact", bound=tuple[Any, ...])


def until_death(facts: list[_Fact], died: datetime.date | None) -> list[_Fact]:
    """The facts of a dead person as they hold: none after the day of death (a fact that
    begins after it never held, one still open then ends on it)."""
    if died is None:
        return facts
    ended: list[_Fact] = []
    for fact in facts:
        start, end = fact[0], fact[1]
        if start is not None and start > died:
            continue
        if end is None or end > died:
            ended.append(cast("_Fact", (start, died, *fact[2:])))
        else:
            ended.append(fact)
    return ended


def _paired(
    name: str,
    retracted: list[dict[str, Any]],
    added: list[dict[str, Any]],
) -> list[FieldChange]:
    """Retracted and added facts as change lines; a fact retracted and one added that begin
    on the same day (a spell closed, a house corrected) are one change from the old to the
    new."""
    added_from = {fact["from"]: fact for fact in added}
    lines = [field_change(name, old, added_from.pop(old["from"], None)) for old in retracted]
    lines += [field_change(name, None, new) for new in added_from.values()]
    return lines


def plan_residences(
    writes: Writes,
    person_id: int,
    spells: Sequence[Spell],
    *,
    stored: list[StoredFact],  # (id, valid_from, valid_to, division, house_id)
    died: datetime.date | None,
    houses: dict[str, tuple[int, str]],  # house code → (id, area)
    codes: dict[int, str],  # house id → code, for the stored facts
    stamp: object,
) -> list[FieldChange]:
    """Plan the person's residences to be the history of ``spells``: what to insert and
    retract (into ``writes``); returns the change lines (none: nothing changes). A house the
    history names that renfang does not know leaves the residences as they are."""
    if any(code not in houses for code in house_codes(spells)):
        return []
    wanted = until_death(residence_facts(spells), died)
    known: dict[tuple[Any, ...], int] = {}
    for fact_id, start, end, division, house_id in stored:
        key = (start, end, division, house_id)
        if key in known:  # the same fact twice (written so long ago): one stays
            writes.retracts[Residence].append(fact_id)
        else:
            known[key] = fact_id
    kept: set[tuple[Any, ...]] = set()
    added: list[dict[str, Any]] = []
    for start, end, division, code in wanted:
        house_id = houses[code][0] if code and code in houses else None
        key = (start, end, division, house_id)
        kept.add(key)
        if key in known:
            continue
        writes.inserts[Residence].append((person_id, start, end, division, house_id, "", stamp))
        added.append(residence_value(start, end, division, code if house_id else None))
    retracted = []
    for key, fact_id in known.items():
        if key not in kept:
            writes.retracts[Residence].append(fact_id)
            start, end, division, house_id = key
            house = codes.get(house_id) if house_id is not None else None
            retracted.append(residence_value(start, end, division, house))
    lines = _paired("residence", retracted, added)
    if lines:
        writes.spells_for.add(person_id)
    return lines


def plan_hukous(
    writes: Writes,
    person_id: int,
    spells: Sequence[Spell],
    *,
    stored: list[StoredFact],  # (id, valid_from, valid_to, division, household_type, address)
    died: datetime.date | None,
    stamp: object,
) -> list[FieldChange]:
    """Plan the person's hukou facts to be the history of ``spells`` (as ``plan_residences``)."""
    wanted = until_death(hukou_facts(spells), died)
    known: dict[tuple[Any, ...], int] = {}
    for fact_id, start, end, division, household_type, _address in stored:
        key = (start, end, division, household_type)
        if key in known:
            writes.retracts[Hukou].append(fact_id)
        else:
            known[key] = fact_id
    kept = set(wanted)
    added = []
    for start, end, division, household_type in wanted:
        if (start, end, division, household_type) in known:
            continue
        writes.inserts[Hukou].append((person_id, start, end, division, "", household_type, stamp))
        added.append(hukou_value(start, end, division, household_type))
    retracted = []
    for key, fact_id in known.items():
        if key not in kept:
            writes.retracts[Hukou].append(fact_id)
            retracted.append(hukou_value(*key))
    lines = _paired("hukou", retracted, added)
    if lines:
        writes.spells_for.add(person_id)
    return lines
