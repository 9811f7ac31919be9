"""Templates of a mapping: ``"{姓}{名}"``, literal text and ``{column}`` placeholders."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.utils.translation import gettext as _


@dataclass(frozen=True)
class Template:
    """``"{姓}{名}"``: literal text and ``{column}`` placeholders; ``{{`` and ``}}`` are braces.
    Without placeholders it is a constant."""

    text: str
    parts: tuple[tuple[bool, str], ...]  # (is a column, text)
    columns: tuple[str, ...]

    @property
    def constant(self) -> bool:
        return not self.columns

    def fill(self, row: Mapping[str, str]) -> str:
        """The template over a row, stripped; empty when every column it reads is empty (so
        ``"{路}{号}号"`` of an empty address is empty, not ``"号"``)."""
        if len(self.parts) == 1:
            is_column, text = self.parts[0]
            return row.get(text, "").strip() if is_column else text.strip()
        if not self.parts:
            return ""
        pieces: list[str] = []
        any_value = False
        for is_column, text in self.parts:
            if is_column:
                value = row.get(text, "").strip()
                if value:
                    any_value = True
                pieces.append(value)
            else:
                pieces.append(text)
        if self.columns and not any_value:
            return ""
        return "".join(pieces).strip()


def parse_template(text: str) -> Template:
    """Raises ValueError saying what is wrong with the braces."""
    parts: list[tuple[bool, str]] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "{" and text.startswith("{{", i):
            literal.append("{")
            i += 2
        elif char == "}" and text.startswith("}}", i):
            literal.append("}")
            i += 2
        elif char == "}":
            raise ValueError(_("'}' at position %(at)d closes nothing") % {"at": i + 1})
        elif char == "{":
            end = text.find("}", i + 1)
            if end < 0:
                raise ValueError(_("'{' at position %(at)d is not closed") % {"at": i + 1})
            column = text[i + 1 : end]
            if "{" in column:
                raise ValueError(_("'{' at position %(at)d is not closed") % {"at": i + 1})
            if not column.strip():
                raise ValueError(_("'{}' at position %(at)d names no column") % {"at": i + 1})
            if literal:
                parts.append((False, "".join(literal)))
                literal = []
            parts.append((True, column.strip()))
            i = end + 1
        else:
            literal.append(char)
            i += 1
    if literal:
        parts.append((False, "".join(literal)))
    columns = tuple(dict.fromkeys(text for is_column, text in parts if is_column))
    return Template(text=text, parts=tuple(parts), columns=columns)
