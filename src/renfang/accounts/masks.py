"""Masked ID and phone numbers, and how many numbers a mask leaves (ADR 0021).

A mask shows a few characters of a number to a role that may not see it whole. What it may
show is bound by ``RENFANG_MASK_MIN_CANDIDATES``: the characters it hides must, on their own,
leave at least that many numbers (``hidden_candidates``). A resident ID number never shows its
sequence or check digits, whatever the setting: they are the only part of the number that the
birth date, the sex and the region (all shown to the same role, or guessable) do not give away.

Even so, a resident ID number whose holder's birth date and sex are shown leaves only
``SEQUENCES_PER_SEX`` = 500 candidates once the region is guessed (``resident_id_candidates``
enumerates them): no mask can do better, so the guard against guessing is the bound on
exact-number searches (``renfang.people.identify``), not the mask.
"""

from __future__ import annotations

import datetime
import functools
import re
from collections.abc import Iterator

from django.conf import settings
from django.utils import timezone

from renfang.people.idnumbers import check_character

# 18-digit resident ID numbers (and the 2023 foreign permanent residence cards, which follow
# their layout), old 15-digit ones, and any long run of digits that is probably one of them
# with a digit too many or too few.
_RESIDENT_SHAPE = re.compile(r"\d{13,}[\dX]")
_COUNTRY_PREFIX = re.compile(r"^(\+86|0086|86(?=1\d{10}$))")

# A resident ID number: 6 region digits, 8 (15-digit: 6) birth date digits, 3 sequence digits
# (the last odd for men), 1 check character.
RESIDENT_PREFIX_SHOWN = 4  # province and city: the hukou division tells as much
SEQUENCES_PER_SEX = 500  # 100 × 5 odd (or even) last sequence digits
EARLIEST_BIRTH = datetime.date(1900, 1, 1)

# Other documents show at most two characters at each end; phones the country prefix and
# three digits (the operator), and two at the end.
DOCUMENT_PREFIX_SHOWN = 2
DOCUMENT_SUFFIX_SHOWN = 2
FOREIGN_PR_PREFIX_SHOWN = 3  # the nationality letters of the 15-character card
PHONE_PREFIX_SHOWN = 3
PHONE_SUFFIX_SHOWN = 2


def min_candidates() -> int:
    return int(getattr(settings, "RENFANG_MASK_MIN_CANDIDATES", 10_000))


def is_resident_shaped(value: str) -> bool:
    return bool(_RESIDENT_SHAPE.fullmatch(value))


@functools.lru_cache(maxsize=4)
def _birth_dates(today: datetime.date, two_digit_year: bool) -> int:
    """How many birth dates a resident ID number's hidden date digits can hold."""
    if two_digit_year:  # 15-digit numbers: born 1900-1999
        return (datetime.date(2000, 1, 1) - EARLIEST_BIRTH).days
    return (today - EARLIEST_BIRTH).days + 1


def _character_choices(char: str) -> int:
    if char.isdigit():
        return 10
    if char.isalpha():
        return 26
    return 1  # a separator: its place is known


def hidden_candidates(value: str, shown_prefix: int, shown_suffix: int, *, kind: str) -> int:
    """How many numbers of the kind the hidden characters leave on their own (nothing else
    known). ``kind``: ``resident`` (counted by its layout: the region is taken as known, as it
    is guessable; the birth date as any day since 1900; the check character as determined),
    ``phone`` (10 per hidden digit) or ``document`` (10 per hidden digit, 26 per letter)."""
    hidden = value[shown_prefix : len(value) - shown_suffix]
    if not hidden:
        return 1
    if kind == "resident":
        if shown_suffix:
            # Shown sequence digits leave only the birth date: never done (see the module).
            return _birth_dates(timezone.localdate(), len(value) == 15)  # noqa: PLR2004
        return _birth_dates(timezone.localdate(), len(value) == 15) * 1000  # noqa: PLR2004
    count = 1
    for char in hidden:
        count *= _character_choices(char)
    return count


