"""Identity documents and phone numbers, unique across a run.

Resident ID numbers (居民身份证号码) follow GB 11643: the hukou county, the birth date, a
sequence whose last digit is odd for men and even for women, and the check character.
"""

from __future__ import annotations

import datetime
import random

from renfang.people.idnumbers import with_check_digit

# Real mobile prefixes of China Mobile, Unicom, Telecom and Broadnet.
_MOBILE_PREFIXES = (
    "130 131 132 133 134 135 136 137 138 139 145 147 150 151 152 153 155 156 157 158 159 "
    "166 173 175 176 177 178 180 181 182 183 184 185 186 187 188 189 191 193 195 198 199"
).split()

# Passport numbers as the issuing country writes them: (letters prefix pattern, digits).
# "A" stands for a random capital letter.
_PASSPORT_SHAPES: dict[str, tuple[str, int]] = {
    "USA": ("", 9),
    "GBR": ("", 9),
    "CAN": ("AA", 6),
    "AUS": ("A", 7),
    "JPN": ("AA", 7),
    "KOR": ("M", 8),
    "FRA": ("", 2),  # then 2 letters and 5 digits, see below
    "DEU": ("C", 8),
    "SGP": ("K", 7),
    "MYS": ("A", 8),
    "ITA": ("YA", 7),
    "ESP": ("PA", 6),
    "NLD": ("N", 8),
}
_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"


class IdentityMaker:
    """Makes identity numbers that no two people of the run share."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        # 17-digit bodies as integers: a set of ints costs far less than a set of strings.
        self._resident_bodies: set[int] = set()
        self._other_numbers: set[str] = set()

    def resident_id(self, region: str, birth: int, sex: str) -> str:
        """An unused 18-digit number for a person born on day ``birth`` in ``region``."""
        day = datetime.date.fromordinal(birth).strftime("%Y%m%d")
        prefix = int(region + day) * 1000
        rng = self.rng
        parity = 1 if sex == "1" else 0
        for _attempt in range(200):
            sequence = rng.randrange(0, 1000, 2) + parity
            body = prefix + sequence
            if body not in self._resident_bodies:
                self._resident_bodies.add(body)
                return with_check_digit(f"{body:017d}")
        # Hundreds of people of one sex born on one day in one county: take any free number.
        for sequence in range(parity, 1000, 2):
            if prefix + sequence not in self._resident_bodies:
                self._resident_bodies.add(prefix + sequence)
                return with_check_digit(f"{prefix + sequence:017d}")
        raise RuntimeError(f"no free ID number left for {region} {day} sex {sex}")

    def _letters(self, pattern: str) -> str:
        return "".join(self.rng.choice(_LETTERS) if char == "A" else char for char in pattern)

    def _digits(self, count: int) -> str:
        return f"{self.rng.randrange(10**count):0{count}d}"

    def _claim(self, number: str) -> bool:
        if number in self._other_numbers:
            return False
        self._other_numbers.add(number)
        return True

    def passport(self, nationality: str) -> str:
        prefix, digits = _PASSPORT_SHAPES.get(nationality, ("E", 8))
        while True:
            if nationality == "FRA":
                number = self._digits(2) + self._letters("AA") + self._digits(5)
            else:
                number = self._letters(prefix) + self._digits(digits)
            if self._claim(f"passport:{number}"):
                return number

    def hk_mo_permit(self, nationality: str) -> str:
        """港澳居民来往内地通行证: H (Hong Kong) or M (Macau) and 8 digits."""
        letter = "M" if nationality == "MAC" else "H"
        while True:
            number = letter + self._digits(8)
            if self._claim(f"hk_mo:{number}"):
                return number

    def tw_permit(self) -> str:
        """台湾居民来往大陆通行证: 8 digits."""
        while True:
            number = self._digits(8)
            if self._claim(f"tw:{number}"):
                return number

    def foreign_pr(self, nationality: str, birth: int) -> str:
        """外国人永久居留身份证 (2004 card): nationality, issuing province 31, birth yymmdd,
        a sequence and a check digit: 15 characters."""
        born = datetime.date.fromordinal(birth).strftime("%y%m%d")
        while True:
            number = f"{nationality}31{born}{self._digits(4)}"
            if self._claim(f"pr:{number}"):
                return number

    def mobile(self) -> str:
        return self.rng.choice(_MOBILE_PREFIXES) + self._digits(8)
