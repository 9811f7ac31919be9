"""What two records must agree on to be one person, folded so that spelling does not matter.

Department systems write the same person differently (DOMAIN.md, "Many sources, one record"):
ID numbers in the old 15-digit form, with full-width digits, a lowercase x or spaces; names in
traditional characters (陳), with or without the middle dot of minority names (阿依古丽·买买提),
typed with another character of the same sound (伟/玮); phones with +86 and dashes. The keys
here are what linkage compares. Names repeat a lot (a million people have far fewer distinct
characters and names), so every conversion is cached per character and per name.
"""

from __future__ import annotations

import csv
import datetime
import functools
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from django.utils import timezone
from opencc import OpenCC  # type: ignore[import-untyped]
from pypinyin import lazy_pinyin

from renfang.people.idnumbers import upgrade_15

SURNAMES_FILE = Path(__file__).resolve().parent / "data" / "surnames.csv"
LOOKALIKES_FILE = Path(__file__).resolve().parent / "data" / "lookalikes.txt"

RESIDENT_ID = "resident_id"
# GB 11643 weights of the first 17 digits and the check character for each remainder mod 11.
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
_EARLIEST_BIRTH_YEAR = 1880


# ---------------------------------------------------------------- ID numbers


@dataclass(frozen=True, slots=True)
class IdKey:
    """An identifier as linkage compares it.

    ``kind`` is ``resident_id`` for a citizen ID number (also when the id_type is unknown and
    the number has the shape of one), the id_type for other identifiers, ``""`` for none.
    ``valid`` is true for a resident ID of 18 characters with the right check character and a
    real birth date inside, and for any non-empty identifier of another kind (those are
    compared as identifiers, never checked against GB 11643).
    """

    number: str
    valid: bool
    kind: str

    @property
    def valid_resident_id(self) -> bool:
        return self.valid and self.kind == RESIDENT_ID


_NO_ID = IdKey("", False, "")
_ID_JUNK = re.compile(r"[\s\-_]")


def fold_identifier(raw: str) -> str:
    """Full-width characters, spaces, dashes and case folded away."""
    return _ID_JUNK.sub("", unicodedata.normalize("NFKC", raw)).upper()


def check_character(first_17: str) -> str:
    return ID_CHECK[sum(int(d) * w for d, w in zip(first_17, ID_WEIGHTS, strict=True)) % 11]


def id_birth_date(number: str) -> datetime.date | None:
    """The birth date inside an 18-character number, when it is a real one."""
    part = number[6:14]
    if len(part) != 8 or not part.isdigit():
        return None
    try:
        day = datetime.date(int(part[:4]), int(part[4:6]), int(part[6:8]))
    except ValueError:
        return None
    if day.year < _EARLIEST_BIRTH_YEAR or day > timezone.localdate():
        return None
    return day


def _looks_resident(number: str) -> bool:
    return (len(number) == 15 and number.isdigit()) or (len(number) == 18 and number[:17].isdigit())


def id_key(id_type: str, raw: str) -> IdKey:
    """The identifier of a record: resident IDs folded, 15 digits made 18, checked."""
    number = fold_identifier(raw or "")
    if not number:
        return _NO_ID
    kind = (id_type or "").strip()
    if kind not in ("", RESIDENT_ID):
        return IdKey(number, True, kind)
    if not kind and not _looks_resident(number):
        return IdKey(number, True, "other")
    if len(number) == 15 and number.isdigit():
        number = upgrade_15(number)
    valid = (
        len(number) == 18
        and number[:17].isdigit()
        and number[17] == check_character(number[:17])
        and id_birth_date(number) is not None
    )
    return IdKey(number, valid, RESIDENT_ID)


class IdSimilarity(StrEnum):
    """How close two resident ID numbers are, for numbers that are not both valid."""

    EQUAL = "equal"
    CHECK_DIGIT = "check digit differs"  # the first 17 agree
    BIRTH_DATE_PART = "birth date part differs"  # region and sequence agree
    ONE_DIGIT = "one digit differs"
    TRANSPOSED = "two adjacent digits swapped"
    DIFFERENT = "different"


def id_rest(number: str) -> str:
    """Region and sequence (characters 1–6 and 15–17): the number without its birth date
    and check character. Linkage compares this part, and the birth date on its own, so that a
    birth date is never counted twice (DOMAIN.md)."""
    return number[:6] + number[14:17] if len(number) == 18 else number


def _one_substitution(a: str, b: str) -> bool:
    return len(a) == len(b) and sum(x != y for x, y in zip(a, b, strict=True)) == 1


def _one_transposition(a: str, b: str) -> bool:
    if len(a) != len(b):
        return False
    diffs = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    return (
        len(diffs) == 2
        and diffs[1] == diffs[0] + 1
        and a[diffs[0]] == b[diffs[1]]
        and a[diffs[1]] == b[diffs[0]]
    )


