"""The columns the door writes in bulk, in the order its rows give them."""

from __future__ import annotations

from renfang.people.models import Hukou, PersonAttribute, PersonTag, Residence

# Person's identity fields that a golden record sets.
IDENTITY_FIELDS = (
    "id_type",
    "id_number",
    "name",
    "sex",
    "birth_date",
    "nationality",
    "ethnicity",
    "death_date",
)
PERSON_UPDATE = [*IDENTITY_FIELDS, "golden", "updated_at"]
PERSON_TYPES = [
    "text",
    "text",
    "text",
    "text",
    "date",
    "text",
    "text",
    "date",
    "jsonb",
    "timestamptz",
]
PERSON_INSERT = [
    "id",
    "id_type",
    "id_number",
    "name",
    "sex",
    "birth_date",
    "ethnicity",
    "nationality",
    "created_at",
    "updated_at",
    "golden",
]
FACT_INSERT: dict[type, list[str]] = {
    PersonAttribute: ["person_id", "kind", "value", "valid_from", "recorded_at"],
    PersonTag: ["person_id", "tag", "note", "valid_from", "recorded_at"],
    Hukou: [
        "person_id",
        "valid_from",
        "valid_to",
        "division",
        "address",
        "household_type",
        "recorded_at",
    ],
    Residence: [
        "person_id",
        "valid_from",
        "valid_to",
        "division",
        "house_id",
        "relation",
        "recorded_at",
    ],
}
