"""``renfang stats --area CODE [--as-of DATE] [--compare-to DATE] [--format json|table|csv]``."""

from __future__ import annotations

import datetime
import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from renfang.areas.models import Area
from renfang.stats.reports import figures_csv, figures_json, figures_table
from renfang.stats.selectors import area_figures

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_WRITERS = {"json": figures_json, "table": figures_table, "csv": figures_csv}


class Command(BaseCommand):
    help = str(
        _(
            "Figures of the register for an area on a date: the actual population by category, "
            "hukou status, and the population of each subarea."
        )
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--area", required=True, help=str(_("division code of a loaded area")))
        parser.add_argument("--as-of", help=str(_("date YYYY-MM-DD (default: today)")))
        parser.add_argument(
            "--compare-to", help=str(_("an earlier date YYYY-MM-DD: adds previous and growth_pct"))
        )
        parser.add_argument("--format", choices=sorted(_WRITERS), default="json")

    def handle(self, *args: Any, **options: Any) -> None:
        area_code: str = options["area"].strip()
        as_of = _date("--as-of", options["as_of"]) if options["as_of"] else timezone.localdate()
        compare_to = _date("--compare-to", options["compare_to"]) if options["compare_to"] else None
        if compare_to is not None and compare_to >= as_of:
            raise CommandError(
                _("--compare-to %(compare_to)s must be before --as-of %(as_of)s")
                % {"compare_to": compare_to, "as_of": as_of}
            )
        try:
            figures = area_figures(area_code=area_code, as_of=as_of, compare_to=compare_to)
        except Area.DoesNotExist as exc:
            raise CommandError(
                _("unknown area %(code)r: give the division code of a loaded area")
                % {"code": area_code}
            ) from exc
        self.stdout.write(_WRITERS[options["format"]](figures), ending="")
        if options["format"] == "json":
            self.stdout.write("")


def _date(option: str, text: str) -> datetime.date:
    try:
        if not _ISO_DATE.fullmatch(text.strip()):
            raise ValueError(text)
        return datetime.date.fromisoformat(text.strip())
    except ValueError as exc:
        raise CommandError(
            _("%(option)s %(text)r is not a date: write it YYYY-MM-DD")
            % {"option": option, "text": text}
        ) from exc
