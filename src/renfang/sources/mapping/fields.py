"""The mapped fields and what kind of value each holds (docs/MAPPINGS.md)."""

from __future__ import annotations

# The mapped field names: the register format's columns plus what other sources bring.
FIELDS: tuple[str, ...] = (
    "id_type",  # first: id_number is read according to it
    "id_number",
    "name",
    "family_name",
    "given_name",
    "sex",
    "birth_date",
    "death_date",
    "nationality",
    "ethnicity",
    "hukou_division",
    "hukou_type",
    "hukou_address",
    "residence_division",
    "residence_house_code",
    "residence_address",
    "residence_from",
    "residence_to",
    "phone",
    "marital_status",
    "education",
    "employment",
    "tags",
)
# Field → the code set its values come from.
CODE_SETS: dict[str, str] = {
    "id_type": "id_type",
    "sex": "sex",
    "nationality": "nationality",
    "ethnicity": "ethnicity",
    "hukou_type": "household_type",
    "marital_status": "marital_status",
    "education": "education",
    "employment": "employment",
    "tags": "person_tag",
}
DATE_FIELDS = frozenset({"birth_date", "death_date", "residence_from", "residence_to"})
DIVISION_FIELDS = frozenset({"hukou_division", "residence_division"})
RESIDENT_ID = "resident_id"
ENCODINGS = ("auto", "utf-8", "gbk", "gb18030")
FORMATS = ("auto", "csv", "xlsx", "xls", "xlsb", "ods", "jsonl")
ISO_DATE = "%Y-%m-%d"

# Problems of a record: a value that cannot be read (the record is flagged) and a code no table
# knows (reported in the unmapped codes; the record is not flagged).
UNREADABLE = "unreadable"
UNMAPPED = "unmapped"
