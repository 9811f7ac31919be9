"""Rows of one person into facts: merging, and agreement with the statistics' spell builder."""

from __future__ import annotations

import datetime

from renfang.register.importer import hukou_facts, residence_facts
from renfang.register.rows import SpellRow

D = datetime.date


def spell(
    start: D, end: D | None, place: str | None, hukou: str | None, house: int | None = None
) -> SpellRow:
    return SpellRow(
        line=0,
        valid_from=start,
        valid_to=end,
        residence_division=place,
        house_id=house,
        hukou_division=hukou,
        hukou_type="family" if hukou else "",
    )


def test_contiguous_rows_in_one_place_are_one_spell_but_a_gap_is_not() -> None:
    rows = [
        spell(D(2015, 1, 1), D(2016, 12, 31), "310104003001", "310104003", house=7),
        spell(D(2017, 1, 1), D(2018, 12, 31), "310104003001", "310104004", house=7),
        spell(D(2019, 2, 1), None, "310104003001", "310104004", house=7),
    ]

    assert residence_facts(rows) == [
        (D(2015, 1, 1), D(2018, 12, 31), "310104003001", 7),
        (D(2019, 2, 1), None, "310104003001", 7),
    ]
    assert hukou_facts(rows) == [
        (D(2015, 1, 1), D(2016, 12, 31), "310104003", "family"),
        (D(2017, 1, 1), D(2018, 12, 31), "310104004", "family"),
        (D(2019, 2, 1), None, "310104004", "family"),
    ]
