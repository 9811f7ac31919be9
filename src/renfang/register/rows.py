"""Reading the register format: one CSV row per residence spell, checked field by field.

Columns (UTF-8, header row): id_type, id_number, name, sex, birth_date, nationality,
hukou_division, hukou_type, residence_division, [residence_house_code], residence_from,
residence_to, [phone]. Rows with the same id_type + id_number are one person. A row with no
residence_division (whereabouts unknown) may leave residence_from and residence_to empty:
unknown since a day nobody knows, or still unknown (ADR 0028). A text that
starts with a single quote and then a formula character (``'=…``) is read without the quote:
renfang's own export writes it so, to keep spreadsheets from evaluating it.
"""

from __future__ import annotations

import datetime
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.conf import settings

from renfang.core.csvimport import RowError
from renfang.core.spreadsheets import GUARD, unguard
from renfang.people.idnumbers import IdNumberError, normalize, parse_resident_id
from renfang.people.models import IdType

REQUIRED_COLUMNS = [
    "id_type",
    "id_number",
    "name",
    "sex",
    "birth_date",
    "nationality",
    "hukou_division",
    "hukou_type",
    "residence_division",
    "residence_from",
    "residence_to",
]
OPTIONAL_COLUMNS = ["residence_house_code", "phone"]
EXPORT_COLUMNS = [
    *REQUIRED_COLUMNS[:9],
    "residence_house_code",
    "residence_from",
    "residence_to",
    "phone",
]

ID_TYPES = frozenset(IdType.values)
HOUSEHOLD_TYPES = frozenset({"family", "collective"})
# HK, Macau and Taiwan residents' residence permits carry 18-character numbers like a
# citizen's, with region 810000 / 820000 / 830000.
PERMIT_REGIONS = {"81": "HKG", "82": "MAC", "83": "TWN"}
_DOCUMENT_PATTERNS = {
    IdType.PASSPORT: re.compile(r"[A-Z0-9]{5,20}"),
    IdType.HK_MO_PERMIT: re.compile(r"[HM]\d{8}(\d{2})?"),
    IdType.TW_PERMIT: re.compile(r"\d{8}(\d{2})?"),
    IdType.FOREIGN_PR: re.compile(r"[A-Z]{3}\d{12}|9\d{17}|[A-Z0-9]{15,18}"),
}
_PHONE_PREFIX = re.compile(r"^(\+86|0086|86(?=1\d{10}$))")
_DIVISION = re.compile(r"\d{6}(\d{3}(\d{3}(\d{1,8})?)?)?")
_PHONE_NOISE = re.compile(r"[\s\-()]")
# What the checks remember, per RowChecker: a person's rows (2.5 on average) repeat their
# identity, hukou and phone, and many rows share divisions. Bounded, so that a file whose
# persons' rows lie far apart costs lookups, not memory.
_REMEMBERED = 16384
# A check's result, with its errors on line 0: the row's own line is put in when it is used.
_Found = tuple[RowError, ...]


@dataclass(frozen=True, slots=True)
class Identity:
    name: str
    sex: str
    birth_date: datetime.date | None
    nationality: str


@dataclass(frozen=True, slots=True)
class SpellRow:
    line: int
    valid_from: datetime.date | None  # None: whereabouts unknown since a day nobody knows
    valid_to: datetime.date | None
    residence_division: str | None
    house_id: int | None
    hukou_division: str | None
    hukou_type: str


@dataclass(slots=True)
class PersonRows:
    """Every row of one person, in file order, with the line where the person first appears."""

    id_type: str
    id_number: str
    identity: Identity
    first_line: int
    phone: str | None = None
    phone_line: int = 0
    spells: list[SpellRow] = field(default_factory=list)


@dataclass(frozen=True)
class Reference:
    """What the checks need to know about the register: code sets, areas and houses."""

    sexes: frozenset[str]
    nationalities: frozenset[str]
    divisions: frozenset[str]  # county-level divisions of China (6 digits)
    # County codes of earlier GB/T 2260 revisions → the division of today that carries each on
    # ("" when no single one does; ADR 0026).
    historic: Mapping[str, str]
    areas: frozenset[str]  # loaded areas of the city
    houses: dict[str, tuple[int, str]]  # house_code → (id, area code)
    today: datetime.date


