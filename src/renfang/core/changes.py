"""One change to one field of a record, as the audit chain, the golden records and the change
feed all carry it: the field, its value before and after (None: there was none, or there is
none now), and, where the golden record knows it, the source that gave the new value.

A typed dictionary rather than a class: the lines are written as JSON into the audit chain and
the feed exactly as they are, millions at a time, and read back by both.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


class FieldChange(TypedDict):
    field: str
    old: Any
    new: Any
    source: NotRequired[str]
