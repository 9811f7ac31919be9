"""The district changes over the years: arrivals, moves, departures, births."""

from __future__ import annotations

import datetime

from renfang.synth.tests.conftest import AS_OF, District, on
from renfang.synth.tests.test_district import XUHUI, figures

AS_OF_TEXT = AS_OF.isoformat()
YEAR_START = datetime.date(AS_OF.year, 1, 1).isoformat()


def _migrant(row: dict[str, str]) -> bool:
    return (
        row["id_type"] == "resident_id"
        and row["nationality"] == "CHN"
        and not row["hukou_division"].startswith("31")
    )


def test_figures_differ_between_years(district: District) -> None:
    now, then = figures(district, AS_OF_TEXT), figures(district, "2020-12-31")
    earlier = figures(district, "2015-12-31")
    assert earlier["actual"] < then["actual"] < now["actual"]
    assert earlier["domestic_migrant"] < then["domestic_migrant"] < now["domestic_migrant"]
    # The registered population barely moves while migrants grow.
    assert abs(now["registered"] - earlier["registered"]) < 0.15 * earlier["registered"]


def test_babies_are_born_into_the_register(district: District) -> None:
    last_year = (AS_OF - datetime.timedelta(days=365)).isoformat()
    babies = [rows for rows in district.people.values() if rows[0]["birth_date"] > last_year]
    assert babies
    for rows in babies:
        assert rows[0]["residence_from"] >= rows[0]["birth_date"]
    # Most are born into a household already here; some came with their family later.
    born_here = [rows for rows in babies if rows[0]["residence_from"] == rows[0]["birth_date"]]
    assert len(born_here) > 0.8 * len(babies)


def test_people_leave_and_their_last_spell_is_closed(district: District) -> None:
    gone = [rows for rows in district.people.values() if rows[-1]["residence_to"]]
    assert len(gone) > len(district.people) * 0.2
    assert sum(_migrant(rows[-1]) for rows in gone) > len(gone) / 2
    assert any(rows[-1]["nationality"] != "CHN" for rows in gone)
    assert any(rows[-1]["hukou_division"].startswith(XUHUI) for rows in gone)


def test_people_move_between_houses_of_the_district(district: District) -> None:
    moves = 0
    for rows in district.people.values():
        for before, after in zip(rows, rows[1:], strict=False):
            if before["residence_house_code"] and after["residence_house_code"]:
                moves += before["residence_house_code"] != after["residence_house_code"]
    assert moves > len(district.people) * 0.2


def test_hukou_changes_cut_a_spell_in_one_house(district: District) -> None:
    """A family moving its hukou in (迁入/落户) keeps its house; the row is cut."""
    cut = 0
    for rows in district.people.values():
        for before, after in zip(rows, rows[1:], strict=False):
            if (
                before["residence_house_code"]
                and before["residence_house_code"] == after["residence_house_code"]
            ):
                assert before["hukou_division"] != after["hukou_division"]
                assert after["hukou_division"].startswith(XUHUI)
                cut += 1
    assert cut > 0


def test_migrants_change_more_than_their_number_in_a_year(district: District) -> None:
    """Seed 000: migrants' yearly change rate (arrivals + departures + moves) over 100 %."""
    start_size = arrivals = departures = moves = 0
    for rows in district.people.values():
        first = on(rows, YEAR_START)
        if first and _migrant(first) and first["residence_division"].startswith(XUHUI):
            start_size += 1
        for index, row in enumerate(rows):
            if not (_migrant(row) and row["residence_division"].startswith(XUHUI)):
                continue
            previous = rows[index - 1] if index else None
            following = rows[index + 1] if index + 1 < len(rows) else None
            if YEAR_START <= row["residence_from"] <= AS_OF_TEXT:
                if previous and previous["residence_division"].startswith(XUHUI):
                    moves += previous["residence_house_code"] != row["residence_house_code"]
                else:
                    arrivals += 1
            if YEAR_START <= row["residence_to"] < AS_OF_TEXT and not following:
                departures += 1
    assert arrivals and departures and moves
    assert (arrivals + departures + moves) / start_size > 1.0


def test_arrivals_spread_over_the_decade(district: District) -> None:
    firsts = [rows[0]["residence_from"][:4] for rows in district.people.values()]
    for year in range(AS_OF.year - 10, AS_OF.year + 1):
        assert str(year) in firsts
