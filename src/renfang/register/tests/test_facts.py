"""Rows of one person into facts: merging, and agreement with the statistics' spell builder."""

from __future__ import annotations

import datetime
import random

from renfang.register.importer import hukou_facts, population_spells, residence_facts
from renfang.register.rows import SpellRow
from renfang.stats.spells import Interval, Spell, build_spells

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


def test_population_spells_agree_with_the_general_builder() -> None:
    """The importer cuts spells straight off the rows; stats.spells.build_spells cuts them off
    the stored facts. For any history the two must agree, or the figures would depend on the
    path the data came in by."""
    generator = random.Random(7)
    places = ["310104003001", "310104004001", "310105001", None]
    hukous = ["310104003", "340122", None]
    for _ in range(300):
        rows: list[SpellRow] = []
        day = D(2010, 1, 1) + datetime.timedelta(days=generator.randrange(400))
        for index in range(generator.randrange(1, 6)):
            length = generator.randrange(1, 700)
            end: D | None = day + datetime.timedelta(days=length)
            if index == 4 or generator.random() < 0.15:
                end = None
            rows.append(spell(day, end, generator.choice(places), generator.choice(hukous)))
            if end is None:
                break
            day = end + datetime.timedelta(days=generator.choice([1, 1, 1, 30]))
        residences = [Interval(s, e, d) for s, e, d, _ in residence_facts(rows)]
        hukou_intervals = [Interval(s, e, d) for s, e, d, _ in hukou_facts(rows)]

        expected = build_spells(residences, hukou_intervals)

        assert [Spell(*fact) for fact in population_spells(rows)] == expected, rows
