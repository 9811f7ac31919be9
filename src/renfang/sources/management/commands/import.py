"""``renfang import SOURCE FILE``: one file of a department system, with its current mapping."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from renfang.core.csvimport import ImportRejected
from renfang.people.golden import no_history_note
from renfang.sources.management.commands.sources import source_or_error, table_text
from renfang.sources.models import SourceImport
from renfang.sources.services import source_import

PROBLEMS_SHOWN = 20


class Command(BaseCommand):
    help = str(
        _(
            "Import a file of a source (CSV in UTF-8 or GBK/GB18030, a workbook: XLSX, XLS, "
            "XLSB or ODS, JSON Lines) with the source's current mapping: all of it or, when it "
            "cannot be read, none of it."
        )
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source", help=str(_("the source's code")))
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--no-progress", action="store_true", help=str(_("do not show a progress bar"))
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        source = source_or_error(options["source"])
        if not path.is_file():
            raise CommandError(_("%(path)s: no such file") % {"path": path})
        progress = not options["no_progress"] and options["verbosity"] >= 1
        started = time.monotonic()
        try:
            done = source_import(source, path, actor=None, progress=progress)
        except ImportRejected as rejected:
            raise CommandError(
                _("refused %(file)s: %(reason)s") % {"file": path, "reason": rejected.summary()}
            ) from rejected
        self.summary(done, time.monotonic() - started, options["verbosity"])

    def summary(self, done: SourceImport, seconds: float, verbosity: int) -> None:
        rate = done.records / seconds if seconds else 0.0
        self.stdout.write(
            _(
                "imported %(file)s into %(source)s: %(records)s records: %(new)s new, "
                "%(changed)s changed, %(unchanged)s unchanged; %(flagged)s flagged "
                "(%(seconds).1f s, %(rate)s records/s)"
            )
            % {
                "file": done.file_name,
                "source": done.source.code,
                "records": f"{done.records:,}",
                "new": f"{done.new:,}",
                "changed": f"{done.changed:,}",
                "unchanged": f"{done.unchanged:,}",
                "flagged": f"{done.flagged:,}",
                "seconds": seconds,
                "rate": f"{rate:,.0f}",
            }
        )
        report = done.report
        note = no_history_note(int(report.get("no_history") or 0))
        if note:
            self.stdout.write(self.style.WARNING(note))
        by_field: dict[str, int] = report.get("problems_by_field") or {}
        if by_field:
            self.stdout.write(_("Values that could not be read, by field:"))
            rows = [[name, f"{count:,}"] for name, count in by_field.items()]
            self.stdout.write(table_text(rows, indent="  "))
        if verbosity >= 2:
            for problem in (report.get("problems") or [])[:PROBLEMS_SHOWN]:
                self.stdout.write(
                    _("  record %(record_id)s (line %(line)s), %(field)s: %(reason)s") % problem
                )
        unmapped: list[dict[str, Any]] = report.get("unmapped") or []
        if unmapped:
            self.stdout.write(
                _(
                    "Codes no code table knows (field, value, records); map them with a new "
                    "mapping version (renfang sources mapping):"
                )
            )
            rows = [[u["field"], u["value"], f"{u['records']:,}"] for u in unmapped]
            self.stdout.write(table_text(rows, indent="  "))
