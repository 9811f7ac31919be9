"""A history of spells into facts: merging contiguous spells, the text a record keeps them in,
and the end a death puts to them (people/golden/history.py)."""

from __future__ import annotations

import datetime

import pytest

from renfang.people.golden.history import (
    Spell,
    hukou_facts,
    parse_spells,
    residence_facts,
    spells_text,
    until_death,
)

D = datetime.date


def spell(
    start: D | None, end: D | None, place: str | None, hukou: str | None, house: str | None = None
) -> Spell:
    return (start, end, place, house, hukou, "family" if hukou else "")


def test_contiguous_rows_in_one_place_are_one_spell_but_a_gap_is_not() -> None:
    rows = [
        spell(D(2015, 1, 1), D(2016, 12, 31), "310104003001", "310104003", house="H7"),
        spell(D(2017, 1, 1), D(2018, 12, 31), "310104003001", "310104004", house="H7"),
        spell(D(2019, 2, 1), None, "310104003001", "310104004", house="H7"),
    ]

    assert residence_facts(rows) == [
        (D(2015, 1, 1), D(2018, 12, 31), "310104003001", "H7"),
        (D(2019, 2, 1), None, "310104003001", "H7"),
    ]
    assert hukou_facts(rows) == [
        (D(2015, 1, 1), D(2016, 12, 31), "310104003", "family"),
        (D(2017, 1, 1), D(2018, 12, 31), "310104004", "family"),
        (D(2019, 2, 1), None, "310104004", "family"),
    ]


def test_a_spell_without_hukou_says_nothing_of_the_hukou_and_a_new_house_is_a_new_fact() -> None:
    rows = [
        spell(D(2015, 1, 1), D(2015, 12, 31), "310104003001", None, house="H7"),
        spell(D(2016, 1, 1), None, "310104003001", None, house="H8"),
    ]

    assert len(residence_facts(rows)) == 2
    assert hukou_facts(rows) == []


def test_the_text_a_record_keeps_gives_back_the_same_spells_in_order_of_their_first_day() -> None:
    rows = [
        spell(D(2019, 2, 1), None, "310104003001", "310104004", house="H7"),
        spell(None, D(2019, 1, 31), None, "310104004"),  # whereabouts unknown since always
    ]

    text = spells_text(rows)

    assert parse_spells(text) == [rows[1], rows[0]]
    assert "中" not in text and "H7" in text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{}",
        "[]",  # no spell: an empty history would retract every fact of the person
        "[[1, 2]]",
        '[["2020-13-01",null,null,null,null,""]]',
        '[["2020-01-01",null,["310104"],null,null,""]]',  # a value of the wrong kind
        '[["2020-01-01","2019-12-31","310104",null,null,""]]',  # ends before it begins
        # two spells on one day (the file's check refuses them; a stored text must not bring them)
        '[["2020-01-01",null,"310104",null,null,""],["2021-01-01",null,"310105",null,null,""]]',
        '[[null,null,null,null,"310104",""],[null,null,null,null,"310104",""]]',
    ],
)
def test_a_text_that_is_no_history_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a history"):
        parse_spells(text)


def test_a_death_ends_the_open_fact_and_drops_those_after_it() -> None:
    facts = [
        (D(2010, 1, 1), D(2015, 12, 31), "310104003001", None),
        (D(2016, 1, 1), None, "310104003001", "H7"),
        (D(2021, 1, 1), None, "310104003001", "H8"),
    ]

    assert until_death(facts, D(2020, 6, 30)) == [
        (D(2010, 1, 1), D(2015, 12, 31), "310104003001", None),
        (D(2016, 1, 1), D(2020, 6, 30), "310104003001", "H7"),
    ]
    assert until_death(facts, None) == facts
