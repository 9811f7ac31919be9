"""A mapping ready to use: its rules, and ``MappingSpec.apply`` that maps one row."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from renfang.sources.mapping.fields import (
    CODE_SETS,
    DATE_FIELDS,
    DIVISION_FIELDS,
    ISO_DATE,
    RESIDENT_ID,
    UNREADABLE,
)
from renfang.sources.mapping.templates import Template
from renfang.sources.mapping.values import (
    Read,
    Reader,
    Result,
    code_reader,
    date_reader,
    division_reader,
    read_identifier,
    read_phone,
    read_resident_id,
    read_text,
    tags_reader,
)


@dataclass(frozen=True)
class FileOptions:
    encoding: str = "auto"
    sheet: str | None = None
    header_row: int = 1
    format: str = "auto"
    delimiter: str = ","


@dataclass(frozen=True)
class FieldRule:
    field: str
    template: Template
    default: str | None = None
    date_formats: tuple[str, ...] = ()
    codes: dict[str, str | None] = dataclasses.field(default_factory=dict)


class Applied(NamedTuple):
    record_id: str
    mapped: dict[str, str]
    problems: list[dict[str, str]]  # {"field", "value", "reason", "kind": "unreadable"}
    unmapped: list[tuple[str, str]]  # (field, value)


# One field's work on a row: its name, the one column it reads (None: a longer template), the
# template, the default, the reader.
_Step = tuple[str, str | None, Template, str | None, Reader]


@dataclass
class MappingSpec:
    record_id: Template
    file: FileOptions
    rules: dict[str, FieldRule]
    _steps: list[_Step] = dataclasses.field(default_factory=list, repr=False)
    _tags: Callable[[str], list[Result]] | None = dataclasses.field(default=None, repr=False)

    def __post_init__(self) -> None:
        for name, rule in self.rules.items():
            reader: Reader = read_text
            if name == "tags":
                self._tags = tags_reader(rule.codes)
            elif name in CODE_SETS:
                reader = code_reader(name, rule.codes)
            elif name in DATE_FIELDS:
                reader = date_reader(rule.date_formats or (ISO_DATE,))
            elif name in DIVISION_FIELDS:
                reader = division_reader()
            elif name == "phone":
                reader = read_phone
            elif name == "id_number":
                reader = read_identifier  # a resident ID is read by apply (it needs id_type)
            parts = rule.template.parts
            column = parts[0][1] if len(parts) == 1 and parts[0][0] else None
            self._steps.append((name, column, rule.template, rule.default, reader))

    @property
    def columns(self) -> list[str]:
        """Every column the templates read, in the order the mapping names them."""
        found: dict[str, None] = dict.fromkeys(self.record_id.columns)
        for rule in self.rules.values():
            found.update(dict.fromkeys(rule.template.columns))
        return list(found)

    @property
    def fields(self) -> list[str]:
        return list(self.rules)

    def read_field(self, name: str, value: str) -> list[Result]:
        """One field's value as its rule reads it (several results for tags)."""
        if name == "tags":
            assert self._tags is not None
            return self._tags(value)
        reader = next(step[4] for step in self._steps if step[0] == name)
        return [reader(value)]

    def apply(self, row: Mapping[str, str]) -> Applied:
        mapped: dict[str, str] = {}
        problems: list[dict[str, str]] = []
        unmapped: list[tuple[str, str]] = []
        for name, column, template, default, reader in self._steps:
            # The one-column template inline: this loop runs for every field of every record.
            value = (row.get(column) or "").strip() if column is not None else template.fill(row)
            if not value:
                if default is None:
                    continue
                value = default
            if name == "tags":
                self._apply_tags(value, mapped, unmapped)
                continue
            if name == "id_number" and mapped.get("id_type") == RESIDENT_ID:
                result = read_resident_id(value)
            else:
                result = reader(value)
            if type(result) is str:
                if result:
                    mapped[name] = result
            elif isinstance(result, Read):
                if result.problem is not None:
                    problems.append(
                        {
                            "field": name,
                            "value": value,
                            "reason": result.problem,
                            "kind": UNREADABLE,
                        }
                    )
                else:
                    unmapped.append((name, result.unmapped or value))
        return Applied(self.record_id.fill(row), mapped, problems, unmapped)

    def _apply_tags(
        self, value: str, mapped: dict[str, str], unmapped: list[tuple[str, str]]
    ) -> None:
        assert self._tags is not None
        codes: list[str] = []
        for result in self._tags(value):
            if isinstance(result, Read):
                if result.unmapped is not None:
                    unmapped.append(("tags", result.unmapped))
            elif result and result not in codes:
                codes.append(result)
        if codes:
            mapped["tags"] = " ".join(codes)
