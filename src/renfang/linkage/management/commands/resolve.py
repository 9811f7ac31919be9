"""``renfang resolve``: link every source record to a person (ADR 0014)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from renfang.linkage.resolve import ResolveBusy, resolve


class Command(BaseCommand):
    help = (
        "Link every source record to a person: equal valid ID numbers directly, the rest by "
        "match weights; persons stay stable across runs, people's decisions are kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-progress", action="store_true", help="do not show progress bars")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            run = resolve(progress=not options["no_progress"] and options["verbosity"] >= 1)
        except ResolveBusy as busy:
            raise CommandError(str(busy)) from busy
        counts = run.model.get("counts", {})
        stages = run.model.get("stages", {})
        self.stdout.write(
            f"resolved {run.records} records in {stages.get('total', 0):.1f} s: "
            f"{run.linked_by_id} linked by ID, "
            f"{counts.get('linked_by_identifier', 0)} by other identifiers, "
            f"{run.linked_by_weights} by weights, {counts.get('singletons', 0)} alone, "
            f"{counts.get('pinned', 0)} as people decided; "
            f"{run.to_review} pairs to review; {run.new_persons} new persons, "
            f"{counts.get('merged_persons', 0)} merged; {run.changed_links} links changed"
        )
        if options["verbosity"] >= 2:
            for stage, seconds in stages.items():
                self.stdout.write(f"  {stage}: {seconds:.1f} s")
