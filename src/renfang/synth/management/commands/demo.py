"""``renfang demo``: load a synthetic demo district into the database, from nothing; then
the demo users, the department offices' subscriptions to the change feed, and a month of
changes that fills their feeds (synth/feeds.py, synth/changes.py)."""

from __future__ import annotations

import tempfile
import time
from argparse import ArgumentParser
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils import timezone
from django.utils.translation import gettext as _

from renfang.accounts.models import RoleGrant
from renfang.areas.models import Area
from renfang.exchange.models import EventHead, Subscription
from renfang.houses.models import House
from renfang.people.models import Person, Residence
from renfang.sources.models import Source
from renfang.synth.changes import ChangesSummary, demo_changes
from renfang.synth.extracts.write import EXTRACTS, read_sources
from renfang.synth.feeds import OFFICES, PLANS, RELIEF_OFFICE, feed_counts
from renfang.synth.management.commands.synth import generate, people_count, seed_number
from renfang.synth.places import XUHUI
from renfang.web.management.commands.demo_users import PASSWORD, offices_reset


class Command(BaseCommand):
    help = (
        "Load a demo district: code sets, Shanghai's areas, and a synthetic district of "
        "--people people (synth → areas load → houses load → register import), with its "
        "department sources (sources add → import each extract → resolve)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--people", type=people_count, default=20_000)
        parser.add_argument("--seed", type=seed_number, default=1)
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when the register has people"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and Person.objects.exists():
            self.stdout.write(
                _("The register already has %(count)s people; the demo district is not loaded.")
                % {"count": f"{Person.objects.count():,}"}
            )
            return
        verbosity: int = options["verbosity"]
        started = time.monotonic()
        self._step(_("code sets"), lambda: self._call("codes", "load", verbosity=verbosity))
        self._step(
            _("Shanghai areas"), lambda: self._call("areas", "load-builtin", verbosity=verbosity)
        )
        with tempfile.TemporaryDirectory(prefix="renfang-demo-") as directory:
            out = Path(directory)
            self._step(
                _("synthetic district of %(people)s people") % {"people": f"{options['people']:,}"},
                lambda: generate(
                    people=options["people"],
                    seed=options["seed"],
                    out=out,
                    progress=verbosity >= 1,
                    extracts=True,
                ),
            )
            for label, command, action, name in (
                (_("areas"), "areas", "load", "areas.csv"),
                (_("houses"), "houses", "load", "houses.csv"),
                (_("register"), "register", "import", "register.csv"),
            ):
                path = str(out / name)
                self._step(label, partial(self._call, command, action, path, verbosity=verbosity))
            self._sources(out / EXTRACTS, verbosity)
            users: dict[str, AbstractBaseUser] = {}
            self._step(
                _("the department offices and their subscriptions"),
                lambda: users.update(offices_reset()),
            )
            after = _last_seq()
            changes: list[ChangesSummary] = []
            self._step(
                _("a month of changes for the change feed"),
                lambda: changes.append(self._changes(out, options["seed"], users)),
            )
        self._changed(changes[0])
        self._feeds(after, users)
        self.stdout.write(
            _(
                "Demo district loaded in %(seconds).1f s: %(areas)s areas, %(houses)s houses, "
                "%(people)s people, %(residences)s residence spells."
            )
            % {
                "seconds": time.monotonic() - started,
                "areas": f"{Area.objects.count():,}",
                "houses": f"{House.objects.count():,}",
                "people": f"{Person.objects.count():,}",
                "residences": f"{Residence.objects.count():,}",
            }
        )

    def _sources(self, extracts: Path, verbosity: int) -> None:
        """The district's department systems: each registered with its mapping (or given
        its mapping anew), its extract imported; then every record linked to a person, so
        the pages show sources, unmapped codes, a review queue and conflicts."""
        progress = [] if verbosity >= 1 else ["--no-progress"]
        for source in read_sources(extracts):
            mapping = str(extracts / source.mapping)
            if Source.objects.filter(code=source.code).exists():
                register = partial(self._call, "sources", "mapping", source.code, mapping)
            else:
                register = partial(
                    self._call, "sources", "add", source.code, "--name", source.name,
                    "--mapping", mapping,
                )  # fmt: skip
            self._step(
                _("source %(code)s (%(name)s)") % {"code": source.code, "name": source.name},
                partial(register, verbosity=verbosity),
            )
            self._step(
                _("extract of %(code)s") % {"code": source.code},
                partial(
                    self._call, "import", source.code, str(extracts / source.file), *progress,
                    verbosity=verbosity,
                ),
            )  # fmt: skip
        self._step(
            _("identity resolution"),
            partial(self._call, "resolve", *progress, verbosity=verbosity),
        )

    def _changes(self, out: Path, seed: int, users: dict[str, AbstractBaseUser]) -> ChangesSummary:
        """The department offices send their records; the collectors' visits come in."""
        relief = RoleGrant.objects.filter(user_id=users[RELIEF_OFFICE].pk).values_list(
            "area_id", flat=True
        )
        return demo_changes(
            out,
            seed=seed,
            district=XUHUI,
            street=str(relief.first()),
            users=users,
            today=timezone.localdate(),
        )

    def _changed(self, made: ChangesSummary) -> None:
        self.stdout.write(
            _(
                "The month's changes: %(moved)d moves, %(left)d departures, %(overseas)d "
                "overseas people and %(migrants)d domestic migrants arrived, %(died)d deaths, "
                "%(married)d marriages, %(born)d births."
            )
            % {
                "moved": made.moved,
                "left": made.left,
                "overseas": made.overseas_arrived,
                "migrants": made.migrants_arrived,
                "died": made.died,
                "married": made.married,
                "born": made.born,
            }
        )

    def _feeds(self, after: int, users: dict[str, AbstractBaseUser]) -> None:
        """Each office's feed: how many events, how many of the month's, where to read it."""
        subscriptions = [
            Subscription.objects.get(subscriber_id=users[plan.subscriber].pk, name=plan.name)
            for plan in PLANS
        ]
        names = {office.username: office.name for office in OFFICES}
        self.stdout.write(
            _(
                "The department offices' change feeds (log in as the office with the password "
                "%(password)s and open /feeds/; or, with a token from `renfang tokens create "
                "<office>`, GET /api/feed?subscription=<id>&after=%(after)s for the month's "
                "events):"
            )
            % {"password": PASSWORD, "after": after}
        )
        for count in feed_counts(subscriptions, after):
            subscription = count.subscription
            username = subscription.subscriber.get_username()
            self.stdout.write(
                _(
                    "  %(office)s (%(username)s), subscription %(id)s “%(name)s”: %(events)s "
                    "events, %(recent)s of them from the month's changes"
                )
                % {
                    "office": names.get(username, username),
                    "username": username,
                    "id": subscription.pk,
                    "name": subscription.name,
                    "events": f"{count.events:,}",
                    "recent": f"{count.recent:,}",
                }
            )

    def _call(self, *args: str, verbosity: int) -> None:
        call_command(*args, verbosity=verbosity, stdout=self.stdout, stderr=self.stderr)

    def _step(self, label: str, run: Callable[[], object]) -> None:
        started = time.monotonic()
        self.stdout.write(_("Loading %(what)s …") % {"what": label})
        run()
        self.stdout.write(
            _("… %(what)s done in %(seconds).1f s.")
            % {"what": label, "seconds": time.monotonic() - started}
        )


def _last_seq() -> int:
    head = EventHead.objects.filter(pk=1).values_list("last_seq", flat=True).first()
    return int(head or 0)
