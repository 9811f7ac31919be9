"""A write's lines rendered as JSON text once (``changes_json``: an import's audit events and
feed events both carry them) are exactly what the general path encodes, stores and hashes."""

from __future__ import annotations

import datetime
import json
import math
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from renfang.audit.context import current_context
from renfang.audit.models import AuditEvent
from renfang.audit.services import (
    GENESIS,
    audit_record_many,
    audit_record_stream,
    audit_verify,
    changes_json,
    event_hash,
    write_event,
)
from renfang.audit.services.chain import _iso, _row

PLACE = {"from": "2000-05-17", "to": None, "division": "310104010012", "house": "3101040100"}
HUKOU = {"from": "2000-05-17", "to": None, "division": "310104010012", "household_type": "家庭户"}

# Lines the templates write: the import's shapes, and every kind of text and value they take.
LINES: list[Any] = [
    pytest.param(
        [
            {"field": "id_type", "old": None, "new": "resident_id", "source": "register"},
            {"field": "name", "old": None, "new": "靳林旭", "source": "公安人口"},
            {"field": "phone", "old": None, "new": "15137354610"},
            {"field": "residence", "old": None, "new": PLACE},
            {"field": "residence", "old": PLACE, "new": {**PLACE, "to": "2025-03-26"}},
            {"field": "hukou", "old": None, "new": HUKOU},
        ],
        id="a new person",
    ),
    pytest.param(
        [
            {"field": "name", "old": 'a"b\\c/d', "new": "tab\tline\nret\r", "source": "\x01\x1f"},
            {"field": "引号\"键'", "old": "\x7f\u2028\u2029", "new": "𠀀 é ∑", "source": '"'},
            {"field": "x", "old": None, "new": {"%s": "%", "100%": "%%s", 'q"k': "\\"}},
        ],
        id="escapes",
    ),
    pytest.param([{"field": "name", "old": "a\x00b", "new": "c"}], id="a NUL"),
    pytest.param([{"field": "name", "old": "\ud800", "new": "lone surrogate"}], id="a surrogate"),
    pytest.param(
        [
            {"field": "rooms", "old": 1, "new": -2, "source": "s"},
            {"field": "big", "old": 10**30, "new": 0},
            {"field": "flag", "old": True, "new": False},
            {"field": "nested", "old": [], "new": ["a", 1, None, True, {"k": [], "j": {}}]},
            {"field": "empty", "old": {}, "new": ""},
        ],
        id="numbers, booleans, lists",
    ),
    pytest.param(
        [
            {"new": "x", "field": "order", "old": None},
            {"field": "f", "old": None, "new": "x", "source": "s", "extra": 1},
            {"field": "only"},
            {"source": "s", "field": "f", "new": None, "old": "y"},
        ],
        id="other keys and orders",
    ),
    pytest.param([], id="no lines"),
]

# Values the templates leave to the general path.
UNUSUAL: list[Any] = [
    1.5,
    math.nan,
    datetime.date(2026, 1, 1),
    Decimal("1.10"),
    {1: "a"},
    ("a", "b"),
    type("Text", (str,), {})("subclass"),
]


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@pytest.mark.parametrize("lines", LINES)
def test_the_lines_as_text_are_exactly_their_canonical_json(lines: list[Any]) -> None:
    assert changes_json(lines) == canonical(lines)


@pytest.mark.parametrize("value", UNUSUAL)
def test_a_value_the_templates_do_not_write_leaves_the_lines_to_the_general_path(
    value: Any,
) -> None:
    assert changes_json([{"field": "a", "old": None, "new": "b"}]) is not None
    assert changes_json([{"field": "a", "old": None, "new": {"k": [value]}}]) is None
    assert changes_json([{"field": "a", "old": value, "new": "b", "source": "s"}]) is None


def events(lines: list[Any], *, text: bool, source: str = '导入 "a\\b"') -> list[Any]:
    return [
        write_event(
            actor=None,
            record_type="person",
            record_id=record_id,
            changes=lines,
            source=source,
            changes_text=(changes_json(lines) or "") if text else "",
        )
        for record_id in (7, "八")
    ]


@pytest.mark.parametrize("lines", LINES)
def test_an_event_given_its_lines_as_text_is_stored_and_hashed_as_the_general_one(
    lines: list[Any],
) -> None:
    at, context = timezone.now(), current_context()
    fast, general = events(lines, text=True), events(lines, text=False)
    assert fast[0].detail_text  # the text is used, not the dict

    previous = GENESIS
    for given, plain in zip(fast, general, strict=True):
        row = _row(given, previous, at, _iso(at), context, kinds={})
        assert row == _row(plain, previous, at, _iso(at), context)
        # and verify, from the detail as read back, finds the same hash
        assert row[-1] == event_hash(
            prev_hash=previous,
            at=at,
            user_id=None,
            username=row[2],
            ip=row[3],
            channel=row[4],
            action=row[5],
            record_type=row[6],
            record_id=row[7],
            detail=json.loads(row[8]),
            purpose=row[9],
        )
        previous = row[-1]


@pytest.mark.django_db
def test_streamed_events_given_as_text_store_what_the_general_path_stores_and_verify() -> None:
    cases = [case.values[0] for case in LINES]
    fast = [event for lines in cases for event in events(lines, text=True)]
    general = [event for lines in cases for event in events(lines, text=False)]

    audit_record_stream(fast)
    audit_record_many(general)

    stored = list(AuditEvent.objects.order_by("pk"))
    half = len(stored) // 2
    assert half == len(fast)
    assert [event.detail for event in stored[:half]] == [event.detail for event in stored[half:]]
    assert audit_verify().ok
