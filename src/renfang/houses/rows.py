"""The rows of a houses.csv, checked one by one (the file format is in the common brief):

``house_code,area_code,road,number,building,unit,room,kind,use,use_from,floor_area,rooms,
latitude,longitude``; house_code, area_code, road and kind are required columns.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from renfang.core.csvimport import RowError

REQUIRED_COLUMNS = ["house_code", "area_code", "road", "kind"]
OPTIONAL_COLUMNS = [
    "number",
    "building",
    "unit",
    "room",
    "use",
    "use_from",
    "floor_area",
    "rooms",
    "latitude",
    "longitude",
]
# Column → House attribute.
ATTRIBUTES = {
    "area_code": "area_id",
    "road": "road",
    "number": "number",
    "building": "building",
    "unit": "unit",
    "room": "room",
    "kind": "kind",
    "floor_area": "floor_area",
    "rooms": "rooms",
    "latitude": "latitude",
    "longitude": "longitude",
}
_TEXT_LIMITS = {"house_code": 32, "road": 100, "number": 30, "building": 30, "unit": 30, "room": 30}
# (decimal places, least value, greatest value): what the House fields hold.
_DECIMALS: dict[str, tuple[int, Decimal, Decimal]] = {
    "floor_area": (2, Decimal(0), Decimal("9999999.99")),
    "latitude": (6, Decimal(-90), Decimal(90)),
    "longitude": (6, Decimal(-180), Decimal(180)),
}
_MAX_ROOMS = 32767  # PositiveSmallIntegerField
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(slots=True)
class HouseRow:
    line: int
    house_code: str
    values: dict[str, Any]  # House attribute → value, for the columns the file has
    use: str
    use_from: datetime.date | None


@dataclass
class RowChecker:
    """Checks rows against the loaded areas and code sets, and remembers the house codes seen
    so that a code given twice is caught; collects the errors."""

    area_codes: frozenset[str]
    kinds: frozenset[str]
    uses: frozenset[str]
    first_line: dict[str, int] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)

    def parse(self, line: int, record: dict[str, str]) -> HouseRow | None:
        """A checked row, or None after adding its errors."""
        errors: list[RowError] = []
        self._check_codes(line, record, errors)
        use_from = _use_from(line, record, errors)
        values = _values(line, record, errors)
        if errors:
            self.errors += errors
            return None
        return HouseRow(line, record["house_code"], values, record.get("use", ""), use_from)

    def _check_codes(self, line: int, record: dict[str, str], errors: list[RowError]) -> None:
        for column, limit in _TEXT_LIMITS.items():
            if len(record.get(column, "")) > limit:
                errors.append(RowError(line, column, f"longer than {limit} characters"))
        house_code = record["house_code"]
        if not house_code:
            errors.append(RowError(line, "house_code", "must not be empty"))
        elif any(char.isspace() for char in house_code):
            errors.append(RowError(line, "house_code", f"{house_code!r} contains spaces"))
        elif house_code in self.first_line:
            first = self.first_line[house_code]
            reason = f"{house_code} appears twice (first on line {first})"
            errors.append(RowError(line, "house_code", reason))
        else:
            self.first_line[house_code] = line
        area_code = record["area_code"]
        if area_code not in self.area_codes:
            errors.append(RowError(line, "area_code", f"{area_code!r} is not a loaded area"))
        if not record["road"]:
            errors.append(RowError(line, "road", "must not be empty"))
        if record["kind"] not in self.kinds:
            reason = f"{record['kind']!r} is not in code set house_kind"
            errors.append(RowError(line, "kind", reason))
        use = record.get("use", "")
        if use and use not in self.uses:
            errors.append(RowError(line, "use", f"{use!r} is not in code set house_use"))


def _use_from(line: int, record: dict[str, str], errors: list[RowError]) -> datetime.date | None:
    text = record.get("use_from", "")
    if not text:
        return None
    if not record.get("use"):
        errors.append(RowError(line, "use_from", "a use_from needs a use"))
    if _DATE.match(text):
        try:
            return datetime.date.fromisoformat(text)
        except ValueError:
            pass
    errors.append(RowError(line, "use_from", f"{text!r} is not a date YYYY-MM-DD"))
    return None


def _decimal(text: str, column: str, line: int, errors: list[RowError]) -> Decimal | None:
    places, least, greatest = _DECIMALS[column]
    try:
        value = Decimal(text)
    except InvalidOperation:
        errors.append(RowError(line, column, f"{text!r} is not a number"))
        return None
    if not value.is_finite() or not least <= value <= greatest:
        errors.append(RowError(line, column, f"{text} is not between {least} and {greatest}"))
        return None
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _values(line: int, record: dict[str, str], errors: list[RowError]) -> dict[str, Any]:
    """House attribute → value, for the columns the file has (an empty cell empties)."""
    values: dict[str, Any] = {}
    for column, attribute in ATTRIBUTES.items():
        text = record.get(column)
        if text is None:
            continue
        if column in _DECIMALS:
            values[attribute] = _decimal(text, column, line, errors) if text else None
        elif column == "rooms":
            if text and (not text.isascii() or not text.isdigit() or int(text) > _MAX_ROOMS):
                errors.append(RowError(line, column, f"{text!r} is not a number of rooms"))
                continue
            values[attribute] = int(text) if text else None
        else:
            values[attribute] = text
    return values
