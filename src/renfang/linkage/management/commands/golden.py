"""``renfang golden refresh [--all | --dead | --person ID…]``: recompute golden records, after
the district changed its policy (data/golden.toml) or to repair them (``--dead``: the dead
only, whose hukou a death before issue 12 left open; ADR 0028)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from renfang.core.commands import action_parser
from renfang.linkage.services import LinkageError, golden_records_refresh
from renfang.people.golden import no_history_note
from renfang.people.models import Person


class Command(BaseCommand):
    help = str(
        _(
            "Recompute the golden records of every person (--all) or of the persons named "
            "(--person ID…), e.g. after a change of the golden record policy."
        )
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{refresh}")
        refreshing = action_parser(
            actions, "refresh", help=str(_("recompute golden records from the source records"))
        )
        which = refreshing.add_mutually_exclusive_group(required=True)
        which.add_argument("--all", action="store_true", help=str(_("every person")))
        which.add_argument(
            "--dead",
            action="store_true",
            help=str(_("every person with a death date (ends what their death left open)")),
        )
        which.add_argument(
            "--person",
            type=int,
            nargs="+",
            metavar="ID",
            help=str(_("these persons (a merged-away id stands for its survivor)")),
        )
        refreshing.add_argument(
            "--no-progress", action="store_true", help=str(_("do not show a progress bar"))
        )

    def handle(self, *args: Any, **options: Any) -> None:
        progress = not options["no_progress"] and options["verbosity"] >= 1
        persons: list[int] | None = None if options["all"] else options["person"]
        if options["dead"]:
            # The command line: a system context, audited as the refresh itself.
            persons = list(
                Person.objects.filter(death_date__isnull=False, merged_into__isnull=True)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
        try:
            report = golden_records_refresh(persons, progress=progress, user=None)
        except LinkageError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(_("golden records refreshed: %(report)s") % {"report": report.as_text()})
        note = no_history_note(len(report.no_history))
        if note:
            self.stdout.write(self.style.WARNING(note))