def _masked(value: str, prefix: int, suffix: int) -> str:
    return value[:prefix] + "*" * (len(value) - prefix - suffix) + value[len(value) - suffix :]


def _fit(value: str, prefix: int, suffix: int, *, kind: str, fixed: int = 0) -> str:
    """The mask showing the most of ``prefix``/``suffix`` whose hidden characters leave at
    least the minimum (fewer shown at the end first, then at the start; all hidden if even
    that is not enough). ``fixed`` characters at the start are shown whatever (+86)."""
    wanted = min_candidates()
    prefix = min(prefix, len(value))
    suffix = max(0, min(suffix, len(value) - prefix))
    while prefix > fixed or suffix:
        if hidden_candidates(value, prefix, suffix, kind=kind) >= wanted:
            return _masked(value, prefix, suffix)
        if suffix:
            suffix -= 1
        else:
            prefix -= 1
    return _masked(value, prefix, 0)


def mask_id_number(value: str, id_type: str = "") -> str:
    """An ID number as a masked role sees it: ``310104199001011234`` → ``3101**************``
    (province and city only: never the sequence or check digits); a passport, permit or
    other number keeps up to two characters at each end (``E1*****78``), as long as what it
    hides leaves ``RENFANG_MASK_MIN_CANDIDATES`` numbers."""
    if not value:
        return value
    if is_resident_shaped(value):
        return _fit(value, RESIDENT_PREFIX_SHOWN, 0, kind="resident")
    if id_type == "foreign_pr":
        return _fit(value, FOREIGN_PR_PREFIX_SHOWN, 0, kind="document")
    return _fit(value, DOCUMENT_PREFIX_SHOWN, DOCUMENT_SUFFIX_SHOWN, kind="document")


def mask_phone(value: str) -> str:
    """``13812345678`` → ``138******78``; ``+8613812345678`` → ``+86138******78``."""
    if not value:
        return value
    country = _COUNTRY_PREFIX.match(value)
    fixed = len(country.group(0)) if country else 0
    return _fit(value, fixed + PHONE_PREFIX_SHOWN, PHONE_SUFFIX_SHOWN, kind="phone", fixed=fixed)


# --- what an attacker is left with ----------------------------------------------------------


def _fits(masked: str, candidate: str) -> bool:
    return len(masked) == len(candidate) and all(
        m in ("*", c) for m, c in zip(masked, candidate, strict=True)
    )


def resident_id_candidates(
    masked: str, *, regions: list[str], birth_date: datetime.date, sex: str
) -> Iterator[str]:
    """Every valid 18-digit resident ID number that fits a masked one, for a holder whose
    birth date and sex (GB/T 2261.1: 1 male, 2 female) are known and whose region is one of
    ``regions`` (guessed from the hukou division): in ascending order, as an attacker would
    try them."""
    date = birth_date.strftime("%Y%m%d")
    parity = 1 if sex == "1" else 0
    for region in sorted(set(regions)):
        for sequence in range(1000):
            if sequence % 2 != parity:
                continue
            body = f"{region}{date}{sequence:03d}"
            candidate = body + check_character(body)
            if _fits(masked, candidate):
                yield candidate


def phone_candidates(masked: str) -> Iterator[str]:
    """Every number that fits a masked phone number, in ascending order."""
    hidden = masked.count("*")
    for n in range(10**hidden):
        digits = iter(f"{n:0{hidden}d}")
        yield "".join(next(digits) if m == "*" else m for m in masked)


def phone_candidate_count(masked: str) -> int:
    return int(10 ** masked.count("*"))


def candidates_left(value: str, masked: str, *, phone: bool = False) -> int:
    """How many numbers a mask of ``value`` leaves on its own hidden characters (what
    ``RENFANG_MASK_MIN_CANDIDATES`` bounds)."""
    if "*" not in masked:
        return 1
    prefix = masked.index("*")
    suffix = len(masked) - masked.rindex("*") - 1
    if phone:
        kind = "phone"
    elif is_resident_shaped(value):
        kind = "resident"
    else:
        kind = "document"
    return hidden_candidates(value, prefix, suffix, kind=kind)
