"""What a page or the API shows of the values sources sent (``SourceRecord.mapped``): the fields
in one order with their labels, codes as their names, and only what the user may see (masking
and field grants: ``renfang.accounts.access.shown_source_value``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from renfang.accounts.access import Access, sees_source_field, shown_source_value
from renfang.codes.selectors import code_label, division_name
from renfang.people.presenters import sensitive_tag_codes

# The mapped fields in the order pages list them (common to every source; see DOMAIN.md).
SOURCE_FIELDS: dict[str, Promise] = {
    "id_type": _("ID type"),
    "id_number": _("ID number"),
    "name": _("Name"),
    "family_name": _("Family name"),
    "given_name": _("Given name"),
    "sex": _("Sex"),
    "birth_date": _("Birth date"),
    "death_date": _("Death date"),
    "nationality": _("Nationality"),
    "ethnicity": _("Ethnicity"),
    "hukou_division": _("Hukou division"),
    "hukou_type": _("Household type"),
    "hukou_address": _("Hukou address"),
    "residence_division": _("Residence division"),
    "residence_house_code": _("House code"),
    "residence_address": _("Residence address"),
    "residence_from": _("Lives there since"),
    "residence_to": _("Lived there until"),
    "phone": _("Phone"),
    "marital_status": _("Marital status"),
    "education": _("Education"),
    "employment": _("Employment"),
    "tags": _("Tags"),
}

# Fields whose values are codes of a code set, shown by name.
_CODE_SETS = {
    "id_type": "id_type",
    "sex": "sex",
    "nationality": "nationality",
    "ethnicity": "ethnicity",
    "hukou_type": "household_type",
    "marital_status": "marital_status",
    "education": "education",
    "employment": "employment",
}
_DIVISIONS = frozenset({"hukou_division", "residence_division"})


def field_label(field: str) -> str:
    label = SOURCE_FIELDS.get(field)
    return str(label) if label is not None else field


def field_order(fields: Iterable[str]) -> list[str]:
    """The fields in the pages' order; fields renfang does not know come last."""
    known = list(SOURCE_FIELDS)
    return sorted(set(fields), key=lambda f: (known.index(f) if f in known else len(known), f))


def value_label(field: str, value: str) -> str:
    """A mapped value in words: a code's name (with the code), a division's name."""
    if not value:
        return ""
    if field == "tags":
        return "、".join(code_label("person_tag", tag) for tag in value.split())
    code_set = _CODE_SETS.get(field)
    if code_set is not None:
        label = code_label(code_set, value)
        return label if label == value else f"{label} ({value})"
    if field in _DIVISIONS:
        name = division_name(value)
        return value if not name or name == value else f"{name} ({value})"
    return value


@dataclass(frozen=True)
class ShownValue:
    """One mapped value as the user may see it: ``text`` in words, ``None`` when the user's
    role is not granted the field."""

    field: str
    label: str
    text: str | None


class ValueShower:
    """Shows mapped values for one user; knows which tag codes are sensitive."""

    def __init__(self, access: Access, values: Iterable[Mapping[str, str]] = ()) -> None:
        self.access = access
        tags = {tag for mapped in values for tag in str(mapped.get("tags", "")).split()}
        self.sensitive = frozenset(sensitive_tag_codes(tags)) if tags else frozenset()

    def sees(self, field: str) -> bool:
        return sees_source_field(self.access, field)

    def text(self, field: str, value: object) -> str | None:
        """The value for display (``None``: not granted; ``""``: absent)."""
        if value is None or value == "":
            return "" if self.sees(field) else None
        shown = shown_source_value(self.access, field, str(value), sensitive_tags=self.sensitive)
        if shown is None:
            return None
        if field in {"id_number", "phone"}:
            return shown
        return value_label(field, shown)

    def raw(self, field: str, value: object) -> str | None:
        """The value as the source's code (for the API), masked and filtered like ``text``."""
        if value is None or value == "":
            return "" if self.sees(field) else None
        return shown_source_value(self.access, field, str(value), sensitive_tags=self.sensitive)

    def shown(self, field: str, value: object) -> ShownValue:
        return ShownValue(field=field, label=field_label(field), text=self.text(field, value))
