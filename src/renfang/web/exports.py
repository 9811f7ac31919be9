"""Excel (.xlsx) downloads of the lists the pages show (written by
``renfang.core.spreadsheets``, which keeps every text cell a text)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext as _

from renfang.core.spreadsheets import xlsx_bytes

# A spreadsheet of a whole district is not a report anyone reads; it is a copy of the register
# leaving the building. Exports stop here and say so.
EXPORT_LIMIT = 10_000

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_response(
    *,
    filename: str,
    title: str,
    header: Sequence[Any],
    rows: Iterable[Sequence[Any]],
    truncated: bool = False,
) -> HttpResponse:
    """A one-sheet workbook: a bold header row, the rows, and a last line when the export was
    cut at ``EXPORT_LIMIT``."""
    footer = (
        _("Only the first %(limit)s rows were exported; narrow the search for the rest.")
        % {"limit": f"{EXPORT_LIMIT:,}"}
        if truncated
        else ""
    )
    content = xlsx_bytes(title=title, header=header, rows=rows, footer=footer)
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
