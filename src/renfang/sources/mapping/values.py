"""Reading one value of a field: codes, dates, ID numbers, phones, divisions.

Each field's reader is made once per mapping and called for every record, so readers are
closures over what they need and return plain text when they can.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Callable
from typing import NamedTuple

from django.conf import settings
from django.utils.translation import gettext as _

from renfang.areas.models import Area
from renfang.codes.selectors import active_codes, division_prefixes, historic_divisions
from renfang.people.idnumbers import normalize, upgrade_15
from renfang.sources.mapping.fields import CODE_SETS, ISO_DATE

_TAG_SEPARATORS = re.compile(r"[\s,，、;；]+")
_PHONE_NOISE = re.compile(r"[\s\-().]+")
_PHONE = re.compile(r"\+?\d+")
_RESIDENT_ID_18 = re.compile(r"\d{17}[\dX]")
# A number cell written as text past the digits a float holds (readers.cell_text): 3.1e+17.
_NUMBER_CELL = re.compile(r"\d+\.\d*(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+")


class Read(NamedTuple):
    """A value a rule could not turn into a mapped value: why (``problem``), or the code no
    table knows (``unmapped``). Readers return the mapped text when they can, None for a value
    that is known to mean nothing (a code mapped to ``~``), and a Read otherwise."""

    problem: str | None = None  # the reason it cannot be read
    unmapped: str | None = None  # a code no table knows


Result = str | Read | None
Reader = Callable[[str], Result]


def code_reader(field_name: str, codes: dict[str, str | None]) -> Reader:
    standard = active_codes(CODE_SETS[field_name])

    def read(value: str) -> Result:
        if value in codes:
            return codes[value]
        if value in standard:
            return value
        folded = unicodedata.normalize("NFKC", value).strip()
        if folded in codes:
            return codes[folded]
        if folded in standard:
            return folded
        return Read(unmapped=value)

    return read


def tags_reader(codes: dict[str, str | None]) -> Callable[[str], list[Result]]:
    single = code_reader("tags", codes)

    def read(value: str) -> list[Result]:
        return [single(token) for token in _TAG_SEPARATORS.split(value) if token]

    return read


# What strptime's own patterns are for these directives: the quick parser reads exactly what
# strptime would, without strptime's per-call locale work (a third of an import's time).
_DIRECTIVES = {
    "%Y": r"(\d\d\d\d)",
    "%m": r"(1[0-2]|0[1-9]|[1-9])",
    "%d": r"(3[01]|[12]\d|0[1-9]|[1-9]| [1-9])",
}
_DIRECTIVE = re.compile(r"%.")


def quick_date(date_format: str) -> Callable[[str], datetime.date] | None:
    """A parser for a format of %Y, %m and %d and literal text, or None for any other."""
    directives = _DIRECTIVE.findall(date_format)
    if sorted(directives) != ["%Y", "%d", "%m"]:
        return None
    pattern: list[str] = []
    for piece in re.split(r"(%.)", date_format):
        if piece in _DIRECTIVES:
            pattern.append(_DIRECTIVES[piece])
        else:
            pattern.extend(r"\s+" if char.isspace() else re.escape(char) for char in piece)
    matcher = re.compile("".join(pattern), re.IGNORECASE).fullmatch
    order = [directive[1] for directive in directives]
    year, month, day = order.index("Y") + 1, order.index("m") + 1, order.index("d") + 1

    def parse(value: str) -> datetime.date:
        found = matcher(value)
        if found is None:
            raise ValueError(value)
        return datetime.date(int(found[year]), int(found[month]), int(found[day]))

    return parse


def strptime_date(date_format: str) -> Callable[[str], datetime.date]:
    def parse(value: str) -> datetime.date:
        return datetime.datetime.strptime(value, date_format).date()  # noqa: DTZ007

    return parse


def date_reader(formats: tuple[str, ...]) -> Reader:
    # A date already written YYYY-MM-DD (as XLSX date cells are read) is always a date.
    tried = formats if ISO_DATE in formats else (*formats, ISO_DATE)
    parsers = [quick_date(f) or strptime_date(f) for f in tried]
    reason = _("%(value)r is not a date (format %(formats)s)")
    written = _(" or ").join(formats)

    def read(value: str) -> Result:
        for parse in parsers:
            try:
                return parse(value).isoformat()
            except ValueError:
                continue
        return Read(problem=reason % {"value": value, "formats": written})

    return read


def read_resident_id(value: str) -> Result:
    """A resident ID folded (full-width, spaces, lowercase x) and an old 15-digit number made
    18; a wrong check digit is kept as it is (linkage compares such numbers digit by digit),
    but a value that cannot be an ID number at all is a problem."""
    if _NUMBER_CELL.fullmatch(value):
        return _stored_as_number(value)
    number = normalize(value)
    if len(number) == 15 and number.isdigit():
        return upgrade_15(number)
    if _RESIDENT_ID_18.fullmatch(number):
        return number
    if len(number) not in (15, 18):
        reason = _("%(value)r is not a resident ID number: it has %(length)d characters") % {
            "value": value,
            "length": len(number),
        }
    else:
        reason = _(
            "%(value)r is not a resident ID number: it is not 17 digits and a digit or X"
        ) % {"value": value}
    return Read(problem=reason)


def read_identifier(value: str) -> Result:
    """Another identifier (a passport, a social security number): folded, not validated, but
    never one that a spreadsheet cut short."""
    if _NUMBER_CELL.fullmatch(value):
        return _stored_as_number(value)
    return normalize(value) or None


def _stored_as_number(value: str) -> Read:
    return Read(
        problem=_(
            "%(value)r is an ID number stored as a number: the workbook kept only its first "
            "15 or so digits; keep ID numbers as text cells and export the file again"
        )
        % {"value": value}
    )


def read_phone(value: str) -> Result:
    phone = _PHONE_NOISE.sub("", unicodedata.normalize("NFKC", value))
    if _PHONE.fullmatch(phone):
        return phone
    return Read(problem=_("%(value)r is not a phone number") % {"value": value})


_COUNTY = 6  # digits of a county-level code, the part GB/T 2260 defines


def read_division(value: str) -> Result:
    """Digits only; whether they name a division is ``division_reader``'s question."""
    division = value if value.isascii() else unicodedata.normalize("NFKC", value).strip()
    if division.isascii() and division.isdigit():
        return division
    return Read(problem=_("%(value)r is not a division code (digits)") % {"value": value})


