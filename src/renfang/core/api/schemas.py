"""Pieces of schemas that several apps' routes share."""

from __future__ import annotations

import datetime

from ninja import Field, Schema

# What a search box takes, as on the search page.
MAX_QUERY_LENGTH = 100
# Division codes are digits: 2 (city) to 12 (committee), grids longer.
AREA_PATTERN = r"^[0-9]{2,20}$"
# Text typed by people: no control characters (PostgreSQL cannot even hold a NUL).
TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*$"
# A path segment naming a record (a house code): the same, and at most 32 characters.
CODE_PATTERN = r"^[^\x00-\x1f\x7f/]{1,32}$"


class FactOut(Schema):
    """A fact that holds over time."""

    valid_from: datetime.date | None = Field(description="First day; null: since a day unknown.")
    valid_to: datetime.date | None = Field(description="Last day; null: still holds.")
    current: bool = Field(description="Whether it holds today.")


class AreaRefOut(Schema):
    code: str
    name: str
