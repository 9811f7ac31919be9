"""``renfang worker``: push subscriptions' events to their webhooks until stopped (ADR 0016).

Runs until SIGTERM or SIGINT (Ctrl-C), finishing the attempts in flight; ``--once`` delivers
what is due now and exits. Several workers may run against PostgreSQL; on SQLite run one.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from renfang.exchange.webhooks.worker import Worker, WorkerOptions


class Command(BaseCommand):
    help = _("Deliver subscriptions' events to their webhooks (until stopped, or --once).")

    def add_arguments(self, parser: CommandParser) -> None:
        defaults = WorkerOptions()
        parser.add_argument(
            "--once", action="store_true", help=_("deliver what is due now, then exit")
        )
        parser.add_argument(
            "--concurrency",
            type=int,
            default=defaults.concurrency,
            help=_("deliveries sent at the same time (default %(default)s)"),
        )
        parser.add_argument(
            "--timeout",
            type=float,
            default=defaults.timeout,
            help=_("seconds a receiver has to answer (default %(default)s)"),
        )
        parser.add_argument(
            "--lease",
            type=float,
            default=defaults.lease,
            help=_(
                "seconds before a delivery claimed by a worker that died is tried again "
                "(default %(default)s; longer than 4 times --timeout)"
            ),
        )
        parser.add_argument(
            "--idle",
            type=float,
            default=defaults.idle,
            help=_("seconds to wait when nothing is due (default %(default)s)"),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["concurrency"] < 1:
            raise CommandError(_("--concurrency must be at least 1"))
        try:
            settings = WorkerOptions(
                concurrency=options["concurrency"],
                timeout=options["timeout"],
                lease=options["lease"],
                idle=options["idle"],
            )
        except ValueError as error:
            raise CommandError(
                _(
                    "--lease (%(lease)s s) must be longer than %(rounds)d times --timeout "
                    "(%(timeout)s s): a worker sends its claims in up to %(rounds)d rounds"
                )
                % {
                    "lease": options["lease"],
                    "timeout": options["timeout"],
                    "rounds": WorkerOptions.rounds,
                }
            ) from error
        verbosity = int(options["verbosity"])
        if verbosity >= 2:  # noqa: PLR2004
            logging.getLogger("renfang.webhooks").setLevel(logging.DEBUG)
        worker = Worker(settings)
        try:
            if options["once"]:
                attempted = worker.drain()
            else:
                stop = threading.Event()

                def request_stop(signum: int, frame: FrameType | None) -> None:
                    stop.set()

                signal.signal(signal.SIGTERM, request_stop)
                signal.signal(signal.SIGINT, request_stop)
                if verbosity:
                    self.stdout.write(_("webhook worker running; stop it with Ctrl-C"))
                worker.run(stop)
                attempted = worker.delivered + worker.failed
        finally:
            worker.close()
        if verbosity:
            self.stdout.write(
                _("%(attempted)d attempts: %(delivered)d delivered, %(failed)d failed")
                % {
                    "attempted": attempted,
                    "delivered": worker.delivered,
                    "failed": worker.failed,
                }
            )
