"""Masking of values that sources sent, as import problems and unmapped codes quote them: an
ID number with a digit too many or too few is still an ID number."""

from __future__ import annotations

import pytest

from renfang.accounts.access import (
    ALL_PERSON_FIELDS,
    NO_ACCESS,
    Access,
    shown_problem_reason,
    shown_problem_value,
    shown_text,
)
from renfang.accounts.models import PersonField

MASKED = Access(
    user_id=1,
    roles=frozenset({"district_admin"}),
    prefixes=("310104",),
    full_identifiers=False,
    may_unmask=True,
    sensitive_tags=frozenset(),
    fields=ALL_PERSON_FIELDS,
    reads_audit=False,
    administers_users=False,
    needs_second_factor=False,
)
NO_NAMES = Access(**{**MASKED.__dict__, "fields": ALL_PERSON_FIELDS - {PersonField.NAME}})
WHOLE = Access(**{**MASKED.__dict__, "full_identifiers": True})


@pytest.mark.parametrize(
    "number",
    [
        "3101041980010112",  # 16 digits: one short
        "31010419800101123",  # 17: the check digit missing
        "3101041980010112399",  # 19: one too many
        "31010419800101123x",
        "31010480010112",  # 14
    ],
)
def test_any_run_of_14_or_more_digits_in_free_text_is_masked(number: str) -> None:
    text = f"record resident_id:{number} line 3: '{number}' is not a resident ID number"

    shown = shown_text(MASKED, text)

    assert number not in shown
    assert number[:2] in shown and "****" in shown
    assert shown_text(WHOLE, text) == text
    assert number not in shown_text(NO_ACCESS, text)


def test_shorter_numbers_in_free_text_are_left_alone() -> None:
    assert shown_text(MASKED, "line 1234567890123: 12 records") == (
        "line 1234567890123: 12 records"
    )


def test_a_problem_value_is_masked_as_its_field() -> None:
    assert shown_problem_value(MASKED, "id_number", "3101041980") == "31******80"
    assert shown_problem_value(WHOLE, "id_number", "3101041980") == "3101041980"
    assert shown_problem_value(MASKED, "phone", "1381234567") == "138*****67"
    assert shown_problem_value(MASKED, "name", "张伟") == "张伟"
    assert shown_problem_value(NO_NAMES, "name", "张伟") == ""
    # An ID number typed into a code column: masked all the same.
    assert "310104198001011239" not in shown_problem_value(
        MASKED, "marital_status", "310104198001011239"
    )


def test_a_problem_reason_shows_the_value_as_the_field_allows() -> None:
    reason = "'3101041980' is not a resident ID number"
    assert shown_problem_reason(MASKED, "id_number", "3101041980", reason) == (
        "'31******80' is not a resident ID number"
    )
    assert shown_problem_reason(NO_NAMES, "name", "张伟", "'张伟' is too long") == (
        "'**' is too long"
    )