def id_similarity(a: str, b: str) -> IdSimilarity:
    """The kind of typing error that would turn one number into the other, if any."""
    if a == b:
        return IdSimilarity.EQUAL
    if len(a) == len(b) == 18 and a[:17] == b[:17]:
        return IdSimilarity.CHECK_DIGIT
    if len(a) == len(b) == 18 and id_rest(a) == id_rest(b):
        return IdSimilarity.BIRTH_DATE_PART
    body_a, body_b = a[:17], b[:17]
    if _one_substitution(body_a, body_b):
        return IdSimilarity.ONE_DIGIT
    if _one_transposition(body_a, body_b):
        return IdSimilarity.TRANSPOSED
    return IdSimilarity.DIFFERENT


# ---------------------------------------------------------------- names

# Spaces and the middle dots of minority and foreign names (阿依古丽·买买提): dropped.
_NAME_DROP = frozenset(" \t\u3000·・•‧.･‐-－﹒")
_CONVERTER = OpenCC("t2s")


@dataclass(frozen=True, slots=True)
class NameKeys:
    """A name in the forms linkage compares.

    ``simplified``: simplified characters, half-width, no spaces or dots. ``pinyin``: tone-less
    syllables run together (the surname read as a surname: 单 shan, 曾 zeng). ``initials``: the
    first letter of each syllable. ``fuzzy``: the pinyin with the sounds that southern speakers
    and typists mix up folded together (zh/z, ch/c, sh/s, n/l, -ng/-n), so that a homophone or
    near-homophone typed for the right character still agrees.
    """

    simplified: str
    surname: str
    given: str
    pinyin: str
    surname_pinyin: str
    given_pinyin: str
    initials: str
    fuzzy: str
    shape: str


@functools.cache
def _surname_table() -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    """(compound surnames, single-character surnames) → syllables, from surnames.csv."""
    compound: dict[str, tuple[str, ...]] = {}
    single: dict[str, tuple[str, ...]] = {}
    with SURNAMES_FILE.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        for row in rows:
            surname = row["surname"].strip()
            syllables = tuple(row["pinyin"].split())
            (compound if len(surname) > 1 else single)[surname] = syllables
    return compound, single


@functools.cache
def _lookalike_table() -> dict[str, str]:
    """Each look-alike character → the first character of its group."""
    table: dict[str, str] = {}
    with LOOKALIKES_FILE.open(encoding="utf-8") as handle:
        for line in handle:
            group = line.strip()
            if group and not group.startswith("#"):
                for char in group:
                    table.setdefault(char, group[0])
    return table


def shape_key(simplified: str) -> str:
    table = _lookalike_table()
    return "".join(table.get(c, c) for c in simplified)


@functools.cache
def simplified_char(char: str) -> str:
    converted: str = _CONVERTER.convert(char)
    return converted


@functools.cache
def char_pinyin(char: str) -> str:
    """The usual reading of one character, without tone; other characters as they are."""
    if "\u3400" <= char <= "\u9fff" or "\U00020000" <= char <= "\U0002ebef":
        syllables = lazy_pinyin(char)
        return syllables[0] if syllables else char
    return char


_FUZZY_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("n", "l"))
_FUZZY_FINALS = (("ing", "in"), ("eng", "en"), ("ang", "an"))


@functools.cache
def fuzzy_syllable(syllable: str) -> str:
    for long, short in _FUZZY_INITIALS:
        if syllable.startswith(long):
            syllable = short + syllable[len(long) :]
            break
    for long, short in _FUZZY_FINALS:
        if syllable.endswith(long):
            syllable = syllable[: -len(long)] + short
            break
    return syllable


# raw character → (its simplified text, its shape text): NFKC, lower case, dots and spaces
# dropped, traditional to simplified, look-alikes to their group's first. Filled as met.
_CHARS: dict[str, tuple[str, str]] = {}
# simplified character → (tone-less syllable, fuzzy syllable); Latin letters stay as they are.
_SYLLABLES: dict[str, tuple[str, str]] = {}


def _char(raw: str) -> tuple[str, str]:
    text = unicodedata.normalize("NFKC", raw).lower()
    simplified = "".join(simplified_char(c) for c in text if c not in _NAME_DROP)
    return simplified, shape_key(simplified)


def _syllable(char: str) -> tuple[str, str]:
    syllable = char_pinyin(char)
    return syllable, fuzzy_syllable(syllable)


def _fold(raw: str) -> tuple[str, str]:
    """(simplified, shape) of a name or a part of one."""
    chars = _CHARS
    simplified: list[str] = []
    shape: list[str] = []
    for raw_char in raw:
        known = chars.get(raw_char)
        if known is None:
            known = chars[raw_char] = _char(raw_char)
        simplified.append(known[0])
        shape.append(known[1])
    return "".join(simplified), "".join(shape)