class RowChecker:
    """Turns one CSV row into a person key, an identity and a spell, or into RowErrors."""

    def __init__(self, reference: Reference) -> None:
        self.ref = reference
        self._dates: dict[str, datetime.date] = {}
        self._city = settings.RENFANG_CITY_CODE  # read once: settings lookups are slow per row
        # Rows whose birth date differs from the one inside the ID number: kept as given (a
        # corrected birth date, 出生日期更正, keeps the number it was issued with), counted.
        self.birth_dates_differing = 0
        self._person = functools.lru_cache(maxsize=_REMEMBERED)(self._person_of)
        self._hukou = functools.lru_cache(maxsize=_REMEMBERED)(self._hukou_of)
        self._division = functools.lru_cache(maxsize=_REMEMBERED)(self._division_of)
        self._phone = functools.lru_cache(maxsize=_REMEMBERED)(self._phone_of)

    def forget(self) -> None:
        """Drop what the checks remember: the caches refer to the checker, a cycle that would
        keep them alive until the cyclic collector next runs."""
        for cache in (self._person, self._hukou, self._division, self._phone):
            cache.cache_clear()
        self._dates.clear()

    def date(self, raw: str, column: str, line: int, errors: list[RowError]) -> datetime.date:
        cached = self._dates.get(raw)
        if cached is not None:
            return cached
        try:
            if len(raw) != 10:
                raise ValueError(raw)
            value = datetime.date.fromisoformat(raw)
        except ValueError:
            errors.append(RowError(line, column, f"{raw!r} is not a date (YYYY-MM-DD)"))
            return datetime.date.min
        if value > self.ref.today:
            errors.append(RowError(line, column, f"{raw} is in the future"))
        else:  # only a right date is remembered: a wrong one is named on every row
            self._dates[raw] = value
        return value

    def division(self, raw: str, column: str, line: int, errors: list[RowError]) -> str | None:
        code = raw.strip()
        if not code:
            return None
        if not _DIVISION.fullmatch(code):
            errors.append(RowError(line, column, f"{code!r} is not a division code"))
            return None
        county = code[:6]
        historic = county in self.ref.historic
        if code.startswith(self._city):
            if historic and self.ref.historic[county] and len(code) == len(county):
                # 嘉定县 310222 is 嘉定区 310114 today: the city counts and grants by its areas
                # of today, so the city's own old code is recorded as its successor.
                code = county = self.ref.historic[county]
                historic = False
            if column == "residence_division" and code not in self.ref.areas:
                reason = "is not a loaded area of the city"
                if historic:
                    reason += " (a former district with no single successor)"
                errors.append(RowError(line, column, f"{code} {reason}"))
                return None
            if county not in self.ref.divisions and county not in self.ref.areas and not historic:
                errors.append(
                    RowError(
                        line,
                        column,
                        f"{county} is not a district of the city "
                        "in any revision of GB/T 2260 since 1980",
                    )
                )
                return None
        elif county not in self.ref.divisions and not historic:
            errors.append(
                RowError(
                    line,
                    column,
                    f"{county} is not a county-level division "
                    "in any revision of GB/T 2260 since 1980",
                )
            )
            return None
        return code

    def identity_key(
        self, raw_type: str, raw_number: str, line: int, errors: list[RowError]
    ) -> tuple[str, str, datetime.date | None, str | None]:
        """(id_type, normalised id_number, birth date in the ID, sex in the ID)."""
        id_type = raw_type.strip()
        if id_type not in ID_TYPES:
            errors.append(
                RowError(
                    line, "id_type", f"{id_type!r} is not one of {', '.join(sorted(ID_TYPES))}"
                )
            )
            return id_type, normalize(raw_number), None, None
        if id_type == IdType.RESIDENT_ID:
            try:
                resident = parse_resident_id(raw_number)
            except IdNumberError as exc:
                errors.append(RowError(line, "id_number", str(exc)))
                return id_type, normalize(raw_number), None, None
            return id_type, resident.number, resident.birth_date, resident.sex
        number = normalize(raw_number)
        if not _DOCUMENT_PATTERNS[IdType(id_type)].fullmatch(number):
            errors.append(
                RowError(line, "id_number", f"{number!r} is not a valid {id_type} number")
            )
        return id_type, number, None, None

    def phone(self, raw: str, line: int, errors: list[RowError]) -> str | None:
        digits = _PHONE_NOISE.sub("", raw)
        if not digits:
            return None
        digits = _PHONE_PREFIX.sub("", digits)
        if not digits.isdigit() or not 7 <= len(digits) <= 15:
            errors.append(RowError(line, "phone", f"{raw!r} is not a phone number"))
            return None
        if len(digits) == 11 and digits[0] == "1" and digits[1] not in "3456789":
            errors.append(RowError(line, "phone", f"{raw!r} is not a mainland mobile number"))
            return None
        return digits

    def check(
        self, row: dict[str, str], line: int
    ) -> tuple[tuple[str, str], Identity, SpellRow, str | None, list[RowError]]:
        values = row.values()
        if GUARD in "".join(values) and any(value and value[0] == GUARD for value in values):
            # renfang's own export guards text against formulas (renfang.core.spreadsheets).
            row = {key: unguard(value) if value else value for key, value in row.items()}
        # Each part is checked once for the values it reads (remembered, with its errors on
        # line 0), and its errors are put on this row's line.
        key, identity, differing, found = self._person(
            (
                row["id_type"],
                row["id_number"],
                row["name"],
                row["sex"],
                row["birth_date"],
                row["nationality"],
            )
        )
        errors = _on_line(found, line) if found else []
        if differing:
            self.birth_dates_differing += 1
        hukou_division, hukou_type, found = self._hukou(
            row["hukou_division"], row["hukou_type"], identity.nationality
        )
        if found:
            errors += _on_line(found, line)
        residence_division, house_id = self._residence_place(row, line, errors)
        valid_from, valid_to = self._residence_dates(
            row, line, errors, identity.birth_date, unknown_whereabouts=residence_division is None
        )
        phone, found = self._phone(row.get("phone") or "")
        if found:
            errors += _on_line(found, line)
        spell = SpellRow(
            line=line,
            valid_from=valid_from,
            valid_to=valid_to,
            residence_division=residence_division,
            house_id=house_id,
            hukou_division=hukou_division,
            hukou_type=hukou_type,
        )
        return key, identity, spell, phone, errors

    def _person_of(
        self, raw: tuple[str, str, str, str, str, str]
    ) -> tuple[tuple[str, str], Identity, bool, _Found]:
        """The person key, the identity, whether the birth date differs from the ID number's,
        and the errors (on line 0), from id_type, id_number, name, sex, birth_date and
        nationality as the file gives them."""
        raw_type, raw_number, name, sex, birth, nationality = raw
        errors: list[RowError] = []
        id_type, id_number, id_birth, id_sex = self.identity_key(raw_type, raw_number, 0, errors)
        identity, differing = self._identity(
            name,
            sex,
            birth,
            nationality,
            errors,
            id_type=id_type,
            id_number=id_number,
            id_birth=id_birth,
            id_sex=id_sex,
        )
        return (id_type, id_number), identity, differing, tuple(errors)

    def _identity(
        self,
        raw_name: str,
        raw_sex: str,
        raw_birth: str,
        raw_nationality: str,
        errors: list[RowError],
        *,
        id_type: str,
        id_number: str,
        id_birth: datetime.date | None,
        id_sex: str | None,
    ) -> tuple[Identity, bool]:
        line = 0  # the caller puts in the row's line
        name = raw_name.strip()
        if not name:
            errors.append(RowError(line, "name", "a name is required"))
        elif len(name) > 100:
            errors.append(RowError(line, "name", "a name has at most 100 characters"))
        sex = raw_sex.strip()
        if sex not in self.ref.sexes:
            errors.append(RowError(line, "sex", f"{sex!r} is not a GB/T 2261.1 sex code"))
        elif id_sex is not None and sex in {"1", "2"} and sex != id_sex:
            errors.append(
                RowError(line, "sex", f"sex {sex} differs from {id_sex} in the ID number")
            )
        raw_birth = raw_birth.strip()
        birth_date = self.date(raw_birth, "birth_date", line, errors) if raw_birth else None
        differing = id_birth is not None and birth_date is not None and birth_date != id_birth
        nationality = raw_nationality.strip().upper()
        if nationality not in self.ref.nationalities:
            errors.append(
                RowError(line, "nationality", f"{nationality!r} is not a GB/T 2659 country code")
            )
        elif id_type == IdType.RESIDENT_ID:
            expected = PERMIT_REGIONS.get(id_number[:2], "CHN")
            if nationality != expected:
                errors.append(
                    RowError(
                        line,
                        "nationality",
                        f"this ID number belongs to {expected}, not {nationality}",
                    )
                )
        identity = Identity(
            name=name, sex=sex, birth_date=birth_date or id_birth, nationality=nationality
        )
        return identity, differing

    def _hukou_of(
        self, raw_division: str, raw_type: str, nationality: str
    ) -> tuple[str | None, str, _Found]:
        line = 0  # the caller puts in the row's line
        errors: list[RowError] = []
        hukou_division = self.division(raw_division, "hukou_division", line, errors)
        hukou_type = raw_type.strip()
        if hukou_type and hukou_type not in HOUSEHOLD_TYPES:
            errors.append(
                RowError(line, "hukou_type", f"{hukou_type!r} is not family or collective")
            )
        if hukou_type and not raw_division.strip():
            errors.append(RowError(line, "hukou_type", "a hukou type needs a hukou_division"))
        if hukou_division and nationality != "CHN" and nationality in self.ref.nationalities:
            errors.append(
                RowError(line, "hukou_division", f"a {nationality} national has no hukou")
            )
        return hukou_division, hukou_type, tuple(errors)

    def _division_of(self, raw: str, column: str) -> tuple[str | None, _Found]:
        errors: list[RowError] = []
        return self.division(raw, column, 0, errors), tuple(errors)

    def _phone_of(self, raw: str) -> tuple[str | None, _Found]:
        errors: list[RowError] = []
        return self.phone(raw, 0, errors), tuple(errors)

    def _residence_place(
        self, row: dict[str, str], line: int, errors: list[RowError]
    ) -> tuple[str | None, int | None]:
        raw_division = row["residence_division"]
        residence_division, found = self._division(raw_division, "residence_division")
        if found:
            errors += _on_line(found, line)
        house_code = (row.get("residence_house_code") or "").strip()
        if not house_code:
            return residence_division, None
        house = self.ref.houses.get(house_code)
        if house is None:
            errors.append(RowError(line, "residence_house_code", f"no house {house_code}"))
        elif not raw_division.strip():
            errors.append(
                RowError(line, "residence_division", "required when a house code is given")
            )
        elif residence_division and not house[1].startswith(residence_division):
            errors.append(
                RowError(
                    line,
                    "residence_house_code",
                    f"house {house_code} lies in {house[1]}, not in {residence_division}",
                )
            )
        else:
            return residence_division, house[0]
        return residence_division, None

    def _residence_dates(
        self,
        row: dict[str, str],
        line: int,
        errors: list[RowError],
        birth_date: datetime.date | None,
        *,
        unknown_whereabouts: bool,
    ) -> tuple[datetime.date | None, datetime.date | None]:
        """The first and last day of the row's spell. Whereabouts unknown (no residence
        division) since a day nobody knows: an empty first day, read as "since always"."""
        raw_from = row["residence_from"].strip()
        valid_from: datetime.date | None = None
        if raw_from:
            valid_from = self.date(raw_from, "residence_from", line, errors)
        elif not unknown_whereabouts or row["residence_division"].strip():
            errors.append(
                RowError(
                    line, "residence_from", "the first day is required with a residence_division"
                )
            )
        raw_to = row["residence_to"].strip()
        valid_to = self.date(raw_to, "residence_to", line, errors) if raw_to else None
        if valid_to is not None and valid_from is not None and valid_to < valid_from:
            errors.append(
                RowError(line, "residence_to", f"{raw_to} is before residence_from {raw_from}")
            )
        if (
            birth_date is not None
            and valid_from is not None
            and datetime.date.min < valid_from < birth_date
        ):
            errors.append(
                RowError(
                    line, "residence_from", f"{raw_from} is before the birth date {birth_date}"
                )
            )
        return valid_from, valid_to


def _on_line(found: _Found, line: int) -> list[RowError]:
    return [RowError(line, error.column, error.reason) for error in found]
