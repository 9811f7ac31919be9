"""Excel (.xlsx) downloads of the lists the pages show."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from django.http import HttpResponse
from django.utils.encoding import force_str
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

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
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    bold = Font(bold=True)
    header_cells = []
    for label in header:
        cell = WriteOnlyCell(sheet, value=force_str(label))
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        sheet.append([force_str(value) if isinstance(value, Promise) else value for value in row])
    if truncated:
        sheet.append(
            [
                _("Only the first %(limit)s rows were exported; narrow the search for the rest.")
                % {"limit": f"{EXPORT_LIMIT:,}"}
            ]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