def simplify_name(raw: str) -> str:
    """NFKC (full-width to half-width), lower case, no spaces or dots, simplified characters."""
    return _fold(raw)[0]


def _syllables(text: str) -> tuple[list[str], list[str]]:
    """(syllables, fuzzy syllables) of a simplified text: a Latin text is one syllable."""
    if text.isascii():
        return ([text], [text]) if text else ([], [])
    table = _SYLLABLES
    plain: list[str] = []
    fuzzy: list[str] = []
    for char in text:
        known = table.get(char)
        if known is None:
            known = table[char] = _syllable(char)
        plain.append(known[0])
        fuzzy.append(known[1])
    return plain, fuzzy


def name_key_row(
    name: str, family_name: str = "", given_name: str = ""
) -> tuple[str, str, str, str, str, str, str, str, str]:
    """The keys of a name as a row: simplified, surname, given, pinyin, surname pinyin,
    given pinyin, initials, fuzzy, shape (``NameKeys``' fields; the fast path for millions
    of records)."""
    if family_name or given_name:
        surname, surname_shape = _fold(family_name)
        given, given_shape = _fold(given_name)
        simplified, shape = surname + given, surname_shape + given_shape
        if not simplified:
            return _EMPTY_ROW
        surname_syllables = _surname_syllables(surname) if surname else ([], [])
    else:
        simplified, shape = _fold(name)
        if not simplified:
            return _EMPTY_ROW
        surname, given, surname_syllables = _split(simplified, name)
    given_plain, given_fuzzy = _syllables(given)
    surname_plain, surname_fuzzy = surname_syllables
    surname_pinyin = "".join(surname_plain)
    given_pinyin = "".join(given_plain)
    return (
        simplified,
        surname,
        given,
        surname_pinyin + given_pinyin,
        surname_pinyin,
        given_pinyin,
        "".join(s[0] for s in surname_plain if s) + "".join(s[0] for s in given_plain if s),
        "".join(surname_fuzzy) + "".join(given_fuzzy),
        shape,
    )


_EMPTY_ROW = ("", "", "", "", "", "", "", "", "")


@functools.lru_cache(maxsize=100_000)
def name_keys(name: str, family_name: str = "", given_name: str = "") -> NameKeys:
    """The keys of a name; ``family_name``/``given_name`` when the source split it."""
    return NameKeys(*name_key_row(name, family_name, given_name))


def _known_syllables(syllables: tuple[str, ...]) -> tuple[list[str], list[str]]:
    return list(syllables), [fuzzy_syllable(s) for s in syllables]


def _surname_syllables(surname: str) -> tuple[list[str], list[str]]:
    compound, single = _surname_table()
    known = compound.get(surname) or single.get(surname)
    if known:
        return _known_syllables(known)
    return _syllables(surname)


def _split(simplified: str, raw: str) -> tuple[str, str, tuple[list[str], list[str]]]:
    """Surname and given name of a name written whole: a compound surname (欧阳) when the
    name is long enough to hold one, else the first character. A Latin name's first word."""
    if simplified.isascii():
        words = unicodedata.normalize("NFKC", raw).lower().split()
        first = "".join(c for c in words[0] if c not in _NAME_DROP) if words else ""
        return first, simplified[len(first) :], ([first], [first]) if first else ([], [])
    compound, single = _surname_table()
    if len(simplified) >= 3 and simplified[:2] in compound:
        return simplified[:2], simplified[2:], _known_syllables(compound[simplified[:2]])
    first = simplified[0]
    known = single.get(first)
    return first, simplified[1:], _known_syllables(known) if known else _syllables(first)


# ---------------------------------------------------------------- phones

_PHONE_KEEP = re.compile(r"[^0-9+]")
_MIN_PHONE_DIGITS = 7
_MOBILE_DIGITS = 11


@functools.lru_cache(maxsize=200_000)
def phone_key(raw: str) -> str:
    """A phone number as digits: +86/0086/86 prefixes, spaces and dashes gone; a landline
    with its leading 0 (021…). Too short to be a number: empty."""
    text = _PHONE_KEEP.sub("", unicodedata.normalize("NFKC", raw or ""))
    international = False
    if text.startswith("+86"):
        text, international = text[3:], True
    elif text.startswith("0086"):
        text, international = text[4:], True
    elif text.startswith("86") and len(text) == _MOBILE_DIGITS + 2 and text[2] == "1":
        text, international = text[2:], True
    text = text.replace("+", "")
    if international and text and not text.startswith(("1", "0")):
        text = "0" + text
    return text if len(text) >= _MIN_PHONE_DIGITS else ""