def division_reader() -> Reader:
    """A division code whose county part (its first six digits) is a county of China today, a
    county of an earlier revision of GB/T 2260, or a loaded area of the city; or the code of a
    province or prefecture over such counties (330000, 330200). A historic county
    code of the city that has one successor is read as that successor (嘉定县 310222 →
    嘉定区 310114), as the register import reads it (ADR 0026). When the division set is not
    loaded, digits are all that is checked."""
    current = active_codes("division")
    historic = historic_divisions()
    prefixes = division_prefixes()
    city = settings.RENFANG_CITY_CODE
    areas: dict[str, bool] = {}  # asked only for codes no county list knows (the city: "31")

    def is_area(division: str) -> bool:
        known = areas.get(division)
        if known is None:
            known = areas[division] = Area.objects.filter(code=division).exists()
        return known

    def read(value: str) -> Result:
        division = read_division(value)
        if not isinstance(division, str) or not current:
            return division
        county = division[:_COUNTY]
        known = historic.get(county)
        if known and known.successor and len(division) == _COUNTY and division.startswith(city):
            return known.successor
        if county in current or county in historic or is_area(division):
            return division
        if len(division) == _COUNTY and (
            (division.endswith("0000") and division[:2] in prefixes)
            or (division.endswith("00") and division[:4] in prefixes)
        ):
            return division
        return Read(
            problem=_(
                "%(value)r is not a county-level division in any revision of GB/T 2260 since 1980"
            )
            % {"value": value}
        )

    return read


def read_text(value: str) -> Result:
    return value
