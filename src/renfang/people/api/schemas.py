"""What the people API takes and answers."""

from __future__ import annotations

import datetime
from typing import Literal

from ninja import Field, Schema
from ninja.params import P, PathEx

from renfang.core.api.pagination import PageOut, PageQuery
from renfang.core.api.schemas import AREA_PATTERN, MAX_QUERY_LENGTH, TEXT_PATTERN, FactOut

# Person ids are positive 64-bit integers.
PersonId = PathEx[int, P(ge=1, le=2**63 - 1, description="The person's id.")]


NOT_GRANTED = "null when your role is not granted this field."


class PlaceOut(Schema):
    """Where someone lives: a house, or only a division, or nowhere known."""

    division: str | None = Field(description="Division code; null: whereabouts unknown.")
    division_name: str
    house_code: str | None
    address: str


class PersonSummaryOut(Schema):
    id: int
    name: str | None = Field(description=f"The name; {NOT_GRANTED}")
    sex: str | None = Field(description=f"GB/T 2261.1 code; {NOT_GRANTED}")
    sex_label: str | None
    birth_date: datetime.date | None
    id_type: str | None = Field(description=f"Kind of ID document; {NOT_GRANTED}")
    shown_id_number: str | None = Field(
        description="The ID number, masked (3101**********1234) unless your role sees it in "
        f"full; {NOT_GRANTED}"
    )
    lives_at: PlaceOut | None = Field(
        description=f"Where the person lives on as_of; null when nowhere known or {NOT_GRANTED}"
    )


class PersonPageOut(PageOut):
    results: list[PersonSummaryOut]


class HukouOut(FactOut):
    division: str
    division_name: str
    address: str
    household_type: str


class ResidenceOut(FactOut):
    division: str | None = Field(description="Division code; null: whereabouts unknown.")
    division_name: str
    house_code: str | None
    address: str
    relation: str
    relation_label: str


class AttributeOut(FactOut):
    kind: str = Field(description="phone, education, marital_status or employment.")
    value: str = Field(
        description="A code of the code set of the same name, or a phone number "
        "(masked unless your role sees it in full)."
    )
    label: str


class TagOut(FactOut):
    tag: str = Field(description="A code of the person_tag code set.")
    label: str
    sensitive: bool
    note: str


class PersonOut(Schema):
    id: int
    id_type: str | None = Field(description=f"Kind of ID document; {NOT_GRANTED}")
    id_type_label: str | None
    shown_id_number: str | None = Field(
        description="The ID number, masked unless your role sees it in full (POST …/unmask "
        f"shows it with a purpose); {NOT_GRANTED}"
    )
    shown_phone: str | None = Field(
        description=f"The current phone number, masked like the ID number; null when none or "
        f"{NOT_GRANTED}"
    )
    identifiers_masked: bool = Field(description="Whether ID and phone numbers are masked.")
    name: str | None
    sex: str | None
    sex_label: str | None
    birth_date: datetime.date | None
    ethnicity: str | None
    ethnicity_label: str | None
    nationality: str | None
    nationality_label: str | None
    category: str | None = Field(
        description=f"registered, domestic_migrant or overseas, derived for today; {NOT_GRANTED}"
    )
    hukous: list[HukouOut] | None = Field(description=f"Hukou history, newest first; {NOT_GRANTED}")
    residences: list[ResidenceOut] | None = Field(
        description=f"Residence history, newest first; {NOT_GRANTED}"
    )
    attributes: list[AttributeOut] = Field(description="Only the kinds your role is granted.")
    tags: list[TagOut] = Field(description="Only the tags your role may see.")
    merged_from: int | None = Field(
        default=None,
        description="The id you asked for, when that person was merged into this one (the "
        "answer is the survivor's); null otherwise.",
    )


class PeopleQuery(PageQuery):
    q: str = Field(
        default="",
        max_length=MAX_QUERY_LENGTH,
        pattern=TEXT_PATTERN,
        description="A name (or part of one), an ID number or a phone number, as on the "
        "search page.",
    )
    area: str | None = Field(
        default=None,
        pattern=AREA_PATTERN,
        description="Division code: only people living there on as_of. It must lie in your "
        "area (otherwise 404 not_found, the same as an unknown code).",
    )
    as_of: datetime.date | None = Field(
        default=None,
        description="The day for lives_at and the area filter (YYYY-MM-DD); today if absent.",
    )


class LookupIn(PageQuery):
    """An ID or phone number to look up: in the body, never in the URL (ADR 0021)."""

    q: str = Field(
        min_length=1,
        max_length=MAX_QUERY_LENGTH,
        pattern=TEXT_PATTERN,
        description="An ID, passport, permit or phone number (matched exactly); a name works too.",
    )
    as_of: datetime.date | None = Field(
        default=None, description="The day for lives_at (YYYY-MM-DD); today if absent."
    )


class UnmaskIn(Schema):
    field: Literal["id_number", "phone"] = Field(description="Which number to show in full.")
    purpose: str = Field(
        default="",
        max_length=300,
        pattern=TEXT_PATTERN,
        description="Why you need the number in full (a few words).",
    )


class UnmaskOut(Schema):
    field: str
    values: list[str] = Field(description="The full value(s): one ID number, or every phone.")


class OtherValueOut(Schema):
    source: str = Field(description="The source's code.")
    source_name: str
    value: str | None = Field(description="What this source holds (masked like the rest).")
    record_id: str = Field(description="The record's id in the source (identifiers masked).")
    received_at: datetime.datetime | None


class ProvenanceOut(Schema):
    field: str = Field(description="A mapped field (id_number, name, marital_status, …).")
    label: str
    value: str | None = Field(description="The golden value (masked like the rest).")
    source: str = Field(description="The source it came from (the authoritative one).")
    source_name: str
    record_id: str = Field(description="The record's id in the source (identifiers masked).")
    as_of: datetime.datetime | None = Field(description="When that record was received.")
    others: list[OtherValueOut] = Field(description="What the other sources hold.")
