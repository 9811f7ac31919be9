"""Citizen ID numbers (GB 11643): the check digit, the birth date and sex inside, old numbers."""

from __future__ import annotations

import datetime

import pytest

from renfang.people.idnumbers import IdNumberError, parse_resident_id, upgrade_15, with_check_digit


def test_a_valid_number_gives_its_birth_date_sex_and_region() -> None:
    resident = parse_resident_id("110105194912310708")

    assert resident.birth_date == datetime.date(1949, 12, 31)
    assert resident.sex == "2"  # 17th digit 0 is even: a woman
    assert resident.region == "110105"


def test_old_15_digit_numbers_become_18_digits_with_their_check() -> None:
    assert upgrade_15("110105491231070") == "110105194912310708"
    assert parse_resident_id("110105491231070").number == "110105194912310708"


def test_the_check_character_is_gb_11643s() -> None:
    # The standard's own example, and one whose check character is X.
    assert parse_resident_id("11010519491231002X").number == "11010519491231002X"
    assert with_check_digit("44052418800101001") == "440524188001010014"


def test_full_width_digits_spaces_and_a_lowercase_x_are_folded() -> None:
    assert parse_resident_id(" １１０１０５ 19491231002x ").number == "11010519491231002X"


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("110105194912310701", "check digit is 1, it should be 8"),
        ("110105194912310709", "check digit is 9"),
        (with_check_digit("11010519491331002"), "birth date 19491331 inside it is not a date"),
        (with_check_digit("11010518001231002"), "too early"),
        ("1101051949123100", "has 18 characters, this one has 16"),
        ("11010519491231070Y", "17 digits and a digit or X"),
        ("11010549123100A", "15-digit ID number has digits only"),
    ],
)
def test_a_wrong_number_says_why(number: str, reason: str) -> None:
    with pytest.raises(IdNumberError, match=reason):
        parse_resident_id(number)
