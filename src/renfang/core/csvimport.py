"""What every CSV import shares: errors that name the line, the column and the reason."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.management.base import CommandError

MAX_ERRORS_SHOWN = 50


@dataclass(frozen=True)
class RowError:
    line: int  # 1-based line of the file, the header being line 1
    column: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.reason}"


class ImportRejected(Exception):
    """The file had errors; nothing was saved."""

    def __init__(
        self, errors: list[RowError], *, file_name: str = "", total: int | None = None
    ) -> None:
        self.errors = errors
        self.file_name = file_name
        self.total = max(total or 0, len(errors))
        super().__init__(self.summary())

    def summary(self) -> str:
        shown = "\n".join(str(error) for error in self.errors[:MAX_ERRORS_SHOWN])
        more = self.total - min(len(self.errors), MAX_ERRORS_SHOWN)
        tail = f"\n… and {more} more errors" if more > 0 else ""
        where = f" in {self.file_name}" if self.file_name else ""
        return f"{len(self.errors)} error(s){where}; nothing was saved.\n{shown}{tail}"

    def as_command_error(self) -> CommandError:
        return CommandError(self.summary())


def check_header(header: list[str] | None, required: list[str], optional: list[str]) -> None:
    """Raise ImportRejected for a header that lacks a required column or has an unknown one."""
    if not header:
        raise ImportRejected([RowError(1, "-", "the file is empty: a header row is required")])
    errors = [
        RowError(1, name, "required column is missing") for name in required if name not in header
    ]
    known = set(required) | set(optional)
    errors += [RowError(1, name, "unknown column") for name in header if name not in known]
    seen: set[str] = set()
    for name in header:
        if name in seen:
            errors.append(RowError(1, name, "column appears twice"))
        seen.add(name)
    if errors:
        raise ImportRejected(errors)
