"""The figures of ``renfang.stats.selectors.area_figures`` written out as JSON, a text table or
CSV (for ``renfang stats --format``)."""

from __future__ import annotations

import io
import json
import unicodedata
from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext_lazy as _

from renfang.core.spreadsheets import csv_writer
from renfang.stats.selectors import ACTUAL_POPULATION_KEYS

CSV_COLUMNS = ("area", "name", *ACTUAL_POPULATION_KEYS)

_POPULATION_LABELS = {
    "total": _("actual population"),  # 实有人口
    "registered": _("registered residents"),  # 户籍人口
    "domestic_migrant": _("domestic migrants"),  # 来沪人员 / 流动人口
    "overseas": _("overseas"),  # 境外人员
}
_HUKOU_STATUS_LABELS = {
    "consistent": _("consistent"),  # 人户一致
    "living_here_registered_elsewhere": _("living here, registered elsewhere"),  # 人在户不在
    "registered_here_living_elsewhere": _("registered here, living elsewhere"),  # 户在人不在
    "registered_here_whereabouts_unknown": _("registered here, whereabouts unknown"),  # 空挂户
    "registered_total": _("registered population"),  # 登记常住户籍人口
}


def figures_json(figures: dict[str, Any]) -> str:
    return json.dumps(figures, ensure_ascii=False, indent=2)


def figures_csv(figures: dict[str, Any]) -> str:
    """One row per subarea, then the area itself as the total row."""
    out = io.StringIO()
    writer = csv_writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    rows = [*figures["by_subarea"], figures]
    for row in rows:
        population = row["actual_population"]
        writer.writerow(
            [row["area"], row["name"], *(population[k] for k in ACTUAL_POPULATION_KEYS)]
        )
    return out.getvalue()


def figures_table(figures: dict[str, Any]) -> str:
    """A text table for people: population by category (with the earlier date and growth when
    compared), hukou status, and the population of each subarea."""
    title = _("%(name)s (%(code)s), as of %(as_of)s") % {
        "name": figures["name"],
        "code": figures["area"],
        "as_of": figures["as_of"],
    }
    if "compare_to" in figures:
        title += _(", compared with %(date)s") % {"date": figures["compare_to"]}
    sections = [title]

    population = figures["actual_population"]
    header = [str(_("Actual population by category")), figures["as_of"]]
    if "previous" in figures:
        header += [figures["compare_to"], str(_("growth %"))]
    rows = []
    for key in ACTUAL_POPULATION_KEYS:
        label = _("total") if key == "total" else _POPULATION_LABELS[key]
        row = [str(label), _number(population[key])]
        if "previous" in figures:
            row += [_number(figures["previous"][key]), _percent(figures["growth_pct"][key])]
        rows.append(row)
    sections.append(_table(header, rows))

    statuses = figures["hukou_status"]
    sections.append(
        _table(
            [str(_("Hukou status")), str(_("people"))],
            [[str(label), _number(statuses[key])] for key, label in _HUKOU_STATUS_LABELS.items()],
        )
    )

    if figures["by_subarea"]:
        header = [str(_("Subarea")), str(_("division name"))]
        header += [str(_POPULATION_LABELS[key]) for key in ACTUAL_POPULATION_KEYS]
        rows = [
            [child["area"], child["name"]]
            + [_number(child["actual_population"][key]) for key in ACTUAL_POPULATION_KEYS]
            for child in figures["by_subarea"]
        ]
        sections.append(_table(header, rows, text_columns=2))
    return "\n\n".join(sections) + "\n"


def _number(value: int) -> str:
    return f"{value:,}"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:+.2f}"


def _width(text: str) -> int:
    """Columns the text takes in a terminal: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], *, text_columns: int = 1) -> str:
    """Columns aligned by display width: the first ``text_columns`` to the left (labels), the
    rest (figures) to the right."""
    widths = [max(_width(line[i]) for line in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = []
        for index, cell in enumerate(cells):
            pad = " " * (widths[index] - _width(cell))
            padded.append(cell + pad if index < text_columns else pad + cell)
        return "  ".join(padded).rstrip()

    # The header's first cell is the section's name; the rows sit under it, indented.
    widths[0] += 2
    lines = [line(header)]
    lines += [line(["  " + row[0], *row[1:]]) for row in rows]
    return "\n".join(lines)
