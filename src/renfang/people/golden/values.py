"""A source record's value for a golden field, and when two values say the same thing.

Values come from ``SourceRecord.mapped`` (stripped strings; absent = unknown). A name that came
split counts as family name + given name; ID numbers are folded (full-width, spaces, case; an
old 15-digit resident ID as its 18-digit form); phones lose separators and China's +86. Two
values *agree* when they differ only in how they were typed: traditional and simplified
characters, a minority name's middle dot, a division code given at a coarser level.
"""

from __future__ import annotations

import datetime
import importlib
import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

from renfang.people.idnumbers import normalize, upgrade_15
from renfang.people.models import IdType

_PHONE_SEPARATORS = re.compile(r"[\s\-()（）]")
_PHONE_PREFIX = re.compile(r"^(\+86|0086)")
# The middle dot of minority names and the look-alikes people type for it.
_NAME_NOISE = re.compile(r"[\s·•‧・．.\u00b7\u2027\u30fb\uff65]")
# GB/T 2261.1: 0 not known, 9 not stated: say nothing against a known sex.
_UNKNOWN_SEX = frozenset({"0", "9"})


# opencc-python-reimplemented has no type information: imported as a plain module.
# Code sets whose two-digit codes nest (marital status, education): "20" married (GB/T
# 2261.2) covers 21 first marriage, 22 remarried, 23 remarried to the former spouse; "20"
# university (GB/T 4658) covers 21, 22…
def _within(general: str, specific: str) -> bool:
    """Whether ``specific`` is one of the codes that ``general`` (an "X0" code) covers."""
    return (
        len(general) == len(specific) == 2  # noqa: PLR2004 (two-digit codes)
        and general[1] == "0"
        and general[0] == specific[0]
    )


_T2S = importlib.import_module("opencc").OpenCC("t2s")


def compose_name(family_name: str, given_name: str) -> str:
    """A split name whole: family name first (Chinese order); Latin halves keep a space."""
    if family_name.isascii() and given_name.isascii():
        return f"{family_name} {given_name}".strip()
    return f"{family_name}{given_name}"


def record_value(mapped: dict[str, str], field: str) -> str:
    """The record's value for a golden field, in the form the golden record stores ("" none)."""
    value = mapped.get(field) or ""
    if field == "name" and not value:
        family, given = mapped.get("family_name") or "", mapped.get("given_name") or ""
        if family or given:
            value = compose_name(family.strip(), given.strip())
    elif field == "id_number" and value:
        value = fold_id_number(value, mapped.get("id_type") or "")
    elif field == "phone" and value:
        value = unicodedata.normalize("NFKC", value)
        value = _PHONE_PREFIX.sub("", _PHONE_SEPARATORS.sub("", value))
    return value.strip() if isinstance(value, str) else ""


def fold_id_number(value: str, id_type: str) -> str:
    number = normalize(value)
    if id_type == IdType.RESIDENT_ID and len(number) == 15 and number.isdigit():
        return upgrade_15(number)
    return number


@lru_cache(maxsize=65536)
def _name_key(name: str) -> str:
    folded = _NAME_NOISE.sub("", unicodedata.normalize("NFKC", name)).casefold()
    return str(_T2S.convert(folded)) if not folded.isascii() else folded


def agree(field: str, first: str, second: str) -> bool:
    """Whether two values of a field say the same (are no conflict)."""
    if first == second:
        return True
    same = _AGREEMENT.get(field)
    if same is not None:
        return same(first, second)
    return first.strip().casefold() == second.strip().casefold()


def _nested(first: str, second: str) -> bool:
    return _within(first, second) or _within(second, first)


def _prefix(first: str, second: str) -> bool:
    return first.startswith(second) or second.startswith(first)


# How two different values of a field may still agree.
_AGREEMENT: dict[str, Callable[[str, str], bool]] = {
    "name": lambda first, second: _name_key(first) == _name_key(second),
    "id_number": lambda first, second: normalize(first) == normalize(second),
    "sex": lambda first, second: first in _UNKNOWN_SEX or second in _UNKNOWN_SEX,
    "hukou_division": _prefix,
    "residence_division": _prefix,
    "marital_status": _nested,
    "education": _nested,
}


def parse_day(value: str) -> datetime.date | None:
    """An ISO date, or None for anything else."""
    try:
        return datetime.date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        return None
