"""Stored JSON text is the standard library's, written faster (renfang.core.jsontext)."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest

from renfang.core.jsontext import compact


def standard(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@pytest.mark.parametrize(
    "value",
    [
        {"name": "张伟", "id_number": "31010419800101123X", "empty": "", "none": None},
        [["2015-03-01", None, "310104003001", "H1", "310104003", "family"]],
        {"quote": 'O\'Brien "Jr"', "slash": "a\\b/c", "controls": "\t\n\r\b\f\x00\x1f\x7f"},
        {"separators": "\u2028\u2029", "emoji": "😀", "latin": "Zoë Müller"},
        {"nested": {"list": [1, -2, 2**63 - 1, True, False, None, []], "dict": {}}},
        [{"field": "name", "value": "", "reason": "required", "kind": "unreadable"}],
    ],
)
def test_the_text_is_the_standard_librarys_byte_for_byte(value: Any) -> None:
    assert compact(value) == standard(value)


@pytest.mark.parametrize(
    "value",
    [{"lone surrogate": "\udce4"}, {"wide": 2**70}],
)
def test_what_orjson_cannot_write_is_written_by_the_standard_library(value: Any) -> None:
    assert compact(value) == standard(value)


def test_what_json_cannot_write_still_fails_as_it_did() -> None:
    with pytest.raises(TypeError):
        compact({"day": datetime.date(2026, 1, 1)})
