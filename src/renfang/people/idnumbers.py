"""Citizen ID numbers (公民身份号码, GB 11643-1999).

18 characters: 6 of region, 8 of birth date, 3 of sequence (odd for men, even for women) and an
ISO 7064 MOD 11-2 check character. Old 15-digit numbers have a 2-digit year and no check; they
convert to 18 by inserting ``19`` and computing the check. ``python-stdnum``'s birthplace-by-year
check is not used, because it rejects many real numbers (and the 81/82/83 residence-permit
numbers of HK, Macau and Taiwan residents); the check character is computed here, over all 17
digits (stdnum's ``calc_check_digit`` expects the check character already appended).
"""

from __future__ import annotations

import datetime
import functools
import unicodedata
from dataclasses import dataclass
from operator import mul


class IdNumberError(ValueError):
    """An ID number that cannot be right; the message says why, in words a clerk understands."""


@dataclass(frozen=True)
class ResidentId:
    number: str
    birth_date: datetime.date
    sex: str  # GB/T 2261.1: "1" male, "2" female
    region: str


def normalize(raw: str) -> str:
    """Full-width digits, spaces and a lowercase x are how numbers arrive; fold them."""
    folded = unicodedata.normalize("NFKC", raw).strip().replace(" ", "").upper()
    return folded


# GB 11643 weights of the 17 digits, and the check character for each sum modulo 11.
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ASCII_ZERO_SUM = ord("0") * sum(_WEIGHTS)  # what the codes of "0"… add to the weighted sum


def check_character(first_17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of 17 digits."""
    if len(first_17) != len(_WEIGHTS):
        raise ValueError(f"17 digits are needed, not {len(first_17)}")
    if first_17.isascii() and first_17.isdigit():  # the usual case, without 17 int() calls
        return _CHECK[(sum(map(mul, first_17.encode(), _WEIGHTS)) - _ASCII_ZERO_SUM) % 11]
    return _CHECK[sum(map(mul, map(int, first_17), _WEIGHTS)) % 11]


def upgrade_15(number: str) -> str:
    """An old 15-digit number as its 18-digit form."""
    body = number[:6] + "19" + number[6:]
    return body + check_character(body)


def parse_resident_id(raw: str) -> ResidentId:
    number = normalize(raw)
    if len(number) == 15:
        if not number.isdigit():
            raise IdNumberError("a 15-digit ID number has digits only")
        number = upgrade_15(number)
    if len(number) != 18:
        raise IdNumberError(f"an ID number has 18 characters, this one has {len(number)}")
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise IdNumberError("an ID number is 17 digits and a digit or X")
    expected = check_character(number[:17])
    if number[17] != expected:
        raise IdNumberError(f"check digit is {number[17]}, it should be {expected}")
    birth_date = _birth_date(number[6:14])
    if birth_date is None:
        raise IdNumberError(f"birth date {number[6:14]} inside it is not a date")
    if birth_date.year < 1880:
        raise IdNumberError(f"birth date {number[6:14]} inside it is too early")
    sex = "1" if int(number[16]) % 2 == 1 else "2"
    return ResidentId(number=number, birth_date=birth_date, sex=sex, region=number[:6])


@functools.lru_cache(maxsize=1 << 16)  # a century and more of days; people share birthdays
def _birth_date(digits: str) -> datetime.date | None:
    """YYYYMMDD as a date, None when it is none."""
    try:
        return datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None


def with_check_digit(first_17: str) -> str:
    """Complete 17 digits with their check character (for making numbers, e.g. synthetic)."""
    return first_17 + check_character(first_17)
